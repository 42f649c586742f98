import Consensus
import Ledger
import Testing
import TestSupport

/// Sync answers with consecutive blocks, and a receiver applies a block only when it verifies completely:
/// a lying peer cannot change what is applied.
@Suite struct BlockSyncTests {
    static let chain = MessageEncodingTests.chain(blocks: 6)

    static func freshVerifier(_ genesis: Genesis) -> ChainVerifier<MemoryLedgerState> {
        ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
    }

    static var genesis: Genesis { ChainBuilder(seed: 3, organisationCount: 4).genesis }

    @Test func aResponseHoldsConsecutiveAvailableBlocks() {
        let chain = Self.chain
        let lookup: (UInt64) -> CommittedBlock? = { height in chain.first { $0.height == height } }
        #expect(BlockSync.response(to: SyncRequest(fromHeight: 2, maxCount: 3), headHeight: 6, block: lookup).blocks.map(\.height) == [2, 3, 4])
        #expect(BlockSync.response(to: SyncRequest(fromHeight: 5, maxCount: 16), headHeight: 6, block: lookup).blocks.map(\.height) == [5, 6])
        #expect(BlockSync.response(to: SyncRequest(fromHeight: 7, maxCount: 16), headHeight: 6, block: lookup).blocks.isEmpty)
    }

    @Test func verifiedBlocksAreApplied() throws {
        var verifier = Self.freshVerifier(Self.genesis)
        for committed in Self.chain { try BlockSync.verifyAndAppend(committed, to: &verifier) }
        #expect(verifier.height == 6)
        #expect(verifier.headHash == Self.chain.last!.block.header.hash)
    }

    @Test func aBadCertificateSignatureOrTooLittlePowerAppliesNothing() {
        let genesis = Self.genesis
        let first = Self.chain[0]
        var verifier = Self.freshVerifier(genesis)
        let signatures = first.certificate.signatures
        var forgedSignature = signatures
        var bytes = forgedSignature[1].signature
        bytes[0] ^= 1
        forgedSignature[1] = CommitCertificate.Signature(validatorIndex: forgedSignature[1].validatorIndex, signature: bytes)
        let cases: [([CommitCertificate.Signature], VerificationFailure.Reason)] = [
            (forgedSignature, .badCertificateSignature(validatorIndex: 1)),
            (Array(signatures.prefix(2)), .insufficientVotingPower(signed: 2, total: 4)),
        ]
        for (certificateSignatures, reason) in cases {
            let certificate = CommitCertificate(height: 1, round: 0, blockHash: first.block.header.hash, signatures: certificateSignatures)
            #expect(throws: VerificationFailure(height: 1, reason: reason)) {
                try BlockSync.verifyAndAppend(CommittedBlock(block: first.block, certificate: certificate), to: &verifier)
            }
            #expect(verifier.height == 0 && verifier.state.grantCount == 0)
        }
    }

    @Test func aBlockOutOfOrderOrWithAForgedTransactionAppliesNothing() throws {
        let genesis = Self.genesis
        var verifier = Self.freshVerifier(genesis)
        #expect(throws: VerificationFailure.self) { try BlockSync.verifyAndAppend(Self.chain[1], to: &verifier) }
        try BlockSync.verifyAndAppend(Self.chain[0], to: &verifier)
        let second = Self.chain[1]
        var entryBytes = second.block.entries[0].transaction.canonicalBytes
        entryBytes[entryBytes.count - 1] ^= 1
        var entries = second.block.entries
        entries[0] = BlockEntry(transaction: try SignedTransaction(canonicalBytes: entryBytes), outcome: entries[0].outcome)
        #expect(throws: VerificationFailure(height: 2, reason: .badTransactionSignature(entryIndex: 0))) {
            try BlockSync.verifyAndAppend(CommittedBlock(block: Block(header: second.block.header, entries: entries), certificate: second.certificate),
                                          to: &verifier)
        }
        #expect(verifier.height == 1)
    }
}
