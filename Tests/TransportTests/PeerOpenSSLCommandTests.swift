import Crypto
import Foundation
import Testing

@testable import Transport

let opensslCommand = "/usr/bin/openssl"

/// An independent TLS implementation, the `openssl` command, against a real node's peer listener: it speaks
/// only TLS 1.3, demands a client certificate, and presents a certificate carrying the node's pinned key.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: opensslCommand)))
struct PeerOpenSSLCommandTests {
    let alice = peerKey(1)
    let bob = peerKey(2)

    /// Runs `openssl` with no input; returns its exit status and its standard output and error together.
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opensslCommand)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()  // ends when openssl exits
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("peer-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Bob's key as PKCS#8 PEM and a self-signed certificate for it made by `openssl req`.
    func bobsCertificate(in directory: URL) throws -> (certificate: String, key: String) {
        let keyPath = directory.appendingPathComponent("bob.pem").path
        let certificatePath = directory.appendingPathComponent("bob.crt").path
        try KeyFile.save(bob, to: keyPath, passphrase: nil)
        let made = try run(["req", "-x509", "-new", "-key", keyPath, "-subj", "/CN=bob", "-days", "1", "-out", certificatePath])
        #expect(made.status == 0, "\(made.output)")
        return (certificatePath, keyPath)
    }

    func aliceRunning() throws -> TestConsortium {
        let consortium = try TestConsortium(keys: [alice, bob])
        try consortium.start(0)
        return consortium
    }

    @Test func aPinnedClientCompletesATLS13HandshakeAndSeesTheNodesKey() throws {
        let consortium = try aliceRunning()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bobFiles = try bobsCertificate(in: directory)
        let session = try run([
            "s_client", "-connect", "127.0.0.1:\(consortium.endpoints[0].port)", "-tls1_3",
            "-cert", bobFiles.certificate, "-key", bobFiles.key, "-showcerts",
        ])
        #expect(session.output.contains("New, TLSv1.3, Cipher is TLS_"), "\(session.output)")
        #expect(session.output.contains("Peer signature type: ed25519"), "\(session.output)")
        #expect(session.output.contains("CN = healthledger validator"), "\(session.output)")
        // The certificate the node presented carries exactly Alice's key (what peers pin).
        let certificatePath = directory.appendingPathComponent("alice.crt").path
        try firstCertificate(in: session.output).write(toFile: certificatePath, atomically: true, encoding: .utf8)
        let publicKey = try run(["x509", "-in", certificatePath, "-noout", "-pubkey"])
        #expect(publicKey.output == KeyFile.encodePublicKeyPEM(alice.publicKey))
        // s_client sends no hello: the node refuses the connection after TLS, not during it.
        let refusal = consortium.recorders[0].waitForEvent { event in
            if case .connectionRefused = event { return true }
            return false
        }
        #expect(refusal != nil && !refusal!.reasonCode!.hasPrefix("tls_key") && refusal!.reasonCode != "tls_no_certificate")
    }

    @Test func theListenerDemandsAClientCertificate() throws {
        let consortium = try aliceRunning()
        _ = try run(["s_client", "-connect", "127.0.0.1:\(consortium.endpoints[0].port)", "-tls1_3"])
        #expect(consortium.recorders[0].waitForEvent { $0.isRefused("tls_no_certificate") } != nil)
    }

    @Test func theListenerRefusesTLS12EvenFromAPinnedClient() throws {
        let consortium = try aliceRunning()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bobFiles = try bobsCertificate(in: directory)
        let session = try run([
            "s_client", "-connect", "127.0.0.1:\(consortium.endpoints[0].port)", "-tls1_2",
            "-cert", bobFiles.certificate, "-key", bobFiles.key,
        ])
        #expect(session.status != 0)
        #expect(session.output.contains("alert protocol version"), "\(session.output)")
        #expect(session.output.contains("Cipher is (NONE)"), "\(session.output)")
        let refusal = consortium.recorders[0].waitForEvent { $0.isRefused("tls_error") }
        #expect(refusal.map { "\($0)" }?.contains("unsupported protocol") == true, "\(String(describing: refusal))")
    }

    /// The first PEM certificate printed by `s_client -showcerts`.
    func firstCertificate(in output: String) throws -> String {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        guard let start = output.range(of: begin), let stop = output.range(of: end, range: start.upperBound..<output.endIndex) else {
            throw PeerError.invalidConfiguration("no certificate in the s_client output")
        }
        return String(output[start.lowerBound..<stop.upperBound]) + "\n"
    }
}
