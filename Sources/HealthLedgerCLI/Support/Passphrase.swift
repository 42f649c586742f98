extension Option {
    /// Shared by the commands that read or write a private key.
    static let passphraseFile = Option.value(
        "passphrase-file", "FILE", help: "The key's passphrase is the first line of this file.")

    /// `passphraseFile` with a help text of its own.
    static func passphraseFile(help: String) -> Option { .value(passphraseFile.name, "FILE", help: help) }
}

extension Invocation {
    /// The passphrase from `--passphrase-file`, nil when the option is not given. The caller wipes it.
    func passphrase() throws(CLIError) -> [UInt8]? {
        guard let path = value(Option.passphraseFile.name) else { return nil }
        return try InputFiles.passphrase(at: path)
    }
}
