/// The exit codes scripts can rely on (listed in `healthledger --help`).
enum ExitCode: Int32, Sendable {
    case success = 0
    /// Anything not covered below: a file that cannot be read or written, an internal failure.
    case failure = 1
    /// A usage error or bad input: unknown or missing options, an invalid value, a wrong passphrase.
    case usage = 2
    /// The node refused access (for the online commands).
    case accessDenied = 3
    /// A chain, signature or file failed verification.
    case verificationFailed = 4
}

/// Why a command did not succeed, phrased for the person at the terminal: what went wrong, then what to
/// do next. Printed as `error: <problem>; <remedy>`. Never holds key material, passphrases or record
/// content: the texts are built from paths, option names and library error descriptions that are
/// themselves free of secrets.
struct CLIError: Error, Sendable {
    let exitCode: ExitCode
    let problem: String
    let remedy: String

    /// The line printed after `error: `.
    var message: String { "\(problem); \(remedy)" }

    /// A usage error: the remedy points at the help of `command` (a path such as `["key", "new"]`).
    static func usage(_ problem: String, command: [String]) -> CLIError {
        CLIError(exitCode: .usage, problem: problem, remedy: "run '\(Help.invocation(command)) --help'")
    }

    /// Bad input (exit 2): a value that is well formed as an argument but unusable.
    static func badInput(_ problem: String, _ remedy: String) -> CLIError {
        CLIError(exitCode: .usage, problem: problem, remedy: remedy)
    }

    /// Anything else (exit 1), typically a file that cannot be read or written.
    static func failure(_ problem: String, _ remedy: String) -> CLIError {
        CLIError(exitCode: .failure, problem: problem, remedy: remedy)
    }

    /// Output as JSON (`{"error": ..., "exitCode": ...}`).
    var json: JSONValue { ["error": .string(message), "exitCode": .number(UInt64(exitCode.rawValue))] }
}
