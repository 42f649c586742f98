import Crypto
import Testing

@testable import Transport

/// The hello payload: its exact bytes, and every way a received hello is refused.
@Suite struct PeerHelloTests {
    let key = peerKey(1).publicKey

    @Test func encodesMagicVersionChainAndKey() throws {
        let bytes = PeerHello(chainID: "abc", key: key).encode()
        #expect(bytes == Array("HLPH".utf8) + [1, 3] + Array("abc".utf8) + key.rawRepresentation)
        #expect(try PeerHello(decoding: bytes) == PeerHello(chainID: "abc", key: key))
    }

    @Test func theLongestHelloFitsTheHelloLimit() throws {
        let bytes = PeerHello(chainID: String(repeating: "c", count: 255), key: key).encode()
        #expect(bytes.count == PeerHello.maxByteCount)
        #expect(try PeerHello(decoding: bytes).chainID.count == 255)
    }

    static let magic: [UInt8] = Array("HLPH".utf8)
    static let zeroKey = [UInt8](repeating: 0, count: 32)
    static let malformed: [(bytes: [UInt8], reason: String)] = [
        ([], "not a hello (bad magic)"),
        (Array("HLPX".utf8) + [1, 1, 0x61] + zeroKey, "not a hello (bad magic)"),
        (magic + [2, 1, 0x61] + zeroKey, "unsupported hello version 2"),
        (magic + [1, 0] + zeroKey, "wrong length"),
        (magic + [1, 1, 0x61], "wrong length"),
        (magic + [1, 1, 0x61] + zeroKey.dropLast(), "wrong length"),
        (magic + [1, 1, 0x61] + zeroKey + [0], "wrong length"),
        (magic + [1, 1, 0xFF] + zeroKey, "chain id is not UTF-8"),
    ]

    @Test(arguments: malformed)
    func malformedHellosAreRefusedWithAReason(bytes: [UInt8], reason: String) {
        #expect(throws: PeerCloseReason.malformedHello(reason)) { try PeerHello(decoding: bytes) }
    }

    @Test func everyTruncationOfAValidHelloIsRefused() {
        let bytes = PeerHello(chainID: "test-chain", key: key).encode()
        for count in 0..<bytes.count {
            #expect(throws: PeerCloseReason.self) { try PeerHello(decoding: Array(bytes.prefix(count))) }
        }
    }

    @Test func aHelloForAnotherChainOrKeyIsRefused() throws {
        let hello = PeerHello(chainID: "chain-a", key: key)
        #expect(throws: PeerCloseReason.wrongChain) { try hello.check(chainID: "chain-b", tlsKey: key) }
        #expect(throws: PeerCloseReason.helloKeyMismatch) { try hello.check(chainID: "chain-a", tlsKey: peerKey(2).publicKey) }
        try hello.check(chainID: "chain-a", tlsKey: key)
        // "é" precomposed and decomposed are equal as Swift strings, but not the same chain id.
        #expect(throws: PeerCloseReason.wrongChain) {
            try PeerHello(chainID: "caf\u{E9}", key: key).check(chainID: "cafe\u{301}", tlsKey: key)
        }
    }
}
