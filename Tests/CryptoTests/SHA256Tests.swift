import Crypto
import Testing

@Suite("SHA-256")
struct SHA256Tests {
    static let vectors = VectorFile.load("sha256-fips180.txt")

    @Test("the vector file holds the four FIPS 180 messages")
    func vectorFileIsComplete() {
        #expect(Self.vectors.count == 4)
    }

    @Test("one-shot and streaming digests match FIPS 180", arguments: vectors)
    func knownAnswer(vector: Vector) {
        let expected = vector.text("digest")
        if vector.fields["repeat"] != nil {
            // One million 'a', fed in 1000-byte chunks so the streaming path crosses block boundaries.
            let chunk = [UInt8](repeating: vector.bytes("repeat")[0], count: 1000)
            var hasher = SHA256()
            for _ in 0..<(vector.integer("count") / chunk.count) { hasher.update(chunk) }
            #expect(hasher.finalize().hex == expected)
        } else {
            let message = vector.bytes("message")
            #expect(SHA256.hash(message).hex == expected)
            var hasher = SHA256()
            for byte in message { hasher.update([byte]) }
            #expect(hasher.finalize().hex == expected)
        }
    }

    @Test("digests parse back from hex and order byte-wise")
    func digestValueSemantics() throws {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(bytes: digest.bytes) == digest)
        #expect(SHA256Digest(hex: "zz") == nil)
        #expect(SHA256Digest.zero < digest)
    }
}
