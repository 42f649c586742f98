import Crypto
import Ledger

/// `healthledger key show`: prints the identity of a key file.
enum KeyShow {
    static let command = Command(
        path: ["key", "show"],
        abstract: "Print the identity of a key file.",
        arguments: [Argument("FILE", help: "A private key file, as 'key new' writes it.")],
        options: [
            .passphraseFile,
            .flag("public", help: "Also print the public key as PEM (what 'openssl pkey -pubout' prints)."),
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let path = invocation.argument("FILE")
        var passphrase = try invocation.passphrase()
        defer { passphrase?.zeroize() }
        let key: Ed25519.PrivateKey
        do {
            key = try KeyFile.load(from: path, passphrase: passphrase)
        } catch {
            throw .keyFile(error, path: path)
        }
        let identity = Identity(publicKey: key.publicKey)
        var text = identity.text
        var json: JSONValue = ["id": .string(identity.text), "file": .string(path)]
        if invocation.flag("public") {
            let pem = KeyFile.encodePublicKeyPEM(key.publicKey)
            text += "\n" + pem
            json = json.appending("publicKeyPEM", .string(pem))
        }
        return CommandOutput(text: text, json: json)
    }
}
