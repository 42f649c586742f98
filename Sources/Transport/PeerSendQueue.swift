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
///
/// **Direct writes.** A frame (up to `directWriteMaxBytes`) that finds the queue empty and the link's writer
/// thread waiting is written by the thread that sends it (`attach(_:directWrite:)`), when the socket can take
/// it at once: a vote or a gossiped transaction then costs no writer wake-up, and reaches the peer without
/// waiting for that thread to be scheduled (on a busy machine, the larger part of a message's delay). The
/// writer thread stays in `take` while a direct write is in flight, so frames never interleave and keep
/// their order.
final class PeerSendQueue: @unchecked Sendable {
    /// A writer's claim on the queue; cancelled when its link closes.
    final class Consumer: @unchecked Sendable {
        fileprivate var isCancelled = false
    }

    /// What a direct write did with a frame.
    enum DirectWriteResult {
        /// Written, or lost with a link that failed while writing it (as frames a writer took are).
        case consumed
        /// The socket could not take it at once; nothing was written.
        case notReady
    }

    /// Frames up to this size (together) may be written directly: votes, announcements, transactions, and a
    /// proposal of some hundred transactions (written by the consensus thread when the socket has room for
    /// it at once, it reaches the peer without waiting for a writer thread to be scheduled: 2–6 ms less at
    /// half load, docs/PERFORMANCE.md). Larger frames (a full block) go through the writer thread.
    static let directWriteMaxBytes = 256 * 1024

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
    /// The current link's direct write, with its consumer.
    private var direct: (consumer: Consumer, write: ([[UInt8]]) -> DirectWriteResult)?
    /// The consumer whose writer thread is waiting in `take` (it is not writing).
    private var waitingConsumer: Consumer?
    private var isDirectWriting = false
    private var isDetaching = false

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

    /// Sends an encoded frame: written directly when it can be (see the type's overview), otherwise
    /// appended, dropping the oldest frames first if the bounds require it.
    func enqueue(_ frame: [UInt8]) { enqueue(all: [frame]) }

    /// Sends encoded frames in order, as `enqueue(_:)` sends one: written directly, together in one write,
    /// when they can be.
    func enqueue(all batch: [[UInt8]]) {
        precondition(batch.allSatisfy { $0.count <= maxBytes }, "a frame fits in an empty queue")
        guard !batch.isEmpty else { return }
        condition.lock()
        defer { condition.unlock() }
        if let write = directWriteAllowed(forBytes: batch.reduce(0) { $0 + $1.count }) {
            isDirectWriting = true
            condition.unlock()
            let result = write(batch)
            condition.lock()
            isDirectWriting = false
            // Wake the writer only when it has work (frames queued meanwhile), or a link teardown waiting.
            if head < frames.count || isDetaching { condition.broadcast() }
            if case .consumed = result { return }
            // Frames queued meanwhile came later: these go before them.
            for frame in batch.reversed() { append(frame, atFront: true) }
            return
        }
        for frame in batch { append(frame, atFront: false) }
    }

    /// The direct write to use for frames of `byteCount` bytes, if one may run now. Called under the lock.
    private func directWriteAllowed(forBytes byteCount: Int) -> (([[UInt8]]) -> DirectWriteResult)? {
        guard let direct, !direct.consumer.isCancelled, waitingConsumer === direct.consumer, !isDirectWriting,
            head == frames.count, byteCount <= Self.directWriteMaxBytes
        else { return nil }
        return direct.write
    }

    /// Appends (or puts in front) within the bounds, dropping the oldest frames first. Called under the lock.
    private func append(_ frame: [UInt8], atFront: Bool) {
        while frames.count - head >= maxFrames || queuedBytes + frame.count > maxBytes {
            queuedBytes -= frames[head].count
            frames[head] = []
            head += 1
            droppedFrames += 1
        }
        compact()
        if !atFront {
            frames.append(frame)
        } else if head > 0 {
            head -= 1
            frames[head] = frame
        } else {
            frames.insert(frame, at: 0)
        }
        queuedBytes += frame.count
        precondition(frames.count - head <= maxFrames && queuedBytes <= maxBytes, "the queue bounds hold")
        condition.signal()
    }

    /// Whether a writer thread waits in `take` (for tests: a direct write is possible only then).
    var hasWaitingWriter: Bool { locked { waitingConsumer != nil } }

    /// A new consumer for the link about to write.
    func makeConsumer() -> Consumer { Consumer() }

    /// Lets senders write small frames on `consumer`'s link themselves while its writer thread waits in `take`.
    /// `write` (of frames, in order, together) must not block: it writes only what the socket takes at once,
    /// else returns `.notReady`.
    func attach(_ consumer: Consumer, directWrite write: @escaping ([[UInt8]]) -> DirectWriteResult) {
        locked { if !consumer.isCancelled { direct = (consumer, write) } }
    }

    /// Wakes `consumer` for good: its current and future `take` calls return `.cancelled`, and no direct
    /// write starts on its link any more.
    func cancel(_ consumer: Consumer) {
        locked {
            consumer.isCancelled = true
            if direct?.consumer === consumer { direct = nil }
            condition.broadcast()
        }
    }

    /// Returns once no direct write is in flight, after `cancel(consumer)`: the link may then be torn down.
    func waitForDirectWrites(_ consumer: Consumer) {
        locked {
            precondition(consumer.isCancelled, "a link is torn down after its consumer was cancelled")
            isDetaching = true
            defer { isDetaching = false }
            while isDirectWriting { condition.wait() }
        }
    }

    /// The oldest frames, as many as fit in `maxBatchBytes` (at least one), waiting up to `timeoutMs` for one.
    /// While it waits, senders may write directly on `consumer`'s link; it returns only when none does.
    func take(for consumer: Consumer, maxBatchBytes: Int, timeoutMs: Int) -> Take {
        var deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1_000)
        return locked {
            waitingConsumer = consumer
            defer { waitingConsumer = nil }
            while !consumer.isCancelled && (head == frames.count || isDirectWriting) {
                guard !condition.wait(until: deadline), !consumer.isCancelled else { continue }
                if isDirectWriting {
                    // The link is busy, so no keepalive is due: wait again (a passed deadline would spin and
                    // starve the direct writer of this lock).
                    deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1_000)
                } else if head == frames.count {
                    return .idle
                }
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
