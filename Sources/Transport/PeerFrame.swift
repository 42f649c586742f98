/// Frames on a peer link: a 4-byte big-endian payload length, then the payload. A length of 0 is a
/// keepalive, sent when a link has been quiet and never delivered. docs/PEERS.md describes the wire.
enum PeerFrame {
    static let headerByteCount = 4
    /// The largest `maxFrameBytes` a configuration may set (1 GiB): the length field could say 4 GiB, but no
    /// message of this system comes near, and a limit far below `Int32.max` keeps every size computation safe.
    static let largestAllowedMaxBytes = 1 << 30
    static let keepalive: [UInt8] = [0, 0, 0, 0]

    /// The frame carrying `payload` (1 byte or more; an empty payload would read as a keepalive).
    static func encode(_ payload: [UInt8]) -> [UInt8] {
        precondition(!payload.isEmpty && payload.count <= largestAllowedMaxBytes, "a payload has 1 byte to 1 GiB")
        let length = UInt32(payload.count)
        var frame: [UInt8] = [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
        frame.reserveCapacity(headerByteCount + payload.count)
        frame += payload
        return frame
    }
}

/// Why a byte stream is not a valid sequence of frames.
enum PeerFrameError: Error, Equatable {
    /// A header announced more than the receiver accepts; detected from the header alone, before any of the
    /// payload is buffered.
    case tooLarge(announcedBytes: Int, maxBytes: Int)
}

/// Cuts a byte stream into frames. Pure: bytes in, payloads out. Memory is bounded by one frame of at most
/// `maxPayloadBytes` plus what one read returns.
struct PeerFrameDecoder {
    /// The largest payload accepted. The link lowers it for the hello and raises it afterwards.
    var maxPayloadBytes: Int {
        didSet { precondition(maxPayloadBytes > 0 && maxPayloadBytes <= PeerFrame.largestAllowedMaxBytes) }
    }
    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte of `buffer`.
    private var start = 0

    init(maxPayloadBytes: Int) {
        precondition(
            maxPayloadBytes > 0 && maxPayloadBytes <= PeerFrame.largestAllowedMaxBytes, "a frame limit is 1 byte to 1 GiB")
        self.maxPayloadBytes = maxPayloadBytes
    }

    /// Bytes received and not yet returned as frames.
    var bufferedByteCount: Int { buffer.count - start }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        compact()
        buffer += bytes
    }

    /// The next complete frame's payload (empty for a keepalive), or nil when more bytes are needed.
    mutating func next() throws(PeerFrameError) -> [UInt8]? {
        guard bufferedByteCount >= PeerFrame.headerByteCount else { return nil }
        let length = buffer[start..<start + PeerFrame.headerByteCount].reduce(0) { $0 << 8 | Int($1) }
        guard length <= maxPayloadBytes else { throw .tooLarge(announcedBytes: length, maxBytes: maxPayloadBytes) }
        guard bufferedByteCount >= PeerFrame.headerByteCount + length else { return nil }
        let payloadStart = start + PeerFrame.headerByteCount
        start = payloadStart + length
        return Array(buffer[payloadStart..<start])
    }

    /// Drops consumed bytes once they are a large share of the buffer, so memory stays bounded and the cost
    /// of moving bytes stays proportional to what was received.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start >= 64 * 1024 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}
