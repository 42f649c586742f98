import Testing
import Ledger
import TestSupport

/// The verifier against chains built by the real executor, and against forgeries: blocks reordered,
/// dropped or duplicated, entries changed, and blocks that break the ledger's rules yet carry a valid
/// certificate (what colluding validators could produce).
@Suite struct ChainVerifierTests {
    /// A 6-block chain: enrolments, then 5 blocks of 40 generated events.
    static func sampleChain(seed: UInt64 = 7, organisations: Int = 1) -> (Genesis, [CommittedBlock], ChainBuilder) {
        var workload = Workload(builder: ChainBuilder(seed: seed, organisationCount: organisations), patientCount: 20, practitionerCount: 5)
        var blocks = [workload.enrolPractitioners().block]
        for _ in 0..<5 { blocks.append(workload.nextBlock(count: 40).block) }
        return (workload.builder.genesis, blocks, workload.builder)
    }

    static func verify(_ blocks: [CommittedBlock], genesis: Genesis) -> VerificationFailure? {
        var verifier = ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
        return verifier.verifySequentially(blocks)
    }

    /// Rebuilds block `index` with `entries`, a consistent header and a fresh certificate from every
    /// validator: only the ledger's rules can reject it. Later blocks are relinked and re-certified too.
    static func forge(_ blocks: [CommittedBlock], at index: Int, entries: [BlockEntry], builder: ChainBuilder) -> [CommittedBlock] {
        var forged = blocks
        var previousHash = index == 0 ? builder.genesis.hash : blocks[index - 1].block.header.hash
        for position in index..<blocks.count {
            let original = blocks[position].block
            let newEntries = position == index ? entries : original.entries
            var header = original.header
            header.previousHash = previousHash
            header.entriesRoot = MerkleTree.root(leafHashes: newEntries.map { MerkleTree.leafHash($0.canonicalBytes) })
            header.entryCount = UInt32(newEntries.count)
            forged[position] = CommittedBlock(block: Block(header: header, entries: newEntries), certificate: builder.certify(header))
            previousHash = header.hash
        }
        return forged
    }

    @Test func aValidChainVerifies() {
        let (genesis, blocks, _) = Self.sampleChain()
        #expect(Self.verify(blocks, genesis: genesis) == nil)
    }

    @Test func reorderedDroppedOrDuplicatedBlocksFailAtTheRightHeight() {
        let (genesis, blocks, _) = Self.sampleChain()
        var swapped = blocks
        swapped.swapAt(2, 3)
        #expect(Self.verify(swapped, genesis: genesis)?.height == 3)
        #expect(Self.verify(blocks.enumerated().filter { $0.offset != 2 }.map(\.element), genesis: genesis)?.height == 3)
        var duplicated = blocks
        duplicated.insert(blocks[2], at: 3)
        #expect(Self.verify(duplicated, genesis: genesis)?.height == 4)
    }

    @Test func changedEntriesFailTheMerkleRoot() {
        let (genesis, blocks, _) = Self.sampleChain()
        let block = blocks[3].block
        var entries = block.entries
        entries.swapAt(0, 1)
        let reordered = CommittedBlock(block: Block(header: block.header, entries: entries), certificate: blocks[3].certificate)
        var tampered = blocks
        tampered[3] = reordered
        #expect(Self.verify(tampered, genesis: genesis) == VerificationFailure(height: 4, reason: .entriesRootMismatch))
        tampered[3] = CommittedBlock(block: Block(header: block.header, entries: Array(entries.dropLast())), certificate: blocks[3].certificate)
        #expect(Self.verify(tampered, genesis: genesis) == VerificationFailure(height: 4, reason: .entryCountMismatch))
    }

    @Test func aTransactionDuplicatedInsideACertifiedBlockIsRejected() {
        let (genesis, blocks, builder) = Self.sampleChain()
        let entries = blocks[2].block.entries
        let forged = Self.forge(blocks, at: 2, entries: entries + [entries[0]], builder: builder)
        #expect(Self.verify(forged, genesis: genesis) == VerificationFailure(
            height: 3, reason: .invalidBlock(.invalidEntry(index: entries.count, .duplicateInBlock))))
    }

    @Test func aTransactionReplayedInALaterCertifiedBlockIsRejected() {
        let (genesis, blocks, builder) = Self.sampleChain()
        let replayed = blocks[2].block.entries[5]
        let forged = Self.forge(blocks, at: 4, entries: blocks[4].block.entries + [replayed], builder: builder)
        #expect(Self.verify(forged, genesis: genesis) == VerificationFailure(
            height: 5, reason: .invalidBlock(.invalidEntry(index: blocks[4].block.entries.count, .alreadyCommitted))))
    }

    @Test func aForgedAccessOutcomeIsRejectedEvenWithAValidCertificate() throws {
        let (genesis, blocks, builder) = Self.sampleChain()
        var entries = blocks[5].block.entries
        let index = try #require(entries.firstIndex { $0.outcome.map { !$0.isAllowed } ?? false })
        entries[index] = BlockEntry(transaction: entries[index].transaction, outcome: .allowed(grant: nil, records: []))
        let forged = Self.forge(blocks, at: 5, entries: entries, builder: builder)
        guard case let .invalidBlock(.outcomeMismatch(failedIndex, _, _))? = Self.verify(forged, genesis: genesis)?.reason else {
            Issue.record("expected an outcome mismatch")
            return
        }
        #expect(failedIndex == index)
    }

    @Test func aBadTransactionSignatureFails() {
        let (genesis, blocks, builder) = Self.sampleChain()
        var entries = blocks[1].block.entries
        var signature = entries[3].transaction.canonicalBytes
        signature[signature.count - 1] ^= 0x01
        entries[3] = try! BlockEntry(canonicalBytes: signature + (entries[3].outcome?.canonicalBytes ?? []))
        let forged = Self.forge(blocks, at: 1, entries: entries, builder: builder)
        #expect(Self.verify(forged, genesis: genesis) == VerificationFailure(height: 2, reason: .badTransactionSignature(entryIndex: 3)))
    }

    @Test func aTransactionSignedForAnotherChainIsRejected() {
        let (genesis, blocks, builder) = Self.sampleChain()
        let key = TestKeys.key("patient-1")
        let foreign = Transaction(chainID: ChainID("other-chain")!, signer: Identity(publicKey: key.publicKey), nonce: Array(repeating: 7, count: 16),
                                  createdAtMs: builder.timeMs, body: .revokeConsent(RevokeConsent(grant: TransactionID(digest: .zero))))
            .signed(with: key)
        let forged = Self.forge(blocks, at: 5, entries: [BlockEntry(transaction: foreign, outcome: nil)], builder: builder)
        #expect(Self.verify(forged, genesis: genesis) == VerificationFailure(
            height: 6, reason: .invalidBlock(.invalidEntry(index: 0, .wrongChain(ChainID("other-chain")!)))))
    }

    @Test func certificatesNeedMoreThanTwoThirdsOfTheVotingPower() {
        let (genesis, blocks, _) = Self.sampleChain(organisations: 4)
        #expect(Self.verify(blocks, genesis: genesis) == nil)
        var weak = blocks
        let certificate = blocks[1].certificate
        weak[1] = CommittedBlock(block: blocks[1].block, certificate: CommitCertificate(
            height: certificate.height, round: certificate.round, blockHash: certificate.blockHash,
            signatures: Array(certificate.signatures.prefix(2))))
        #expect(Self.verify(weak, genesis: genesis) == VerificationFailure(height: 2, reason: .insufficientVotingPower(signed: 2, total: 4)))
        var forgedSignature = blocks
        let three = certificate.signatures.prefix(3).map { CommitCertificate.Signature(validatorIndex: $0.validatorIndex, signature: $0.signature) }
        let wrong = [three[0], three[1], CommitCertificate.Signature(validatorIndex: 2, signature: three[0].signature)]
        forgedSignature[1] = CommittedBlock(block: blocks[1].block, certificate: CommitCertificate(
            height: certificate.height, round: certificate.round, blockHash: certificate.blockHash, signatures: wrong))
        #expect(Self.verify(forgedSignature, genesis: genesis) == VerificationFailure(height: 2, reason: .badCertificateSignature(validatorIndex: 2)))
    }

    @Test func blockTimeMustStrictlyIncrease() {
        let (genesis, blocks, builder) = Self.sampleChain()
        var header = blocks[2].block.header
        header.timeMs = blocks[1].block.header.timeMs
        let sameTime = CommittedBlock(block: Block(header: header, entries: blocks[2].block.entries), certificate: builder.certify(header))
        #expect(Self.verify([blocks[0], blocks[1], sameTime], genesis: genesis) == VerificationFailure(height: 3, reason: .timeNotIncreasing))
    }

    @Test func aChainForAnotherGenesisFailsAtItsFirstBlock() {
        let (_, blocks, _) = Self.sampleChain()
        let (otherGenesis, _, _) = Self.sampleChain(organisations: 2)
        #expect(Self.verify(blocks, genesis: otherGenesis)?.height == 1)
    }
}

/// Chains with service results: they verify, and certified blocks that break a result rule do not.
@Suite struct ServiceResultVerificationTests {
    /// Enrolments, then 6 blocks of 40 events where a third of the accesses ask for diagnose or plan; every
    /// allowed one is answered at the start of the next block.
    static func chainWithResults() -> (Genesis, [CommittedBlock], ChainBuilder) {
        var workload = Workload(builder: ChainBuilder(seed: 21), patientCount: 12, practitionerCount: 4)
        workload.servicePercent = 35
        var blocks = [workload.enrolPractitioners().block]
        for _ in 0..<6 { blocks.append(workload.nextBlock(count: 40).block) }
        return (workload.builder.genesis, blocks, workload.builder)
    }

    /// (block index, entry index, body) of every result in `blocks`.
    static func results(in blocks: [CommittedBlock]) -> [(block: Int, entry: Int, body: ServiceResult)] {
        blocks.enumerated().flatMap { blockIndex, block in
            block.block.entries.enumerated().compactMap { entryIndex, entry in
                guard case let .serviceResult(body) = entry.transaction.transaction.body else { return nil }
                return (blockIndex, entryIndex, body)
            }
        }
    }

    @Test func aChainWithResultsVerifies() {
        let (genesis, blocks, _) = Self.chainWithResults()
        #expect(Self.results(in: blocks).count >= 5, "the sample must hold results")
        var verifier = ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
        #expect(verifier.verifySequentially(blocks) == nil)
        for (_, _, body) in Self.results(in: blocks) { #expect(verifier.state.serviceAccess(body.access)?.resultID != nil) }
    }

    @Test func aSecondResultForAnAnsweredAccessIsRejectedEvenWithAValidCertificate() throws {
        let (genesis, blocks, builder) = Self.chainWithResults()
        var signer = builder
        let answered = try #require(Self.results(in: blocks).first { $0.block < blocks.count - 1 })
        let again = signer.serviceResult(answering: answered.body.access, createdAtMs: blocks.last!.block.header.timeMs)
        let last = blocks.count - 1
        let forged = ChainVerifierTests.forge(blocks, at: last, entries: blocks[last].block.entries + [BlockEntry(transaction: again, outcome: nil)],
                                              builder: builder)
        #expect(ChainVerifierTests.verify(forged, genesis: genesis) == VerificationFailure(
            height: UInt64(last + 1), reason: .invalidBlock(.invalidEntry(index: blocks[last].block.entries.count, .serviceResultAlreadyCommitted))))
    }

    @Test func aResultMovedIntoItsAccessesBlockIsRejected() throws {
        let (genesis, blocks, builder) = Self.chainWithResults()
        let moved = try #require(Self.results(in: blocks).first { $0.block >= 2 })
        let resultEntry = blocks[moved.block].block.entries[moved.entry]
        let accessBlock = try #require(blocks.firstIndex { $0.block.entries.contains { $0.transaction.id == moved.body.access } })
        #expect(accessBlock == moved.block - 1)
        var withoutResult = blocks[moved.block].block.entries
        withoutResult.remove(at: moved.entry)
        var forged = ChainVerifierTests.forge(blocks, at: moved.block, entries: withoutResult, builder: builder)
        forged = ChainVerifierTests.forge(forged, at: accessBlock, entries: blocks[accessBlock].block.entries + [resultEntry], builder: builder)
        #expect(ChainVerifierTests.verify(forged, genesis: genesis) == VerificationFailure(
            height: UInt64(accessBlock + 1),
            reason: .invalidBlock(.invalidEntry(index: blocks[accessBlock].block.entries.count, .serviceAccessNotFound))))
    }

    @Test func aResultFromANonValidatorOrForADeniedAccessIsRejected() throws {
        let (genesis, blocks, builder) = Self.chainWithResults()
        var signer = builder
        let last = blocks.count - 1
        let timeMs = blocks[last].block.header.timeMs
        let access = try #require(blocks[last - 1].block.entries.first { $0.outcome?.isAllowed == true && $0.transaction.transaction.kind == .recordAccess })
        let byAdmin = signer.sign(.serviceResult(ServiceResult(access: access.transaction.id, model: ChainBuilder.testModel,
                                                               inputHash: SHA256.hash([1]), outputHash: SHA256.hash([2]))),
                                  by: signer.adminKey(0), createdAtMs: timeMs)
        let denied = try #require(blocks[1...].flatMap(\.block.entries).first { $0.outcome.map { !$0.isAllowed } ?? false })
        let forDenied = signer.serviceResult(answering: denied.transaction.id, createdAtMs: timeMs)
        let index = blocks[last].block.entries.count
        for (result, rejection) in [(byAdmin, TransactionRejection.notValidatorNode), (forDenied, .serviceAccessNotFound)] {
            let forged = ChainVerifierTests.forge(blocks, at: last, entries: blocks[last].block.entries + [BlockEntry(transaction: result, outcome: nil)],
                                                  builder: builder)
            #expect(ChainVerifierTests.verify(forged, genesis: genesis) == VerificationFailure(
                height: UInt64(last + 1), reason: .invalidBlock(.invalidEntry(index: index, rejection))))
        }
    }

    @Test func aChangedResultHashBreaksItsSignature() throws {
        let (genesis, blocks, builder) = Self.chainWithResults()
        let target = try #require(Self.results(in: blocks).last)
        var entries = blocks[target.block].block.entries
        var bytes = entries[target.entry].canonicalBytes
        bytes[bytes.count - Ed25519.signatureByteCount - 1] ^= 0x01  // the last byte of the output hash
        entries[target.entry] = try BlockEntry(canonicalBytes: bytes)
        let forged = ChainVerifierTests.forge(blocks, at: target.block, entries: entries, builder: builder)
        #expect(ChainVerifierTests.verify(forged, genesis: genesis) == VerificationFailure(
            height: UInt64(target.block + 1), reason: .badTransactionSignature(entryIndex: target.entry)))
    }
}

/// Hostile values in certified blocks are rejected, never a crash.
@Suite struct HostileBlockTests {
    @Test func extremeBlockTimesAreRejectedWithoutOverflow() {
        let (genesis, blocks, builder) = ChainVerifierTests.sampleChain()
        for time in [UInt64.max, UInt64.max - 1] {
            var header = blocks[1].block.header
            header.timeMs = time
            let forged = CommittedBlock(block: Block(header: header, entries: blocks[1].block.entries), certificate: builder.certify(header))
            let failure = ChainVerifierTests.verify([blocks[0], forged], genesis: genesis)
            #expect(failure == VerificationFailure(height: 2, reason: .invalidBlock(.invalidEntry(index: 0, .expired))))
        }
    }

    @Test func aNonZeroStateRootIsRejectedInVersionOne() {
        let (genesis, blocks, builder) = ChainVerifierTests.sampleChain()
        var header = blocks[0].block.header
        header.stateRoot = SHA256.hash([1])
        let forged = CommittedBlock(block: Block(header: header, entries: blocks[0].block.entries), certificate: builder.certify(header))
        #expect(ChainVerifierTests.verify([forged], genesis: genesis) == VerificationFailure(height: 1, reason: .unexpectedStateRoot))
    }

    @Test func blocksOverTheByteLimitAreNotProposedAndNotAccepted() {
        var consensus = ConsensusParameters()
        consensus.blockMaxBytes = 4_096
        var small = Workload(builder: ChainBuilder(seed: 5, consensus: consensus), patientCount: 10, practitionerCount: 40)
        let enrolments = small.enrolPractitioners().block
        #expect(enrolments.block.entries.count < 40, "the proposer stops at the byte limit")
        #expect(enrolments.block.entries.reduce(0) { $0 + $1.canonicalBytes.count } <= 4_096)

        let (genesis, blocks, _) = ChainVerifierTests.sampleChain()
        let limited = try! Genesis(chainID: genesis.chainID, genesisTimeMs: genesis.genesisTimeMs, organisations: genesis.organisations,
                                   validators: genesis.validators, consensus: consensus)
        var verifier = ChainVerifier(genesis: limited, state: MemoryLedgerState(transactionMaxAgeMs: consensus.transactionMaxAgeMs))
        // The limited genesis has another hash, so relink block 1 to it under a matching certificate.
        let builder = ChainBuilder(seed: 7, consensus: consensus)
        var header = blocks[1].block.header
        header.height = 1
        header.previousHash = limited.hash
        let oversized = CommittedBlock(block: Block(header: header, entries: blocks[1].block.entries), certificate: builder.certify(header))
        guard case .invalidBlock(.tooManyBytes)? = verifier.verifySequentially([oversized])?.reason else {
            Issue.record("expected the byte limit to reject the block")
            return
        }
    }
}
