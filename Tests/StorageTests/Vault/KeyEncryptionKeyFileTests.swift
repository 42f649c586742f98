import Crypto
import Foundation
import Testing
@testable import Storage

@Suite("Key-encryption key file")
struct KeyEncryptionKeyFileTests {
    let directory: ScratchDirectory
    let path: String

    init() throws {
        directory = ScratchDirectory()
        path = directory.file("vault.key")
    }

    @Test("a new key file holds 32 bytes with mode 0600, and loads back as the same key")
    func createThenReload() throws {
        let created = try RecordVault.loadOrCreateKeyEncryptionKey(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.size] as? NSNumber)?.intValue == 32)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == created.bytes)

        let reloaded = try RecordVault.loadOrCreateKeyEncryptionKey(at: path)
        #expect(reloaded.bytes == created.bytes)
    }

    @Test("a key file readable by group or others is refused", arguments: [0o644, 0o640, 0o604, 0o620])
    func refusesOpenPermissions(permissions: Int) throws {
        _ = try RecordVault.loadOrCreateKeyEncryptionKey(at: path)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        let error = expectVaultError { try RecordVault.loadOrCreateKeyEncryptionKey(at: path) } where: {
            if case .keyFile(path, .accessibleByOthers(String(permissions, radix: 8))) = $0 { true } else { false }
        }
        #expect(error?.description.contains("chmod 600") == true)
    }

    @Test("a key file of the wrong size is refused", arguments: [0, 31, 33, 64])
    func refusesWrongSize(byteCount: Int) throws {
        #expect(
            FileManager.default.createFile(
                atPath: path, contents: Data(repeating: 0xAB, count: byteCount),
                attributes: [.posixPermissions: 0o600]))
        expectVaultError { try RecordVault.loadOrCreateKeyEncryptionKey(at: path) } where: {
            if case .keyFile(path, .wrongSize(actual: byteCount)) = $0 { true } else { false }
        }
    }

    @Test("a directory at the key path is refused")
    func refusesDirectory() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        expectVaultError { try RecordVault.loadOrCreateKeyEncryptionKey(at: path) } where: {
            if case .keyFile(path, .notARegularFile) = $0 { true } else { false }
        }
    }

    @Test("a key file in a missing directory is reported with the failing system call")
    func missingDirectory() throws {
        let missing = directory.file("absent/vault.key")
        expectVaultError { try RecordVault.loadOrCreateKeyEncryptionKey(at: missing) } where: {
            if case .keyFile(missing, .systemCall("open", errno: ENOENT)) = $0 { true } else { false }
        }
    }
}
