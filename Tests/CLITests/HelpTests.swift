import Foundation
import Testing

/// Help texts: golden files for the main help and one command's help, and `--help` on every command and
/// group.
@Suite struct HelpTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static let commands = [
        "key new", "key show", "genesis init", "genesis show", "node", "consensus status", "practitioner enroll", "record put", "record get",
        "diagnose", "plan", "consent grant", "consent revoke", "consent list", "access log", "chain export", "audit verify", "model train",
        "model evaluate",
    ]
    static let groups = ["", "key", "genesis", "consensus", "practitioner", "record", "consent", "access", "chain", "audit", "model"]

    /// Compares `text` with the golden file `name`. With HEALTHLEDGER_UPDATE_GOLDEN=1 in the environment,
    /// rewrites the file instead (then review the diff).
    func expectGolden(_ text: String, _ name: String) throws {
        let url = Self.goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["HEALTHLEDGER_UPDATE_GOLDEN"] == "1" {
            try Data(text.utf8).write(to: url)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(text == golden, "help differs from \(name); if intended, rerun with HEALTHLEDGER_UPDATE_GOLDEN=1")
    }

    @Test func mainHelpMatchesTheGoldenFile() throws {
        let result = try CLIRunner().run("--help")
        #expect(result.exitCode == 0)
        #expect(result.stderr.isEmpty)
        try expectGolden(result.stdout, "main-help.txt")
    }

    @Test func genesisInitHelpMatchesTheGoldenFile() throws {
        let result = try CLIRunner().run("genesis", "init", "--help")
        #expect(result.exitCode == 0)
        try expectGolden(result.stdout, "genesis-init-help.txt")
    }

    /// Every command the main help lists is in `commands`, so none escapes the tests below.
    @Test func theTestedCommandsAreAllTheCommands() throws {
        let help = try CLIRunner().run("--help").stdout
        let section = help.components(separatedBy: "COMMANDS:\n")[1].components(separatedBy: "\n\n")[0]
        let listed = section.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ")[0] }
        #expect(listed == Self.commands)
    }

    @Test(arguments: commands + groups)
    func helpOnEveryCommandAndGroupExitsZero(_ command: String) throws {
        let runner = try CLIRunner()
        let words = command.split(separator: " ").map(String.init)
        for flag in ["--help", "-h"] {
            let result = try runner.run(words + [flag])
            #expect(result.exitCode == 0, "\(command) \(flag): \(result.stderr)")
            #expect(result.stdout.contains("USAGE: healthledger \(command)"), "\(command) \(flag)")
            #expect(result.stderr.isEmpty)
        }
    }

    @Test(arguments: commands)
    func helpWinsOverOtherwiseInvalidArguments(_ command: String) throws {
        let words = command.split(separator: " ").map(String.init)
        let result = try CLIRunner().run(words + ["--no-such-option", "--help"])
        #expect(result.exitCode == 0)
        #expect(result.stdout.hasPrefix("OVERVIEW: "))
    }

    @Test func helpWithJSONIsOneObject() throws {
        let result = try CLIRunner().run("key", "new", "--help", "--json")
        #expect(result.exitCode == 0)
        #expect((try result.json()["help"] as? String)?.contains("--passphrase-file FILE") == true)
    }

    @Test func versionPrintsTheVersion() throws {
        let runner = try CLIRunner()
        let text = try runner.run("--version")
        #expect(text.exitCode == 0)
        #expect(text.stdout.hasPrefix("healthledger "))
        let json = try runner.run("--version", "--json")
        #expect(try json.json()["version"] is String)
    }
}
