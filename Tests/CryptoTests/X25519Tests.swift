import Crypto
import Testing

@Suite("X25519")
struct X25519Tests {
    static let vectors = VectorFile.load("x25519-rfc7748.txt")

    static func vector(_ name: String) -> Vector {
        guard let vector = vectors.first(where: { $0.testDescription == name }) else {
            fatalError("x25519-rfc7748.txt has no block named \(name)")
        }
        return vector
    }

    /// RFC 7748's X25519(k, u) function through the public API.
    static func x25519(scalar: [UInt8], u: [UInt8]) throws -> [UInt8] {
        try X25519.PrivateKey(rawRepresentation: scalar).sharedSecret(with: X25519.PublicKey(rawRepresentation: u))
    }

    @Test("RFC 7748 5.2 scalar multiplication vectors", arguments: vectors.filter { $0.fields["scalar"] != nil })
    func scalarMultiplication(vector: Vector) throws {
        #expect(try Self.x25519(scalar: vector.bytes("scalar"), u: vector.bytes("u")) == vector.bytes("output"))
    }

    @Test("RFC 7748 5.2 iterated: after 1 and 1000 iterations")
    func iterated() throws {
        let vector = Self.vector("5.2 iterated")
        var k = [UInt8](repeating: 0, count: 32)
        k[0] = 9
        var u = k
        for iteration in 1...1000 {
            (k, u) = (try Self.x25519(scalar: k, u: u), k)
            if iteration == 1 { #expect(k == vector.bytes("iterations1")) }
        }
        #expect(k == vector.bytes("iterations1000"))
    }

    @Test("RFC 7748 6.1: Alice and Bob derive the same shared secret")
    func aliceAndBob() throws {
        let vector = Self.vector("6.1 Diffie-Hellman")
        let alice = try X25519.PrivateKey(rawRepresentation: vector.bytes("alicePrivate"))
        let bob = try X25519.PrivateKey(rawRepresentation: vector.bytes("bobPrivate"))
        #expect(alice.publicKey.rawRepresentation == vector.bytes("alicePublic"))
        #expect(bob.publicKey.rawRepresentation == vector.bytes("bobPublic"))
        #expect(try alice.sharedSecret(with: bob.publicKey) == vector.bytes("shared"))
        #expect(try bob.sharedSecret(with: alice.publicKey) == vector.bytes("shared"))
        #expect(alice.rawRepresentation == vector.bytes("alicePrivate"))
    }

    @Test("random keys agree; a third key does not")
    func randomKeysAgree() throws {
        let alice = X25519.PrivateKey(), bob = X25519.PrivateKey(), eve = X25519.PrivateKey()
        let shared = try alice.sharedSecret(with: bob.publicKey)
        #expect(shared == (try bob.sharedSecret(with: alice.publicKey)))
        #expect(shared != (try eve.sharedSecret(with: bob.publicKey)))
    }

    @Test("a low-order peer key (u = 0) is rejected instead of giving an all-zero secret")
    func lowOrderPeerRejected() throws {
        let zero = try X25519.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32))
        #expect(throws: CryptoError.self) { try X25519.PrivateKey().sharedSecret(with: zero) }
    }

    @Test("keys of the wrong length are rejected")
    func wrongLengths() {
        #expect(throws: CryptoError.invalidLength(what: "X25519 private key", expected: 32, actual: 31)) {
            try X25519.PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 31))
        }
        #expect(throws: CryptoError.invalidLength(what: "X25519 public key", expected: 32, actual: 0)) {
            try X25519.PublicKey(rawRepresentation: [])
        }
    }
}
