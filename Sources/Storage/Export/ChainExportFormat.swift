import Ledger

/// The chain export file (docs/FORMAT.md, "Export file"): a header binding it to one genesis, every
/// committed block as a length-prefixed record, an end marker, and a trailer with the block count, entry
/// count and head hash, so truncation and splicing are detected.
///
///     "HLEXPORT" | u8 version = 1 | chain id (u16 + UTF-8) | genesis hash (32)
///     repeated: u32 length (1 ... maxBlockBytes) | CommittedBlock bytes
///     u32 0 | u64 block count | u64 entry count | head hash (32) | end of file
public enum ChainExportFormat {
    public static let magic = Array("HLEXPORT".utf8)
    public static let version: UInt8 = 1
    /// The largest block record accepted.
    public static let maxBlockBytes = 64 * 1024 * 1024
    public static let trailerByteCount = 8 + 8 + 32

    static func header(for genesis: Genesis) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.fixed(magic)
        encoder.u8(version)
        genesis.chainID.encode(to: &encoder)
        encoder.digest(genesis.hash)
        return encoder.bytes
    }

    /// One block record: u32 length, then the committed block's bytes.
    static func record(_ blockBytes: [UInt8]) -> [UInt8] {
        precondition(!blockBytes.isEmpty && blockBytes.count <= maxBlockBytes, "block record size out of range")
        var encoder = CanonicalEncoder(capacity: 4 + blockBytes.count)
        encoder.u32(UInt32(blockBytes.count))
        encoder.fixed(blockBytes)
        return encoder.bytes
    }

    static func trailer(blockCount: UInt64, entryCount: UInt64, headHash: SHA256Digest) -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.u32(0)
        encoder.u64(blockCount)
        encoder.u64(entryCount)
        encoder.digest(headHash)
        return encoder.bytes
    }
}

/// What an export holds, from its trailer.
public struct ExportSummary: Sendable, Equatable {
    public let blockCount: UInt64
    public let entryCount: UInt64
    public let headHash: SHA256Digest
}
