import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded by the operating system).
///
/// Only the edges of the system (key generation, the vault, request nonces) draw randomness; the ledger
/// core, policy and consensus take random values as inputs so they can be replayed.
public enum SecureRandom {
    /// `count` random bytes. Traps if the operating system's entropy source fails, because continuing
    /// without randomness would silently produce predictable keys.
    public static func bytes(count: Int) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let ok = output.withUnsafeMutableBytes { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed: no secure randomness available")
        return output
    }
}
