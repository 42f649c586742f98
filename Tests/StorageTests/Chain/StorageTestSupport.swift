import Foundation
import Ledger
import Storage
import TestSupport

/// A fresh temporary directory, removed when the value is released.
final class ScratchDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-storage-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A generated chain: enrolments, then `blocks` blocks of `eventsPerBlock` events.
func generatedChain(seed: UInt64 = 11, blocks: Int = 8, eventsPerBlock: Int = 30) -> (Genesis, [CommittedBlock], MemoryLedgerState) {
    var workload = Workload(builder: ChainBuilder(seed: seed), patientCount: 25, practitionerCount: 6)
    var committed = [workload.enrolPractitioners().block]
    for _ in 0..<blocks { committed.append(workload.nextBlock(count: eventsPerBlock).block) }
    return (workload.builder.genesis, committed, workload.builder.state)
}

/// Appends `blocks` to `store`, deriving each block's state changes with the real executor.
func append(_ blocks: [CommittedBlock], to store: ChainStore) throws {
    let executor = BlockExecutor(genesis: store.genesis)
    for block in blocks {
        try store.append(block, changes: try executor.execute(block.block, state: store))
    }
}
