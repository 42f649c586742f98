/// # Node
///
/// The node runtime: it wires the chain store, the vault, the mempool, the block producer, the access
/// gateway and the clinical services together and serves them over HTTP.
