/// # Node
///
/// The node runtime: it wires the chain store, the vault, the mempool, the block producer (one validator)
/// or the consensus engine (several: Tendermint over TLS peer links, `Consensus/`), the access gateway and
/// the clinical services together and serves them over HTTP.
