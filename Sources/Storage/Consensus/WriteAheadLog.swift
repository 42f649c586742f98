import Crypto

/// The consensus write-ahead log: every consensus input is appended here before it changes the validator's
/// state, so a node that crashes resumes the height it was in by replaying the log (docs/CONSENSUS.md).
///
/// The file is a magic line followed by frames: `u32 length (big-endian) || first 8 bytes of SHA-256(payload)
/// || payload`. A crash can leave a torn last frame; opening keeps every whole frame before it and cuts the
/// file there. Records are opaque bytes to this type. The log holds the heights whose blocks may not be on
/// disk in the chain store yet: once they are, `reset()` empties it.
public final class WriteAheadLog {
    public static let magic = Array("healthledger-wal/1\n".utf8)
    /// The largest record accepted (a proposal carries a whole block, at most 4 MiB plus its signature).
    public static let maxRecordBytes = 16 * 1024 * 1024
    static let frameHeaderBytes = 12

    public let path: String
    private let file: DurableFile
    private var endOffset: Int

    /// The records found when the log was opened, in order.
    public let recovered: [[UInt8]]
    /// True when opening cut a torn or damaged tail off the file.
    public let truncatedTail: Bool
    /// True when there was no log to open (no file, or an empty one) and this one was begun.
    public let wasCreated: Bool

    /// Opens (or creates) the log at `path` and reads back what it holds.
    public init(path: String) throws(StorageError) {
        self.path = path
        file = try DurableFile.open(path)
        do throws(StorageError) {
            let contents = try file.read(count: try file.size(), at: 0)
            if contents.isEmpty {
                try file.write(Self.magic, at: 0)
                try file.sync()
                try DurableFile.syncDirectory(containing: path)
                (recovered, endOffset, truncatedTail, wasCreated) = ([], Self.magic.count, false, true)
            } else {
                guard contents.starts(with: Self.magic) else {
                    throw .corrupt(path: path, detail: "not a HealthLedger write-ahead log")
                }
                let scan = Self.scan(contents)
                (recovered, endOffset, truncatedTail, wasCreated) = (scan.records, scan.end, scan.end < contents.count, false)
                if truncatedTail {
                    try file.truncate(to: endOffset)
                    try file.sync()
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
        let frame = Self.frame(record)
        try file.write(frame, at: endOffset)
        endOffset += frame.count
        if sync { try file.sync() }
    }

    /// The log's length in bytes: the magic line and every whole frame.
    public var byteCount: Int { endOffset }

    /// Forces every appended record to disk.
    public func sync() throws(StorageError) { try file.sync() }

    /// Empties the log (after the height it covered is durable elsewhere). Not synced: it becomes durable
    /// with the next synced append. Until then a crash may leave the old records, whole or in part, before
    /// or after the new ones; they belong to heights already stored, which a replay ignores.
    public func reset() throws(StorageError) {
        try file.truncate(to: Self.magic.count)
        endOffset = Self.magic.count
    }

    static func frame(_ record: [UInt8]) -> [UInt8] {
        let length = UInt32(record.count)
        var frame: [UInt8] = [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
                              UInt8(truncatingIfNeeded: length)]
        frame += SHA256.hash(record).bytes.prefix(8)
        frame += record
        return frame
    }

    /// The whole frames after the magic line, and where the last one ends.
    static func scan(_ contents: [UInt8]) -> (records: [[UInt8]], end: Int) {
        var records: [[UInt8]] = []
        var offset = magic.count
        while contents.count - offset >= frameHeaderBytes {
            let length = contents[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let start = offset + frameHeaderBytes
            guard length <= maxRecordBytes, contents.count - start >= length else { break }
            let record = Array(contents[start..<start + length])
            guard SHA256.hash(record).bytes.prefix(8).elementsEqual(contents[offset + 4..<start]) else { break }
            records.append(record)
            offset = start + length
        }
        return (records, offset)
    }
}
