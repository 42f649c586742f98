import Foundation
import Ledger
import TestSupport
import Testing

// Round trips and rejections of the canonical encoding (docs/FORMAT.md sections 2-7). Bad inputs are crafted
// byte by byte, so each test shows exactly which rule it exercises.

// MARK: - Helpers

/// The error decoding `bytes` as `T` throws, or nil when it decodes.
func decodeFailure<T: CanonicalDecodable>(_ type: T.Type, _ bytes: [UInt8]) -> DecodingError? {
    do {
        _ = try T(canonicalBytes: bytes)
        return nil
    } catch {
        return error
    }
}

/// The field of an `invalidValue` error, or nil for any other outcome.
func invalidField(_ error: DecodingError?) -> String? {
    if case let .invalidValue(field, _)? = error { return field }
    return nil
}

func isTruncated(_ error: DecodingError?) -> Bool {
    if case .truncated? = error { return true }
    return false
}

/// Bytes written by hand through the encoder.
func craft(_ build: (inout CanonicalEncoder) -> Void) -> [UInt8] {
    var encoder = CanonicalEncoder()
    build(&encoder)
    return encoder.bytes
}

/// A raw string field: u16 length, then the bytes as given (possibly invalid UTF-8).
func rawString(_ bytes: [UInt8]) -> [UInt8] { craft { $0.u16(UInt16(bytes.count)); $0.fixed(bytes) } }

let vectorChain = VectorGenerator()
let alice = TestKeys.identity("example/patient-alice")
let someRecord = RecordID(bytes: Array(repeating: 7, count: 16))!

/// A signed transaction's bytes with the given kind byte and body bytes, and a zero signature.
func signedTransactionBytes(kind: UInt8, body: [UInt8], chain: String = "healthledger-example", version: UInt8 = 1) -> [UInt8] {
    craft {
        $0.string("healthledger/tx")
        $0.u8(version)
        $0.string(chain)
        alice.encode(to: &$0)
        $0.fixed(Array(repeating: 1, count: 16))
        $0.u64(1_767_225_600_000)
        $0.u8(kind)
        $0.fixed(body)
        $0.fixed(Array(repeating: 0, count: 64))
    }
}

/// A RecordAccess body with its selector and the rest supplied as raw bytes.
func recordAccessBody(action: UInt8 = 1, selector: [UInt8] = [0], purpose: [UInt8] = rawString(Array("TREAT".utf8)),
                      grant: [UInt8] = [0]) -> [UInt8] {
    craft {
        OrganisationID("st-marys")!.encode(to: &$0)
        alice.encode(to: &$0)
        $0.u8(action)
    } + selector + purpose + grant
}

func grantBody(actions: UInt8 = 1, scope: [UInt8] = [0], purposes: [UInt8]? = nil, window: [UInt8] = [0, 0]) -> [UInt8] {
    craft {
        $0.u8(2)
        OrganisationID("st-marys")!.encode(to: &$0)
        $0.u8(actions)
    } + scope + (purposes ?? craft { $0.list([PurposeCode.treatment]) { $1.encode(to: &$0) } }) + window
}

func roundTrips<T: CanonicalEncodable & CanonicalDecodable & Equatable>(_ value: T) throws -> Bool {
    let bytes = value.canonicalBytes
    let decoded = try T(canonicalBytes: bytes)
    return decoded == value && decoded.canonicalBytes == bytes
}

// MARK: - Round trips

@Suite struct EncodingRoundTripTests {
    @Test func everyTransactionKindRoundTrips() throws {
        let kinds = Set(vectorChain.transactions.map(\.signed.transaction.kind))
        #expect(kinds == Set(TransactionKind.allCases))
        for named in vectorChain.transactions {
            #expect(try roundTrips(named.signed), "\(named.name)")
            #expect(try roundTrips(named.signed.transaction), "\(named.name)")
            let decoded = try SignedTransaction(canonicalBytes: named.signed.canonicalBytes)
            #expect(decoded.id == named.signed.id && decoded.payload == named.signed.payload)
        }
    }

    @Test func blocksCertificatesAndVotesRoundTrip() throws {
        for block in vectorChain.blocks {
            let committed = block.committed
            #expect(try roundTrips(committed))
            #expect(try roundTrips(committed.block))
            #expect(try roundTrips(committed.block.header))
            #expect(try roundTrips(committed.certificate))
            for entry in committed.block.entries { #expect(try roundTrips(entry)) }
        }
        let hash = SHA256.hash(Array("block".utf8))
        for vote in [Vote(chainID: Example.chainID, type: .prevote, height: 9, round: 2, blockHash: hash),
                     Vote(chainID: Example.chainID, type: .precommit, height: 9, round: 0, blockHash: nil)] {
            #expect(try roundTrips(vote))
        }
        let emptyCertificate = CommitCertificate(height: 1, round: 0, blockHash: hash, signatures: [])
        #expect(try roundTrips(emptyCertificate))
    }

    @Test func outcomesRoundTrip() throws {
        let grant = vectorChain.transactions[3].signed.id
        var outcomes: [AccessOutcome] = [.allowed(grant: grant, records: [someRecord]), .allowed(grant: nil, records: [])]
        outcomes += DenialReason.allCases.map { AccessOutcome.denied($0) }
        for outcome in outcomes { #expect(try roundTrips(outcome)) }
        #expect(AccessOutcome.denied(.grantRevoked).canonicalBytes == [2, 5])
    }

    @Test func smallValuesRoundTrip() throws {
        let selectors: [RecordSelector] = [.all, .types([RecordType("Condition")!, RecordType("Observation")!]), .records([someRecord])]
        for selector in selectors { #expect(try roundTrips(selector)) }
        for grantee in [Grantee.practitioner(alice), .organisation(OrganisationID("st-marys")!)] { #expect(try roundTrips(grantee)) }
        #expect(try roundTrips(alice))
        #expect(try roundTrips(someRecord))
        #expect(try roundTrips(ChainID("a.b-c")!))
        #expect(try roundTrips(PurposeCode("HRESCH")!))
        #expect(try roundTrips(ModelID("diabetes-plan.2")!))
        #expect(try roundTrips(VectorGenerator.heartModel))
        for mask in UInt8(1)...7 { #expect(try roundTrips(AccessActions(rawValue: mask))) }
    }

    @Test func integersAreBigEndian() {
        let bytes = craft { $0.u16(0x0102); $0.u32(0x0304_0506); $0.u64(0x0708_090a_0b0c_0d0e) }
        #expect(bytes == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
        #expect(craft { $0.string("hé") } == [0, 3, 0x68, 0xc3, 0xa9])
    }
}

// MARK: - Rejections

@Suite struct EncodingRejectionTests {
    @Test func everyPrefixOfASignedTransactionIsTruncated() {
        for named in vectorChain.transactions {
            let bytes = named.signed.canonicalBytes
            for length in 0..<bytes.count {
                let error = decodeFailure(SignedTransaction.self, Array(bytes.prefix(length)))
                #expect(isTruncated(error), "\(named.name) cut at \(length): \(String(describing: error))")
            }
        }
    }

    @Test func everyPrefixOfACommittedBlockIsTruncated() {
        for block in vectorChain.blocks {
            let bytes = block.committed.canonicalBytes
            for length in 0..<bytes.count {
                let error = decodeFailure(CommittedBlock.self, Array(bytes.prefix(length)))
                #expect(isTruncated(error), "block \(block.committed.height) cut at \(length): \(String(describing: error))")
            }
        }
    }

    @Test func trailingBytesAreRejected() {
        let transaction = vectorChain.transactions[0].signed.canonicalBytes
        #expect(decodeFailure(SignedTransaction.self, transaction + [0]) == .trailingBytes(count: 1))
        let committed = vectorChain.blocks[0].committed.canonicalBytes
        #expect(decodeFailure(CommittedBlock.self, committed + [1, 2, 3]) == .trailingBytes(count: 3))
        #expect(decodeFailure(AccessOutcome.self, [2, 5, 0]) == .trailingBytes(count: 1))
        // A non-access entry followed by an outcome: the outcome is trailing garbage.
        let entry = BlockEntry(transaction: vectorChain.transactions[0].signed, outcome: nil).canonicalBytes
        #expect(decodeFailure(BlockEntry.self, entry + [2, 5]) == .trailingBytes(count: 2))
    }

    @Test func aRecordAccessEntryWithoutItsOutcomeIsTruncated() {
        let access = vectorChain.transactions.first { $0.signed.transaction.kind == .recordAccess }!.signed
        #expect(isTruncated(decodeFailure(BlockEntry.self, access.canonicalBytes)))
    }

    @Test func wrongVersionBytesAreRejected() {
        var transaction = vectorChain.transactions[0].signed.canonicalBytes
        transaction[17] = 2
        #expect(decodeFailure(SignedTransaction.self, transaction) == .unsupportedVersion(structure: "transaction", version: 2))
        var header = vectorChain.blocks[0].committed.block.header.canonicalBytes
        header[20] = 0
        #expect(decodeFailure(BlockHeader.self, header) == .unsupportedVersion(structure: "block header", version: 0))
        var vote = vectorChain.blocks[0].committed.certificate.vote(chainID: Example.chainID).canonicalBytes
        vote[19] = 255
        #expect(decodeFailure(Vote.self, vote) == .unsupportedVersion(structure: "vote", version: 255))
    }

    @Test func wrongDomainTagsAreRejected() {
        let transaction = vectorChain.transactions[0].signed.canonicalBytes
        let header = vectorChain.blocks[0].committed.block.header.canonicalBytes
        let vote = vectorChain.blocks[0].committed.certificate.vote(chainID: Example.chainID).canonicalBytes
        #expect(decodeFailure(BlockHeader.self, transaction) == .wrongDomainTag(expected: "healthledger/block"))
        #expect(decodeFailure(SignedTransaction.self, header) == .wrongDomainTag(expected: "healthledger/tx"))
        #expect(decodeFailure(Vote.self, header) == .wrongDomainTag(expected: "healthledger/vote"))
        #expect(decodeFailure(SignedTransaction.self, vote) == .wrongDomainTag(expected: "healthledger/tx"))
        var altered = transaction
        altered[16] = UInt8(ascii: "X")  // "healthledger/tX"
        #expect(decodeFailure(SignedTransaction.self, altered) == .wrongDomainTag(expected: "healthledger/tx"))
        let longTag = rawString(Array(repeating: UInt8(ascii: "a"), count: 65)) + Array(transaction[17...])
        #expect(decodeFailure(SignedTransaction.self, longTag) == .tooLarge(field: "domain tag", limit: 64, actual: 65))
        let badUTF8Tag = rawString([0xff, 0xfe]) + Array(transaction[17...])
        #expect(invalidField(decodeFailure(SignedTransaction.self, badUTF8Tag)) == "domain tag")
    }

    @Test func unknownKindsActionsAndFlagsAreRejected() {
        for kind: UInt8 in [0, 7, 255] {
            #expect(invalidField(decodeFailure(SignedTransaction.self, signedTransactionBytes(kind: kind, body: []))) == "transaction kind")
        }
        let access = { (body: [UInt8]) in decodeFailure(SignedTransaction.self, signedTransactionBytes(kind: 5, body: body)) }
        #expect(access(recordAccessBody()) == nil)
        for action: UInt8 in [0, 3, 8] { #expect(invalidField(access(recordAccessBody(action: action))) == "action") }
        #expect(invalidField(access(recordAccessBody(selector: [3]))) == "selector kind")
        #expect(invalidField(access(recordAccessBody(grant: [2]))) == "grant presence")
        let grant = { (body: [UInt8]) in decodeFailure(SignedTransaction.self, signedTransactionBytes(kind: 3, body: body)) }
        #expect(grant(grantBody()) == nil)
        for mask: UInt8 in [0, 8, 0x81] { #expect(invalidField(grant(grantBody(actions: mask))) == "actions") }
        #expect(invalidField(grant(grantBody(window: [3, 0]))) == "not before presence")
        #expect(invalidField(grant(grantBody(window: [0, 2]))) == "not after presence")
        var badGrantee = grantBody()
        badGrantee[0] = 3
        #expect(invalidField(grant(badGrantee)) == "grantee kind")
        #expect(invalidField(decodeFailure(AccessOutcome.self, [3])) == "access decision")
        for reason: UInt8 in [0, 15, 255] { #expect(invalidField(decodeFailure(AccessOutcome.self, [2, reason])) == "denial reason") }
        #expect(invalidField(decodeFailure(AccessOutcome.self, [1, 2, 0, 0, 0, 0])) == "grant presence")
        var vote = Vote(chainID: Example.chainID, type: .precommit, height: 1, round: 0, blockHash: nil).canonicalBytes
        vote[22 + Example.chainID.value.utf8.count] = 3
        #expect(invalidField(decodeFailure(Vote.self, vote)) == "vote type")
        vote = Vote(chainID: Example.chainID, type: .precommit, height: 1, round: 0, blockHash: nil).canonicalBytes
        vote[vote.count - 1] = 2
        #expect(invalidField(decodeFailure(Vote.self, vote)) == "block hash presence")
    }

    @Test func setsMustBeSortedUniqueAndNonEmpty() {
        let condition = RecordType("Condition")!, observation = RecordType("Observation")!
        let types = { (items: [RecordType]) in decodeFailure(RecordSelector.self, [1] + craft { $0.list(items) { $1.encode(to: &$0) } }) }
        #expect(types([condition, observation]) == nil)
        #expect(invalidField(types([observation, condition])) == "record types")
        #expect(invalidField(types([condition, condition])) == "record types")
        #expect(invalidField(types([])) == "record types")
        let low = RecordID(bytes: Array(repeating: 1, count: 16))!, high = RecordID(bytes: [1] + Array(repeating: 2, count: 15))!
        let ids = { (items: [RecordID]) in decodeFailure(RecordSelector.self, [2] + craft { $0.list(items) { $1.encode(to: &$0) } }) }
        #expect(ids([low, high]) == nil)
        #expect(invalidField(ids([high, low])) == "record ids")
        #expect(invalidField(ids([low, low])) == "record ids")
        #expect(invalidField(ids([])) == "record ids")
        let purposes = { (items: [String]) in
            decodeFailure(GrantConsent.self, grantBody(purposes: craft { $0.list(items) { $0.string($1) } }))
        }
        #expect(purposes(["ETREAT", "TREAT"]) == nil)
        #expect(invalidField(purposes(["TREAT", "ETREAT"])) == "purposes")
        #expect(invalidField(purposes(["TREAT", "TREAT"])) == "purposes")
        #expect(invalidField(purposes([])) == "purposes")
        let released = { (items: [RecordID]) in decodeFailure(AccessOutcome.self, [1, 0] + craft { $0.list(items) { $1.encode(to: &$0) } }) }
        #expect(released([low, high]) == nil)
        #expect(invalidField(released([high, low])) == "released records")
        #expect(invalidField(released([low, low])) == "released records")
        let certificate = { (indices: [UInt16]) in
            decodeFailure(CommitCertificate.self, craft {
                $0.u64(1)
                $0.u32(0)
                $0.digest(.zero)
                $0.list(indices) { $0.u16($1); $0.fixed(Array(repeating: 0, count: 64)) }
            })
        }
        #expect(certificate([0, 2, 3]) == nil)
        #expect(invalidField(certificate([2, 0])) == "certificate signatures")
        #expect(invalidField(certificate([1, 1])) == "certificate signatures")
    }

    @Test func validityWindowMustBeOrdered() {
        let window = { (notBefore: UInt64, notAfter: UInt64) in
            decodeFailure(GrantConsent.self, grantBody(window: craft { $0.u8(1); $0.u64(notBefore); $0.u8(1); $0.u64(notAfter) }))
        }
        #expect(window(1, 2) == nil)
        #expect(invalidField(window(2, 2)) == "validity window")
        #expect(invalidField(window(3, 2)) == "validity window")
    }

    @Test func oversizedListsAreRejectedBeforeTheirElements() {
        // Only the count is present: the bound is checked before any element is read or memory reserved.
        #expect(decodeFailure(RecordSelector.self, [1] + craft { $0.u32(33) }) == .tooLarge(field: "record types", limit: 32, actual: 33))
        #expect(decodeFailure(RecordSelector.self, [2] + craft { $0.u32(257) }) == .tooLarge(field: "record ids", limit: 256, actual: 257))
        #expect(decodeFailure(GrantConsent.self, grantBody(purposes: craft { $0.u32(9) }, window: []))
                == .tooLarge(field: "purposes", limit: 8, actual: 9))
        #expect(decodeFailure(AccessOutcome.self, [1, 0] + craft { $0.u32(10_001) })
                == .tooLarge(field: "released records", limit: 10_000, actual: 10_001))
        #expect(decodeFailure(AccessOutcome.self, [1, 0] + craft { $0.u32(.max) })
                == .tooLarge(field: "released records", limit: 10_000, actual: Int(UInt32.max)))
        #expect(decodeFailure(CommitCertificate.self, craft { $0.u64(1); $0.u32(0); $0.digest(.zero); $0.u32(1_025) })
                == .tooLarge(field: "certificate signatures", limit: 1_024, actual: 1_025))
        let header = vectorChain.blocks[0].committed.block.header.canonicalBytes
        #expect(decodeFailure(Block.self, header + craft { $0.u32(100_001) }) == .tooLarge(field: "entries", limit: 100_000, actual: 100_001))
        // Exactly at the bound is not "too large" (it fails later, for lack of elements).
        #expect(isTruncated(decodeFailure(RecordSelector.self, [1] + craft { $0.u32(32) })))
    }

    @Test func oversizedStringsAreRejected() {
        let code = { (count: Int) in rawString(Array(repeating: UInt8(ascii: "a"), count: count)) }
        #expect(decodeFailure(ChainID.self, code(64)) == nil)
        #expect(decodeFailure(ChainID.self, code(65)) == .tooLarge(field: "chain id", limit: 64, actual: 65))
        #expect(decodeFailure(OrganisationID.self, code(65)) == .tooLarge(field: "organisation id", limit: 64, actual: 65))
        #expect(decodeFailure(PractitionerRole.self, code(32)) == nil)
        #expect(decodeFailure(PractitionerRole.self, code(33)) == .tooLarge(field: "practitioner role", limit: 32, actual: 33))
        let upper = { (count: Int) in rawString(Array(repeating: UInt8(ascii: "A"), count: count)) }
        #expect(decodeFailure(PurposeCode.self, upper(16)) == nil)
        #expect(decodeFailure(PurposeCode.self, upper(17)) == .tooLarge(field: "purpose code", limit: 16, actual: 17))
        #expect(decodeFailure(RecordType.self, upper(65)) == .tooLarge(field: "record type", limit: 64, actual: 65))
        #expect(decodeFailure(ModelID.self, code(64)) == nil)
        #expect(decodeFailure(ModelID.self, code(65)) == .tooLarge(field: "model id", limit: 64, actual: 65))
        // A huge length prefix with no bytes behind it is "too large", not an attempt to read 65535 bytes.
        #expect(decodeFailure(ChainID.self, [0xff, 0xff]) == .tooLarge(field: "chain id", limit: 64, actual: 65_535))
        let transaction = signedTransactionBytes(kind: 4, body: Array(repeating: 0, count: 32), chain: String(repeating: "a", count: 65))
        #expect(decodeFailure(SignedTransaction.self, transaction) == .tooLarge(field: "chain id", limit: 64, actual: 65))
    }

    @Test func invalidUTF8IsRejected() {
        for bytes: [UInt8] in [[0xff], [0x61, 0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80]] {
            #expect(decodeFailure(OrganisationID.self, rawString(bytes)) == .invalidValue(field: "organisation id", reason: "not valid UTF-8"))
        }
        var transaction = vectorChain.transactions[0].signed.canonicalBytes
        transaction[20] = 0xff  // first byte of the chain id
        #expect(decodeFailure(SignedTransaction.self, transaction) == .invalidValue(field: "chain id", reason: "not valid UTF-8"))
    }

    @Test func restrictedCodeAlphabetsAreEnforced() {
        func rejected<Code: RestrictedCode>(_ type: Code.Type, _ text: String) -> Bool {
            #expect(Code(text) == nil, "\(Code.kind) \"\(text)\" accepted by init")
            return invalidField(decodeFailure(Code.self, rawString(Array(text.utf8)))) == Code.kind
        }
        func accepted<Code: RestrictedCode>(_ type: Code.Type, _ text: String) -> Bool {
            Code(text) != nil && decodeFailure(Code.self, rawString(Array(text.utf8))) == nil
        }
        #expect(accepted(OrganisationID.self, "st-marys-2"))
        for bad in ["", "-st", "St-marys", "st_marys", "st marys", "st.marys", "café"] { #expect(rejected(OrganisationID.self, bad), "\(bad)") }
        #expect(accepted(ChainID.self, "healthledger.prod-1"))
        for bad in ["", ".chain", "-chain", "Chain", "chain/1", "chain_1"] { #expect(rejected(ChainID.self, bad), "\(bad)") }
        #expect(accepted(PurposeCode.self, "ETREAT"))
        for bad in ["", "treat", "TREAT1", "T-REAT", "TRÉAT"] { #expect(rejected(PurposeCode.self, bad), "\(bad)") }
        #expect(accepted(RecordType.self, "AllergyIntolerance"))
        for bad in ["", "observation", "Observation1", "Obs-ervation", "Obs ervation"] { #expect(rejected(RecordType.self, bad), "\(bad)") }
        #expect(accepted(PractitionerRole.self, "nurse-2"))
        for bad in ["", "-nurse", "Nurse", "nurse practitioner"] { #expect(rejected(PractitionerRole.self, bad), "\(bad)") }
        #expect(accepted(ModelID.self, "heart-v1") && accepted(ModelID.self, "diabetes-plan.2") && accepted(ModelID.self, "7"))
        for bad in ["", "-heart", ".heart", "Heart-v1", "heart_v1", "heart v1", "heart/v1", "héart"] {
            #expect(rejected(ModelID.self, bad), "\(bad)")
        }
    }
}

// MARK: - ServiceResult bodies

@Suite struct ServiceResultEncodingTests {
    static let access = TransactionID(digest: SHA256.hash(Array("access".utf8)))

    /// A ServiceResult body with its model id given as raw string bytes.
    static func body(modelID: [UInt8] = rawString(Array("heart-v1".utf8)), digests: Int = 3) -> [UInt8] {
        craft { access.encode(to: &$0) } + modelID + Array(repeating: 0xab, count: 32 * digests)
    }

    @Test func theLayoutIsAccessModelAndThreeDigests() throws {
        let result = ServiceResult(access: Self.access, model: VectorGenerator.heartModel, inputHash: SHA256.hash([1]),
                                   outputHash: SHA256.hash([2]))
        #expect(try roundTrips(result))
        let bytes = result.canonicalBytes
        #expect(bytes.count == 130 + 8, "130 + the model id's length (FORMAT.md 4.7)")
        #expect(Array(bytes[0..<32]) == Self.access.digest.bytes)
        #expect(Array(bytes[32..<42]) == [0, 8] + Array("heart-v1".utf8))
        #expect(Array(bytes[42..<74]) == VectorGenerator.heartModel.hash.bytes)
        #expect(Array(bytes[74..<106]) == SHA256.hash([1]).bytes && Array(bytes[106...]) == SHA256.hash([2]).bytes)
    }

    @Test func strictDecoding() {
        let signed = { (body: [UInt8]) in decodeFailure(SignedTransaction.self, signedTransactionBytes(kind: 6, body: body)) }
        #expect(signed(Self.body()) == nil)
        #expect(invalidField(signed(Self.body(modelID: rawString(Array("Heart".utf8))))) == "model id")
        #expect(invalidField(signed(Self.body(modelID: rawString([0xff])))) == "model id")
        #expect(signed(Self.body(modelID: rawString(Array(repeating: UInt8(ascii: "a"), count: 65))))
                == .tooLarge(field: "model id", limit: 64, actual: 65))
        #expect(isTruncated(signed(Self.body(digests: 2))), "a missing digest leaves the signature short")
        #expect(isTruncated(decodeFailure(ServiceResult.self, Self.body(digests: 2))))
        #expect(decodeFailure(ServiceResult.self, Self.body() + [0]) == .trailingBytes(count: 1))
        // A ServiceResult entry carries no outcome: outcome bytes after it are trailing garbage.
        let result = vectorChain.transactions.first { $0.signed.transaction.kind == .serviceResult }!.signed
        let entry = BlockEntry(transaction: result, outcome: nil).canonicalBytes
        #expect(decodeFailure(BlockEntry.self, entry + [2, 5]) == .trailingBytes(count: 2))
    }
}

// MARK: - Signatures and chain ids

@Suite struct SignatureBindingTests {
    @Test func aSignatureForAnotherChainDoesNotVerifyOnThisChain() throws {
        let key = TestKeys.key("example/patient-alice")
        let body = TransactionBody.revokeConsent(RevokeConsent(grant: vectorChain.transactions[3].signed.id))
        let otherChain = Transaction(chainID: ChainID("other-chain")!, signer: alice, nonce: Array(repeating: 9, count: 16),
                                     createdAtMs: Example.genesisTimeMs + 2_600, body: body).signed(with: key)
        #expect(otherChain.hasValidSignature)
        // Replace the chain id with this chain's, keep the signature: the payload differs, so it does not verify.
        var replayed = otherChain.transaction
        replayed.chainID = Example.chainID
        let forged = try SignedTransaction(canonicalBytes: replayed.canonicalBytes + otherChain.signature)
        #expect(forged.transaction.chainID == Example.chainID)
        #expect(!forged.hasValidSignature)
        #expect(forged.id != otherChain.id)
        // And the original, as signed, is refused by this chain's rules.
        let executor = BlockExecutor(genesis: Example.genesis)
        let state = MemoryLedgerState(transactionMaxAgeMs: Example.genesis.consensus.transactionMaxAgeMs)
        #expect(throws: TransactionRejection.wrongChain(ChainID("other-chain")!)) {
            try executor.check(otherChain, nowMs: Example.genesisTimeMs + 2_600, state: state, nextHeight: 1)
        }
    }

    @Test func aCertificateSignatureIsBoundToChainHeightRoundAndBlock() {
        let committed = vectorChain.blocks[0].committed
        let signature = committed.certificate.signatures[0]
        let key = Example.genesis.validators[Int(signature.validatorIndex)].key
        let vote = committed.certificate.vote(chainID: Example.chainID)
        #expect(key.verifies(signature.signature, for: vote.canonicalBytes))
        var changed = [vote]
        changed.append(Vote(chainID: ChainID("other-chain")!, type: .precommit, height: vote.height, round: vote.round, blockHash: vote.blockHash))
        changed.append(Vote(chainID: vote.chainID, type: .prevote, height: vote.height, round: vote.round, blockHash: vote.blockHash))
        changed.append(Vote(chainID: vote.chainID, type: .precommit, height: vote.height + 1, round: vote.round, blockHash: vote.blockHash))
        changed.append(Vote(chainID: vote.chainID, type: .precommit, height: vote.height, round: vote.round + 1, blockHash: vote.blockHash))
        changed.append(Vote(chainID: vote.chainID, type: .precommit, height: vote.height, round: vote.round, blockHash: nil))
        for other in changed.dropFirst() { #expect(!key.verifies(signature.signature, for: other.canonicalBytes)) }
    }

    @Test func aFlippedPayloadBitBreaksTheSignatureAndTheID() throws {
        let signed = vectorChain.transactions[0].signed
        var bytes = signed.canonicalBytes
        bytes[60] ^= 0x01  // inside the signer / nonce area: still decodes
        let altered = try SignedTransaction(canonicalBytes: bytes)
        #expect(!altered.hasValidSignature)
        #expect(altered.id != signed.id)
    }
}

// MARK: - Identity text form

@Suite struct IdentityTextTests {
    static let identities = VectorGenerator.identityNames.map(TestKeys.identity)

    @Test func roundTrip() {
        for identity in Self.identities {
            #expect(identity.text.hasPrefix("hlk1"))
            #expect(identity.text.utf8.count == 62)
            #expect(Identity(text: identity.text) == identity)
        }
        #expect(alice.text == "hlk1kfyszvqeelkeilhgglrqzsv6tdzq4divhbescgckxpfodozy7tlbcvkvtm")
    }

    @Test func wrongPrefixIsRejected() {
        let body = String(alice.text.dropFirst(4))
        for prefix in ["", "hlk", "hlk2", "HLK1", "hlk0", "xhlk1"] { #expect(Identity(text: prefix + body) == nil, "\(prefix)") }
    }

    @Test func everySingleCharacterChangeIsRejected() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        let text = Array(alice.text)
        var tried = 0
        for position in 4..<text.count {
            for replacement in alphabet where replacement != text[position] {
                var changed = text
                changed[position] = replacement
                #expect(Identity(text: String(changed)) == nil, "position \(position) -> \(replacement)")
                tried += 1
            }
        }
        #expect(tried == 58 * 31)
    }

    @Test func wrongLengthIsRejected() {
        let text = alice.text
        #expect(Identity(text: String(text.dropLast())) == nil)
        #expect(Identity(text: text + "a") == nil)
        #expect(Identity(text: text + "aaaaaaaa") == nil)
        #expect(Identity(text: String(text.prefix(56))) == nil)
        #expect(Identity(text: "hlk1") == nil)
        #expect(Identity(text: "") == nil)
    }

    @Test func uppercasePaddingAndForeignCharactersAreRejected() {
        let text = alice.text
        #expect(Identity(text: text.uppercased()) == nil)
        #expect(Identity(text: "hlk1" + text.dropFirst(4).uppercased()) == nil)
        #expect(Identity(text: text + "======") == nil)
        #expect(Identity(text: " " + text) == nil)
        #expect(Identity(text: text + "\n") == nil)
        var withDigit = Array(text)
        withDigit[10] = "0"  // not in the base32 alphabet
        #expect(Identity(text: String(withDigit)) == nil)
    }

    @Test func nonZeroPaddingBitsAreRejected() {
        // The last character holds 3 data bits and 2 zero bits; setting a zero bit keeps the bytes but is not canonical.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var text = Array(alice.text)
        let value = alphabet.firstIndex(of: text[text.count - 1])!
        #expect(value & 0b11 == 0)
        text[text.count - 1] = alphabet[value | 1]
        #expect(Identity(text: String(text)) == nil)
    }
}
