/// One `healthledger` command: where it sits in the command tree, its help, and what it does.
///
/// A command is declared once, in its own file, next to its help texts:
///
///     enum KeyShow {
///         static let command = Command(
///             path: ["key", "show"], abstract: "Print the identity of a key file.",
///             arguments: [Argument("FILE", help: "The key file.")],
///             options: [.value("passphrase-file", "FILE", help: "...")],
///             run: run)
///         static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput { ... }
///     }
///
/// and listed in `CommandTable.all`. Groups (`healthledger key`) need no declaration: they are the
/// common prefixes of the paths, and get their help from the commands under them.
struct Command: Sendable {
    /// The words after `healthledger`, such as `["key", "new"]`.
    let path: [String]
    /// One line, ending with a full stop: shown in the command list and at the top of the help.
    let abstract: String
    /// Positional arguments, all required, in order.
    let arguments: [Argument]
    /// The command's own options; `--json` and `--help` are added to every command.
    let options: [Option]
    /// More help after the option list (syntax details, examples); empty for none.
    let discussion: String
    /// Does the work. Reads its inputs from the invocation and returns what to print.
    let run: @Sendable (Invocation) throws(CLIError) -> CommandOutput

    init(
        path: [String], abstract: String, arguments: [Argument] = [], options: [Option] = [], discussion: String = "",
        run: @escaping @Sendable (Invocation) throws(CLIError) -> CommandOutput
    ) {
        precondition(!path.isEmpty, "a command needs a name")
        self.path = path
        self.abstract = abstract
        self.arguments = arguments
        self.options = options
        self.discussion = discussion
        self.run = run
    }

    /// Every option the parser accepts for this command: its own, then the global ones.
    var allOptions: [Option] { options + Option.global }

    func option(named name: String) -> Option? { allOptions.first { $0.name == name } }
}

/// A positional argument, such as the `FILE` of `key show FILE`.
struct Argument: Sendable {
    let name: String
    let help: String

    init(_ name: String, help: String) {
        self.name = name
        self.help = help
    }
}

/// A named option: `--force` (a flag), `--out FILE` (one value) or `--validator SPEC` (repeatable).
/// Values may be given as `--out FILE` or `--out=FILE`.
struct Option: Sendable {
    enum Kind: Sendable {
        case flag
        case single
        case repeated
    }

    /// The name without the leading dashes.
    let name: String
    let kind: Kind
    /// The placeholder in help texts (`FILE`); empty for flags.
    let valueName: String
    let isRequired: Bool
    let help: String

    /// A flag: present or not.
    static func flag(_ name: String, help: String) -> Option {
        Option(name: name, kind: .flag, valueName: "", isRequired: false, help: help)
    }

    /// An option that takes one value and may be given once.
    static func value(_ name: String, _ valueName: String, required: Bool = false, help: String) -> Option {
        Option(name: name, kind: .single, valueName: valueName, isRequired: required, help: help)
    }

    /// An option that takes one value and may be given several times, each adding one value.
    static func repeated(_ name: String, _ valueName: String, required: Bool = false, help: String) -> Option {
        Option(name: name, kind: .repeated, valueName: valueName, isRequired: required, help: help)
    }

    static let json = Option.flag("json", help: "Print one JSON object on stdout instead of text.")
    static let help = Option.flag("help", help: "Show this help.")
    /// Accepted by every command.
    static let global = [json, help]
}

/// What a command asked to print. The framework prints `text` or, with `--json`, `json`; when `failure`
/// is set it also prints `error: ...` on stderr and exits with the failure's code (used when the result
/// itself is the bad news, as with a chain that does not verify).
struct CommandOutput {
    let text: String
    let json: JSONValue
    var failure: CLIError? = nil
    /// Set by a long-running command (`node`) that printed its result itself when it started.
    var alreadyPrinted = false
}

/// One run of a command: the parsed arguments and where to write progress.
struct Invocation {
    let command: Command
    /// Values of the positional arguments, in the order of `command.arguments`.
    let arguments: [String]
    /// The values given for each option (flags map to an empty list when present).
    let optionValues: [String: [String]]
    let console: Console
    /// True when `--json` was given: the one JSON object is the only thing on stdout.
    var wantsJSON = false

    /// The value of the positional argument `name`.
    func argument(_ name: String) -> String {
        guard let index = command.arguments.firstIndex(where: { $0.name == name }) else {
            preconditionFailure("\(name) is not an argument of \(command.path)")
        }
        return arguments[index]
    }

    /// The value of a single-value option, nil when not given.
    func value(_ name: String) -> String? { values(name).last }

    /// The value of a required option (the parser has refused the command line without it).
    func requiredValue(_ name: String) -> String {
        guard let value = value(name) else { preconditionFailure("required option --\(name) was not checked") }
        return value
    }

    /// All values of an option, in the order given.
    func values(_ name: String) -> [String] {
        precondition(command.option(named: name) != nil, "--\(name) is not an option of \(command.path)")
        return optionValues[name] ?? []
    }

    func flag(_ name: String) -> Bool { optionValues[name] != nil }

    /// A usage error for this command (exit 2, pointing at its help).
    func usageError(_ problem: String) -> CLIError { .usage(problem, command: command.path) }
}
