import Foundation
import Ledger

/// Writes a chain export file block by block. The file appears under its final name only when `finish`
/// succeeds (written to a temporary name, synced, then renamed), so a reader never sees half an export.
public final class ExportWriter {
    public let path: String
    private let temporaryPath: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var blockCount: UInt64 = 0
    private var entryCount: UInt64 = 0
    private var headHash: SHA256Digest
    private var finished = false

    /// Creates the temporary file and writes the header.
    public init(path: String, genesis: Genesis) throws(StorageError) {
        self.path = path
        temporaryPath = path + ".partial"
        headHash = genesis.hash
        guard FileManager.default.createFile(atPath: temporaryPath, contents: nil) ,
            let handle = FileHandle(forWritingAtPath: temporaryPath)
        else { throw .io(operation: "create", path: temporaryPath, detail: "check the directory exists and is writable") }
        self.handle = handle
        buffer = ChainExportFormat.header(for: genesis)
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporaryPath)
        }
    }

    /// Appends one committed block, given as its canonical bytes with its entry count and hash.
    public func append(blockBytes: [UInt8], entryCount: Int, hash: SHA256Digest) throws(StorageError) {
        precondition(!finished, "append after finish")
        buffer += ChainExportFormat.record(blockBytes)
        blockCount += 1
        self.entryCount += UInt64(entryCount)
        headHash = hash
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends one committed block.
    public func append(_ committed: CommittedBlock) throws(StorageError) {
        try append(blockBytes: committed.canonicalBytes, entryCount: committed.block.entries.count, hash: committed.block.header.hash)
    }

    /// Writes the trailer, syncs, and moves the file to its final name.
    @discardableResult
    public func finish() throws(StorageError) -> ExportSummary {
        precondition(!finished, "finish called twice")
        buffer += ChainExportFormat.trailer(blockCount: blockCount, entryCount: entryCount, headHash: headHash)
        try flush()
        do {
            try handle.synchronize()
            try handle.close()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporaryPath, toPath: path)
        } catch {
            throw .io(operation: "finish", path: path, detail: error.localizedDescription)
        }
        finished = true
        return ExportSummary(blockCount: blockCount, entryCount: entryCount, headHash: headHash)
    }

    private func flush() throws(StorageError) {
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw .io(operation: "write", path: temporaryPath, detail: error.localizedDescription)
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

extension ChainStore {
    /// Exports blocks 1 through the head (or `upTo`) to the file at `path`.
    @discardableResult
    public func export(to path: String, upTo lastHeight: UInt64? = nil) throws(StorageError) -> ExportSummary {
        let writer = try ExportWriter(path: path, genesis: genesis)
        do {
            try forEachStoredBlock(upTo: lastHeight) { stored in
                try writer.append(blockBytes: stored.bytes, entryCount: stored.entryCount, hash: stored.hash)
            }
        } catch {
            throw .wrap(error)
        }
        return try writer.finish()
    }

    /// Streams an export of blocks 1 through the head (or `upTo`) into `sink`, in pieces of about 1 MiB,
    /// holding one block at a time. The head is fixed when the call starts.
    @discardableResult
    public func streamExport(upTo lastHeight: UInt64? = nil, into sink: ([UInt8]) throws -> Void) throws -> ExportSummary {
        var buffer = ChainExportFormat.header(for: genesis)
        var blockCount: UInt64 = 0
        var entryCount: UInt64 = 0
        var headHash = genesis.hash
        try forEachStoredBlock(upTo: lastHeight) { stored in
            buffer += ChainExportFormat.record(stored.bytes)
            blockCount += 1
            entryCount += UInt64(stored.entryCount)
            headHash = stored.hash
            if buffer.count >= 1 << 20 {
                try sink(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        buffer += ChainExportFormat.trailer(blockCount: blockCount, entryCount: entryCount, headHash: headHash)
        try sink(buffer)
        return ExportSummary(blockCount: blockCount, entryCount: entryCount, headHash: headHash)
    }

    private func forEachStoredBlock(upTo lastHeight: UInt64?, _ body: (StoredBlock) throws -> Void) throws {
        let end = min(lastHeight ?? headHeight, headHeight)
        var height: UInt64 = 1
        while height <= end {
            guard let stored = try storedBlock(at: height) else {
                throw StorageError.corrupt(path: path, detail: "block \(height) is missing below the head")
            }
            try body(stored)
            height += 1
        }
    }
}
