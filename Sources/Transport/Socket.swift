#if canImport(Glibc)
import Glibc
#else
#error("Transport uses Linux socket flags (MSG_NOSIGNAL, SOCK_NONBLOCK): build it on Linux.")
#endif

// Every C call of the module lives in this file: the HTTP layers above see `Socket`, `Deadline` and
// `ConnectionError` only. Sockets are non-blocking and every wait is a `poll()` bounded by a deadline, so a
// peer that trickles bytes or stops reading can never hold a thread beyond the configured limits.

/// Why a socket operation failed, before the HTTP layers translate it into a response or a `TransportError`.
enum ConnectionError: Error, Equatable {
    /// The deadline passed before the peer sent (or accepted) anything.
    case timedOut
    /// The peer closed or reset the connection.
    case closed
    /// A message grew beyond its limit before it was complete.
    case tooLarge
    /// Any other system error, as "call: strerror".
    case system(String)
}

/// A point in monotonic time; wall-clock changes do not move it.
struct Deadline {
    let uptimeNs: UInt64

    static func afterMs(_ durationMs: Int) -> Deadline {
        precondition(durationMs >= 0, "a duration is never negative")
        return Deadline(uptimeNs: monotonicNowNs() &+ UInt64(durationMs) &* 1_000_000)
    }

    /// Milliseconds left, rounded up so that a poll never wakes just before the deadline; 0 once passed.
    var remainingMs: Int32 {
        let now = Self.monotonicNowNs()
        guard uptimeNs > now else { return 0 }
        return Int32(clamping: (uptimeNs - now + 999_999) / 1_000_000)
    }

    var hasPassed: Bool { remainingMs == 0 }

    private static func monotonicNowNs() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// Runs a system call again while a signal interrupts it; other results (and `errno`) go to the caller.
private func retryingInterrupts<Result: BinaryInteger>(_ call: () -> Result) -> Result {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

private func systemError(_ call: String) -> ConnectionError {
    let code = errno
    switch code {
    case ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN: return .closed
    default: return .system("\(call): \(String(cString: strerror(code)))")
    }
}

/// A peer that closes early would otherwise kill the process with SIGPIPE (exit 141); `MSG_NOSIGNAL`
/// covers `send`, this covers everything else. Runs once, on first use of a socket.
private let brokenPipeSignalsIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// The owner of one TCP socket descriptor (IPv4 or IPv6). Closed by `close()` or at deinit.
///
/// Not thread-safe by itself: one thread uses it, and another may only call `shutdown` while the owner
/// guarantees (under its own lock) that the descriptor is still open.
final class Socket: @unchecked Sendable {
    private var descriptor: Int32

    private init(descriptor: Int32) {
        precondition(descriptor >= 0, "a socket owns an open descriptor")
        self.descriptor = descriptor
    }

    deinit { close() }

    /// The open descriptor, for the TLS layer of peer links (`PeerLink`), which reads and writes through it
    /// while this object keeps owning (and eventually closing) it.
    var fileDescriptor: Int32 {
        precondition(descriptor >= 0, "the socket is open")
        return descriptor
    }

    // MARK: Opening

    /// A listening socket bound to `host` ("localhost", an IPv4 literal or an IPv6 literal without brackets;
    /// "::" also takes IPv4 connections) and `port` (0: ephemeral).
    static func listening(host: String, port: UInt16, backlog: Int32) throws(TransportError) -> Socket {
        func failure(_ reason: String) -> TransportError { .cannotBind(host: host, port: port, reason: reason) }
        guard let address = SocketAddress(literal: host == "localhost" ? "127.0.0.1" : host, port: port) else {
            throw failure("the host must be an IPv4 or IPv6 address or localhost")
        }
        let socket: Socket
        do { socket = try makeStreamSocket(family: address.family) } catch { throw failure(error.reason) }
        socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1)
        if address.family == AF_INET6 { socket.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
        let bound = address.withGeneric { generic, length in retryingInterrupts { bind(socket.descriptor, generic, length) } }
        guard bound == 0 else { throw failure(systemError("bind").reason) }
        guard retryingInterrupts({ listen(socket.descriptor, backlog) }) == 0 else {
            throw failure(systemError("listen").reason)
        }
        return socket
    }

    /// A socket connected to `host` (a name, an IPv4 literal or an IPv6 literal without brackets) within
    /// `timeoutMs`; a name's addresses are tried in the resolver's order within that time.
    static func connected(host: String, port: UInt16, timeoutMs: Int) throws(TransportError) -> Socket {
        let endpoint = HostPort(host: host, port: port).text
        let addresses = SocketAddress.resolve(host: host, port: port)
        guard !addresses.isEmpty else { throw .cannotConnect("\(endpoint): the host name does not resolve") }
        return try connected(toFirstOf: addresses, endpoint: endpoint, timeoutMs: timeoutMs)
    }

    /// A socket connected to the first of `addresses` that accepts, tried in order within `timeoutMs` in
    /// all; the error names `endpoint` and the last address's failure.
    static func connected(toFirstOf addresses: [SocketAddress], endpoint: String, timeoutMs: Int) throws(TransportError) -> Socket {
        let deadline = Deadline.afterMs(timeoutMs)
        var lastFailure = ""
        for address in addresses {
            do {
                return try connected(to: address, deadline: deadline)
            } catch {
                lastFailure = error == .timedOut ? "no answer within \(timeoutMs) ms" : error.reason
                if deadline.hasPassed { break }
            }
        }
        throw .cannotConnect("\(endpoint): \(lastFailure)")
    }

    private static func connected(to address: SocketAddress, deadline: Deadline) throws(ConnectionError) -> Socket {
        let socket = try makeStreamSocket(family: address.family)
        // Not retried on EINTR: the connection attempt continues in the background, as for EINPROGRESS.
        let started = address.withGeneric { generic, length in connect(socket.descriptor, generic, length) }
        if started != 0 && errno != EINPROGRESS && errno != EINTR { throw systemError("connect") }
        try socket.finishConnecting(deadline: deadline)
        return socket
    }

    private func finishConnecting(deadline: Deadline) throws(ConnectionError) {
        try wait(for: POLLOUT, deadline: deadline)
        var pending: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length)
        guard pending == 0 else { throw .system("connect: \(String(cString: strerror(pending)))") }
    }

    /// Whether the kernel opens IPv6 sockets (it may be built or booted without IPv6).
    static let canOpenIPv6: Bool = (try? makeStreamSocket(family: AF_INET6)) != nil

    private static func makeStreamSocket(family: Int32) throws(ConnectionError) -> Socket {
        _ = brokenPipeSignalsIgnored
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = retryingInterrupts { socket(family, type, 0) }
        guard descriptor >= 0 else { throw systemError("socket") }
        let opened = Socket(descriptor: descriptor)
        opened.disableNagle()
        return opened
    }

    /// Small requests and chunks go out at once instead of waiting for the peer's delayed ACK (40 ms).
    private func disableNagle() { setOption(Int32(IPPROTO_TCP), TCP_NODELAY, 1) }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
        var value = value
        _ = setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    // MARK: Accepting

    /// The next incoming connection and the peer's address ("192.0.2.7", "2001:db8::7"; an IPv4 peer of an
    /// IPv6 listener in its IPv4 form), or nil when none arrives within `timeoutMs`.
    func acceptConnection(timeoutMs: Int) throws(ConnectionError) -> (socket: Socket, remoteAddress: String)? {
        do { try wait(for: POLLIN, deadline: .afterMs(timeoutMs)) } catch .timedOut { return nil }
        var address = SocketAddress()
        let accepted = address.withMutableGeneric { generic, length in retryingInterrupts { accept(descriptor, generic, length) } }
        guard accepted >= 0 else {
            // Another thread may have taken it, or the peer gave up before we accepted: not an error.
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED { return nil }
            throw systemError("accept")
        }
        // accept4 is not imported from Glibc: set the flags the listener's socket() call set.
        _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
        _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
        let socket = Socket(descriptor: accepted)
        socket.disableNagle()
        return (socket, address.hostText)
    }

    /// The bound port, in host byte order.
    var localPort: UInt16 {
        var address = SocketAddress()
        _ = address.withMutableGeneric { generic, length in getsockname(descriptor, generic, length) }
        return address.port
    }

    // MARK: Reading and writing

    /// Receives at least one byte into the front of `buffer` and returns the count; throws `.closed` at end
    /// of stream and `.timedOut` when nothing arrives before `deadline`.
    func receive(into buffer: inout [UInt8], deadline: Deadline) throws(ConnectionError) -> Int {
        precondition(!buffer.isEmpty, "a receive buffer has room")
        while true {
            let count = buffer.withUnsafeMutableBytes { bytes in
                retryingInterrupts { recv(descriptor, bytes.baseAddress, bytes.count, 0) }
            }
            if count > 0 { return count }
            if count == 0 { throw .closed }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw systemError("recv") }
            try wait(for: POLLIN, deadline: deadline)
        }
    }

    /// Sends every byte; throws `.timedOut` when the peer accepts nothing for `stallTimeoutMs`.
    func sendAll(_ bytes: [UInt8], stallTimeoutMs: Int) throws(ConnectionError) {
        var offset = try sendWithoutWaiting(bytes)
        while offset < bytes.count {
            try wait(for: POLLOUT, deadline: .afterMs(stallTimeoutMs))
            offset += try sendWithoutWaiting(bytes, from: offset)
        }
    }

    /// Sends what the socket takes now of `bytes` from `start` on, without waiting; returns how many went (0
    /// when it takes none).
    func sendWithoutWaiting(_ bytes: [UInt8], from start: Int = 0) throws(ConnectionError) -> Int {
        var offset = start
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { all in
                retryingInterrupts {
                    send(descriptor, all.baseAddress! + offset, all.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                }
            }
            if sent >= 0 {
                offset += sent
                continue
            }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw systemError("send") }
            break
        }
        return offset - start
    }

    /// Whether a kept-alive connection is no longer usable: the peer closed it or sent bytes nobody asked for.
    var isClosedByPeer: Bool {
        var probe = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard retryingInterrupts({ poll(&probe, 1, 0) }) == 1 else { return false }
        var byte: UInt8 = 0
        let peeked = retryingInterrupts { recv(descriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }
        return peeked != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    private func wait(for events: Int32, deadline: Deadline) throws(ConnectionError) {
        var request = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        let ready = retryingInterrupts { poll(&request, 1, deadline.remainingMs) }
        if ready == 0 { throw .timedOut }
        if ready < 0 { throw systemError("poll") }
    }

    // MARK: Closing

    /// Ends one or both directions; wakes a thread that is polling this socket. Safe from another thread.
    func shutdown(reading: Bool, writing: Bool) {
        guard descriptor >= 0, reading || writing else { return }
        let how = reading && writing ? SHUT_RDWR : (reading ? SHUT_RD : SHUT_WR)
        _ = Glibc.shutdown(descriptor, Int32(how))
    }

    func close() {
        guard descriptor >= 0 else { return }
        // Not retried on EINTR: Linux releases the descriptor even then, and a retry could close a reused one.
        _ = Glibc.close(descriptor)
        descriptor = -1
    }
}

/// An IPv4 or IPv6 socket address, held in a `sockaddr_storage`.
struct SocketAddress {
    private var storage = sockaddr_storage()
    private var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    /// Empty, for `accept` and `getsockname` to fill.
    init() {}

    /// An IPv4 or IPv6 literal (without brackets) and a port; nil for anything else.
    init?(literal: String, port: UInt16) {
        var ipv4 = sockaddr_in()
        if inet_pton(AF_INET, literal, &ipv4.sin_addr) == 1 {
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            self.init(copying: ipv4)
            return
        }
        var ipv6 = sockaddr_in6()
        guard inet_pton(AF_INET6, literal, &ipv6.sin6_addr) == 1 else { return nil }
        ipv6.sin6_family = sa_family_t(AF_INET6)
        ipv6.sin6_port = port.bigEndian
        self.init(copying: ipv6)
    }

    private init<Address>(copying address: Address) {
        withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// The addresses of `host` in the resolver's order: itself when it is a literal, 127.0.0.1 for
    /// "localhost", otherwise what `getaddrinfo` gives for a stream socket (IPv4 and IPv6).
    static func resolve(host: String, port: UInt16) -> [SocketAddress] {
        if let literal = SocketAddress(literal: host == "localhost" ? "127.0.0.1" : host, port: port) { return [literal] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &results) == 0 else { return [] }
        defer { freeaddrinfo(results) }
        var addresses: [SocketAddress] = []
        var next = results
        while let entry = next?.pointee {
            next = entry.ai_next
            guard let generic = entry.ai_addr else { continue }
            var address: SocketAddress
            switch entry.ai_family {
            case AF_INET: address = SocketAddress(copying: generic.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee })
            case AF_INET6: address = SocketAddress(copying: generic.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee })
            default: continue
            }
            address.port = port
            addresses.append(address)
        }
        return addresses
    }

    var family: Int32 { Int32(storage.ss_family) }

    /// The port, in host byte order.
    var port: UInt16 {
        get {
            switch family {
            case AF_INET: UInt16(bigEndian: withIPv4 { $0.sin_port })
            case AF_INET6: UInt16(bigEndian: withIPv6 { $0.sin6_port })
            default: 0
            }
        }
        set {
            switch family {
            case AF_INET: withUnsafeMutableBytes(of: &storage) { $0.withMemoryRebound(to: sockaddr_in.self) { $0[0].sin_port = newValue.bigEndian } }
            case AF_INET6: withUnsafeMutableBytes(of: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self) { $0[0].sin6_port = newValue.bigEndian } }
            default: break
            }
        }
    }

    /// The host as text, without a port: an IPv4 address, or an IPv6 one (an IPv4-mapped one in its IPv4
    /// form); "unknown" for another family.
    var hostText: String {
        switch family {
        case AF_INET:
            return withUnsafeBytes(of: withIPv4 { $0.sin_addr }) { Self.text(family: AF_INET, $0, capacity: INET_ADDRSTRLEN) }
        case AF_INET6:
            let bytes = withUnsafeBytes(of: withIPv6 { $0.sin6_addr }) { Array($0) }
            let isIPv4Mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
            return isIPv4Mapped
                ? bytes[12..<16].withUnsafeBytes { Self.text(family: AF_INET, $0, capacity: INET_ADDRSTRLEN) }
                : bytes.withUnsafeBytes { Self.text(family: AF_INET6, $0, capacity: INET6_ADDRSTRLEN) }
        default:
            return "unknown"
        }
    }

    func withGeneric<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { bytes in body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    mutating func withMutableGeneric<Result>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Result) -> Result {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        return withUnsafeMutableBytes(of: &storage) { bytes in
            withUnsafeMutablePointer(to: &length) { body(bytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), $0) }
        }
    }

    private func withIPv4<Result>(_ body: (sockaddr_in) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.load(as: sockaddr_in.self)) }
    }

    private func withIPv6<Result>(_ body: (sockaddr_in6) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.load(as: sockaddr_in6.self)) }
    }

    /// `inet_ntop` of the address bytes in `raw` (an `in_addr` or `in6_addr`).
    private static func text(family: Int32, _ raw: UnsafeRawBufferPointer, capacity: Int32) -> String {
        var characters = [CChar](repeating: 0, count: Int(capacity))
        guard inet_ntop(family, raw.baseAddress, &characters, socklen_t(characters.count)) != nil else { return "unknown" }
        return String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ConnectionError {
    /// A short reason for error descriptions; never includes transferred bytes.
    var reason: String {
        switch self {
        case .timedOut: "timed out"
        case .closed: "the peer closed the connection"
        case .tooLarge: "message too large"
        case .system(let message): message
        }
    }
}
