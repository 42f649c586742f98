/// Help texts, built from the command table so that they cannot drift from what the parser accepts.
enum Help {
    static let toolName = "healthledger"

    /// `healthledger key new` for `["key", "new"]`.
    static func invocation(_ path: [String]) -> String { ([toolName] + path).joined(separator: " ") }

    /// `healthledger --help`.
    static func main(_ commands: [Command]) -> String {
        """
        OVERVIEW: HealthLedger, a permissioned health-record ledger node.

        USAGE: \(toolName) <command> [options]

        COMMANDS:
        \(table(commands.map { ($0.path.joined(separator: " "), $0.abstract) }))

        GLOBAL OPTIONS:
        \(table([("--json", Option.json.help), ("-h, --help", "Show help; after a command, that command's help."),
                 ("--version", "Print the version.")]))

        EXIT CODES:
        \(table(exitCodes))

        Run '\(toolName) <command> --help' for a command's arguments and options.

        """
    }

    /// `healthledger key --help`: the commands whose path starts with `group`.
    static func group(_ group: [String], commands: [Command]) -> String {
        """
        USAGE: \(invocation(group)) <command> [options]

        COMMANDS:
        \(table(commands.map { ($0.path.dropFirst(group.count).joined(separator: " "), $0.abstract) }))

        Run '\(invocation(group)) <command> --help' for a command's arguments and options.

        """
    }

    /// `healthledger key new --help`.
    static func command(_ command: Command) -> String {
        var sections = [
            "OVERVIEW: \(command.abstract)",
            "USAGE: \(usage(command))",
        ]
        if !command.arguments.isEmpty {
            sections.append("ARGUMENTS:\n" + table(command.arguments.map { ($0.name, $0.help) }))
        }
        sections.append("OPTIONS:\n" + table(command.allOptions.map { (optionSynopsis($0), $0.help) }))
        if !command.discussion.isEmpty { sections.append(command.discussion) }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// `healthledger key new --out FILE [--passphrase-file FILE] [--force]`: arguments, then required
    /// options, then optional ones; `...` marks a repeatable option.
    static func usage(_ command: Command) -> String {
        let ordered = command.options.filter(\.isRequired) + command.options.filter { !$0.isRequired }
        let options = ordered.map { option in
            var text = option.kind == .flag ? "--\(option.name)" : "--\(option.name) \(option.valueName)"
            if option.kind == .repeated { text += " ..." }
            return option.isRequired ? text : "[\(text)]"
        }
        return ([invocation(command.path)] + command.arguments.map(\.name) + options).joined(separator: " ")
    }

    private static let exitCodes = [
        ("0", "success"),
        ("1", "any other failure (a file that cannot be read or written, ...)"),
        ("2", "usage error or bad input (unknown option, invalid value, wrong passphrase)"),
        ("3", "access denied"),
        ("4", "verification failed"),
    ]

    private static func optionSynopsis(_ option: Option) -> String {
        if option.name == Option.help.name { return "-h, --help" }
        return option.kind == .flag ? "--\(option.name)" : "--\(option.name) \(option.valueName)"
    }

    private static func table(_ rows: [(String, String)]) -> String { TextTable.render(rows.map { [$0.0, $0.1] }) }
}
