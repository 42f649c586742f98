/// # Ledger
///
/// The pure, deterministic core of HealthLedger: identities, the canonical binary encoding, signed
/// transactions, blocks and their Merkle trees, commit certificates, the genesis document, the consent
/// state and the access policy, and the chain verifier.
///
/// Nothing here reads a clock, draws randomness, or touches a file or socket: time, randomness and storage
/// come in as parameters. That is what lets validators, tests, the simulator and an auditor years later
/// reach exactly the same answer from the same inputs.

// The ledger's public API is made of Crypto's value types (digests, keys); users of Ledger get them too.
@_exported import Crypto
