import Crypto
import Testing

@Suite("Ed25519")
struct Ed25519Tests {
    static let vectors = VectorFile.load("ed25519-rfc8032.txt")

    @Test("the vector file holds RFC 8032 TEST 1, 2, 3, 1024 and SHA(abc)")
    func vectorFileIsComplete() {
        #expect(Self.vectors.map(\.testDescription) == ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"])
    }

    @Test("RFC 8032 7.1: public key and signature from the secret key; verification", arguments: vectors)
    func knownAnswer(vector: Vector) throws {
        let key = try Ed25519.PrivateKey(seed: vector.bytes("secretKey"))
        let message = vector.bytes("message")
        let expectedSignature = vector.bytes("signature")
        #expect(key.publicKey.rawRepresentation == vector.bytes("publicKey"))
        #expect(key.seed == vector.bytes("secretKey"))
        #expect(key.signature(for: message) == expectedSignature)
        #expect(key.publicKey.isValidSignature(expectedSignature, for: message))
    }

    @Test("a flipped bit in the signature, message or key fails", arguments: vectors)
    func flippedBitFails(vector: Vector) throws {
        let publicKey = try Ed25519.PublicKey(rawRepresentation: vector.bytes("publicKey"))
        let message = vector.bytes("message")
        let signature = vector.bytes("signature")
        for index in [0, 31, 32, 63] {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!publicKey.isValidSignature(tampered, for: message))
        }
        var longerMessage = message
        longerMessage.append(0)
        #expect(!publicKey.isValidSignature(signature, for: longerMessage))
        if !message.isEmpty {
            var tamperedMessage = message
            tamperedMessage[0] ^= 0x80
            #expect(!publicKey.isValidSignature(signature, for: tamperedMessage))
        }
        var tamperedKey = publicKey.rawRepresentation
        tamperedKey[0] ^= 0x01
        #expect(!(try Ed25519.PublicKey(rawRepresentation: tamperedKey)).isValidSignature(signature, for: message))
    }

    @Test("a signature by another key, or over another message, fails")
    func wrongKeyOrMessageFails() {
        let alice = Ed25519.PrivateKey()
        let bob = Ed25519.PrivateKey()
        let message = Array("transfer record 42".utf8)
        let signature = alice.signature(for: message)
        #expect(alice.publicKey.isValidSignature(signature, for: message))
        #expect(!bob.publicKey.isValidSignature(signature, for: message))
        #expect(!alice.publicKey.isValidSignature(signature, for: Array("transfer record 43".utf8)))
    }

    @Test("signatures of the wrong length fail without crashing")
    func wrongSignatureLengthFails() {
        let key = Ed25519.PrivateKey()
        let signature = key.signature(for: [1, 2, 3])
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: [1, 2, 3]))
        #expect(!key.publicKey.isValidSignature(signature + [0], for: [1, 2, 3]))
        #expect(!key.publicKey.isValidSignature([], for: [1, 2, 3]))
    }

    @Test("a public key that is not a curve point verifies nothing")
    func invalidPublicKeyReturnsFalse() throws {
        // y = 2 has no x on edwards25519: (y^2 - 1) / (d y^2 + 1) is not a square mod p (checked with the
        // RFC 8032 reference code's recover_x).
        var notOnCurve = [UInt8](repeating: 0, count: 32)
        notOnCurve[0] = 2
        let publicKey = try Ed25519.PublicKey(rawRepresentation: notOnCurve)
        let signature = Ed25519.PrivateKey().signature(for: [7])
        #expect(!publicKey.isValidSignature(signature, for: [7]))
        // All-ones is also not a canonical encoding (y >= p).
        let allOnes = try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 0xff, count: 32))
        #expect(!allOnes.isValidSignature(signature, for: [7]))
    }

    @Test("keys of the wrong length are rejected")
    func wrongKeyLengthThrows() {
        #expect(throws: CryptoError.invalidLength(what: "Ed25519 seed", expected: 32, actual: 31)) {
            try Ed25519.PrivateKey(seed: [UInt8](repeating: 1, count: 31))
        }
        #expect(throws: CryptoError.invalidLength(what: "Ed25519 public key", expected: 32, actual: 33)) {
            try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 33))
        }
    }

    @Test("two keys signing alternately on one thread each give their own signatures")
    func alternatingKeysOnOneThread() throws {
        // The context-reuse pitfall: a reused EVP_MD_CTX re-initialised with another key may keep the old key.
        let first = try Ed25519.PrivateKey(seed: Self.vectors[0].bytes("secretKey"))
        let second = try Ed25519.PrivateKey(seed: Self.vectors[1].bytes("secretKey"))
        for round in 0..<20 {
            let message: [UInt8] = [UInt8(round)]
            let firstSignature = first.signature(for: message)
            let secondSignature = second.signature(for: message)
            #expect(first.publicKey.isValidSignature(firstSignature, for: message))
            #expect(second.publicKey.isValidSignature(secondSignature, for: message))
            #expect(!first.publicKey.isValidSignature(secondSignature, for: message))
        }
        #expect(first.signature(for: []) == Self.vectors[0].bytes("signature"))
        #expect(second.signature(for: [0x72]) == Self.vectors[1].bytes("signature"))
    }

    @Test("signing is deterministic and keys survive a seed round trip")
    func seedRoundTrip() throws {
        let key = Ed25519.PrivateKey()
        let restored = try Ed25519.PrivateKey(seed: key.seed)
        #expect(restored.publicKey == key.publicKey)
        #expect(restored.signature(for: [9, 9]) == key.signature(for: [9, 9]))
    }
}
