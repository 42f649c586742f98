/// Finds the command named on the command line, runs it, prints its result or error, and gives the exit
/// code. Everything a command prints goes through here, so `--json` always means exactly one JSON object
/// on stdout.
struct CommandLineTool {
    static let version = "0.1.0"

    let commands: [Command]
    let console = Console()

    /// Runs the command line `words` (without the program name) and returns the exit code.
    func run(_ words: [String]) -> ExitCode {
        // Known before parsing, so that even a usage error is reported as JSON.
        let wantsJSON = Self.optionWords(words).contains("--json")
        do {
            let output = try dispatch(words, wantsJSON: wantsJSON)
            if !output.alreadyPrinted { console.write(wantsJSON ? output.json.encoded + "\n" : Self.terminated(output.text)) }
            if let failure = output.failure { console.writeError("error: \(failure.message)\n") }
            return output.failure?.exitCode ?? .success
        } catch {
            console.writeError("error: \(error.message)\n")
            if wantsJSON { console.write(error.json.encoded + "\n") }
            return error.exitCode
        }
    }

    private func dispatch(_ words: [String], wantsJSON: Bool) throws(CLIError) -> CommandOutput {
        let (path, rest) = splitCommandPath(words)
        let wantsHelp = Self.optionWords(words).contains { $0 == "--help" || $0 == "-h" }
        if let command = commands.first(where: { $0.path == path }) {
            if wantsHelp { return Self.helpOutput(Help.command(command)) }
            var invocation = try ArgumentParser(command: command).parse(rest, console: console)
            invocation.wantsJSON = wantsJSON
            return try command.run(invocation)
        }
        let group = commands.filter { $0.path.starts(with: path) }
        if path.isEmpty {
            return try topLevel(words, wantsHelp: wantsHelp)
        }
        if wantsHelp { return Self.helpOutput(Help.group(path, commands: group)) }
        if let word = rest.first(where: { !$0.hasPrefix("-") }) {
            throw unknownCommand(word, under: path, group: group)
        }
        let names = group.map { $0.path[path.count] }
        throw .usage("'\(Help.invocation(path))' needs a command: \(names.joined(separator: ", "))", command: path)
    }

    private func topLevel(_ words: [String], wantsHelp: Bool) throws(CLIError) -> CommandOutput {
        if wantsHelp { return Self.helpOutput(Help.main(commands)) }
        if Self.optionWords(words).contains("--version") {
            return CommandOutput(text: "\(Help.toolName) \(Self.version)", json: ["version": .string(Self.version)])
        }
        if let word = words.first(where: { !$0.hasPrefix("-") }) {
            throw unknownCommand(word, under: [], group: commands)
        }
        if let option = words.first(where: { $0 != "--json" }) {
            throw .usage("unknown option '\(option)' before a command", command: [])
        }
        throw .usage("no command given", command: [])
    }

    private func unknownCommand(_ word: String, under path: [String], group: [Command]) -> CLIError {
        let names = Array(Set(group.map { $0.path[path.count] })).sorted()
        let suggestion = Suggestion.closest(to: word, among: names).map { " (did you mean '\($0)'?)" } ?? ""
        return .usage("unknown command '\(Help.invocation(path + [word]))'\(suggestion)", command: path)
    }

    /// The longest run of leading words that names a command or a group, skipping global flags before
    /// it (`healthledger --json key new`), and the remaining words.
    private func splitCommandPath(_ words: [String]) -> (path: [String], rest: [String]) {
        var path: [String] = []
        var rest = words
        var index = 0
        while index < rest.count {
            let word = rest[index]
            if ["--json", "--help", "-h"].contains(word) {
                index += 1
            } else if !word.hasPrefix("-"), commands.contains(where: { $0.path.starts(with: path + [word]) }) {
                path.append(word)
                rest.remove(at: index)
            } else {
                break
            }
        }
        return (path, rest)
    }

    /// The words that can be options: those before a `--` terminator.
    private static func optionWords(_ words: [String]) -> ArraySlice<String> {
        words.prefix { $0 != "--" }
    }

    private static func helpOutput(_ text: String) -> CommandOutput {
        CommandOutput(text: text, json: ["help": .string(text)])
    }

    private static func terminated(_ text: String) -> String { text.hasSuffix("\n") ? text : text + "\n" }
}
