import Crypto

/// The first frame each side sends on a new link, right after the TLS handshake: which chain the sender is
/// on and which validator it is.
///
/// Payload (docs/PEERS.md): magic `HLPH` (4 bytes), version (1 byte, 1), chain id length (1 byte, 1-255),
/// chain id (UTF-8), the sender's Ed25519 validator key (32 bytes). Nothing may follow. The receiver refuses
/// a hello for another chain, and one whose key differs from the key the TLS handshake verified (a peer can
/// only name the key it proved).
struct PeerHello: Equatable {
    static let magic: [UInt8] = Array("HLPH".utf8)
    static let version: UInt8 = 1
    static let maxChainIDBytes = 255
    /// The largest valid hello; the first frame of a link may not be longer.
    static let maxByteCount = magic.count + 2 + maxChainIDBytes + Ed25519.publicKeyByteCount

    let chainID: String
    let key: Ed25519.PublicKey

    init(chainID: String, key: Ed25519.PublicKey) {
        precondition(Self.isValidChainID(chainID), "a chain id has 1 to 255 bytes")
        self.chainID = chainID
        self.key = key
    }

    static func isValidChainID(_ chainID: String) -> Bool { (1...maxChainIDBytes).contains(chainID.utf8.count) }

    func encode() -> [UInt8] {
        let chain = Array(chainID.utf8)
        return Self.magic + [Self.version, UInt8(chain.count)] + chain + key.rawRepresentation
    }

    /// Decodes a hello payload; throws `.malformedHello` with a reason for anything else.
    init(decoding payload: [UInt8]) throws(PeerCloseReason) {
        let headerCount = Self.magic.count + 2
        guard payload.count >= headerCount, Array(payload[0..<Self.magic.count]) == Self.magic else {
            throw .malformedHello("not a hello (bad magic)")
        }
        guard payload[Self.magic.count] == Self.version else {
            throw .malformedHello("unsupported hello version \(payload[Self.magic.count])")
        }
        let chainCount = Int(payload[Self.magic.count + 1])
        guard chainCount > 0, payload.count == headerCount + chainCount + Ed25519.publicKeyByteCount else {
            throw .malformedHello("wrong length")
        }
        guard let chainID = String(validating: payload[headerCount..<headerCount + chainCount], as: UTF8.self) else {
            throw .malformedHello("chain id is not UTF-8")
        }
        // 32 bytes: the length was checked above.
        let key = try! Ed25519.PublicKey(rawRepresentation: Array(payload[(headerCount + chainCount)...]))
        self.init(chainID: chainID, key: key)
    }

    /// Checks a received hello against this node's chain and the key the TLS handshake verified.
    func check(chainID expectedChainID: String, tlsKey: Ed25519.PublicKey) throws(PeerCloseReason) {
        // Bytes, not `String` equality, which would equate canonically equivalent Unicode spellings.
        guard chainID.utf8.elementsEqual(expectedChainID.utf8) else { throw .wrongChain }
        guard key == tlsKey else { throw .helloKeyMismatch }
    }
}
