/// # Storage
///
/// The file edge of HealthLedger: the SQLite chain store (blocks, transactions, consent state), the
/// encrypted record vault, and chain export files.
