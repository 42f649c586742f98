/// Where a validator keeps what it last signed (height, round, step and the signed bytes), so that it never
/// signs two different votes for one step, even across a crash. The state is saved, durably and atomically,
/// before the signature leaves the node; a damaged file stops the node rather than risk a double signature.
public struct SignerStateFile: Sendable {
    public static let magic = Array("healthledger-signer-state/1\n".utf8)
    static let maxStateBytes = 64 * 1024

    public let path: String

    public init(path: String) { self.path = path }

    /// The saved state, or nil when nothing was ever signed.
    public func load() throws(StorageError) -> [UInt8]? {
        guard let contents = try DurableFile.readIfPresent(path, maximumByteCount: Self.maxStateBytes) else { return nil }
        guard contents.starts(with: Self.magic) else { throw .corrupt(path: path, detail: "not a signer state file") }
        let body = Array(contents.dropFirst(Self.magic.count))
        let scan = WriteAheadLog.scan(WriteAheadLog.magic + body)
        guard scan.records.count == 1, scan.end == WriteAheadLog.magic.count + body.count else {
            throw .corrupt(path: path, detail: "the signer state does not check out; refusing to sign until an operator restores it")
        }
        return scan.records[0]
    }

    /// Replaces the saved state; durable when this returns.
    public func save(_ state: [UInt8]) throws(StorageError) {
        precondition(state.count + Self.magic.count + WriteAheadLog.frameHeaderBytes <= Self.maxStateBytes, "signer state too large")
        try DurableFile.replace(path, with: Self.magic + WriteAheadLog.frame(state))
    }
}
