import Testing

/// Usage errors: exit code 2, one `error: ...; ...` line on stderr that says what to do next, and with
/// `--json` one error object on stdout.
@Suite struct UsageErrorTests {
    static let cases: [(arguments: [String], expected: String)] = [
        ([], "error: no command given; run 'healthledger --help'"),
        (["kye"], "error: unknown command 'healthledger kye' (did you mean 'key'?); run 'healthledger --help'"),
        (["frobnicate"], "error: unknown command 'healthledger frobnicate'; run 'healthledger --help'"),
        (["key"], "error: 'healthledger key' needs a command: new, show; run 'healthledger key --help'"),
        (["key", "neww"], "error: unknown command 'healthledger key neww' (did you mean 'new'?); run 'healthledger key --help'"),
        (["key", "new"], "error: missing --out FILE; run 'healthledger key new --help'"),
        (["key", "new", "--outt", "k.pem"], "error: unknown option --outt (did you mean --out?); run 'healthledger key new --help'"),
        (["key", "new", "--out"], "error: --out needs a value (FILE); run 'healthledger key new --help'"),
        (["key", "new", "--out", "--force"], "error: --out needs a value (FILE); run 'healthledger key new --help'"),
        (["key", "new", "--out", "a", "--out", "b"], "error: --out given twice; give it once; run 'healthledger key new --help'"),
        (["key", "new", "--out", "a", "--force=yes"], "error: --force takes no value; run 'healthledger key new --help'"),
        (["key", "new", "--out", "a", "extra"], "error: unexpected argument 'extra'; run 'healthledger key new --help'"),
        (["key", "show"], "error: missing FILE; run 'healthledger key show --help'"),
        (["audit", "verify", "x.hlx", "--genesis", "g.json", "--threads", "0"],
         "error: --threads '0' is not a number from 1 to 256; run 'healthledger audit verify --help'"),
    ]

    @Test(arguments: cases.indices)
    func usageErrorsExitTwoWithAHelpfulLine(_ index: Int) throws {
        let (arguments, expected) = Self.cases[index]
        let runner = try CLIRunner()
        let result = try runner.run(arguments)
        #expect(result.exitCode == 2, "\(arguments)")
        #expect(result.stderr == expected + "\n", "\(arguments)")
        #expect(result.stdout.isEmpty)

        let json = try runner.run(arguments + ["--json"])
        #expect(json.exitCode == 2)
        #expect(try "error: " + json.jsonError() == expected)
    }

    @Test func optionValuesMayFollowAnEqualsSign() throws {
        let runner = try CLIRunner()
        let result = try runner.run("--json", "key", "new", "--out=k.pem")
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(try result.json()["file"] as? String == "k.pem")
    }
}
