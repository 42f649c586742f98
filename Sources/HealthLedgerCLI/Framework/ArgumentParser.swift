/// Turns the words after a command's name into an `Invocation`, or a usage error naming the problem.
///
/// Accepted: `--flag`, `--option VALUE`, `--option=VALUE`, positional arguments anywhere, and `--` after
/// which every word is positional. A value given as a separate word must not start with `--`, so that a
/// forgotten value (`--out --force`) is an error rather than a file named `--force`.
struct ArgumentParser {
    let command: Command

    func parse(_ words: [String], console: Console) throws(CLIError) -> Invocation {
        var positionals: [String] = []
        var values: [String: [String]] = [:]
        var index = 0
        var optionsEnded = false
        while index < words.count {
            let word = words[index]
            index += 1
            if optionsEnded || !isOptionLike(word) {
                positionals.append(word)
            } else if word == "--" {
                optionsEnded = true
            } else {
                let (option, inlineValue) = try lookUp(word)
                let value = try self.value(for: option, inline: inlineValue, words: words, index: &index)
                try record(option, value: value, in: &values)
            }
        }
        try checkArguments(positionals)
        try checkRequiredOptions(values)
        return Invocation(command: command, arguments: positionals, optionValues: values, console: console)
    }

    /// True for `--name`, `-x` and `--`; a lone `-` is an argument (conventionally stdin or stdout).
    private func isOptionLike(_ word: String) -> Bool { word.hasPrefix("-") && word != "-" }

    private func lookUp(_ word: String) throws(CLIError) -> (Option, inlineValue: String?) {
        if word == "-h" { return (Option.help, nil) }
        guard word.hasPrefix("--") else { throw usageError("unknown option '\(word)'") }
        let body = word.dropFirst(2)
        let name = String(body.prefix { $0 != "=" })
        let inlineValue = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
        guard let option = command.option(named: name) else {
            let suggestion = Suggestion.closest(to: name, among: command.allOptions.map(\.name)).map { " (did you mean --\($0)?)" }
            throw usageError("unknown option --\(name)\(suggestion ?? "")")
        }
        return (option, inlineValue)
    }

    private func value(
        for option: Option, inline: String?, words: [String], index: inout Int
    ) throws(CLIError) -> String? {
        if option.kind == .flag {
            guard inline == nil else { throw usageError("--\(option.name) takes no value") }
            return nil
        }
        if let inline { return inline }
        guard index < words.count, !words[index].hasPrefix("--") else {
            throw usageError("--\(option.name) needs a value (\(option.valueName))")
        }
        index += 1
        return words[index - 1]
    }

    private func record(_ option: Option, value: String?, in values: inout [String: [String]]) throws(CLIError) {
        if option.kind != .repeated, values[option.name] != nil, option.kind != .flag {
            throw usageError("--\(option.name) given twice; give it once")
        }
        values[option.name, default: []] += value.map { [$0] } ?? []
    }

    private func checkArguments(_ positionals: [String]) throws(CLIError) {
        if positionals.count < command.arguments.count {
            throw usageError("missing \(command.arguments[positionals.count].name)")
        }
        if positionals.count > command.arguments.count {
            throw usageError("unexpected argument '\(positionals[command.arguments.count])'")
        }
    }

    private func checkRequiredOptions(_ values: [String: [String]]) throws(CLIError) {
        for option in command.options where option.isRequired && values[option.name] == nil {
            throw usageError("missing --\(option.name) \(option.valueName)")
        }
    }

    private func usageError(_ problem: String) -> CLIError { .usage(problem, command: command.path) }
}

/// "Did you mean" for mistyped command and option names.
enum Suggestion {
    /// The candidate within two edits of `word` (the closest one), if any.
    static func closest(to word: String, among candidates: [String]) -> String? {
        candidates
            .map { (candidate: $0, distance: editDistance(Array(word), Array($0))) }
            .filter { $0.distance <= 2 && $0.distance < word.count }
            .min { $0.distance < $1.distance }?
            .candidate
    }

    /// Levenshtein distance.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, characterA) in a.enumerated() {
            var current = [i + 1]
            for (j, characterB) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (characterA == characterB ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
