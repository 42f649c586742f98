import Glibc

/// Two connected, non-blocking stream sockets (a real kernel socket pair), closed at deinit.
public final class SocketPair: @unchecked Sendable {
    public let server: Int32
    public let client: Int32

    public init() {
        var descriptors: [Int32] = [-1, -1]
        let made = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &descriptors)
        precondition(made == 0, "socketpair failed")
        server = descriptors[0]
        client = descriptors[1]
    }

    deinit {
        Glibc.close(server)
        Glibc.close(client)
    }

    /// Writes raw bytes on the client side, as a peer that does not speak TLS would.
    public func sendRaw(_ bytes: [UInt8]) {
        let sent = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        precondition(sent == bytes.count, "raw send was short")
    }

    /// Shrinks both kernel buffers so a peer that stops reading fills them quickly.
    public func shrinkBuffers() {
        var size: Int32 = 4_096
        for descriptor in [server, client] {
            _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}
