import Foundation
import Testing

@testable import Threads

@Suite struct ThreadNameTests {
    /// A thread made by `Thread(named:stackBytes:)` has its stack size, and the kernel shows its name, cut to
    /// the 15 bytes Linux keeps.
    @Test(arguments: [("consensus", "consensus"), ("http-connection-with-a-long-name", "http-connection")])
    func aNamedThreadIsShownByTheKernel(name: String, shown: String) {
        let seen = NSLock()
        nonisolated(unsafe) var comm = ""
        let done = DispatchSemaphore(value: 0)
        let thread = Thread(named: name, stackBytes: 1 << 20) {
            let read = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            seen.withLock { comm = read.trimmingCharacters(in: .newlines) }
            done.signal()
        }
        #expect(thread.stackSize == 1 << 20)
        thread.start()
        done.wait()
        #expect(seen.withLock { comm } == shown)
    }
}
