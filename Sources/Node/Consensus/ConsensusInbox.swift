import Consensus
import Foundation
import Ledger

/// Something for the consensus thread to handle, posted by the peer readers or the node.
enum ConsensusEvent: Sendable {
    /// A proposal whose proposer signature (and whose transactions' signatures, where they verify) was
    /// checked by the peer reader.
    case proposal(SignedProposal)
    /// A vote whose signature was checked by the peer reader.
    case vote(SignedVote)
    /// Committed blocks from validator `from`, answering this node's sync request; their signatures were
    /// checked by the peer reader, everything else is checked on the consensus thread.
    case syncedBlocks([CommittedBlock], from: Int)
    /// Transactions entered the mempool (coalesced: one event however many arrived). Delivered only while
    /// the consensus thread waits to start a height (`awaitTransactions`); otherwise posting it does nothing,
    /// so a busy node does not wake the consensus thread for every transaction.
    case transactionsArrived
    /// A validator signed a message for a height beyond the next: it committed more than this node
    /// (coalesced). The consensus thread considers catching up.
    case peersAhead
    case stop
}

/// A timer of the consensus thread.
enum ConsensusTimer: Hashable, Sendable {
    /// A timeout the state machine scheduled.
    case consensus(Timeout)
    /// Start this height even if no transaction waits (the idle block interval).
    case startHeight(UInt64)
    /// Re-send this node's messages, announce its head, check whether it is behind.
    case gossip
    /// Validators holding more than 1/3 of the power have committed this height, which this node is still
    /// deciding: if it still is when this fires, fetch the block instead of waiting for the decision.
    case catchUp(UInt64)
}

/// The consensus thread's input: a bounded queue of events and a set of timers, under one condition
/// variable. `next(idle:)` returns due timers first, then events in arrival order, and sleeps until either
/// (or, when asked, returns `idle` instead of sleeping).
///
/// Bounded: at most `capacity` events, and at most `maxBytes` of the messages they came in, wait; beyond,
/// `post` refuses (the caller counts a drop). Consensus
/// tolerates lost messages: every validator re-sends its own messages of the current height each gossip
/// interval, and a node that misses a decision catches up by block sync.
final class ConsensusInbox: @unchecked Sendable {
    enum Item: Sendable {
        case event(ConsensusEvent)
        case timer(ConsensusTimer)
        /// Nothing is due: returned instead of sleeping when the caller has work of its own to do meanwhile.
        case idle
    }

    private let condition = NSCondition()
    private var events: [(event: ConsensusEvent, bytes: Int)] = []
    private var head = 0
    private var queuedBytes = 0
    private var transactionsPending = false
    private var transactionsAwaited = false
    private var peersAheadPending = false
    private var stopped = false
    /// Timers by due time (monotonic nanoseconds), earliest last, so the due one is removed from the end.
    private var timers: [(dueNs: UInt64, timer: ConsensusTimer)] = []
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int, maxBytes: Int = 256 * 1024 * 1024) {
        precondition(capacity > 0 && maxBytes > 0, "the consensus inbox needs room for at least one event")
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    /// Queues `event`, which arrived as `bytes` bytes; false (and nothing queued) when `capacity` events or
    /// `maxBytes` bytes already wait. Control events (`transactionsArrived`, `peersAhead`, `stop`) are never
    /// refused.
    @discardableResult
    func post(_ event: ConsensusEvent, bytes: Int = 0) -> Bool {
        condition.withLock {
            if case .stop = event {
                stopped = true
                condition.broadcast()
                return true
            }
            if case .transactionsArrived = event {
                guard transactionsAwaited, !transactionsPending else { return true }
                transactionsPending = true
                condition.broadcast()
                return true
            }
            if case .peersAhead = event {
                peersAheadPending = true
                condition.broadcast()
                return true
            }
            guard events.count - head < capacity, queuedBytes + bytes <= maxBytes else { return false }
            events.append((event, bytes))
            queuedBytes += bytes
            condition.broadcast()
            return true
        }
    }

    /// Whether `transactionsArrived` is delivered. The consensus thread turns it on before it looks at the
    /// mempool and decides to wait for a transaction, so an arrival between the two is never missed.
    func awaitTransactions(_ awaited: Bool) {
        condition.withLock {
            transactionsAwaited = awaited
            if !awaited { transactionsPending = false }
        }
    }

    /// Events waiting now (for the status and tests).
    var waiting: Int { condition.withLock { events.count - head } }

    /// Arms `timer` to come out of `next()` after `delayMs`. A timer armed again before it fires fires once,
    /// at the later time.
    func schedule(_ timer: ConsensusTimer, afterMs delayMs: UInt64) {
        let due = DispatchTime.now().uptimeNanoseconds &+ min(delayMs, 86_400_000) * 1_000_000
        condition.withLock {
            timers.removeAll { $0.timer == timer }
            let index = timers.firstIndex { $0.dueNs < due } ?? timers.count
            timers.insert((due, timer), at: index)
            condition.broadcast()
        }
    }

    /// Disarms `timer` if armed.
    func cancel(_ timer: ConsensusTimer) { condition.withLock { timers.removeAll { $0.timer == timer } } }

    /// Disarms every timer of a height below `height`: the machine would ignore them, after a wake-up and a
    /// log record each (a decided height leaves up to three timeouts unfired; measured on an idle consortium,
    /// disarming them took the consensus thread's wake-ups from about 870 to 810 a second and its CPU down by
    /// a fifth).
    func cancelTimers(below height: UInt64) {
        condition.withLock {
            timers.removeAll { entry in
                switch entry.timer {
                case let .consensus(timeout): timeout.height < height
                case let .startHeight(timerHeight), let .catchUp(timerHeight): timerHeight < height
                case .gossip: false
                }
            }
        }
    }

    /// The next due timer or event, waiting for one (or, with `idle`, returning `.idle` when none is due);
    /// nil once `.stop` was posted.
    func next(idle: Bool = false) -> Item? {
        condition.withLock {
            while true {
                if stopped { return nil }
                let now = DispatchTime.now().uptimeNanoseconds
                if let last = timers.last, last.dueNs <= now {
                    timers.removeLast()
                    return .timer(last.timer)
                }
                if head < events.count {
                    let (event, bytes) = events[head]
                    head += 1
                    queuedBytes -= bytes
                    if head >= 1_024 && head * 2 >= events.count {
                        events.removeFirst(head)
                        head = 0
                    }
                    return .event(event)
                }
                if transactionsPending {
                    transactionsPending = false
                    return .event(.transactionsArrived)
                }
                if peersAheadPending {
                    peersAheadPending = false
                    return .event(.peersAhead)
                }
                if idle { return .idle }
                if let last = timers.last {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: Double(last.dueNs - now) / 1e9))
                } else {
                    condition.wait()
                }
            }
        }
    }
}
