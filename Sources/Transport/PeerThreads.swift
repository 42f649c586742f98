import Foundation
import Threads

/// The threads of one peer network, counted so that `stop()` can wait for all of them to end.
///
/// Threads, not Dispatch: every peer thread blocks in `poll()` or on a condition, which would starve
/// Dispatch's shared pool (PLATFORM-NOTES).
final class PeerThreads: @unchecked Sendable {
    /// Link readers run the frame handler (consensus code); 512 KiB leaves it room, as for HTTP connections.
    static let stackBytes = 512 * 1024

    private let condition = NSCondition()
    private var running = 0

    /// Starts `body` on a new named thread, counted until it returns.
    func start(name: String, _ body: @escaping @Sendable () -> Void) {
        condition.lock()
        running += 1
        condition.unlock()
        Thread(named: name, stackBytes: Self.stackBytes) { [self] in
            body()
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }.start()
    }

    /// Whether every thread ended before `deadline`.
    func waitForAll(deadline: Deadline) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while running > 0 {
            let remainingMs = deadline.remainingMs
            if remainingMs == 0 { return false }
            _ = condition.wait(until: Date(timeIntervalSinceNow: Double(remainingMs) / 1_000))
        }
        return true
    }
}
