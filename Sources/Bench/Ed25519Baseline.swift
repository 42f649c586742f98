import Foundation
import Crypto

/// This machine's Ed25519 verification rate, the unit every other figure is reported in: verification is the
/// physical ceiling of the system (OpenSSL 3.0 has no batch verification), and machines here are shared and
/// noisy, so ratios measured in the same run travel between machines where absolute figures do not.
enum Ed25519Baseline {
    /// 1,024 distinct keys and messages, as in a real chain (no cache can help).
    static func makeSamples() -> [(Ed25519.PublicKey, [UInt8], [UInt8])] {
        (0..<1_024).map { index in
            let key = try! Ed25519.PrivateKey(seed: SHA256.hash(Array("bench-key-\(index)".utf8)).bytes)
            let message = Array(SHA256.hash(Array("bench-message-\(index)".utf8)).bytes) + Array(repeating: UInt8(index & 0xff), count: 150)
            return (key.publicKey, message, key.signature(for: message))
        }
    }

    /// E1 and E2, each measured for `seconds` and reported as it is measured.
    static func measure(seconds: Double, report: (String) -> Void) -> (e1: Double, e2: Double) {
        let e1 = verificationsPerSecond(threads: 1, seconds: seconds)
        report("E1 (Ed25519 verifications/s, 1 thread): \(Int(e1))")
        let e2 = verificationsPerSecond(threads: 2, seconds: seconds)
        report("E2 (Ed25519 verifications/s, 2 threads): \(Int(e2))")
        return (e1, e2)
    }

    /// Verifications per second on `threads` threads, each verifying for `seconds`.
    static func verificationsPerSecond(threads: Int, seconds: Double) -> Double {
        let samples = makeSamples()
        let counts = ThreadCounts(threads)
        let group = DispatchGroup()
        let start = DispatchTime.now()
        for thread in 0..<threads {
            group.enter()
            let worker = Thread {
                var count = 0
                let deadline = start.uptimeNanoseconds + UInt64(seconds * 1e9)
                while DispatchTime.now().uptimeNanoseconds < deadline {
                    for (key, message, signature) in samples[(count % 16 * 64)..<(count % 16 * 64 + 64)] {
                        precondition(key.isValidSignature(signature, for: message), "baseline signature failed")
                    }
                    count += 64
                }
                counts.set(thread, count)
                group.leave()
            }
            worker.start()
        }
        group.wait()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        return Double(counts.total) / elapsed
    }
}

/// Per-thread counts, written once by each thread under a lock.
private final class ThreadCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]

    init(_ threads: Int) { counts = Array(repeating: 0, count: threads) }

    func set(_ thread: Int, _ count: Int) { lock.withLock { counts[thread] = count } }

    var total: Int { lock.withLock { counts.reduce(0, +) } }
}

/// `directory` when given, else a new temporary directory named after `prefix`; created if missing.
func scratchDirectory(_ directory: String?, prefix: String) throws -> String {
    let path = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
