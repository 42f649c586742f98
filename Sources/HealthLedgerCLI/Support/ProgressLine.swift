import Foundation
import Storage

/// A live progress line on a terminal's stderr while a chain is audited: blocks, events, percent of the
/// file read and events per second. Redrawn at most ten times a second, so drawing never slows the audit.
final class ProgressLine {
    private let console: Console
    private let start = Date()
    private var lastDrawn = Date.distantPast
    private var drawn = false

    init(console: Console) { self.console = console }

    func update(_ progress: AuditProgress) {
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) >= 0.1 else { return }
        lastDrawn = now
        drawn = true
        let seconds = max(now.timeIntervalSince(start), 0.001)
        let percent = progress.fileSize == 0 ? 0 : progress.bytesRead * 100 / progress.fileSize
        let rate = UInt64(Double(progress.entryCount) / seconds)
        // \r returns to the start of the line and ESC[K clears what a longer earlier line left.
        console.writeError("\r\u{1B}[Kverifying: block \(progress.height), \(progress.entryCount) events, \(percent)%, \(rate) events/s")
    }

    /// Clears the line, so the result is printed on a clean one.
    func finish() {
        if drawn { console.writeError("\r\u{1B}[K") }
    }
}
