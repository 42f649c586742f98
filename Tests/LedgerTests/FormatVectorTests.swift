import Foundation
import Ledger
import TestSupport
import Testing

// Test vectors for docs/FORMAT.md. The generator below builds every vector deterministically (test keys
// derived from names, nonces derived from names, fixed times); Ed25519 signatures are deterministic, so the
// files never change unless the format does.
//
//   HEALTHLEDGER_WRITE_VECTORS=1 swift test --filter FormatVectorTests   # (re)write the files
//   swift test --filter FormatVectorTests                                 # check the code reproduces them
//
// File format (docs/FORMAT.md section 12): UTF-8 lines; `#` starts a comment line; records are separated by
// blank lines; each other line is `key: value`. A key may repeat inside a record (lists, in order).

// MARK: - Paths

enum VectorPaths {
    /// The repository root, found from this source file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let vectors = root.appendingPathComponent("Tests/LedgerTests/Vectors")
    static let exampleGenesis = root.appendingPathComponent("genesis/example.json")
    static let pythonScript = root.appendingPathComponent("scripts/verify-vectors.py")
}

// MARK: - Vector file writer

struct VectorFile {
    var lines: [String]
    init(_ title: String, _ comments: [String]) { lines = (["# \(title)"] + comments.map { "# \($0)" }) }

    mutating func record(_ fields: [(String, String)]) {
        lines.append("")
        lines += fields.map { "\($0.0): \($0.1)" }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

// MARK: - The example consortium (genesis/example.json)

/// The example genesis: three organisations, four validators. Every key is a test key derived from a public
/// name (`TestKeys`), so the example must never be used for a real chain.
enum Example {
    static let chainID = ChainID("healthledger-example")!
    static let genesisTimeMs: UInt64 = 1_767_225_600_000  // 2026-01-01T00:00:00.000Z

    struct Node { let name: String; let organisation: String; let keyName: String; let address: String }
    static let organisations: [(id: String, name: String, adminKeyName: String)] = [
        ("st-marys", "St Mary's Hospital", "example/st-marys/admin"),
        ("city-general", "City General Hospital", "example/city-general/admin"),
        ("north-clinic", "North Clinic", "example/north-clinic/admin"),
    ]
    static let nodes: [Node] = [
        Node(name: "st-marys-1", organisation: "st-marys", keyName: "example/st-marys/node-1", address: "node1.st-marys.example:7400"),
        Node(name: "st-marys-2", organisation: "st-marys", keyName: "example/st-marys/node-2", address: "node2.st-marys.example:7400"),
        Node(name: "city-general-1", organisation: "city-general", keyName: "example/city-general/node-1",
             address: "ledger.city-general.example:7400"),
        Node(name: "north-clinic-1", organisation: "north-clinic", keyName: "example/north-clinic/node-1",
             address: "10.20.0.5:7400"),
    ]

    static let genesis: Genesis = try! Genesis(
        chainID: chainID, genesisTimeMs: genesisTimeMs,
        organisations: organisations.map {
            Organisation(id: OrganisationID($0.id)!, name: $0.name, adminKey: TestKeys.identity($0.adminKeyName))
        },
        validators: nodes.map {
            Validator(name: $0.name, organisation: OrganisationID($0.organisation)!, key: TestKeys.identity($0.keyName),
                      address: $0.address, power: 1)
        })

    /// genesis/example.json, laid out by hand (fields in the order docs/GENESIS.md lists them).
    static var json: String {
        let c = genesis.consensus
        let orgs = organisations.map {
            """
                {
                  "id": "\($0.id)",
                  "name": "\($0.name)",
                  "adminKey": "\(TestKeys.identity($0.adminKeyName).text)"
                }
            """
        }.joined(separator: ",\n")
        let vals = nodes.map {
            """
                {
                  "name": "\($0.name)",
                  "organisation": "\($0.organisation)",
                  "key": "\(TestKeys.identity($0.keyName).text)",
                  "address": "\($0.address)",
                  "power": 1
                }
            """
        }.joined(separator: ",\n")
        return """
            {
              "format": "healthledger-genesis/1",
              "chainId": "\(chainID.value)",
              "genesisTime": "\(Timestamp.format(genesisTimeMs))",
              "organisations": [
            \(orgs)
              ],
              "validators": [
            \(vals)
              ],
              "consensus": {
                "blockMaxEntries": \(c.blockMaxEntries),
                "blockMaxBytes": \(c.blockMaxBytes),
                "blockIntervalMs": \(c.blockIntervalMs),
                "transactionMaxAgeMs": \(c.transactionMaxAgeMs),
                "transactionMaxFutureMs": \(c.transactionMaxFutureMs),
                "blockTimeMaxDriftMs": \(c.blockTimeMaxDriftMs),
                "timeoutProposeMs": \(c.timeoutProposeMs),
                "timeoutVoteMs": \(c.timeoutVoteMs),
                "timeoutDeltaMs": \(c.timeoutDeltaMs)
              }
            }

            """
    }
}

// MARK: - The generator

/// Builds every vector file. Pure and deterministic.
struct VectorGenerator {
    static func testKeySeed(_ name: String) -> [UInt8] { SHA256.hash(Array("healthledger-test-key/\(name)".utf8)).bytes }
    static func nonce(_ name: String) -> [UInt8] { Array(SHA256.hash(Array("healthledger-vector-nonce/\(name)".utf8)).bytes.prefix(16)) }
    static func recordID(_ name: String) -> RecordID { RecordID(bytes: Array(SHA256.hash(Array("healthledger-vector-record/\(name)".utf8)).bytes.prefix(16)))! }

    struct NamedTransaction { let name: String; let signerName: String; let signed: SignedTransaction }
    struct ChainBlock { let committed: CommittedBlock; let signerIndices: [Int] }

    var transactions: [NamedTransaction] = []
    var blocks: [ChainBlock] = []

    init() { buildChain() }

    static func sign(_ name: String, _ signerName: String, createdAtMs: UInt64, _ body: TransactionBody) -> NamedTransaction {
        let key = TestKeys.key(signerName)
        let transaction = Transaction(chainID: Example.chainID, signer: Identity(publicKey: key.publicKey), nonce: nonce(name),
                                      createdAtMs: createdAtMs, body: body)
        return NamedTransaction(name: name, signerName: signerName, signed: transaction.signed(with: key))
    }

    static let recordR1 = recordID("alice/observation-1")
    static let recordR2 = recordID("alice/condition-1")
    static let stMarys = OrganisationID("st-marys")!
    /// The model a service result names: `heart-v1`, hash SHA-256("healthledger-vector-model/heart-v1").
    static let heartModel = ModelReference(id: ModelID("heart-v1")!, hash: SHA256.hash(Array("healthledger-vector-model/heart-v1".utf8)))

    /// A five-block chain on the example genesis, built by the real `BlockExecutor`.
    mutating func buildChain() {
        let genesis = Example.genesis
        let t0 = Example.genesisTimeMs
        let alice = TestKeys.identity("example/patient-alice")
        let okafor = TestKeys.identity("example/dr-okafor")
        let lee = TestKeys.identity("example/dr-lee")

        let enrol = Self.sign("enroll-practitioner", "example/st-marys/admin", createdAtMs: t0 + 500, .enrollPractitioner(
            EnrollPractitioner(organisation: Self.stMarys, practitioner: okafor, role: PractitionerRole("physician")!)))
        let register1 = Self.sign("register-record-by-patient", "example/st-marys/node-1", createdAtMs: t0 + 600, .registerRecord(
            RegisterRecord(record: Self.recordR1, patient: alice, custodian: Self.stMarys, type: RecordType("Observation")!,
                           commitment: SHA256.hash(Array(repeating: 0x5a, count: 32) + Array("{\"resourceType\":\"Observation\"}".utf8)),
                           author: alice)))
        let register2 = Self.sign("register-record-by-practitioner", "example/st-marys/node-1", createdAtMs: t0 + 700, .registerRecord(
            RegisterRecord(record: Self.recordR2, patient: alice, custodian: Self.stMarys, type: RecordType("Condition")!,
                           commitment: SHA256.hash(Array(repeating: 0xa5, count: 32) + Array("{\"resourceType\":\"Condition\"}".utf8)),
                           author: okafor)))
        let grant = Self.sign("grant-consent-organisation", "example/patient-alice", createdAtMs: t0 + 800, .grantConsent(
            GrantConsent(grantee: .organisation(Self.stMarys), actions: AccessActions([.read, .diagnose]),
                         scope: .types([RecordType("Condition")!, RecordType("Observation")!]), purposes: [.treatment],
                         notBeforeMs: nil, notAfterMs: t0 + 365 * 86_400_000)))
        let grantID = grant.signed.id

        let access1 = Self.sign("record-access-allowed", "example/dr-okafor", createdAtMs: t0 + 1_500, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .read, selector: .all, purpose: .treatment, grant: grantID)))
        let access2 = Self.sign("record-access-no-grant", "example/dr-lee", createdAtMs: t0 + 1_600, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .read, selector: .all, purpose: .treatment, grant: nil)))
        let access3 = Self.sign("record-access-own-records", "example/patient-alice", createdAtMs: t0 + 1_700, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .read, selector: .records([Self.recordR1]),
                         purpose: .treatment, grant: nil)))
        let access4 = Self.sign("record-access-action-not-granted", "example/dr-okafor", createdAtMs: t0 + 1_800, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .plan, selector: .types([RecordType("Observation")!]),
                         purpose: .treatment, grant: nil)))

        let access5 = Self.sign("record-access-revoked-same-block", "example/dr-okafor", createdAtMs: t0 + 2_500, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .diagnose, selector: .records([Self.recordR2]),
                         purpose: .treatment, grant: grantID)))
        let revoke = Self.sign("revoke-consent", "example/patient-alice", createdAtMs: t0 + 2_600, .revokeConsent(RevokeConsent(grant: grantID)))
        let grant2 = Self.sign("grant-consent-practitioner", "example/patient-bob", createdAtMs: t0 + 2_700, .grantConsent(
            GrantConsent(grantee: .practitioner(lee), actions: AccessActions([.read, .diagnose, .plan]),
                         scope: .records([Self.recordID("bob/a"), Self.recordID("bob/b")].sorted()),
                         purposes: [PurposeCode("ETREAT")!, PurposeCode("TREAT")!],
                         notBeforeMs: t0 + 86_400_000, notAfterMs: t0 + 31 * 86_400_000)))

        let grant3 = Self.sign("grant-consent-diagnose", "example/patient-alice", createdAtMs: t0 + 3_500, .grantConsent(
            GrantConsent(grantee: .practitioner(okafor), actions: AccessActions([.diagnose, .plan]), scope: .all, purposes: [.treatment],
                         notBeforeMs: nil, notAfterMs: t0 + 30 * 86_400_000)))
        let access6 = Self.sign("record-access-diagnose", "example/dr-okafor", createdAtMs: t0 + 3_600, .recordAccess(
            RecordAccess(custodian: Self.stMarys, patient: alice, action: .diagnose, selector: .types([RecordType("Observation")!]),
                         purpose: .treatment, grant: grant3.signed.id)))

        let result = Self.sign("service-result", "example/st-marys/node-2", createdAtMs: t0 + 4_500, .serviceResult(
            ServiceResult(access: access6.signed.id, model: Self.heartModel,
                          inputHash: SHA256.hash(Array("healthledger-vector-input/record-access-diagnose".utf8)),
                          outputHash: SHA256.hash(Array("healthledger-vector-output/record-access-diagnose".utf8)))))

        transactions = [enrol, register1, register2, grant, access1, access2, access3, access4, access5, revoke, grant2, grant3,
                        access6, result]

        var state = MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs)
        let executor = BlockExecutor(genesis: genesis)
        var previousHash = genesis.hash
        let plan: [(txs: [NamedTransaction], signers: [Int], round: UInt32)] = [
            ([enrol, register1, register2, grant], [0, 1, 2, 3], 0),
            ([access1, access2, access3, access4], [0, 2, 3], 0),
            ([access5, revoke, grant2], [1, 2, 3], 1),
            ([grant3, access6], [0, 1, 2], 0),
            ([result], [0, 1, 2, 3], 0),
        ]
        for (offset, step) in plan.enumerated() {
            let height = UInt64(offset + 1)
            let timeMs = t0 + height * 1_000
            let proposal = try! executor.propose(step.txs.map(\.signed), height: height, blockTimeMs: timeMs, state: state)
            precondition(proposal.rejected.isEmpty, "vector chain: a transaction was rejected: \(proposal.rejected.map(\.1))")
            let header = BlockHeader(
                chainID: genesis.chainID, height: height, timeMs: timeMs, previousHash: previousHash,
                entriesRoot: MerkleTree.root(leafHashes: proposal.entries.map { MerkleTree.leafHash($0.canonicalBytes) }),
                entryCount: UInt32(proposal.entries.count), proposer: genesis.validators[offset % genesis.validators.count].key,
                validatorSetHash: genesis.validatorSetHash)
            let vote = Vote(chainID: genesis.chainID, type: .precommit, height: height, round: step.round, blockHash: header.hash)
            let signatures = step.signers.map {
                CommitCertificate.Signature(validatorIndex: UInt16($0),
                                            signature: TestKeys.key(Example.nodes[$0].keyName).signature(for: vote.canonicalBytes))
            }
            let certificate = CommitCertificate(height: height, round: step.round, blockHash: header.hash, signatures: signatures)
            state.apply(proposal.changes)
            previousHash = header.hash
            blocks.append(ChainBlock(committed: CommittedBlock(block: Block(header: header, entries: proposal.entries),
                                                               certificate: certificate), signerIndices: step.signers))
        }
    }

    // MARK: Files

    var files: [(name: String, text: String)] {
        [("identities.txt", identities), ("transactions.txt", transactionsFile), ("outcomes.txt", outcomes),
         ("merkle.txt", merkle), ("genesis.txt", genesisFile), ("chain.txt", chain)]
    }

    static let identityNames = [
        "example/patient-alice", "example/patient-bob", "example/dr-okafor", "example/dr-lee",
        "example/st-marys/admin", "example/st-marys/node-1",
    ]

    var identities: String {
        var file = VectorFile("Identity text form (FORMAT.md section 3.1)", [
            "name: test key name (text); seed: SHA-256(\"healthledger-test-key/\" || name), the RFC 8032 private key seed",
            "public-key: the 32-byte Ed25519 public key; checksum: first 4 bytes of SHA-256(\"healthledger/identity\" || key)",
            "text: \"hlk1\" || lowercase base32 (RFC 4648, no padding) of key || checksum",
        ])
        for name in Self.identityNames {
            let identity = TestKeys.identity(name)
            let checksum = Array(SHA256.hash(Array("healthledger/identity".utf8) + identity.publicKeyBytes).bytes.prefix(4))
            file.record([("name", name), ("seed", hex(Self.testKeySeed(name))), ("public-key", hex(identity.publicKeyBytes)),
                         ("checksum", hex(checksum)), ("text", identity.text)])
        }
        return file.text
    }

    var transactionsFile: String {
        var file = VectorFile("Signed transactions, one of each kind and variant (FORMAT.md sections 4 and 5)", [
            "name, kind (text); signer: test key name (text); seed: the signer's private key seed",
            "nonce = first 16 bytes of SHA-256(\"healthledger-vector-nonce/\" || name); created-at-ms (decimal)",
            "payload: the signed transaction payload; signature: Ed25519 signature of payload by signer",
            "signed: payload || signature (the SignedTransaction encoding); id: SHA-256(payload)",
        ])
        for named in transactions {
            let signed = named.signed
            file.record([
                ("name", named.name), ("kind", signed.transaction.kind.description), ("signer", named.signerName),
                ("seed", hex(Self.testKeySeed(named.signerName))), ("nonce", hex(signed.transaction.nonce)),
                ("created-at-ms", String(signed.transaction.createdAtMs)), ("payload", hex(signed.payload)),
                ("signature", hex(signed.signature)), ("signed", hex(signed.canonicalBytes)), ("id", signed.id.hex),
            ])
        }
        return file.text
    }

    var outcomes: String {
        var file = VectorFile("Access outcomes and block entries (FORMAT.md sections 6.1-6.3)", [
            "outcome records: name, description (text), outcome (hex)",
            "entry records: name (text), transaction: name in transactions.txt (text), entry: BlockEntry bytes,",
            "leaf-hash: SHA-256(0x00 || entry)",
        ])
        file.record([("name", "allowed-under-grant"), ("description", "allowed, grant = id of grant-consent-organisation, records R1 and R2"),
                     ("outcome", hex(AccessOutcome.allowed(grant: transactions[3].signed.id,
                                                           records: [Self.recordR1, Self.recordR2].sorted()).canonicalBytes))])
        file.record([("name", "allowed-own-records"), ("description", "allowed, no grant (the patient), one record"),
                     ("outcome", hex(AccessOutcome.allowed(grant: nil, records: [Self.recordR1]).canonicalBytes))])
        file.record([("name", "allowed-nothing-selected"), ("description", "allowed, no grant, no records"),
                     ("outcome", hex(AccessOutcome.allowed(grant: nil, records: []).canonicalBytes))])
        for reason in DenialReason.allCases {
            file.record([("name", "denied-\(reason.rawValue)"), ("description", "denied: \(reason)"),
                         ("outcome", hex(AccessOutcome.denied(reason).canonicalBytes))])
        }
        for block in blocks {
            for (entry, leaf) in zip(block.committed.block.entries, block.committed.block.leafHashes) {
                let name = transactions.first { $0.signed.id == entry.transaction.id }!.name
                file.record([("name", "entry-\(name)"), ("transaction", name), ("entry", hex(entry.canonicalBytes)),
                             ("leaf-hash", leaf.hex)])
            }
        }
        return file.text
    }

    static func merkleLeaves(_ count: Int) -> [[UInt8]] { (0..<count).map { Array("leaf \($0)".utf8) } }

    var merkle: String {
        var file = VectorFile("RFC 6962 Merkle trees (FORMAT.md section 6.3)", [
            "tree records: name, leaf-count (decimal), leaf (data, repeated in order), leaf-hash (repeated), root",
            "leaf i is the ASCII text \"leaf i\"; leaf-hash = SHA-256(0x00 || leaf); node = SHA-256(0x01 || left || right)",
            "proof records: name, leaf-count, index (decimal), leaf-hash, proof (repeated, from the leaf upwards), root",
        ])
        for count in [0, 1, 2, 3, 5, 7] {
            let leaves = Self.merkleLeaves(count)
            let hashes = leaves.map(MerkleTree.leafHash)
            var fields: [(String, String)] = [("name", "tree-\(count)"), ("leaf-count", String(count))]
            fields += leaves.map { ("leaf", hex($0)) }
            fields += hashes.map { ("leaf-hash", $0.hex) }
            fields.append(("root", MerkleTree.root(leafHashes: hashes).hex))
            file.record(fields)
        }
        for (count, index) in [(7, 4), (5, 2), (7, 6)] {
            let hashes = Self.merkleLeaves(count).map(MerkleTree.leafHash)
            var fields: [(String, String)] = [("name", "proof-\(count)-\(index)"), ("leaf-count", String(count)),
                                              ("index", String(index)), ("leaf-hash", hashes[index].hex)]
            fields += MerkleTree.inclusionProof(leafIndex: index, leafHashes: hashes).map { ("proof", $0.hex) }
            fields.append(("root", MerkleTree.root(leafHashes: hashes).hex))
            file.record(fields)
        }
        return file.text
    }

    var genesisFile: String {
        let genesis = Example.genesis
        var validators = CanonicalEncoder()
        validators.string("healthledger/validators")
        validators.u8(1)
        validators.list(genesis.validators) {
            $1.key.encode(to: &$0)
            $0.u64($1.power)
        }
        var file = VectorFile("Genesis canonical encoding (FORMAT.md sections 7.3 and 10) of genesis/example.json", [
            "file: path from the repository root (text); canonical: the canonical genesis bytes; hash: SHA-256(canonical)",
            "validator-set: the validator-set bytes; validator-set-hash: SHA-256(validator-set)",
        ])
        file.record([("file", "genesis/example.json"), ("canonical", hex(genesis.canonicalBytes)), ("hash", genesis.hash.hex),
                     ("validator-set", hex(validators.bytes)), ("validator-set-hash", genesis.validatorSetHash.hex)])
        return file.text
    }

    var chain: String {
        var file = VectorFile("A five-block committed chain on genesis/example.json (FORMAT.md sections 6-9 and 11)", [
            "height (decimal); header: BlockHeader bytes; hash: SHA-256(header); entry: BlockEntry bytes (repeated);",
            "entries-root: Merkle root of the entries; vote: the precommit Vote bytes every certificate signature covers;",
            "signer-index (decimal, repeated): validators that signed; certificate: CommitCertificate bytes;",
            "committed: the CommittedBlock bytes (header || entry list || certificate)",
        ])
        for block in blocks {
            let committed = block.committed
            let header = committed.block.header
            let vote = committed.certificate.vote(chainID: Example.chainID)
            var fields: [(String, String)] = [("height", String(header.height)), ("header", hex(header.canonicalBytes)),
                                              ("hash", header.hash.hex)]
            fields += committed.block.entries.map { ("entry", hex($0.canonicalBytes)) }
            fields += [("entries-root", header.entriesRoot.hex), ("vote", hex(vote.canonicalBytes))]
            fields += block.signerIndices.map { ("signer-index", String($0)) }
            fields += [("certificate", hex(committed.certificate.canonicalBytes)), ("committed", hex(committed.canonicalBytes))]
            file.record(fields)
        }
        return file.text
    }
}

// MARK: - Vector file reader

/// Records of a vector file: each an ordered list of (key, value).
func readVectorRecords(_ text: String) -> [[(key: String, value: String)]] {
    var records: [[(key: String, value: String)]] = []
    var current: [(key: String, value: String)] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("#") { continue }
        if line.isEmpty {
            if !current.isEmpty { records.append(current) }
            current = []
            continue
        }
        guard let colon = line.firstIndex(of: ":") else { continue }
        current.append((String(line[..<colon]), String(line[line.index(colon, offsetBy: 2)...])))
    }
    if !current.isEmpty { records.append(current) }
    return records
}

extension Array where Element == (key: String, value: String) {
    func value(_ key: String) -> String? { first { $0.key == key }?.value }
    func values(_ key: String) -> [String] { filter { $0.key == key }.map(\.value) }
    func bytes(_ key: String) -> [UInt8] { Hex.decode(value(key) ?? "") ?? [] }
}

// MARK: - Tests

@Suite struct FormatVectorTests {
    static let writing = ProcessInfo.processInfo.environment["HEALTHLEDGER_WRITE_VECTORS"] == "1"

    /// Writes the files once per process when HEALTHLEDGER_WRITE_VECTORS=1; every test reads through it.
    static let prepared: Void = {
        guard writing else { return }
        try! FileManager.default.createDirectory(at: VectorPaths.vectors, withIntermediateDirectories: true)
        for file in VectorGenerator().files {
            try! file.text.write(to: VectorPaths.vectors.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
        }
        try! FileManager.default.createDirectory(at: VectorPaths.exampleGenesis.deletingLastPathComponent(),
                                                 withIntermediateDirectories: true)
        try! Example.json.write(to: VectorPaths.exampleGenesis, atomically: true, encoding: .utf8)
    }()

    @Test func vectorFilesMatchTheCode() throws {
        let generator = VectorGenerator()
        for file in generator.files {
            let stored = try vectorText(file.name)
            let storedLines = stored.split(separator: "\n", omittingEmptySubsequences: false)
            let generatedLines = file.text.split(separator: "\n", omittingEmptySubsequences: false)
            if let line = zip(storedLines, generatedLines).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
                Issue.record("\(file.name) line \(line.offset + 1) differs:\n stored:    \(line.element.0)\n generated: \(line.element.1)")
            }
            #expect(storedLines.count == generatedLines.count, "\(file.name): line count differs")
        }
        Self.prepared
        let json = try String(contentsOf: VectorPaths.exampleGenesis, encoding: .utf8)
        #expect(json == Example.json, "genesis/example.json differs from the generator's")
    }

    @Test func exampleGenesisParsesToTheVectorGenesis() throws {
        Self.prepared
        let bytes = Array(try Data(contentsOf: VectorPaths.exampleGenesis))
        let parsed = try Genesis(jsonBytes: bytes)
        #expect(parsed == Example.genesis)
        let record = readVectorRecords(try vectorText("genesis.txt"))[0]
        #expect(record.bytes("canonical") == parsed.canonicalBytes)
        #expect(record.value("hash") == parsed.hash.hex)
        #expect(record.value("validator-set-hash") == parsed.validatorSetHash.hex)
    }

    @Test func genesisDocumentShowsTheExampleFile() throws {
        let doc = try String(contentsOf: VectorPaths.root.appendingPathComponent("docs/GENESIS.md"), encoding: .utf8)
        guard let start = doc.range(of: "```json\n"), let end = doc.range(of: "\n```", range: start.upperBound..<doc.endIndex) else {
            Issue.record("docs/GENESIS.md has no json example")
            return
        }
        #expect(String(doc[start.upperBound..<end.lowerBound]) + "\n" == Example.json, "docs/GENESIS.md example differs from genesis/example.json")
    }

    @Test func storedTransactionsDecodeVerifyAndReencode() throws {
        for record in readVectorRecords(try vectorText("transactions.txt")) {
            let signed = try SignedTransaction(canonicalBytes: record.bytes("signed"))
            #expect(signed.hasValidSignature, "\(record.value("name") ?? "?")")
            #expect(signed.id.hex == record.value("id"))
            #expect(signed.payload == record.bytes("payload"))
            #expect(signed.canonicalBytes == record.bytes("signed"))
            #expect(signed.transaction.kind.description == record.value("kind"))
            let seed = record.bytes("seed")
            #expect(Identity(publicKey: try Ed25519.PrivateKey(seed: seed).publicKey) == signed.transaction.signer)
        }
    }

    @Test func storedOutcomesAndEntriesDecode() throws {
        for record in readVectorRecords(try vectorText("outcomes.txt")) {
            if let outcome = record.value("outcome") {
                let bytes = Hex.decode(outcome)!
                #expect(try AccessOutcome(canonicalBytes: bytes).canonicalBytes == bytes)
            } else {
                let bytes = record.bytes("entry")
                let entry = try BlockEntry(canonicalBytes: bytes)
                #expect(entry.canonicalBytes == bytes)
                #expect(MerkleTree.leafHash(bytes).hex == record.value("leaf-hash"))
            }
        }
    }

    @Test func storedMerkleProofsVerify() throws {
        for record in readVectorRecords(try vectorText("merkle.txt")) where record.value("index") != nil {
            let proof = record.values("proof").map { SHA256Digest(hex: $0)! }
            #expect(MerkleTree.verifyInclusion(
                leafHash: SHA256Digest(hex: record.value("leaf-hash")!)!, leafIndex: Int(record.value("index")!)!,
                treeSize: Int(record.value("leaf-count")!)!, proof: proof, root: SHA256Digest(hex: record.value("root")!)!))
        }
    }

    @Test func storedChainVerifies() throws {
        let blocks = try readVectorRecords(try vectorText("chain.txt")).map { try CommittedBlock(canonicalBytes: $0.bytes("committed")) }
        #expect(blocks.count == 5)
        var verifier = ChainVerifier(genesis: Example.genesis,
                                     state: MemoryLedgerState(transactionMaxAgeMs: Example.genesis.consensus.transactionMaxAgeMs))
        let failure = verifier.verifySequentially(blocks)
        #expect(failure == nil, "\(String(describing: failure))")
        #expect(verifier.height == 5)
        // Block 4's diagnose access became a service access, and block 5's result answers it.
        let access = try #require(vectorChain.transactions.first { $0.name == "record-access-diagnose" }?.signed.id)
        let result = try #require(vectorChain.transactions.first { $0.name == "service-result" }?.signed.id)
        #expect(verifier.state.serviceAccess(access)?.resultID == result)
    }

    @Test func independentPythonVerifierAgrees() throws {
        guard let python = Self.findPython() else {
            print("SKIPPED independentPythonVerifierAgrees: python3 with the `cryptography` package is not available")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [VectorPaths.pythonScript.path, VectorPaths.root.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "scripts/verify-vectors.py failed:\n\(text)")
    }

    /// python3 on the PATH, if it can import the `cryptography` package.
    static func findPython() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import cryptography.hazmat.primitives.asymmetric.ed25519"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            return probe.terminationStatus == 0 ? candidate : nil
        }
        return nil
    }

    func vectorText(_ name: String) throws -> String {
        Self.prepared
        return try String(contentsOf: VectorPaths.vectors.appendingPathComponent(name), encoding: .utf8)
    }
}
