/// The signer state file of earlier versions: what a validator last signed (height, round, step and the
/// signed bytes), saved durably in its own file before each signature left the node.
///
/// A validator now finds what it signed in its write-ahead log: each of its proposals and votes is logged,
/// and the log synced, before it leaves (`SigningGuard.recovering`), one sync where the file cost a second
/// (docs/PERFORMANCE.md, "Consortium"). Nothing writes this file any more. A data directory from an
/// earlier version may hold one whose signature is newer than anything in the log (it was saved before
/// the log was synced): the node reads it on start, honours it, and removes it once the chain has
/// committed its height. A file with no valid state stops the node rather than risk a double signature.
///
/// Formats read: 2, the magic line, then two slots of `slotBytes` at fixed offsets (saves alternated
/// between them), each holding one frame (as in the write-ahead log: length, checksum, payload) whose
/// payload is a save counter and the state, the valid slot with the higher counter being the state; and 1,
/// one frame after its magic line.
public struct SignerStateFile {
    public static let magic = Array("healthledger-signer-state/2\n".utf8)
    static let firstFormatMagic = Array("healthledger-signer-state/1\n".utf8)
    /// The size of each slot, and the offset of the first (the magic line has the first 4 KiB to itself): the
    /// file is three slots long.
    static let slotBytes = 4096
    static let counterBytes = 8

    public let path: String
    /// The state the file holds (nil when there is no file).
    public let loaded: [UInt8]?

    /// Reads the signer state at `path` (a missing file means none).
    public init(path: String) throws(StorageError) {
        self.path = path
        guard let contents = try DurableFile.readIfPresent(path, maximumByteCount: 3 * Self.slotBytes) else {
            loaded = nil
            return
        }
        if contents.starts(with: Self.firstFormatMagic) {
            loaded = try Self.firstFormatState(contents, path: path)
            return
        }
        guard contents.starts(with: Self.magic), contents.count == 3 * Self.slotBytes else {
            throw .corrupt(path: path, detail: "not a signer state file")
        }
        let slots = [1, 2].compactMap { Self.slot(contents, at: $0 * Self.slotBytes) }
        guard let newest = slots.max(by: { $0.saves < $1.saves }) else {
            throw .corrupt(path: path, detail: "the signer state does not check out; refusing to sign until an operator restores it")
        }
        loaded = newest.state
    }

    /// Deletes the file (once what it holds is older than the committed chain), and makes that durable.
    public func remove() throws(StorageError) { try DurableFile.remove(path) }

    private static func slot(_ contents: [UInt8], at offset: Int) -> (saves: UInt64, state: [UInt8])? {
        let bytes = Array(contents[offset..<offset + slotBytes])
        let records = WriteAheadLog.scan(WriteAheadLog.magic + bytes).records
        guard let payload = records.first, payload.count > counterBytes else { return nil }
        return (payload.prefix(counterBytes).reduce(0) { $0 << 8 | UInt64($1) }, Array(payload.dropFirst(counterBytes)))
    }

    private static func firstFormatState(_ contents: [UInt8], path: String) throws(StorageError) -> [UInt8] {
        let body = Array(contents.dropFirst(firstFormatMagic.count))
        let scan = WriteAheadLog.scan(WriteAheadLog.magic + body)
        guard scan.records.count == 1, scan.end == WriteAheadLog.magic.count + body.count else {
            throw .corrupt(path: path, detail: "the signer state does not check out; refusing to sign until an operator restores it")
        }
        return scan.records[0]
    }
}
