@testable import Crypto
import Testing

@Suite("AES-256-GCM")
struct AESGCMTests {
    static let vectors = VectorFile.load("aes256gcm-mcgrew-viega.txt")
    /// Test cases 13-16 use 12-byte nonces and go through the public API.
    static let twelveByteNonceVectors = vectors.filter { $0.bytes("iv").count == AESGCM.nonceByteCount }

    @Test("the vector file holds GCM spec test cases 13-18")
    func vectorFileIsComplete() {
        #expect(Self.vectors.map(\.testDescription) == (13...18).map { "Test Case \($0)" })
        #expect(Self.twelveByteNonceVectors.count == 4)
    }

    @Test("seal gives the published ciphertext and tag; open returns the plaintext", arguments: twelveByteNonceVectors)
    func publicAPIKnownAnswer(vector: Vector) throws {
        let key = try SymmetricKey(bytes: vector.bytes("key"))
        let box = try AESGCM.seal(vector.bytes("plaintext"), using: key, nonce: vector.bytes("iv"),
                                  authenticating: vector.bytes("aad"))
        #expect(box.ciphertext == vector.bytes("ciphertext"))
        #expect(box.tag == vector.bytes("tag"))
        #expect(box.combined == vector.bytes("iv") + vector.bytes("ciphertext") + vector.bytes("tag"))
        let opened = try AESGCM.open(try AESGCM.SealedBox(combined: box.combined), using: key,
                                     authenticating: vector.bytes("aad"))
        #expect(opened == vector.bytes("plaintext"))
    }

    @Test("every vector, including the 8- and 60-byte IVs of cases 17 and 18", arguments: vectors)
    func anyIVLengthKnownAnswer(vector: Vector) throws {
        let key = try SymmetricKey(bytes: vector.bytes("key"))
        let (ciphertext, tag) = try AESGCM.encrypt(vector.bytes("plaintext"), key: key, iv: vector.bytes("iv"),
                                                   associatedData: vector.bytes("aad"))
        #expect(ciphertext == vector.bytes("ciphertext"))
        #expect(tag == vector.bytes("tag"))
        let plaintext = try AESGCM.decrypt(ciphertext, tag: tag, key: key, iv: vector.bytes("iv"),
                                           associatedData: vector.bytes("aad"))
        #expect(plaintext == vector.bytes("plaintext"))
    }

    @Test("wrong key, wrong associated data, modified ciphertext, tag or nonce: authenticationFailed",
          arguments: twelveByteNonceVectors)
    func tamperingIsDetected(vector: Vector) throws {
        let key = try SymmetricKey(bytes: vector.bytes("key"))
        let aad = vector.bytes("aad")
        let box = try AESGCM.seal(vector.bytes("plaintext"), using: key, nonce: vector.bytes("iv"), authenticating: aad)

        var otherKeyBytes = vector.bytes("key")
        otherKeyBytes[0] ^= 1
        expectAuthenticationFailure(box, try SymmetricKey(bytes: otherKeyBytes), aad)
        expectAuthenticationFailure(box, key, aad + [0])
        if !box.ciphertext.isEmpty {
            expectAuthenticationFailure(try flipped(box, \.ciphertext, at: box.ciphertext.count - 1), key, aad)
        }
        expectAuthenticationFailure(try flipped(box, \.tag, at: 15), key, aad)
        expectAuthenticationFailure(try flipped(box, \.nonce, at: 0), key, aad)
    }

    @Test("empty plaintext and empty associated data round trip")
    func emptyInputs() throws {
        let key = SymmetricKey.random()
        let box = try AESGCM.seal([], using: key)
        #expect(box.ciphertext.isEmpty)
        #expect(box.combined.count == AESGCM.nonceByteCount + AESGCM.tagByteCount)
        #expect(try AESGCM.open(box, using: key) == [])
        let withAAD = try AESGCM.seal([], using: key, authenticating: [1, 2, 3])
        #expect(try AESGCM.open(withAAD, using: key, authenticating: [1, 2, 3]) == [])
        expectAuthenticationFailure(withAAD, key, [])
    }

    @Test("random nonces differ between seals of the same message")
    func randomNonces() throws {
        let key = SymmetricKey.random()
        let first = try AESGCM.seal([1, 2, 3], using: key)
        let second = try AESGCM.seal([1, 2, 3], using: key)
        #expect(first.nonce != second.nonce)
        #expect(first.ciphertext != second.ciphertext)
        #expect(try AESGCM.open(second, using: key) == [1, 2, 3])
    }

    @Test("wrong lengths are rejected")
    func wrongLengths() {
        #expect(throws: CryptoError.invalidLength(what: "AES-256 key", expected: 32, actual: 16)) {
            try SymmetricKey(bytes: [UInt8](repeating: 0, count: 16))
        }
        #expect(throws: CryptoError.invalidLength(what: "AES-GCM nonce", expected: 12, actual: 8)) {
            try AESGCM.seal([1], using: SymmetricKey.random(), nonce: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: CryptoError.self) { try AESGCM.SealedBox(combined: [UInt8](repeating: 0, count: 27)) }
        #expect(throws: CryptoError.self) {
            try AESGCM.SealedBox(nonce: [UInt8](repeating: 0, count: 12), ciphertext: [], tag: [1])
        }
    }

    @Test("symmetric keys expose their bytes and compare in constant time")
    func symmetricKeyBytes() throws {
        let bytes = [UInt8](repeating: 0x42, count: 32)
        let key = try SymmetricKey(bytes: bytes)
        #expect(key.bytes == bytes)
        #expect(key.withUnsafeBytes { Array($0) } == bytes)
        #expect(constantTimeEquals(key.bytes, bytes))
        #expect(!constantTimeEquals(SymmetricKey.random().bytes, bytes))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
        #expect(constantTimeEquals([], []))
    }

    private func flipped(
        _ box: AESGCM.SealedBox, _ part: KeyPath<AESGCM.SealedBox, [UInt8]>, at index: Int
    ) throws -> AESGCM.SealedBox {
        var nonce = box.nonce, ciphertext = box.ciphertext, tag = box.tag
        switch part {
        case \.nonce: nonce[index] ^= 0x01
        case \.ciphertext: ciphertext[index] ^= 0x01
        default: tag[index] ^= 0x01
        }
        return try AESGCM.SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    private func expectAuthenticationFailure(
        _ box: AESGCM.SealedBox, _ key: SymmetricKey, _ aad: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(throws: CryptoError.authenticationFailed, sourceLocation: sourceLocation) {
            try AESGCM.open(box, using: key, authenticating: aad)
        }
    }
}
