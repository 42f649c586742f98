import Foundation
import Testing

@testable import Transport

/// The per-peer send queue: both bounds hold, the oldest frames go first, and a cancelled writer wakes.
@Suite struct PeerSendQueueTests {
    @Test func theFrameBoundDropsTheOldest() {
        let queue = PeerSendQueue(maxFrames: 3, maxBytes: 1_000)
        for number in 1...5 { queue.enqueue([UInt8(number)]) }
        #expect(queue.counts == (queuedFrames: 3, queuedBytes: 3, droppedFrames: 2))
        guard case .frames(let frames) = queue.take(for: queue.makeConsumer(), maxBatchBytes: 1_000, timeoutMs: 0) else {
            Issue.record("frames expected")
            return
        }
        #expect(frames == [[3], [4], [5]])
    }

    @Test func theByteBoundDropsAsManyOldFramesAsNeeded() {
        let queue = PeerSendQueue(maxFrames: 100, maxBytes: 100)
        for _ in 0..<10 { queue.enqueue([UInt8](repeating: 1, count: 10)) }
        queue.enqueue([UInt8](repeating: 2, count: 35))
        #expect(queue.counts == (queuedFrames: 7, queuedBytes: 95, droppedFrames: 4))
    }

    @Test func boundsHoldUnderAFloodWithNoReader() {
        let queue = PeerSendQueue(maxFrames: 64, maxBytes: 10_000)
        for number in 0..<100_000 {
            queue.enqueue([UInt8](repeating: UInt8(truncatingIfNeeded: number), count: 1 + number % 300))
            let counts = queue.counts
            #expect(counts.queuedFrames <= 64 && counts.queuedBytes <= 10_000)
            if counts.queuedFrames > 64 || counts.queuedBytes > 10_000 { return }
        }
        let counts = queue.counts
        #expect(counts.droppedFrames + counts.queuedFrames == 100_000)
    }

    @Test func takeBatchesInOrderUpToTheByteLimitButAlwaysAtLeastOneFrame() {
        let queue = PeerSendQueue(maxFrames: 100, maxBytes: 10_000)
        queue.enqueue([UInt8](repeating: 1, count: 500))
        queue.enqueue([UInt8](repeating: 2, count: 300))
        queue.enqueue([UInt8](repeating: 3, count: 300))
        let consumer = queue.makeConsumer()
        guard case .frames(let first) = queue.take(for: consumer, maxBatchBytes: 100, timeoutMs: 0),
            case .frames(let rest) = queue.take(for: consumer, maxBatchBytes: 700, timeoutMs: 0)
        else {
            Issue.record("frames expected")
            return
        }
        #expect(first.map(\.count) == [500])
        #expect(rest.map(\.first) == [2, 3])
        #expect(queue.counts == (queuedFrames: 0, queuedBytes: 0, droppedFrames: 0))
    }

    @Test func anEmptyQueueReportsIdleAfterTheTimeout() {
        let queue = PeerSendQueue(maxFrames: 10, maxBytes: 100)
        guard case .idle = queue.take(for: queue.makeConsumer(), maxBatchBytes: 100, timeoutMs: 50) else {
            Issue.record("idle expected")
            return
        }
    }

    @Test func cancellingWakesAWaitingWriterAndStaysCancelled() {
        let queue = PeerSendQueue(maxFrames: 10, maxBytes: 100)
        let consumer = queue.makeConsumer()
        let woke = NSCondition()
        nonisolated(unsafe) var result: PeerSendQueue.Take?
        let thread = Thread {
            let taken = queue.take(for: consumer, maxBatchBytes: 100, timeoutMs: 60_000)
            woke.lock()
            result = taken
            woke.broadcast()
            woke.unlock()
        }
        thread.start()
        Thread.sleep(forTimeInterval: 0.05)
        queue.cancel(consumer)
        woke.lock()
        while result == nil { _ = woke.wait(until: Date(timeIntervalSinceNow: 10)) }
        woke.unlock()
        guard case .cancelled = result else {
            Issue.record("cancelled expected, got \(String(describing: result))")
            return
        }
        queue.enqueue([1])
        guard case .cancelled = queue.take(for: consumer, maxBatchBytes: 100, timeoutMs: 0) else {
            Issue.record("a cancelled consumer takes nothing")
            return
        }
        guard case .frames([[1]]) = queue.take(for: queue.makeConsumer(), maxBatchBytes: 100, timeoutMs: 0) else {
            Issue.record("the next link's writer gets the frame")
            return
        }
    }

    // MARK: Direct writes

    /// Runs `take` on a thread of its own; `result` waits for what it returned.
    final class BackgroundTake: @unchecked Sendable {
        private let condition = NSCondition()
        private var taken: PeerSendQueue.Take?

        init(_ queue: PeerSendQueue, _ consumer: PeerSendQueue.Consumer, timeoutMs: Int = 60_000) {
            Thread { [self] in
                let result = queue.take(for: consumer, maxBatchBytes: 10_000, timeoutMs: timeoutMs)
                condition.withLock {
                    taken = result
                    condition.broadcast()
                }
            }.start()
            while !queue.hasWaitingWriter { Thread.sleep(forTimeInterval: 0.001) }
        }

        var hasReturned: Bool { condition.withLock { taken != nil } }

        func result() -> PeerSendQueue.Take? {
            condition.withLock {
                let deadline = Date(timeIntervalSinceNow: 10)
                while taken == nil && condition.wait(until: deadline) {}
                return taken
            }
        }
    }

    /// What a direct write closure was given, and what it answers.
    final class DirectWrites: @unchecked Sendable {
        private let lock = NSLock()
        private var writes: [[[UInt8]]] = []
        var answer = PeerSendQueue.DirectWriteResult.consumed
        /// When set, each write waits for it before answering.
        var gate: DispatchSemaphore?
        let started = DispatchSemaphore(value: 0)

        func write(_ frames: [[UInt8]]) -> PeerSendQueue.DirectWriteResult {
            lock.withLock { writes.append(frames) }
            started.signal()
            gate?.wait()
            return answer
        }

        /// The frames written, in order.
        var written: [[UInt8]] { lock.withLock { writes.flatMap { $0 } } }
        /// How many frames each write carried.
        var framesPerWrite: [Int] { lock.withLock { writes.map(\.count) } }
    }

    /// A queue with one consumer whose link writes directly into a `DirectWrites`; `gated` writes wait for
    /// the gate.
    func directQueue(gated: Bool = false) -> (PeerSendQueue, PeerSendQueue.Consumer, DirectWrites) {
        let queue = PeerSendQueue(maxFrames: 10, maxBytes: 1_000_000)
        let consumer = queue.makeConsumer()
        let writes = DirectWrites()
        if gated { writes.gate = DispatchSemaphore(value: 0) }
        queue.attach(consumer) { writes.write($0) }
        return (queue, consumer, writes)
    }

    @Test func aSmallFrameIsWrittenDirectlyWhileTheWriterWaits() {
        let (queue, consumer, writes) = directQueue()
        let writer = BackgroundTake(queue, consumer)
        queue.enqueue([1, 2])
        queue.enqueue([3])
        #expect(writes.written == [[1, 2], [3]])
        #expect(queue.counts.queuedFrames == 0)
        #expect(!writer.hasReturned, "the writer thread was not woken")
        queue.enqueue([UInt8](repeating: 4, count: PeerSendQueue.directWriteMaxBytes + 1))
        guard case .frames(let frames)? = writer.result() else {
            Issue.record("the large frame goes to the writer")
            return
        }
        #expect(frames.map(\.count) == [PeerSendQueue.directWriteMaxBytes + 1])
        #expect(writes.written.count == 2)
        queue.cancel(consumer)
    }

    @Test func aFrameTheSocketCannotTakeIsQueuedAheadOfLaterOnes() {
        let (queue, consumer, writes) = directQueue(gated: true)
        writes.answer = .notReady
        let writer = BackgroundTake(queue, consumer)
        let sender = Thread { queue.enqueue([1]) }
        sender.start()
        writes.started.wait()
        queue.enqueue([2])  // arrives while the direct write of [1] is in flight: queued, the writer keeps waiting
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!writer.hasReturned, "no frame is taken while a direct write is in flight")
        writes.gate?.signal()
        guard case .frames(let frames)? = writer.result() else {
            Issue.record("frames expected")
            return
        }
        var all = frames
        if all == [[1]], case .frames(let rest) = queue.take(for: consumer, maxBatchBytes: 10_000, timeoutMs: 1_000) { all += rest }
        #expect(all == [[1], [2]], "order kept: the frame the socket refused goes first")
        queue.cancel(consumer)
    }

    /// Frames sent together go out in one direct write, in order; together beyond `directWriteMaxBytes`,
    /// they go to the writer thread, which takes them in order.
    @Test func framesSentTogetherGoOutInOneWrite() {
        let (queue, consumer, writes) = directQueue()
        let writer = BackgroundTake(queue, consumer)
        queue.enqueue(all: [[1], [2, 3], [4]])
        queue.enqueue(all: [[5]])
        #expect(writes.written == [[1], [2, 3], [4], [5]] && writes.framesPerWrite == [3, 1])
        #expect(!writer.hasReturned, "the writer thread was not woken")
        let half = [UInt8](repeating: 6, count: PeerSendQueue.directWriteMaxBytes / 2 + 1)
        queue.enqueue(all: [half, half])
        guard case .frames(let frames)? = writer.result() else {
            Issue.record("frames too large together go to the writer")
            return
        }
        var all = frames
        if all.count == 1, case .frames(let rest) = queue.take(for: consumer, maxBatchBytes: 10_000_000, timeoutMs: 1_000) { all += rest }
        #expect(all == [half, half] && writes.framesPerWrite == [3, 1])
        queue.cancel(consumer)
    }

    /// Frames sent together that the socket cannot take are queued, in order, ahead of a frame sent while
    /// their direct write was in flight.
    @Test func framesSentTogetherThatTheSocketCannotTakeKeepTheirOrder() {
        let (queue, consumer, writes) = directQueue(gated: true)
        writes.answer = .notReady
        let writer = BackgroundTake(queue, consumer)
        let sender = Thread { queue.enqueue(all: [[1], [2]]) }
        sender.start()
        writes.started.wait()
        queue.enqueue([3])
        writes.gate?.signal()
        guard case .frames(let frames)? = writer.result() else {
            Issue.record("frames expected")
            return
        }
        var all = frames
        while all.count < 3, case .frames(let rest) = queue.take(for: consumer, maxBatchBytes: 10_000, timeoutMs: 1_000) { all += rest }
        #expect(all == [[1], [2], [3]])
        queue.cancel(consumer)
    }

    @Test func noDirectWriteWithoutAWaitingWriterOrAfterCancel() {
        let (queue, consumer, writes) = directQueue()
        queue.enqueue([1])  // the writer is busy elsewhere (not in take): queued
        #expect(writes.written.isEmpty && queue.counts.queuedFrames == 1)
        guard case .frames = queue.take(for: consumer, maxBatchBytes: 100, timeoutMs: 0) else {
            Issue.record("frames expected")
            return
        }
        let writer = BackgroundTake(queue, consumer)
        queue.cancel(consumer)
        guard case .cancelled? = writer.result() else {
            Issue.record("cancelled expected")
            return
        }
        queue.enqueue([2])
        #expect(writes.written.isEmpty && queue.counts.queuedFrames == 1)
    }

    @Test func teardownWaitsForTheDirectWriteInFlight() {
        let (queue, consumer, writes) = directQueue(gated: true)
        let writer = BackgroundTake(queue, consumer)
        Thread { queue.enqueue([1]) }.start()
        writes.started.wait()
        queue.cancel(consumer)
        guard case .cancelled? = writer.result() else {
            Issue.record("cancelled expected")
            return
        }
        let tornDown = DispatchSemaphore(value: 0)
        Thread {
            queue.waitForDirectWrites(consumer)
            tornDown.signal()
        }.start()
        #expect(tornDown.wait(timeout: .now() + .milliseconds(50)) == .timedOut, "the write is still in flight")
        writes.gate?.signal()
        #expect(tornDown.wait(timeout: .now() + .seconds(10)) == .success)
    }

    @Test func aWriterWhoseWaitEndsDuringADirectWriteWaitsForItWithoutSpinning() {
        let (queue, consumer, writes) = directQueue(gated: true)
        let writer = BackgroundTake(queue, consumer, timeoutMs: 20)
        let senderDone = DispatchSemaphore(value: 0)
        Thread {
            queue.enqueue([1])
            senderDone.signal()
        }.start()
        writes.started.wait()
        queue.enqueue([2])  // queued behind the write in flight
        Thread.sleep(forTimeInterval: 0.2)  // the writer's 20 ms wait ends several times meanwhile
        #expect(!writer.hasReturned)
        writes.gate?.signal()
        #expect(senderDone.wait(timeout: .now() + .seconds(10)) == .success, "the direct writer got the lock back")
        guard case .frames([[2]])? = writer.result() else {
            Issue.record("the queued frame is taken after the direct write")
            return
        }
        queue.cancel(consumer)
    }
}
