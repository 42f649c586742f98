import Foundation
import Testing
import Ledger
import Storage
import TestSupport

/// The offline audit through real export files: a valid export verifies with the store's head; any changed
/// byte, any reordering, drop, duplication or truncation fails, naming the right height.
@Suite struct ChainAuditTests {
    /// A store with a generated chain, exported to `export.hlx` in `scratch`.
    static func exportedChain(_ scratch: ScratchDirectory, blocks: Int = 8) throws -> (Genesis, [CommittedBlock], String) {
        let (genesis, committed, _) = generatedChain(blocks: blocks)
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        try append(committed, to: store)
        let path = scratch.file("export.hlx")
        let summary = try store.export(to: path)
        #expect(summary.blockCount == UInt64(committed.count))
        #expect(summary.headHash == store.headHash)
        return (genesis, committed, path)
    }

    static func audit(_ path: String, _ genesis: Genesis) throws -> AuditReport {
        try ChainAudit.verify(exportAt: path, genesis: genesis, signatureThreads: 2)
    }

    @Test func aValidExportVerifies() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, path) = try Self.exportedChain(scratch)
        var progressHeights: [UInt64] = []
        let report = try ChainAudit.verify(exportAt: path, genesis: genesis, progressEvery: 3) { progressHeights.append($0.height) }
        #expect(report.valid)
        #expect(report.failure == nil)
        #expect(report.height == UInt64(blocks.count))
        #expect(report.entryCount == UInt64(blocks.map(\.block.entries.count).reduce(0, +)))
        #expect(report.headHash == blocks.last!.block.header.hash)
        #expect(progressHeights == [3, 6, 9])
    }

    /// Byte ranges of the export: the header, each block record (with its length prefix), the end.
    static func layout(of bytes: [UInt8], blockSizes: [Int]) -> (headerEnd: Int, blockStarts: [Int], trailerStart: Int) {
        let headerEnd = bytes.count - ChainExportFormat.trailerByteCount - 4 - blockSizes.reduce(0) { $0 + 4 + $1 }
        var starts: [Int] = []
        var offset = headerEnd
        for size in blockSizes {
            starts.append(offset)
            offset += 4 + size
        }
        return (headerEnd, starts, offset)
    }

    @Test func changingAnyByteFailsAtTheHeightThatHoldsIt() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, path) = try Self.exportedChain(scratch, blocks: 5)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let (headerEnd, blockStarts, trailerStart) = Self.layout(of: original, blockSizes: blocks.map { $0.canonicalBytes.count })
        var random = SeededRandom(seed: 2026)
        let tamperedPath = scratch.file("tampered.hlx")
        // Every header and trailer byte, and 250 random positions inside blocks.
        let positions = Array(0..<headerEnd) + Array(trailerStart..<original.count)
            + (0..<250).map { _ in Int.random(in: headerEnd..<trailerStart, using: &random) }
        for position in positions {
            var bytes = original
            bytes[position] ^= UInt8.random(in: 1...255, using: &random)
            try Data(bytes).write(to: URL(fileURLWithPath: tamperedPath))
            let report = try Self.audit(tamperedPath, genesis)
            let expected: Set<UInt64>
            if position < headerEnd {
                expected = [0]
            } else if position >= trailerStart {
                expected = [0, UInt64(blocks.count + 1)]
            } else {
                expected = [UInt64(blockStarts.lastIndex { $0 <= position }! + 1)]
            }
            #expect(!report.valid, "byte \(position) changed but the export still verifies (seed 2026)")
            #expect(expected.contains(report.height), "byte \(position): failure at \(report.height), expected \(expected): \(String(describing: report.failure))")
        }
    }

    @Test func reorderedDroppedOrDuplicatedBlocksFail() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, _) = try Self.exportedChain(scratch)
        func export(_ sequence: [CommittedBlock]) throws -> AuditReport {
            let path = scratch.file("edited.hlx")
            let writer = try ExportWriter(path: path, genesis: genesis)
            for block in sequence { try writer.append(block) }
            try writer.finish()
            return try Self.audit(path, genesis)
        }
        var swapped = blocks
        swapped.swapAt(3, 4)
        #expect(try export(swapped).height == 4)
        #expect(try export(blocks.enumerated().filter { $0.offset != 5 }.map(\.element)).height == 6)
        var duplicated = blocks
        duplicated.insert(blocks[2], at: 3)
        #expect(try export(duplicated).height == 4)
        #expect(try export(Array(blocks.prefix(4))).valid, "a prefix of a chain is itself a valid chain")
    }

    @Test func truncatedExportsFail() throws {
        let scratch = ScratchDirectory()
        let (genesis, _, path) = try Self.exportedChain(scratch, blocks: 3)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var random = SeededRandom(seed: 99)
        let cuts = [0, 1, 8, 40, original.count - 1, original.count - 48] + (0..<30).map { _ in Int.random(in: 0..<original.count, using: &random) }
        for cut in cuts {
            let truncated = scratch.file("truncated.hlx")
            try original.prefix(cut).write(to: URL(fileURLWithPath: truncated))
            #expect(try !Self.audit(truncated, genesis).valid, "cut at \(cut) still verifies")
        }
        let appended = scratch.file("appended.hlx")
        try (original + [0]).write(to: URL(fileURLWithPath: appended))
        #expect(try !Self.audit(appended, genesis).valid)
    }

    @Test func anExportChecksAgainstTheRightGenesisOnly() throws {
        let scratch = ScratchDirectory()
        let (_, _, path) = try Self.exportedChain(scratch, blocks: 2)
        let other = ChainBuilder(organisationCount: 2).genesis
        let report = try Self.audit(path, other)
        #expect(!report.valid && report.height == 0)
    }

    @Test func anExportWithServiceResultsVerifies() throws {
        let scratch = ScratchDirectory()
        let (genesis, blocks, _) = generatedChain(blocks: 10, servicePercent: 50)
        let results = blocks.flatMap(\.block.entries).filter { $0.transaction.transaction.kind == .serviceResult }.count
        #expect(results > 5, "the sample must hold results")
        let store = try ChainStore(path: scratch.file("ledger.sqlite"), genesis: genesis)
        try append(blocks, to: store)
        let path = scratch.file("export.hlx")
        _ = try store.export(to: path)
        let report = try Self.audit(path, genesis)
        #expect(report.valid && report.failure == nil)
        #expect(report.height == UInt64(blocks.count) && report.headHash == store.headHash)
        #expect(report.entryCount == UInt64(blocks.map(\.block.entries.count).reduce(0, +)))
    }

    /// Colluding validators certify a block with a second result for an access already answered: the audit
    /// re-derives the state and fails at that block.
    @Test func anExportWithASecondResultForOneAccessFailsAtItsBlock() throws {
        let scratch = ScratchDirectory()
        var scenario = ServiceScenario()
        let genesis = scenario.builder.genesis
        let previous = scenario.blocks.last!.block.header
        let again = scenario.builder.serviceResult(answering: scenario.diagnose.id)
        let entries = [BlockEntry(transaction: again, outcome: nil)]
        let header = BlockHeader(chainID: genesis.chainID, height: previous.height + 1, timeMs: previous.timeMs + 1_000,
                                 previousHash: previous.hash, entriesRoot: MerkleTree.root(leafHashes: entries.map { MerkleTree.leafHash($0.canonicalBytes) }),
                                 entryCount: 1, proposer: genesis.validators[0].key, validatorSetHash: genesis.validatorSetHash)
        let forged = CommittedBlock(block: Block(header: header, entries: entries), certificate: scenario.builder.certify(header))
        let path = scratch.file("forged.hlx")
        let writer = try ExportWriter(path: path, genesis: genesis)
        for block in scenario.blocks + [forged] { try writer.append(block) }
        try writer.finish()
        let report = try Self.audit(path, genesis)
        #expect(!report.valid)
        #expect(report.failure == VerificationFailure(height: 4, reason: .invalidBlock(.invalidEntry(index: 0, .serviceResultAlreadyCommitted))))
    }

    @Test func aMissingFileIsAnErrorNotAReport() {
        #expect(throws: StorageError.self) {
            _ = try ChainAudit.verify(exportAt: "/nonexistent/export.hlx", genesis: ChainBuilder().genesis)
        }
    }
}
