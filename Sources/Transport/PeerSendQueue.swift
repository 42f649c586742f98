import Foundation

/// Encoded frames waiting to be written to one peer, bounded by a frame count and a byte count.
///
/// When a new frame would exceed either bound, the **oldest** frames are dropped (and counted) until it fits.
/// Why drop-oldest rather than dropping the link: the payloads are consensus messages and gossiped
/// transactions; for a peer that is slow or down, the newest messages (the current height and round) are the
/// useful ones, and Tendermint tolerates lost messages (timeouts, re-gossip, block sync). Closing the link
/// instead would also discard everything queued and force a reconnection for a peer that is merely slow.
///
/// The queue belongs to the peer, not to a link: frames wait here while the link is down and go out once the
/// dialer reconnects. One writer (the current outbound link) takes frames at a time; a `Consumer` lets the
/// link that owns it be cancelled without a missed wake-up.
final class PeerSendQueue: @unchecked Sendable {
    /// A writer's claim on the queue; cancelled when its link closes.
    final class Consumer: @unchecked Sendable {
        fileprivate var isCancelled = false
    }

    enum Take {
        /// One or more encoded frames, in order.
        case frames([[UInt8]])
        /// Nothing arrived within the timeout: time for a keepalive.
        case idle
        /// The consumer was cancelled: its link is closing.
        case cancelled
    }

    let maxFrames: Int
    let maxBytes: Int
    private let condition = NSCondition()
    private var frames: [[UInt8]] = []
    /// Index of the oldest queued frame in `frames`.
    private var head = 0
    private var queuedBytes = 0
    private var droppedFrames = 0

    init(maxFrames: Int, maxBytes: Int) {
        precondition(maxFrames > 0 && maxBytes > 0, "a queue holds something")
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
    }

    private func locked<Result>(_ body: () -> Result) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// Frames and bytes waiting, and frames dropped so far.
    var counts: (queuedFrames: Int, queuedBytes: Int, droppedFrames: Int) {
        locked { (frames.count - head, queuedBytes, droppedFrames) }
    }

    /// Appends an encoded frame, dropping the oldest frames first if the bounds require it.
    func enqueue(_ frame: [UInt8]) {
        precondition(frame.count <= maxBytes, "a frame fits in an empty queue")
        locked {
            while frames.count - head >= maxFrames || queuedBytes + frame.count > maxBytes {
                queuedBytes -= frames[head].count
                frames[head] = []
                head += 1
                droppedFrames += 1
            }
            compact()
            frames.append(frame)
            queuedBytes += frame.count
            precondition(frames.count - head <= maxFrames && queuedBytes <= maxBytes, "the queue bounds hold")
            condition.signal()
        }
    }

    /// A new consumer for the link about to write.
    func makeConsumer() -> Consumer { Consumer() }

    /// Wakes `consumer` for good: its current and future `take` calls return `.cancelled`.
    func cancel(_ consumer: Consumer) {
        locked {
            consumer.isCancelled = true
            condition.broadcast()
        }
    }

    /// The oldest frames, as many as fit in `maxBatchBytes` (at least one), waiting up to `timeoutMs` for one.
    func take(for consumer: Consumer, maxBatchBytes: Int, timeoutMs: Int) -> Take {
        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1_000)
        return locked {
            while !consumer.isCancelled && head == frames.count {
                if !condition.wait(until: deadline) && !consumer.isCancelled && head == frames.count { return .idle }
            }
            if consumer.isCancelled { return .cancelled }
            var batch: [[UInt8]] = []
            var batchBytes = 0
            while head < frames.count && (batch.isEmpty || batchBytes + frames[head].count <= maxBatchBytes) {
                batchBytes += frames[head].count
                batch.append(frames[head])
                frames[head] = []
                head += 1
            }
            queuedBytes -= batchBytes
            compact()
            return .frames(batch)
        }
    }

    /// Releases the slots of taken or dropped frames once they are half of the array.
    private func compact() {
        if head == frames.count {
            frames.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1_024 && head >= frames.count / 2 {
            frames.removeFirst(head)
            head = 0
        }
    }
}
