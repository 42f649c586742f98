import Crypto
import Ledger

/// `healthledger key new`: makes an Ed25519 key file.
enum KeyNew {
    static let command = Command(
        path: ["key", "new"],
        abstract: "Make a new Ed25519 key file.",
        options: [
            .value("out", "FILE", required: true, help: "Where to write the key (PKCS#8 PEM, created with mode 0600)."),
            .passphraseFile(help: "Encrypt the key with the passphrase on this file's first line."),
            .flag("force", help: "Replace the --out file if it exists."),
        ],
        discussion: """
            The file is what 'openssl pkey' reads. Without --passphrase-file the key is stored unencrypted:
            keep the file private. Prints the key's identity (hlk1...), which is public.
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let path = invocation.requiredValue("out")
        var passphrase = try invocation.passphrase()
        defer { passphrase?.zeroize() }
        let key = Ed25519.PrivateKey()
        do {
            try KeyFile.save(key, to: path, passphrase: passphrase, overwrite: invocation.flag("force"))
        } catch {
            throw .keyFile(error, path: path)
        }
        let identity = Identity(publicKey: key.publicKey)
        return CommandOutput(
            text: "\(identity.text)\nwritten to \(path) (\(passphrase == nil ? "unencrypted" : "encrypted"), mode 0600)",
            json: ["id": .string(identity.text), "file": .string(path)])
    }
}
