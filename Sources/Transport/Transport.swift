/// # Transport
///
/// The socket edge of HealthLedger: an HTTP/1.1 server and client written on POSIX sockets, and the TLS peer
/// links between validators, with every limit a hostile client or peer could abuse bounded (connections,
/// header, body and frame sizes, request and handshake time, queues).
///
/// Layout, from the wire up:
/// - `Socket`: the only file with C calls; non-blocking descriptors, every wait a `poll()` with a deadline.
///   (Peer links hand its descriptor to `TLSConnection`, which waits on it the same way.)
/// - `SocketReader`: buffered reads bounded by size and deadline (heads, lines, bodies, lingering close).
/// - `HTTPParsing`, `ResponseEncoding`: pure, strict HTTP/1.x grammar; no sockets, no clock.
/// - `HTTPServer` (accept thread, shared registry), `ServerConnection` (one thread per connection).
/// - `HTTPClient`: one keep-alive connection behind a lock.
/// - `Peer*`: validator links over the `TLS` module (TLS 1.3, pinned genesis keys): `PeerFrame` and
///   `PeerHello` (pure codecs), `PeerSendQueue`, `PeerBackoff`, `PeerLink` (one link's reader and writer), and
///   `PeerNetwork` (listen, dial, reconnect, broadcast). docs/PEERS.md describes the wire.
///
/// Threads, not Dispatch: blocking I/O on Dispatch's global queues starves its pool (see PLATFORM-NOTES).
