/// Buffered reads from one socket, each bounded by a deadline. Bytes past the end of one message stay
/// buffered for the next one, so keep-alive and pipelined messages need no special case.
final class SocketReader {
    let socket: Socket
    private var buffer: [UInt8] = []
    /// Index of the first unread byte in `buffer`; the bytes before it are consumed.
    private var start = 0
    private var receiveBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// Every byte received so far; tells a connection that died silently from one that answered.
    private(set) var receivedByteCount = 0

    init(socket: Socket) {
        self.socket = socket
    }

    var bufferedByteCount: Int { buffer.count - start }

    /// Returns once at least one unread byte is buffered; throws `.closed` at end of stream.
    func waitForData(deadline: Deadline) throws(ConnectionError) {
        if bufferedByteCount == 0 { try receiveMore(deadline: deadline) }
    }

    /// The bytes before `terminator` (which is consumed too). Throws `.tooLarge` once more than `maxBytes`
    /// arrive without it, so a peer cannot make the buffer grow without bound.
    func read(through terminator: [UInt8], maxBytes: Int, deadline: Deadline) throws(ConnectionError) -> [UInt8] {
        try read(throughFirstOf: [terminator], maxBytes: maxBytes, deadline: deadline).message
    }

    /// As `read(through:)`, ending at whichever of `terminators` comes first; also returns its index.
    func read(throughFirstOf terminators: [[UInt8]], maxBytes: Int,
              deadline: Deadline) throws(ConnectionError) -> (message: [UInt8], terminator: Int) {
        precondition(!terminators.isEmpty && terminators.allSatisfy { !$0.isEmpty }, "a terminator has bytes")
        let longest = terminators.map(\.count).max()!
        var searchedCount = 0  // unread bytes already known not to start a terminator
        while true {
            let found = terminators.indices
                .compactMap { index in firstIndex(of: terminators[index], from: start + searchedCount).map { (end: $0, index: index) } }
                .min { $0.end < $1.end }
            if let found {
                guard found.end - start <= maxBytes else { throw .tooLarge }
                let message = Array(buffer[start..<found.end])
                start = found.end + terminators[found.index].count
                return (message, found.index)
            }
            // Up to `longest - 1` bytes past the limit may be the start of a terminator itself.
            guard bufferedByteCount < maxBytes + longest else { throw .tooLarge }
            searchedCount = max(0, bufferedByteCount - longest + 1)
            try receiveMore(deadline: deadline)
        }
    }

    /// Between 1 and `maxCount` bytes: what is buffered, or else what arrives next.
    func readSome(maxCount: Int, deadline: Deadline) throws(ConnectionError) -> [UInt8] {
        precondition(maxCount > 0, "a read asks for at least one byte")
        try waitForData(deadline: deadline)
        let count = min(maxCount, bufferedByteCount)
        defer { start += count }
        return Array(buffer[start..<start + count])
    }

    /// Exactly `count` bytes, for a body whose length the caller has already bounded.
    func readExactly(_ count: Int, deadline: Deadline) throws(ConnectionError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            bytes += try readSome(maxCount: count - bytes.count, deadline: deadline)
        }
        return bytes
    }

    /// Reads and drops up to `maxBytes` until the peer closes or `deadline` passes: a "lingering close".
    /// Closing a socket with unread input sends a reset that can destroy the error response just sent.
    func discardUntilClosed(maxBytes: Int, deadline: Deadline) {
        var discardedCount = 0
        start = buffer.count
        while discardedCount < maxBytes {
            guard let count = try? socket.receive(into: &receiveBuffer, deadline: deadline) else { return }
            discardedCount += count
        }
    }

    private func receiveMore(deadline: Deadline) throws(ConnectionError) {
        let count = try socket.receive(into: &receiveBuffer, deadline: deadline)
        compact()
        buffer += receiveBuffer[0..<count]
        receivedByteCount += count
    }

    /// Drops consumed bytes so the buffer holds at most one message plus what followed it.
    private func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 64 * 1024 {
            buffer.removeFirst(start)
            start = 0
        }
    }

    private func firstIndex(of terminator: [UInt8], from index: Int) -> Int? {
        let first = terminator[0]
        var candidate = index
        while candidate + terminator.count <= buffer.count {
            if buffer[candidate] == first && buffer[candidate..<candidate + terminator.count].elementsEqual(terminator) {
                return candidate
            }
            candidate += 1
        }
        return nil
    }
}
