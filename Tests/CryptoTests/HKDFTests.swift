import Crypto
import Testing

@Suite("HKDF-SHA256")
struct HKDFTests {
    static let vectors = VectorFile.load("hkdf-sha256-rfc5869.txt")

    @Test("the vector file holds RFC 5869 test cases 1-3")
    func vectorFileIsComplete() {
        #expect(Self.vectors.map(\.testDescription) == ["Test Case 1", "Test Case 2", "Test Case 3"])
    }

    @Test("RFC 5869 appendix A output keying material", arguments: vectors)
    func knownAnswer(vector: Vector) throws {
        let okm = try HKDF.deriveKey(inputKeyMaterial: vector.bytes("ikm"), salt: vector.bytes("salt"),
                                     info: vector.bytes("info"), outputByteCount: vector.integer("length"))
        #expect(okm == vector.bytes("okm"))
    }

    @Test("an empty salt equals the RFC default of 32 zero bytes")
    func emptySaltIsZeroSalt() throws {
        let ikm = [UInt8](repeating: 7, count: 32)
        let empty = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [], info: [1], outputByteCount: 32)
        let zeros = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [UInt8](repeating: 0, count: 32), info: [1],
                                       outputByteCount: 32)
        #expect(empty == zeros)
    }

    @Test("different info gives independent keys; a shorter output is a prefix")
    func infoSeparatesKeys() throws {
        let ikm = [UInt8](repeating: 9, count: 32)
        let a = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [1], info: Array("a".utf8), outputByteCount: 64)
        let b = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [1], info: Array("b".utf8), outputByteCount: 64)
        let short = try HKDF.deriveKey(inputKeyMaterial: ikm, salt: [1], info: Array("a".utf8), outputByteCount: 10)
        #expect(a != b)
        #expect(Array(a.prefix(10)) == short)
    }

    @Test("output lengths outside 1...8160 and empty key material are rejected")
    func invalidArguments() throws {
        for count in [0, -1, HKDF.maximumOutputByteCount + 1] {
            #expect(throws: CryptoError.self) {
                try HKDF.deriveKey(inputKeyMaterial: [1], salt: [], info: [], outputByteCount: count)
            }
        }
        #expect(throws: CryptoError.self) {
            try HKDF.deriveKey(inputKeyMaterial: [], salt: [], info: [], outputByteCount: 32)
        }
        let longest = try HKDF.deriveKey(inputKeyMaterial: [1], salt: [], info: [],
                                         outputByteCount: HKDF.maximumOutputByteCount)
        #expect(longest.count == HKDF.maximumOutputByteCount)
    }
}
