/// # TestSupport
///
/// Deterministic building blocks for tests, the benchmark and the test-vector generator: a seeded random
/// source, keys derived from names, and a `ChainBuilder` that produces real signed, certified chains.
/// Everything here is reproducible from a seed; a failing test prints its seed.

import Ledger

/// xoshiro256** seeded through splitmix64: fast, good statistical quality, and the same sequence on every
/// machine for a given seed. Not for keys in production.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// Ed25519 keys derived from a name: the same name always gives the same key, so tests and vectors are
/// reproducible. Never for real keys.
public enum TestKeys {
    public static func key(_ name: String) -> Ed25519.PrivateKey {
        try! Ed25519.PrivateKey(seed: SHA256.hash(Array("healthledger-test-key/\(name)".utf8)).bytes)
    }

    public static func identity(_ name: String) -> Identity { Identity(publicKey: key(name).publicKey) }
}
