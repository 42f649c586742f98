import Foundation
import Ledger
import Storage

/// A node's data directory (docs/OPERATIONS.md):
///
///     genesis.json    the consortium's genesis document
///     node.key        this node's Ed25519 key (PEM, PKCS#8, 0600)
///     admin.key       the organisation admin key (embedded default only: enrols practitioners)
///     vault.key       the vault's key-encryption key (32 bytes, 0600): keep it apart from backups of vault.sqlite
///     ledger.sqlite   blocks, entries, consent state (+ -wal, -shm)
///     vault.sqlite    encrypted records (+ -wal, -shm)
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var genesisFile: String { path + "/genesis.json" }
    public var nodeKeyFile: String { path + "/node.key" }
    public var adminKeyFile: String { path + "/admin.key" }
    public var vaultKeyFile: String { path + "/vault.key" }
    public var ledgerDatabase: String { path + "/ledger.sqlite" }
    public var vaultDatabase: String { path + "/vault.sqlite" }

    /// `$HEALTHLEDGER_HOME`, else `$XDG_DATA_HOME/healthledger`, else `~/.local/share/healthledger`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["HEALTHLEDGER_HOME"], !home.isEmpty { return home }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/healthledger" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/healthledger"
    }

    /// Creates the embedded default (a one-validator consortium) unless the directory already holds a genesis:
    /// a node key, an admin key and a genesis naming them. Returns true when it created them.
    public func initialiseEmbeddedDefault(listenAddress: String, nowMs: UInt64) throws(NodeError) -> Bool {
        let files = FileManager.default
        if files.fileExists(atPath: genesisFile) { return false }
        for existing in [nodeKeyFile, adminKeyFile] where files.fileExists(atPath: existing) {
            throw .configuration("\(existing) exists but \(genesisFile) does not: restore the genesis file, or start with --genesis FILE")
        }
        do {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .configuration("cannot create the data directory \(path): \(error.localizedDescription)")
        }
        let nodeKey = Ed25519.PrivateKey()
        let adminKey = Ed25519.PrivateKey()
        let organisation = OrganisationID("local-hospital")!
        let genesis: Genesis
        do {
            genesis = try Genesis(
                chainID: ChainID("local-" + Hex.encode(SecureRandom.bytes(count: 4)))!, genesisTimeMs: nowMs / 1000 * 1000,
                organisations: [Organisation(id: organisation, name: "Local Hospital", adminKey: Identity(publicKey: adminKey.publicKey))],
                validators: [Validator(name: "local-node", organisation: organisation, key: Identity(publicKey: nodeKey.publicKey),
                                       address: listenAddress)])
            try KeyFile.save(nodeKey, to: nodeKeyFile, passphrase: nil)
            try KeyFile.save(adminKey, to: adminKeyFile, passphrase: nil)
        } catch {
            throw .configuration("cannot create the embedded default in \(path): \(error)")
        }
        try Self.writeNew(genesis.jsonBytes, to: genesisFile)
        return true
    }

    /// Writes a new file readable by its owner and group only, refusing to replace one.
    static func writeNew(_ bytes: [UInt8], to path: String) throws(NodeError) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o640]) else {
            throw .configuration("cannot write \(path)")
        }
    }
}

/// Why the node cannot start or serve. Safe to print.
public enum NodeError: Error, CustomStringConvertible {
    case configuration(String)
    case storage(StorageError)

    public var description: String {
        switch self {
        case let .configuration(message): return message
        case let .storage(error): return error.description
        }
    }
}
