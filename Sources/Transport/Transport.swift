/// # Transport
///
/// The socket edge of HealthLedger: an HTTP/1.1 server and client written on POSIX sockets, with every
/// limit a hostile client could abuse bounded (connections, header and body sizes, request time).
///
/// Layout, from the wire up:
/// - `Socket`: the only file with C calls; non-blocking descriptors, every wait a `poll()` with a deadline.
/// - `SocketReader`: buffered reads bounded by size and deadline (heads, lines, bodies, lingering close).
/// - `HTTPParsing`, `ResponseEncoding`: pure, strict HTTP/1.x grammar; no sockets, no clock.
/// - `HTTPServer` (accept thread, shared registry), `ServerConnection` (one thread per connection).
/// - `HTTPClient`: one keep-alive connection behind a lock.
///
/// Threads, not Dispatch: blocking I/O on Dispatch's global queues starves its pool (see PLATFORM-NOTES).
