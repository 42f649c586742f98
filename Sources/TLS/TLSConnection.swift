import COpenSSL
import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One mutually authenticated TLS 1.3 connection over a connected, non-blocking socket descriptor.
///
/// The caller owns the descriptor: it stays open after `close()`, and the caller must not close it before
/// `close()` returned (OpenSSL would write to whatever file reused the number). To wake a thread blocked in
/// `read` or `write` from another thread, shut the socket down (`shutdown(2)`); the blocked call then
/// throws `.closed`.
///
/// Thread safety: one reader and one writer may use a connection at the same time. Every OpenSSL call on it
/// runs under one lock; the waits for the socket (`poll()`) happen outside the lock, so a reader waiting
/// for data never delays a writer.
public final class TLSConnection: @unchecked Sendable {
    /// The peer's Ed25519 key, verified: it is one of the context's allowed keys (and the expected one for a
    /// dialed connection), and the peer proved possession of it in the handshake.
    public let peerKey: Ed25519.PublicKey

    private let lock = NSLock()
    /// Nil once closed.
    private var ssl: OpaquePointer?
    /// Set after a fatal error: OpenSSL forbids `SSL_shutdown` then.
    private var failed = false
    private let descriptor: Int32
    /// Referenced by the `SSL` object's app data: lives as long as it.
    private let pinning: KeyPinning

    private init(ssl: OpaquePointer, descriptor: Int32, pinning: KeyPinning, peerKey: Ed25519.PublicKey) {
        self.ssl = ssl
        self.descriptor = descriptor
        self.pinning = pinning
        self.peerKey = peerKey
    }

    /// Frees the TLS state without sending close_notify: by then the caller may have closed the descriptor,
    /// and its number may belong to another file. Call `close()` first for an orderly close.
    deinit {
        if let ssl { SSL_free(ssl) }
    }

    // MARK: Handshake

    /// Runs the server side of the handshake on `descriptor` within `timeoutMs`. The client must present a
    /// certificate whose key is in `context.allowedPeerKeys`.
    public static func accept(descriptor: Int32, context: TLSContext, timeoutMs: Int) throws(TLSError) -> TLSConnection {
        let pinning = KeyPinning(allowedKeys: context.allowedPeerKeys, expectedKey: nil)
        return try handshake(descriptor: descriptor, context: context, pinning: pinning, isServer: true, timeoutMs: timeoutMs)
    }

    /// Runs the client side of the handshake within `timeoutMs`. The server must present `expectedPeerKey`,
    /// which must be one of `context.allowedPeerKeys`.
    ///
    /// In TLS 1.3 the client finishes its handshake before the server has judged the client's certificate: a
    /// server that refuses this node's key shows up on the first `read` (`.refusedByPeer`), not here.
    public static func connect(
        descriptor: Int32, context: TLSContext, expectedPeerKey: Ed25519.PublicKey, timeoutMs: Int
    ) throws(TLSError) -> TLSConnection {
        guard context.allowedPeerKeys.contains(expectedPeerKey) else { throw .peerKeyNotAllowed }
        let pinning = KeyPinning(allowedKeys: context.allowedPeerKeys, expectedKey: expectedPeerKey)
        return try handshake(descriptor: descriptor, context: context, pinning: pinning, isServer: false, timeoutMs: timeoutMs)
    }

    private static func handshake(
        descriptor: Int32, context: TLSContext, pinning: KeyPinning, isServer: Bool, timeoutMs: Int
    ) throws(TLSError) -> TLSConnection {
        precondition(descriptor >= 0 && timeoutMs >= 0, "a handshake needs an open descriptor and a timeout")
        let deadline = MonotonicDeadline.afterMs(timeoutMs)
        let ssl = try makeSSL(descriptor: descriptor, context: context, pinning: pinning, isServer: isServer)
        do throws(TLSError) {
            while true {
                ERR_clear_error()
                let result = SSL_do_handshake(ssl)
                if result == 1 { break }
                switch classify(ssl: ssl, result: result, pinning: pinning) {
                case .wait(let events): try waitFor(events, descriptor: descriptor, deadline: deadline)
                case .failed(let error): throw error
                }
            }
            let peerKey = try verifiedPeerKey(ssl: ssl, pinning: pinning)
            return TLSConnection(ssl: ssl, descriptor: descriptor, pinning: pinning, peerKey: peerKey)
        } catch {
            SSL_free(ssl)  // No close_notify: the handshake did not complete.
            throw error
        }
    }

    private static func makeSSL(
        descriptor: Int32, context: TLSContext, pinning: KeyPinning, isServer: Bool
    ) throws(TLSError) -> OpaquePointer {
        guard let ssl = SSL_new(context.pointer) else { throw .setup("SSL_new") }
        guard SSL_set_fd(ssl, descriptor) == 1, pinning.attach(to: ssl) else {
            SSL_free(ssl)
            throw .setup("SSL_set_fd")
        }
        if isServer {
            SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
            SSL_set_connect_state(ssl)
        }
        return ssl
    }

    /// The peer's key after a completed handshake, checked a second time from the certificate OpenSSL kept,
    /// so that no path through OpenSSL can skip the pin (for example a future session resumption).
    private static func verifiedPeerKey(ssl: OpaquePointer, pinning: KeyPinning) throws(TLSError) -> Ed25519.PublicKey {
        guard let certificate = SSL_get0_peer_certificate(ssl) else { throw .peerCertificateMissing }
        guard SSL_get_verify_result(ssl) == X509_V_OK, case .accepted(let accepted) = pinning.outcome,
            let key = KeyPinning.rawEd25519Key(X509_get0_pubkey(certificate)), key == accepted
        else { throw .peerKeyNotAllowed }
        return key
    }

    // MARK: Reading and writing

    /// Reads at least one byte into the front of `buffer` and returns the count. Throws `.closed` at the end
    /// of the stream and `.timedOut` when nothing arrives within `timeoutMs`.
    public func read(into buffer: inout [UInt8], timeoutMs: Int) throws(TLSError) -> Int {
        precondition(!buffer.isEmpty && timeoutMs >= 0, "a read has room and a timeout")
        let deadline = MonotonicDeadline.afterMs(timeoutMs)
        let capacity = Int32(clamping: buffer.count)
        while true {
            let step: Step = buffer.withUnsafeMutableBytes { bytes in
                locked { ssl in
                    let count = SSL_read(ssl, bytes.baseAddress, capacity)
                    return count > 0 ? .done(Int(count)) : .retry(classifyLocked(ssl: ssl, result: count))
                }
            }
            switch step {
            case .done(let count): return count
            case .retry(.wait(let events)): try Self.waitFor(events, descriptor: descriptor, deadline: deadline)
            case .retry(.failed(let error)): throw error
            }
        }
    }

    /// Writes every byte. Throws `.timedOut` when the peer accepts nothing for `stallTimeoutMs` (a peer that
    /// stops reading), `.closed` when the connection ends first.
    public func write(_ bytes: [UInt8], stallTimeoutMs: Int) throws(TLSError) {
        precondition(stallTimeoutMs >= 0, "a write has a timeout")
        var offset = 0
        var deadline = MonotonicDeadline.afterMs(stallTimeoutMs)
        while offset < bytes.count {
            let step: Step = bytes.withUnsafeBytes { all in
                locked { ssl in
                    let count = SSL_write(ssl, all.baseAddress! + offset, Int32(clamping: all.count - offset))
                    return count > 0 ? .done(Int(count)) : .retry(classifyLocked(ssl: ssl, result: count))
                }
            }
            switch step {
            case .done(let count):
                offset += count
                deadline = .afterMs(stallTimeoutMs)
            case .retry(.wait(let events)): try Self.waitFor(events, descriptor: descriptor, deadline: deadline)
            case .retry(.failed(let error)): throw error
            }
        }
    }

    /// Writes every byte if the socket's send buffer has room for all of them now, and returns true; returns
    /// false without writing anything otherwise, so the caller never waits for the peer. Room is judged on
    /// the safe side: half the buffer's size (the kernel counts its own bookkeeping in it too), less the bytes
    /// not yet acknowledged, against the bytes and their TLS records' overhead. (Should the peer stop reading
    /// all the same, the write waits up to `stallTimeoutMs` without progress, as in `write`.)
    public func writeIfWritable(_ bytes: [UInt8], stallTimeoutMs: Int) throws(TLSError) -> Bool {
        guard sendBufferRoom() >= bytes.count + (bytes.count / Self.maxRecordPlaintextBytes + 1) * Self.recordOverheadBytes else { return false }
        try write(bytes, stallTimeoutMs: stallTimeoutMs)
        return true
    }

    /// The largest plaintext of one TLS record, and what a TLS 1.3 record adds to it (header, content type,
    /// AEAD tag).
    static let maxRecordPlaintextBytes = 16_384
    static let recordOverheadBytes = 22

    /// Bytes the socket can take now without waiting, on the safe side (see `writeIfWritable`); 0 if unknown.
    private func sendBufferRoom() -> Int {
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        let unacknowledged = hl_socket_unacknowledged_bytes(descriptor)
        guard getsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, &length) == 0, unacknowledged >= 0 else { return 0 }
        return max(0, Int(size) / 2 - Int(unacknowledged))
    }

    /// Sends close_notify if the connection is healthy (one non-blocking attempt) and frees the TLS state.
    /// Idempotent. The descriptor stays open: the caller closes it afterwards.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard let ssl else { return }
        if !failed {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
        }
        SSL_free(ssl)
        self.ssl = nil
    }

    // MARK: Steps and errors

    private enum Step {
        case done(Int)
        case retry(Outcome)
    }

    private enum Outcome {
        case wait(events: Int16)
        case failed(TLSError)
    }

    /// Runs `body` with the `SSL` object under the lock; `.closed` once the connection was closed.
    private func locked(_ body: (OpaquePointer) -> Step) -> Step {
        lock.lock()
        defer { lock.unlock() }
        guard let ssl else { return .retry(.failed(.closed)) }
        ERR_clear_error()
        return body(ssl)
    }

    /// `classify` for an established connection, remembering fatal errors. Called under the lock.
    private func classifyLocked(ssl: OpaquePointer, result: Int32) -> Outcome {
        let outcome = Self.classify(ssl: ssl, result: result, pinning: pinning)
        if case .failed = outcome { failed = true }
        return outcome
    }

    /// What a failed OpenSSL call means: wait for the socket, or a typed error. Must run right after the call,
    /// on the same thread (the error queue and `errno` are per thread). Clears the error queue.
    private static func classify(ssl: OpaquePointer, result: Int32, pinning: KeyPinning) -> Outcome {
        let code = SSL_get_error(ssl, result)
        let systemErrno = errno
        let queued = ERR_get_error()
        ERR_clear_error()
        switch code {
        case SSL_ERROR_WANT_READ: return .wait(events: Int16(POLLIN))
        case SSL_ERROR_WANT_WRITE: return .wait(events: Int16(POLLOUT))
        case SSL_ERROR_ZERO_RETURN: return .failed(.closed)
        case SSL_ERROR_SYSCALL:
            if queued != 0 { return .failed(protocolError(queued, pinning: pinning)) }
            switch systemErrno {
            case 0, ECONNRESET, EPIPE, ENOTCONN, ESHUTDOWN: return .failed(.closed)
            default: return .failed(.system("TLS I/O: \(String(cString: strerror(systemErrno)))"))
            }
        default:
            return .failed(protocolError(queued, pinning: pinning))
        }
    }

    /// The most specific error for an OpenSSL error code, given what the pinning callback decided.
    private static func protocolError(_ code: UInt, pinning: KeyPinning) -> TLSError {
        switch pinning.outcome {
        case .notAllowed, .notEd25519: return .peerKeyNotAllowed
        case .unexpected: return .peerKeyUnexpected
        case .notChecked, .accepted: break
        }
        let reason = ERR_GET_REASON(code)
        let text = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error 0x\(String(code, radix: 16))"
        if reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE { return .peerCertificateMissing }
        if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING { return .closed }
        if reason >= SSL_AD_REASON_OFFSET { return .refusedByPeer(alert: text) }
        return .protocolError(text)
    }

    /// Waits until the socket is ready for `events` (or closed, or in error), at most until `deadline`.
    private static func waitFor(_ events: Int16, descriptor: Int32, deadline: MonotonicDeadline) throws(TLSError) {
        var request = pollfd(fd: descriptor, events: events, revents: 0)
        while true {
            let ready = poll(&request, 1, deadline.remainingMs)
            if ready > 0 { return }
            if ready == 0 { throw .timedOut }
            guard errno == EINTR else { throw .system("poll: \(String(cString: strerror(errno)))") }
        }
    }
}

/// A point in monotonic time; wall-clock changes do not move it.
struct MonotonicDeadline {
    let uptimeNs: UInt64

    static func afterMs(_ durationMs: Int) -> MonotonicDeadline {
        precondition(durationMs >= 0, "a duration is never negative")
        return MonotonicDeadline(uptimeNs: nowNs() &+ UInt64(durationMs) &* 1_000_000)
    }

    /// Milliseconds left, rounded up so that a poll never wakes just before the deadline; 0 once passed.
    var remainingMs: Int32 {
        let now = Self.nowNs()
        guard uptimeNs > now else { return 0 }
        return Int32(clamping: (uptimeNs - now + 999_999) / 1_000_000)
    }

    private static func nowNs() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
