import Foundation

/// Standard output and standard error. Results go to stdout, errors and progress to stderr, so that
/// `--json` output can be piped as it is.
struct Console: Sendable {
    /// True when stderr is a terminal: only then is a live progress line drawn.
    var errorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    func writeError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
