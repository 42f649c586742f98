/// Threads: the one thing every layer that starts threads needs from the system and Foundation does not give
/// on Linux, a name the kernel shows. Below every other module, with no dependency of its own.
import Foundation

extension Thread {
    /// A thread, not yet started, that runs `body` under `name` (for Foundation, and for the kernel once it
    /// runs: `nameForKernel`) on a stack of `stackBytes`. Every long-lived thread of the node is made here.
    public convenience init(named name: String, stackBytes: Int, _ body: @escaping @Sendable () -> Void) {
        self.init {
            Thread.nameForKernel(name)
            body()
        }
        self.name = name
        stackSize = stackBytes
    }

    /// Names the calling thread for the kernel, so `top -H`, `perf` and `/proc/PID/task/*/comm` tell the
    /// threads apart. Foundation on Linux keeps `Thread.name` to itself, and the kernel keeps at most 15
    /// bytes of a name (a longer one is cut there). Best effort: where `/proc` is missing, nothing changes.
    static func nameForKernel(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let bytes = Array(name.utf8.prefix(kernelNameBytes))
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// The longest thread name Linux keeps.
    static let kernelNameBytes = 15
}
