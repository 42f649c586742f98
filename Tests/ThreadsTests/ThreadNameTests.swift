import Foundation
import Testing

@testable import Threads

@Suite struct ThreadNameTests {
    /// The kernel shows the name the thread gave itself, cut to the 15 bytes Linux keeps.
    @Test(arguments: [("consensus", "consensus"), ("http-connection-with-a-long-name", "http-connection")])
    func aThreadNamesItselfForTheKernel(name: String, shown: String) {
        let seen = NSLock()
        nonisolated(unsafe) var comm = ""
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            Thread.nameForKernel(name)
            let read = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            seen.withLock { comm = read.trimmingCharacters(in: .newlines) }
            done.signal()
        }
        thread.start()
        done.wait()
        #expect(seen.withLock { comm } == shown)
    }
}
