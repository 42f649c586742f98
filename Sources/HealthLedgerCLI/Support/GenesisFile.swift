import Ledger

/// Loading a genesis file named on the command line.
enum GenesisFile {
    /// The validated genesis at `path`. Unreadable: exit 1; not a valid genesis: exit 2.
    static func load(_ path: String) throws(CLIError) -> Genesis {
        let bytes = try InputFiles.load(path, what: "genesis file", maximumByteCount: Genesis.maxJSONBytes)
        do {
            return try Genesis(jsonBytes: bytes)
        } catch {
            throw .badInput("\(path): \(error)", "fix the genesis file (docs/GENESIS.md describes each field)")
        }
    }
}
