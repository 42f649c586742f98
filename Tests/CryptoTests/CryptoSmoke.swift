import Testing
@testable import Crypto
@Test func sha256OfAbc() { #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") }
@Test func ed25519RoundTrip() {
    let key = Ed25519.PrivateKey()
    let sig = key.signature(for: [1, 2, 3])
    #expect(key.publicKey.isValidSignature(sig, for: [1, 2, 3]))
    #expect(!key.publicKey.isValidSignature(sig, for: [1, 2, 4]))
}
