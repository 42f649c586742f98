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
}
