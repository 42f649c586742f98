// healthledger-bench: release-mode benchmarks that report ratios to this machine's own Ed25519 verification
// rate, measured in the same run (docs/PERFORMANCE.md). Run through `scripts/bench`.
import Foundation

let usage = """
    usage: healthledger-bench [core] [--events N] [--block-size N] [--baseline-seconds S] [--dir DIR]

    Parts:
      core   Ed25519 baseline (E1 one thread, E2 two threads), chain store append rate, offline audit rate

    Options:
      --events N             events in the generated chain (default 200000, at least 10000)
      --block-size N         events per block (default 1000)
      --baseline-seconds S   how long each Ed25519 baseline runs (default 3)
      --dir DIR              scratch directory (default: a new temporary directory, removed afterwards)

    Prints progress, then one JSON object as its last line. Exit codes: 0 done, 2 usage error, 1 failure.
    """

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

var options = CoreBenchmark.Options()
var parts: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value\n\n\(usage)", code: 2) }
        return value
    }
    func number(_ range: ClosedRange<Int>) -> Int {
        let text = value()
        guard let number = Int(text), range.contains(number) else { fail("\(argument) must be a number in \(range), got \(text)", code: 2) }
        return number
    }
    switch argument {
    case "-h", "--help": print(usage); exit(0)
    case "core": parts.append(argument)
    case "--events": options.events = number(10_000...50_000_000)
    case "--block-size": options.blockSize = number(1...100_000)
    case "--baseline-seconds": options.baselineSeconds = Double(number(1...60))
    case "--dir": options.directory = value()
    default: fail("unknown argument \(argument)\n\n\(usage)", code: 2)
    }
}

do {
    let result = try CoreBenchmark(options: options).run()
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
} catch {
    fail("benchmark failed: \(error)", code: 1)
}
