import Crypto

/// The consensus write-ahead log: every consensus input is appended here before it changes the validator's
/// state, so a node that crashes resumes the height it was in by replaying the log (docs/CONSENSUS.md).
///
/// The file is a magic line followed by frames: `u32 length (big-endian) || first 8 bytes of SHA-256(payload)
/// || payload`. A crash can leave a torn last frame; opening keeps every whole frame before it and cuts the
/// file there. Records are opaque bytes to this type. The log holds the heights whose blocks may not be on
/// disk in the chain store yet: once they are, `reset()` empties it.
///
/// The file grows ahead of its records, `growthBytes` of zeros at a time, and is never shortened by a reset,
/// so that most syncs write the records alone: a sync that also records a new file size writes the inode
/// too (or commits the file system's journal), about twice the time on this machine's disk and three times
/// under a CPU load (docs/CONSENSUS.md). The log ends at the first frame header that is all zeros: every
/// append writes one after its frame, and a reset writes one after the magic line. Whatever lies beyond it
/// is either zeros or records from before a reset, of heights already stored.
public final class WriteAheadLog {
    public static let magic = Array("healthledger-wal/1\n".utf8)
    /// The largest record accepted (a proposal carries a whole block, at most 4 MiB plus its signature).
    public static let maxRecordBytes = 16 * 1024 * 1024
    /// How far the file grows past the last record when a record does not fit any more.
    public static let defaultGrowthBytes = 1 << 20
    static let frameHeaderBytes = 12
    static let endMarker = [UInt8](repeating: 0, count: frameHeaderBytes)

    public let path: String
    private let file: DurableFile
    private let growthBytes: Int
    /// Where the next frame goes: after the magic line and every whole frame.
    private var endOffset: Int
    /// The file's size: the bytes from `endOffset` on are free (zeros, or records from before a reset).
    private var fileBytes: Int

    /// The records found when the log was opened, in order (empty once `releaseRecovered()` was called).
    public private(set) var recovered: [[UInt8]]
    /// True when opening cut a torn or damaged tail off the file.
    public let truncatedTail: Bool
    /// True when there was no log to open (no file, or an empty one) and this one was begun.
    public let wasCreated: Bool

    /// Opens (or creates) the log at `path` and reads back what it holds. The file grows `growthBytes` past
    /// its last record whenever a record does not fit (0: exactly as far as each record needs).
    public init(path: String, growthBytes: Int = WriteAheadLog.defaultGrowthBytes) throws(StorageError) {
        precondition(growthBytes >= 0, "a write-ahead log cannot grow by a negative size")
        self.path = path
        self.growthBytes = growthBytes
        file = try DurableFile.open(path)
        do throws(StorageError) {
            let contents = try file.read(count: try file.size(), at: 0)
            if contents.isEmpty {
                try file.write(Self.magic, at: 0)
                try file.sync()
                try DurableFile.syncDirectory(containing: path)
                (recovered, endOffset, fileBytes, truncatedTail, wasCreated) = ([], Self.magic.count, Self.magic.count, false, true)
            } else {
                guard contents.starts(with: Self.magic) else {
                    throw .corrupt(path: path, detail: "not a HealthLedger write-ahead log")
                }
                let scan = Self.scan(contents)
                (recovered, endOffset, fileBytes, truncatedTail, wasCreated) = (scan.records, scan.end, contents.count, !scan.endsClean, false)
                if truncatedTail {
                    try file.truncate(to: endOffset)
                    try file.sync()
                    fileBytes = endOffset
                }
            }
        } catch {
            file.close()
            throw error
        }
    }

    deinit { file.close() }

    /// Appends one record. With `sync`, it is durable when this returns; without, it becomes durable with
    /// the next synced append (a crash may lose it, which the protocol tolerates for messages from peers).
    public func append(_ record: [UInt8], sync: Bool) throws(StorageError) {
        precondition(record.count <= Self.maxRecordBytes, "a write-ahead log record is at most \(Self.maxRecordBytes) bytes")
        var bytes = Self.frame(record)
        let frameBytes = bytes.count
        bytes += Self.endMarker
        try reserve(endOffset + bytes.count)
        try file.write(bytes, at: endOffset)
        endOffset += frameBytes
        if sync { try file.sync() }
    }

    /// When the next write (ending at `byteCount`) goes past the file's end, writes `growthBytes` of zeros
    /// after it: that write itself fills the file up to `byteCount`.
    private func reserve(_ byteCount: Int) throws(StorageError) {
        guard byteCount > fileBytes else { return }
        if growthBytes > 0 { try file.write([UInt8](repeating: 0, count: growthBytes), at: byteCount) }
        fileBytes = byteCount + growthBytes
    }

    /// Frees `recovered` once its records have been taken (the log may hold up to 32 MiB of them).
    public func releaseRecovered() { recovered = [] }

    /// The log's length in bytes: the magic line and every whole frame.
    public var byteCount: Int { endOffset }

    /// Forces every appended record to disk.
    public func sync() throws(StorageError) { try file.sync() }

    /// Empties the log (after the height it covered is durable elsewhere) by ending it after the magic line;
    /// the file keeps its size, and the next records overwrite the old ones. Not synced: it becomes durable
    /// with the next synced append. Until then a crash may leave the old records, whole or in part, before
    /// or after the new ones; they belong to heights already stored, which a replay ignores.
    public func reset() throws(StorageError) {
        try reserve(Self.magic.count + Self.endMarker.count)
        try file.write(Self.endMarker, at: Self.magic.count)
        endOffset = Self.magic.count
    }

    /// The frame of `record`, with room for the end marker after it (`append` adds it without copying).
    static func frame(_ record: [UInt8]) -> [UInt8] {
        let length = UInt32(record.count)
        var frame: [UInt8] = []
        frame.reserveCapacity(frameHeaderBytes + record.count + endMarker.count)
        frame += [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
                  UInt8(truncatingIfNeeded: length)]
        frame += SHA256.hash(record).bytes.prefix(8)
        frame += record
        return frame
    }

    /// The whole frames after the magic line, where the last one ends, and whether the log ends cleanly
    /// there (an all-zero header, or the file's end) rather than at a torn or damaged frame.
    static func scan(_ contents: [UInt8]) -> (records: [[UInt8]], end: Int, endsClean: Bool) {
        var records: [[UInt8]] = []
        var offset = magic.count
        while true {
            let header = contents[offset..<min(offset + frameHeaderBytes, contents.count)]
            if header.allSatisfy({ $0 == 0 }) { return (records, offset, true) }
            guard header.count == frameHeaderBytes else { break }
            let length = header.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            let start = offset + frameHeaderBytes
            guard length <= maxRecordBytes, contents.count - start >= length else { break }
            let record = Array(contents[start..<start + length])
            guard SHA256.hash(record).bytes.prefix(8).elementsEqual(header.suffix(8)) else { break }
            records.append(record)
            offset = start + length
        }
        return (records, offset, false)
    }
}
