import Foundation
import Ledger
import Storage
import TestSupport

/// A fresh temporary directory per test, removed when released.
final class ScratchDirectory {
    let url: URL
    var path: String { url.path }

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("healthledger-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The names of the files in the directory, sorted.
    func fileNames() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// True when any file in the directory (database, -wal, -shm, ...) but `excluded` contains `needle`,
    /// read as raw bytes.
    func anyFileContains(_ needle: [UInt8], excluding excluded: String? = nil) throws -> Bool {
        try fileNames().filter { $0 != excluded }.contains { name in
            [UInt8](try Data(contentsOf: url.appendingPathComponent(name))).contains(needle)
        }
    }
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
