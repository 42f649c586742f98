import Crypto
import Foundation
import Ledger
import Testing

/// `key new` and `key show`: files `openssl pkey` reads, mode 0600, passphrases, no overwriting.
@Suite struct KeyCommandTests {
    static let openSSL = "/usr/bin/openssl"

    @Test func newThenShowGiveTheSameIdentity() throws {
        let runner = try CLIRunner()
        let created = try runner.run("key", "new", "--out", "node.pem", "--json")
        #expect(created.exitCode == 0, "\(created.stderr)")
        #expect(created.stderr.isEmpty)
        let createdJSON = try created.json()
        let id = try #require(createdJSON["id"] as? String)
        #expect(createdJSON["file"] as? String == "node.pem")
        #expect(Identity(text: id) != nil)

        let path = runner.file("node.pem")
        let key = try KeyFile.load(from: path, passphrase: nil)
        #expect(Identity(publicKey: key.publicKey).text == id)
        #expect(try Self.permissions(path) == 0o600)

        let shown = try runner.run("key", "show", "node.pem", "--json")
        #expect(shown.exitCode == 0)
        #expect(try shown.json()["id"] as? String == id)
    }

    @Test func humanOutputNamesTheIdentityAndFile() throws {
        let runner = try CLIRunner()
        let created = try runner.run("key", "new", "--out", "node.pem")
        #expect(created.exitCode == 0)
        let id = try #require(created.stdout.split(separator: "\n").first.map(String.init))
        #expect(Identity(text: id) != nil)
        #expect(created.stdout.contains("node.pem"))
        #expect(try runner.run("key", "show", "node.pem").stdout == id + "\n")
    }

    @Test func openSSLReadsTheKeyFiles() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.openSSL) else { return }
        let runner = try CLIRunner()
        try "correct horse\n".write(toFile: runner.file("passphrase"), atomically: true, encoding: .utf8)
        #expect(try runner.run("key", "new", "--out", "plain.pem").exitCode == 0)
        #expect(try runner.run("key", "new", "--out", "sealed.pem", "--passphrase-file", "passphrase").exitCode == 0)
        #expect(try Self.openSSLAccepts(["pkey", "-in", runner.file("plain.pem"), "-noout"]))
        #expect(try Self.openSSLAccepts(["pkey", "-in", runner.file("sealed.pem"), "-noout",
                                         "-passin", "file:" + runner.file("passphrase")]))
    }

    @Test func encryptedKeyNeedsTheRightPassphrase() throws {
        let runner = try CLIRunner()
        let secret = "open sesame 7431"
        try "\(secret)\r\nsecond line is ignored\n".write(toFile: runner.file("passphrase"), atomically: true, encoding: .utf8)
        try "wrong guess 9876\n".write(toFile: runner.file("wrong"), atomically: true, encoding: .utf8)
        let created = try runner.run("key", "new", "--out", "sealed.pem", "--passphrase-file", "passphrase", "--json")
        #expect(created.exitCode == 0, "\(created.stderr)")
        let id = try created.json()["id"] as? String

        // The first line without its CRLF is the passphrase.
        let key = try KeyFile.load(from: runner.file("sealed.pem"), passphrase: Array(secret.utf8))
        #expect(Identity(publicKey: key.publicKey).text == id)
        let shown = try runner.run("key", "show", "sealed.pem", "--passphrase-file", "passphrase", "--json")
        #expect(try shown.json()["id"] as? String == id)

        for arguments in [["--passphrase-file", "wrong"], []] {
            let refused = try runner.run(["key", "show", "sealed.pem", "--json"] + arguments)
            #expect(refused.exitCode == 2, "\(arguments)")
            let message = try refused.jsonError()
            #expect(message.contains("sealed.pem"))
            #expect(!refused.stderr.contains(secret) && !refused.stderr.contains("wrong guess"))
        }
    }

    @Test func anEmptyPassphraseLineIsRefused() throws {
        let runner = try CLIRunner()
        try "\nsecret on the second line\n".write(toFile: runner.file("passphrase"), atomically: true, encoding: .utf8)
        let result = try runner.run("key", "new", "--out", "k.pem", "--passphrase-file", "passphrase")
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("first line"))
        #expect(!FileManager.default.fileExists(atPath: runner.file("k.pem")))
    }

    @Test func existingKeyIsReplacedOnlyWithForce() throws {
        let runner = try CLIRunner()
        let first = try runner.run("key", "new", "--out", "node.pem", "--json").json()["id"] as? String

        let refused = try runner.run("key", "new", "--out", "node.pem", "--json")
        #expect(refused.exitCode == 2)
        #expect(try refused.jsonError().contains("--force"))
        #expect(try runner.run("key", "show", "node.pem", "--json").json()["id"] as? String == first)

        let replaced = try runner.run("key", "new", "--out", "node.pem", "--force", "--json")
        #expect(replaced.exitCode == 0)
        #expect(try replaced.json()["id"] as? String != first)
        #expect(try Self.permissions(runner.file("node.pem")) == 0o600)
    }

    @Test func missingKeyFileExitsOne() throws {
        let result = try CLIRunner().run("key", "show", "absent.pem", "--json")
        #expect(result.exitCode == 1)
        #expect(try result.jsonError().contains("absent.pem"))
    }

    @Test func showPublicPrintsAPublicKeyPEM() throws {
        let runner = try CLIRunner()
        #expect(try runner.run("key", "new", "--out", "node.pem").exitCode == 0)
        let shown = try runner.run("key", "show", "node.pem", "--public", "--json").json()
        let pem = try #require(shown["publicKeyPEM"] as? String)
        #expect(Identity(publicKey: try KeyFile.decodePublicKeyPEM(pem)).text == shown["id"] as? String)
    }

    static func permissions(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    static func openSSLAccepts(_ arguments: [String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openSSL)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
