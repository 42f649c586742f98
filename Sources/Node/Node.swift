/// # Node
///
/// The node runtime: it wires the chain store, the vault, the mempool, the block producer and the access
/// gateway together and serves them over HTTP.
