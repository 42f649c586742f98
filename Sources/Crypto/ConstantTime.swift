import COpenSSL

/// True when `a` and `b` hold the same bytes, in time that depends only on their lengths (not on where
/// they differ), so comparing a secret such as a MAC or token leaks nothing through timing.
/// Arrays of different lengths are unequal at once: lengths are not treated as secret.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, a.count) == 0 }
    }
}
