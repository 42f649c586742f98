@testable import Crypto
import Foundation
import Testing

@Suite("KeyFile")
struct KeyFileTests {
    static let passphrase = Array("correct horse battery staple".utf8)
    static let passphraseText = "correct horse battery staple"

    // MARK: PEM round trips

    @Test("unencrypted PKCS#8 round trip")
    func plainRoundTrip() throws {
        let key = Ed25519.PrivateKey()
        let pem = try KeyFile.encodePEM(key, passphrase: nil)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let decoded = try KeyFile.decodePEM(pem, passphrase: nil)
        #expect(decoded.seed == key.seed)
        #expect(decoded.signature(for: [1]) == key.signature(for: [1]))
    }

    @Test("encrypted PKCS#8 round trip, PBES2 with scrypt and AES-256-CBC")
    func encryptedRoundTrip() throws {
        let key = Ed25519.PrivateKey()
        let pem = try KeyFile.encodePEM(key, passphrase: Self.passphrase)
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        let der = try #require(Self.der(of: pem))
        #expect(der.containsSequence(Self.scryptOID))
        #expect(der.containsSequence(Self.aes256CBCOID))
        #expect(try KeyFile.decodePEM(pem, passphrase: Self.passphrase).seed == key.seed)
        // Fresh salt and IV each time.
        #expect(try KeyFile.encodePEM(key, passphrase: Self.passphrase) != pem)
    }

    @Test("public key PEM round trip; private and non-Ed25519 PEM rejected")
    func publicKeyRoundTrip() throws {
        let key = Ed25519.PrivateKey()
        let pem = KeyFile.encodePublicKeyPEM(key.publicKey)
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(try KeyFile.decodePublicKeyPEM(pem) == key.publicKey)
        expectInvalidKeyFile { try KeyFile.decodePublicKeyPEM(try KeyFile.encodePEM(key, passphrase: nil)) }
        expectInvalidKeyFile { try KeyFile.decodePublicKeyPEM("garbage") }
    }

    // MARK: Rejections

    @Test("wrong or missing passphrase, truncation, garbage and public keys are rejected with safe reasons")
    func rejections() throws {
        let key = Ed25519.PrivateKey()
        let encrypted = try KeyFile.encodePEM(key, passphrase: Self.passphrase)
        let plain = try KeyFile.encodePEM(key, passphrase: nil)
        var errors: [CryptoError?] = []
        errors.append(expectInvalidKeyFile("wrong passphrase or corrupted file") {
            try KeyFile.decodePEM(encrypted, passphrase: Array("Correct horse battery staple".utf8))
        })
        errors.append(expectInvalidKeyFile("the file is encrypted: give a passphrase") {
            try KeyFile.decodePEM(encrypted, passphrase: nil)
        })
        errors.append(expectInvalidKeyFile("not PEM, or truncated") {
            try KeyFile.decodePEM(String(plain.dropLast(30)), passphrase: nil)
        })
        errors.append(expectInvalidKeyFile {
            try KeyFile.decodePEM(Self.truncatedBody(encrypted), passphrase: Self.passphrase)
        })
        errors.append(expectInvalidKeyFile { try KeyFile.decodePEM(Self.truncatedBody(plain), passphrase: nil) })
        errors.append(expectInvalidKeyFile { try KeyFile.decodePEM("", passphrase: nil) })
        errors.append(expectInvalidKeyFile { try KeyFile.decodePEM("hello\u{0}world", passphrase: Self.passphrase) })
        errors.append(expectInvalidKeyFile("this is a public key, not a private key") {
            try KeyFile.decodePEM(KeyFile.encodePublicKeyPEM(key.publicKey), passphrase: nil)
        })
        errors.append(expectInvalidKeyFile("larger than 64 KiB") {
            try KeyFile.decodePEM(plain + String(repeating: "x", count: 64 * 1024), passphrase: nil)
        })
        let seedHex = Hex.encode(key.seed)
        #expect(errors.count == 9)
        for error in errors.compactMap({ $0 }) {
            #expect(!error.description.contains(Self.passphraseText))
            #expect(!error.description.lowercased().contains("horse"))
            #expect(!error.description.contains(seedHex))
        }
    }

    @Test("an empty passphrase is refused when encoding")
    func emptyPassphraseRefused() {
        #expect(throws: CryptoError.self) { try KeyFile.encodePEM(Ed25519.PrivateKey(), passphrase: []) }
    }

    // MARK: Files

    @Test("save creates the file with mode 0600 and load reads it back, with and without passphrase")
    func saveAndLoad() throws {
        try withTemporaryDirectory { directory in
            let key = Ed25519.PrivateKey()
            for passphrase in [nil, Self.passphrase] {
                let path = directory + "/node-\(passphrase == nil ? "plain" : "encrypted").pem"
                try KeyFile.save(key, to: path, passphrase: passphrase)
                #expect(try Self.permissions(of: path) == 0o600)
                #expect(try KeyFile.load(from: path, passphrase: passphrase).seed == key.seed)
            }
        }
    }

    @Test("save refuses to replace a file unless overwrite, then replaces it atomically with mode 0600")
    func overwrite() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/node.pem"
            let first = Ed25519.PrivateKey(), second = Ed25519.PrivateKey()
            try KeyFile.save(first, to: path, passphrase: nil)
            #expect(throws: CryptoError.io(operation: "create", path: path, errno: EEXIST)) {
                try KeyFile.save(second, to: path, passphrase: nil)
            }
            #expect(try KeyFile.load(from: path, passphrase: nil).seed == first.seed)
            try KeyFile.save(second, to: path, passphrase: Self.passphrase, overwrite: true)
            #expect(try KeyFile.load(from: path, passphrase: Self.passphrase).seed == second.seed)
            #expect(try Self.permissions(of: path) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["node.pem"])
        }
    }

    @Test("load refuses missing, oversized and non-regular files")
    func loadRejections() throws {
        try withTemporaryDirectory { directory in
            let missing = directory + "/missing.pem"
            #expect(throws: CryptoError.io(operation: "open", path: missing, errno: ENOENT)) {
                try KeyFile.load(from: missing, passphrase: nil)
            }
            let large = directory + "/large.pem"
            try Data(repeating: 0x41, count: KeyFile.maximumFileByteCount + 1).write(to: URL(fileURLWithPath: large))
            expectInvalidKeyFile { try KeyFile.load(from: large, passphrase: nil) }
            expectInvalidKeyFile { try KeyFile.load(from: directory, passphrase: nil) }
        }
    }

    // MARK: Interoperability with the openssl command

    @Test("openssl pkey reads our files, gives our public key, and sees scrypt in encrypted ones",
          .enabled(if: OpenSSLTool.isAvailable, "openssl command not found at \(OpenSSLTool.path)"))
    func opensslReadsOurFiles() throws {
        try withTemporaryDirectory { directory in
            let key = Ed25519.PrivateKey()
            let passFile = directory + "/pass"
            try Data(Self.passphrase).write(to: URL(fileURLWithPath: passFile))
            let expectedPublicPEM = KeyFile.encodePublicKeyPEM(key.publicKey)
            for passphrase in [nil, Self.passphrase] {
                let path = directory + "/key-\(passphrase == nil ? "plain" : "encrypted").pem"
                try KeyFile.save(key, to: path, passphrase: passphrase)
                let check = try OpenSSLTool.run(["pkey", "-in", path, "-passin", "file:" + passFile, "-noout"])
                #expect(check.status == 0, "openssl pkey rejected \(path): \(check.error)")
                let publicKey = try OpenSSLTool.run(["pkey", "-in", path, "-passin", "file:" + passFile, "-pubout"])
                #expect(publicKey.output == expectedPublicPEM)
            }
            let parsed = try OpenSSLTool.run(["asn1parse", "-in", directory + "/key-encrypted.pem"])
            #expect(parsed.output.contains(":PBES2"))
            #expect(parsed.output.contains(":scrypt"))
            #expect(parsed.output.contains(":aes-256-cbc"))
            #expect(parsed.output.contains("INTEGER           :8000"))  // N = 2^15
        }
    }

    @Test("keys made by openssl load; RSA and X25519 keys are rejected as not Ed25519",
          .enabled(if: OpenSSLTool.isAvailable, "openssl command not found at \(OpenSSLTool.path)"))
    func opensslKeys() throws {
        try withTemporaryDirectory { directory in
            let passFile = directory + "/pass"
            try Data(Self.passphrase).write(to: URL(fileURLWithPath: passFile))
            let ed25519 = directory + "/ed25519.pem", encrypted = directory + "/ed25519-enc.pem"
            try OpenSSLTool.succeed(["genpkey", "-algorithm", "ed25519", "-out", ed25519])
            try OpenSSLTool.succeed(["pkcs8", "-topk8", "-in", ed25519, "-scrypt", "-passout", "file:" + passFile,
                                     "-out", encrypted])
            let loaded = try KeyFile.load(from: ed25519, passphrase: nil)
            let publicPEM = try OpenSSLTool.run(["pkey", "-in", ed25519, "-pubout"]).output
            #expect(KeyFile.encodePublicKeyPEM(loaded.publicKey) == publicPEM)
            #expect(try KeyFile.decodePublicKeyPEM(publicPEM) == loaded.publicKey)
            #expect(try KeyFile.load(from: encrypted, passphrase: Self.passphrase).seed == loaded.seed)

            for algorithm in [["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"], ["-algorithm", "X25519"]] {
                let path = directory + "/other.pem"
                try? FileManager.default.removeItem(atPath: path)
                try OpenSSLTool.succeed(["genpkey"] + algorithm + ["-out", path])
                expectInvalidKeyFile("not an Ed25519 key") { try KeyFile.load(from: path, passphrase: nil) }
                let otherPublic = try OpenSSLTool.run(["pkey", "-in", path, "-pubout"]).output
                expectInvalidKeyFile("not an Ed25519 key") { try KeyFile.decodePublicKeyPEM(otherPublic) }
            }
        }
    }

    // MARK: Helpers

    /// DER of PKCS#5 scrypt (1.3.6.1.4.1.11591.4.11) and AES-256-CBC (2.16.840.1.101.3.4.1.42) OIDs.
    static let scryptOID: [UInt8] = [0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b]
    static let aes256CBCOID: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a]

    static func der(of pem: String) -> [UInt8]? {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: body).map { Array($0) }
    }

    /// The PEM with its base64 body cut short but its BEGIN and END lines intact.
    static func truncatedBody(_ pem: String) -> String {
        var lines = pem.split(separator: "\n").map(String.init)
        lines[1] = String(lines[1].prefix(20))
        return lines.joined(separator: "\n") + "\n"
    }

    static func permissions(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Expects `body` to throw `.invalidKeyFile` (with `reason`, when given) and returns the error.
    @discardableResult
    private func expectInvalidKeyFile<Result>(
        _ reason: String? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Result
    ) -> CryptoError? {
        do {
            _ = try body()
            Issue.record("expected .invalidKeyFile, got success", sourceLocation: sourceLocation)
            return nil
        } catch let error as CryptoError {
            guard case let .invalidKeyFile(actual) = error else {
                Issue.record("expected .invalidKeyFile, got \(error)", sourceLocation: sourceLocation)
                return error
            }
            if let reason { #expect(actual == reason, sourceLocation: sourceLocation) }
            return error
        } catch {
            Issue.record("expected CryptoError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("KeyFileTests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}

/// Runs the system `openssl` command, for interoperability checks.
enum OpenSSLTool {
    static let path = "/usr/bin/openssl"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    struct Outcome {
        let status: Int32
        let output: String
        let error: String
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice  // Never wait for a passphrase on a terminal.
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                       error: String(decoding: errorData, as: UTF8.self))
    }

    static func succeed(_ arguments: [String]) throws {
        let outcome = try run(arguments)
        #expect(outcome.status == 0, "openssl \(arguments.joined(separator: " ")) failed: \(outcome.error)")
    }
}
