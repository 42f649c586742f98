import Crypto
import Foundation
import Ledger
import Testing
import TestSupport
@testable import Node

/// The queue of gossiped transactions waiting for their signature check: a proposer admits what waits just
/// before building a block, oldest first and at most the limit, and the workers take the rest in order.
@Suite struct GossipAdmissionTests {
    private func transactions(_ count: Int) -> [SignedTransaction] {
        var builder = ChainBuilder(seed: 5)
        let key = try! Ed25519.PrivateKey(seed: [UInt8](repeating: 7, count: 32))
        return (0..<count).map { index in
            builder.sign(.revokeConsent(RevokeConsent(grant: GrantID(digest: SHA256.hash([UInt8(index)])))), by: key)
        }
    }

    private final class Admitted: @unchecked Sendable {
        private let lock = NSLock()
        private var ids: [TransactionID] = []
        func add(_ id: TransactionID) { lock.withLock { ids.append(id) } }
        var all: [TransactionID] { lock.withLock { ids } }
    }

    @Test func aProposerAdmitsTheOldestWaitingUpToItsLimit() {
        let admitted = Admitted()
        let admission = GossipAdmission(capacity: 100) { admitted.add($0.id) }
        let queued = transactions(10)
        for transaction in queued { #expect(admission.enqueue(transaction)) }
        #expect(admission.admitWaiting(limit: 4) == 4)
        #expect(Set(admitted.all) == Set(queued.prefix(4).map(\.id)), "the four oldest, on this thread and the system's")
        #expect(admission.waiting == 6)
        #expect(admission.admitWaiting(limit: 0) == 0 && admission.admitWaiting(limit: -3) == 0)
        // The workers take the rest, each once.
        admission.start(threads: 2)
        let deadline = Date(timeIntervalSinceNow: 10)
        while admitted.all.count < 10 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        admission.stop()
        #expect(admitted.all.count == 10 && Set(admitted.all) == Set(queued.map(\.id)))
        #expect(admission.admitWaiting(limit: 10) == 0)
    }
}
