import Foundation
import Testing
import Consensus
@testable import Node

/// The consensus thread's input queue: events in arrival order, due timers first, and the mempool's
/// "transactions arrived" signal delivered only while the thread waits to start a height.
@Suite struct ConsensusInboxTests {
    /// The next item, or nil when none is ready within `timeoutMs` (a timer posted to stop the wait).
    private func next(_ inbox: ConsensusInbox, timeoutMs: UInt64 = 50) -> ConsensusInbox.Item? {
        inbox.schedule(.gossip, afterMs: timeoutMs)
        let item = inbox.next()
        inbox.cancel(.gossip)
        if case .timer(.gossip)? = item { return nil }
        return item
    }

    private func nothingReady(_ inbox: ConsensusInbox) -> Bool { next(inbox).map { _ in true } == nil }

    private func isTransactionsArrived(_ item: ConsensusInbox.Item?) -> Bool {
        if case .event(.transactionsArrived)? = item { return true }
        return false
    }

    @Test func arrivalsAreIgnoredWhileAHeightRuns() {
        let inbox = ConsensusInbox(capacity: 8)
        for _ in 0..<100 { inbox.post(.transactionsArrived) }
        #expect(nothingReady(inbox), "no height waits for transactions: nothing to deliver")
    }

    @Test func arrivalsAreDeliveredOnceWhileAwaitedAndDroppedWhenNoLongerAwaited() {
        let inbox = ConsensusInbox(capacity: 8)
        inbox.awaitTransactions(true)
        for _ in 0..<100 { inbox.post(.transactionsArrived) }
        #expect(isTransactionsArrived(next(inbox)), "awaited: delivered")
        #expect(nothingReady(inbox), "coalesced: one event for the hundred")
        inbox.post(.transactionsArrived)
        inbox.awaitTransactions(false)
        #expect(nothingReady(inbox), "a pending arrival is dropped once the height started")
    }

    @Test func anAwaitedArrivalWakesTheWaitingThread() {
        let inbox = ConsensusInbox(capacity: 8)
        inbox.awaitTransactions(true)
        let delivered = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            if case .event(.transactionsArrived)? = inbox.next() { delivered.signal() }
        }
        Thread.sleep(forTimeInterval: 0.02)
        inbox.post(.transactionsArrived)
        #expect(delivered.wait(timeout: .now() + 10) == .success)
    }

    /// A height's timers are disarmed once a later height starts; the gossip timer and later heights' stay.
    @Test func timersOfEarlierHeightsAreDisarmed() {
        let inbox = ConsensusInbox(capacity: 8)
        for step in [ConsensusStep.propose, .prevote, .precommit] {
            inbox.schedule(.consensus(Timeout(height: 4, round: 0, step: step)), afterMs: 0)
        }
        inbox.schedule(.catchUp(4), afterMs: 0)
        inbox.schedule(.startHeight(5), afterMs: 0)
        inbox.schedule(.consensus(Timeout(height: 5, round: 1, step: .propose)), afterMs: 0)
        inbox.cancelTimers(below: 5)
        var fired: [ConsensusTimer] = []
        while let item = next(inbox, timeoutMs: 20), case let .timer(timer) = item { fired.append(timer) }
        #expect(Set(fired) == [.startHeight(5), .consensus(Timeout(height: 5, round: 1, step: .propose))])
    }

    @Test func eventsComeInArrivalOrderAfterDueTimers() {
        let inbox = ConsensusInbox(capacity: 2)
        #expect(inbox.post(.peersAhead))
        #expect(inbox.post(.syncedBlocks([], from: 1)))
        #expect(inbox.post(.syncedBlocks([], from: 2)))
        #expect(!inbox.post(.syncedBlocks([], from: 3)), "full: refused")
        inbox.schedule(.startHeight(7), afterMs: 0)
        guard case .timer(.startHeight(7))? = inbox.next() else { Issue.record("the due timer comes first"); return }
        guard case .event(.syncedBlocks(_, from: 1))? = inbox.next(), case .event(.syncedBlocks(_, from: 2))? = inbox.next() else {
            Issue.record("events in arrival order"); return
        }
        guard case .event(.peersAhead)? = inbox.next() else { Issue.record("then the coalesced signal"); return }
        inbox.post(.stop)
        #expect(inbox.next().map { _ in true } == nil, "stopped")
    }

    /// Asked for idle time, the inbox answers `idle` instead of sleeping, but only when nothing is due.
    @Test func idleIsReturnedOnlyWhenNothingIsDue() {
        let inbox = ConsensusInbox(capacity: 4)
        guard case .idle? = inbox.next(idle: true) else { Issue.record("nothing due: idle"); return }
        inbox.schedule(.startHeight(3), afterMs: 0)
        #expect(inbox.post(.syncedBlocks([], from: 1)))
        guard case .timer(.startHeight(3))? = inbox.next(idle: true) else { Issue.record("the due timer first"); return }
        guard case .event(.syncedBlocks(_, from: 1))? = inbox.next(idle: true) else { Issue.record("then the event"); return }
        inbox.schedule(.gossip, afterMs: 60_000)
        guard case .idle? = inbox.next(idle: true) else { Issue.record("a timer not yet due leaves idle time"); return }
        inbox.post(.stop)
        #expect(inbox.next(idle: true).map { _ in true } == nil, "stopped")
    }
}
