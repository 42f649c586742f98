/// # Transport
///
/// The socket edge of HealthLedger: an HTTP/1.1 server and client written on POSIX sockets, with every
/// limit a hostile client could abuse bounded (connections, header and body sizes, request time).
