import Crypto
import Ledger

/// A key named on the command line: either an identity in text form (`hlk1...`) or the path of a key
/// file (a private key as `key new` writes it, or a public key PEM as `openssl pkey -pubout` writes it).
/// Lets a genesis be written from the identities other organisations send, or from local key files.
enum KeyReference {
    /// The identity that `reference` names. `context` says where it came from in error messages.
    static func identity(_ reference: String, context: String) throws(CLIError) -> Identity {
        if reference.hasPrefix(Identity.textPrefix) {
            guard let identity = Identity(text: reference) else {
                throw .badInput("\(context): not a valid identity (wrong length or checksum)",
                                "copy it again from 'healthledger key show'")
            }
            return identity
        }
        return try identityOfKeyFile(reference, context: context)
    }

    private static func identityOfKeyFile(_ path: String, context: String) throws(CLIError) -> Identity {
        var contents = try InputFiles.load(path, what: "key file", maximumByteCount: KeyFile.maximumFileByteCount)
        defer { contents.zeroize() }
        let text = String(decoding: contents, as: UTF8.self)
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            do {
                return Identity(publicKey: try KeyFile.decodePublicKeyPEM(text))
            } catch {
                throw .keyFile(error, path: path)
            }
        }
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            throw .badInput("\(context): key file \(path) is encrypted",
                            "give its identity instead (see 'healthledger key show \(path) --passphrase-file FILE')")
        }
        do {
            return Identity(publicKey: try KeyFile.load(from: path, passphrase: nil).publicKey)
        } catch {
            throw .keyFile(error, path: path)
        }
    }
}
