/// Where a validator keeps what it last signed (height, round, step and the signed bytes), so that it never
/// signs two different votes for one step, even across a crash. The state is saved durably before the
/// signature leaves the node; a damaged file stops the node rather than risk a double signature.
///
/// The file is written in place, because a save precedes every signature a validator makes (two or three
/// per height) and an atomic replace costs a rename and two syncs where an overwrite costs one data sync
/// (docs/PERFORMANCE.md, "Consortium"). Layout: the magic line, then two slots of `slotBytes` at fixed
/// offsets, each holding one frame (as in the write-ahead log: length, checksum, payload) whose payload is
/// a save counter and the state. Saves alternate between the slots, so a write torn by a crash damages only
/// the slot it was writing; the other still holds the save before, and that signature never left. Opening
/// takes the valid slot with the higher counter; a file with no valid slot is refused.
///
/// A file of the first format (one frame, replaced atomically on every save) is read, and rewritten in this
/// format by the first save.
public final class SignerStateFile {
    public static let magic = Array("healthledger-signer-state/2\n".utf8)
    static let firstFormatMagic = Array("healthledger-signer-state/1\n".utf8)
    /// The size of each slot, and the offset of the first (the magic line has the first 4 KiB to itself): the
    /// file is three slots long.
    static let slotBytes = 4096
    static let counterBytes = 8
    /// The largest state a slot holds.
    public static let maxStateBytes = slotBytes - WriteAheadLog.frameHeaderBytes - counterBytes

    public let path: String
    /// The state saved last, as read when the file was opened (nil when nothing was ever signed).
    public let loaded: [UInt8]?
    /// Open for in-place saves once the file is in this format.
    private var file: DurableFile?
    private var saves: UInt64

    /// Opens the signer state at `path` and reads what it holds (a missing file means nothing was signed).
    public init(path: String) throws(StorageError) {
        self.path = path
        guard let contents = try DurableFile.readIfPresent(path, maximumByteCount: 3 * Self.slotBytes) else {
            (loaded, saves, file) = (nil, 0, nil)
            return
        }
        if contents.starts(with: Self.firstFormatMagic) {
            (loaded, saves, file) = (try Self.firstFormatState(contents, path: path), 0, nil)
            return
        }
        guard contents.starts(with: Self.magic), contents.count == 3 * Self.slotBytes else {
            throw .corrupt(path: path, detail: "not a signer state file")
        }
        let slots = [1, 2].compactMap { Self.slot(contents, at: $0 * Self.slotBytes) }
        guard let newest = slots.max(by: { $0.saves < $1.saves }) else {
            throw .corrupt(path: path, detail: "the signer state does not check out; refusing to sign until an operator restores it")
        }
        (loaded, saves) = (newest.state, newest.saves)
        file = try DurableFile.open(path)
    }

    deinit { file?.close() }

    /// Saves `state` in place of the older slot; durable when this returns.
    public func save(_ state: [UInt8]) throws(StorageError) {
        precondition(!state.isEmpty && state.count <= Self.maxStateBytes, "signer state of \(state.count) bytes")
        let count = file == nil ? 1 : saves + 1
        let frame = WriteAheadLog.frame(count.bigEndianBytes + state)
        let offset = (1 + Int(count % 2)) * Self.slotBytes
        if let file {
            try file.write(frame, at: offset)
            try file.sync()
        } else {
            // Absent, or the first format: a new file with this state in one slot, replaced atomically.
            var contents = Self.magic + [UInt8](repeating: 0, count: 3 * Self.slotBytes - Self.magic.count)
            contents.replaceSubrange(offset..<offset + frame.count, with: frame)
            try DurableFile.replace(path, with: contents)
            file = try DurableFile.open(path)
        }
        saves = count
    }

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
