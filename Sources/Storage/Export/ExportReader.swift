import Foundation
import Ledger

/// Reads a chain export file as a stream of block records, holding one block at a time.
/// File-level problems (bad magic, bad lengths, a bad trailer) are `VerificationFailure`s naming the
/// height where they occur (0 for the header).
public final class ExportReader {
    public let path: String
    public let chainID: ChainID
    public let genesisHash: SHA256Digest
    /// The file size, for progress reports.
    public let fileSize: UInt64
    private let stream: FileByteStream
    /// The trailer, once `nextBlock` has returned nil.
    public private(set) var summary: ExportSummary?

    /// Bytes consumed so far.
    public var bytesRead: UInt64 { stream.bytesRead }

    /// Opens `path` and reads the header. Throws `StorageError` when the file cannot be read, and a
    /// `VerificationFailure` at height 0 when it is not an export.
    public init(path: String) throws {
        self.path = path
        stream = try FileByteStream(path: path)
        fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
        guard try stream.take(ChainExportFormat.magic.count, height: 0) == ChainExportFormat.magic else {
            throw VerificationFailure(height: 0, reason: .exportMismatch("not a HealthLedger chain export (bad magic bytes)"))
        }
        var header = CanonicalDecoder(try stream.take(3, height: 0))
        let chainLength: Int
        do {
            try header.expectVersion(ChainExportFormat.version, structure: "export")
            chainLength = Int(try header.u16("chain id length"))
        } catch {
            throw VerificationFailure(height: 0, reason: .undecodable(error))
        }
        guard chainLength <= ChainID.maxLength else {
            throw VerificationFailure(height: 0, reason: .undecodable(.tooLarge(field: "chain id", limit: ChainID.maxLength, actual: chainLength)))
        }
        var rest = CanonicalDecoder(try stream.take(chainLength + SHA256Digest.byteCount, height: 0))
        let chainBytes = try rest.fixed(chainLength, "chain id")
        guard let chainID = ChainID(String(decoding: chainBytes, as: UTF8.self)) else {
            throw VerificationFailure(height: 0, reason: .undecodable(.invalidValue(field: "chain id", reason: "characters or length not allowed")))
        }
        self.chainID = chainID
        genesisHash = try rest.digest("genesis hash")
    }

    /// The next block's bytes, expected to be block `height`; nil after the end marker, with the trailer
    /// then available from `summary`.
    public func nextBlock(height: UInt64) throws -> [UInt8]? {
        let length = Int(try stream.take(4, height: height).reduce(0) { $0 << 8 | UInt32($1) })
        if length == 0 {
            summary = try readTrailer(height: height)
            return nil
        }
        guard length <= ChainExportFormat.maxBlockBytes else {
            throw VerificationFailure(height: height, reason: .undecodable(.tooLarge(
                field: "block record", limit: ChainExportFormat.maxBlockBytes, actual: length)))
        }
        return try stream.take(length, height: height)
    }

    private func readTrailer(height: UInt64) throws -> ExportSummary {
        var decoder = CanonicalDecoder(try stream.take(ChainExportFormat.trailerByteCount, height: height))
        guard try stream.isAtEnd() else {
            throw VerificationFailure(height: height, reason: .exportMismatch("unexpected bytes after the export's end marker"))
        }
        return ExportSummary(blockCount: try decoder.u64("block count"), entryCount: try decoder.u64("entry count"),
                             headHash: try decoder.digest("head hash"))
    }
}

/// Buffered sequential reads from a file, in 1 MiB chunks.
final class FileByteStream {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var bufferOffset = 0
    private var reachedEOF = false
    private(set) var bytesRead: UInt64 = 0

    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
            let handle = FileHandle(forReadingAtPath: path)
        else { throw StorageError.io(operation: "open", path: path, detail: "no such file, or not readable") }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Exactly `count` bytes; a `VerificationFailure` at `height` when the file ends first.
    func take(_ count: Int, height: UInt64) throws -> [UInt8] {
        try fill(count)
        guard buffer.count - bufferOffset >= count else {
            throw VerificationFailure(height: height, reason: .undecodable(.truncated(field: height == 0 ? "export header" : "block record")))
        }
        defer {
            bufferOffset += count
            bytesRead += UInt64(count)
        }
        return Array(buffer[bufferOffset..<bufferOffset + count])
    }

    func isAtEnd() throws -> Bool {
        try fill(1)
        return bufferOffset == buffer.count
    }

    private func fill(_ count: Int) throws {
        guard buffer.count - bufferOffset < count, !reachedEOF else { return }
        buffer.removeFirst(bufferOffset)
        bufferOffset = 0
        while buffer.count < count, !reachedEOF {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: max(1 << 20, count - buffer.count))
            } catch {
                throw StorageError.io(operation: "read", path: path, detail: error.localizedDescription)
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { reachedEOF = true }
        }
    }
}
