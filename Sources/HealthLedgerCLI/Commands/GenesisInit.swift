import Foundation
import Ledger
import Transport

/// `healthledger genesis init`: writes a new genesis file from command-line values.
enum GenesisInit {
    static let command = Command(
        path: ["genesis", "init"],
        abstract: "Write a new genesis file.",
        options: [
            .value("out", "FILE", required: true, help: "Where to write the genesis file (JSON)."),
            .value("chain-id", "ID", required: true, help: "The chain id: 1-64 of a-z 0-9 - . (first a letter or digit)."),
            .repeated("organisation", "FIELDS", required: true, help: "A member: id=ID,name=NAME,admin=KEY (once per organisation)."),
            .repeated("validator", "FIELDS", required: true,
                      help: "A node: name=NAME,org=ID,key=KEY,address=HOST:PORT[,power=N] (once per validator)."),
            .value("genesis-time", "TIME", help: "UTC start time, like 2026-01-01T00:00:00Z (default: now, to the second)."),
            .flag("force", help: "Replace the --out file if it exists."),
        ],
        discussion: """
            KEY is an identity (hlk1...) or the path of a key file: an unencrypted private key as 'key new'
            writes it, or a public key PEM. The order of --validator options is the validators' order in
            the genesis. power defaults to 1. In a value, write a comma as \\, and a backslash as \\\\.
            Consensus parameters take their defaults (docs/GENESIS.md, section 2.4).

            Example:
              healthledger genesis init --out genesis.json --chain-id st-marys-city \\
                --organisation "id=st-marys,name=St Mary's Hospital,admin=keys/st-marys-admin.pem" \\
                --organisation "id=city,name=City General,admin=hlk1..." \\
                --validator name=st-marys-1,org=st-marys,key=keys/node1.pem,address=node1.st-marys.example:7400 \\
                --validator name=city-1,org=city,key=hlk1...,address=10.0.0.7:7400,power=2
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let path = invocation.requiredValue("out")
        let genesis = try makeGenesis(invocation)
        try InputFiles.write(genesis.jsonBytes, to: path, overwrite: invocation.flag("force"))
        let hash = genesis.hash.hex
        return CommandOutput(
            text: """
                wrote \(path)
                chain id  \(genesis.chainID.value)
                hash      \(hash)
                \(genesis.organisations.count) organisations, \(genesis.validators.count) validators
                """,
            json: ["file": .string(path), "chainId": .string(genesis.chainID.value), "hash": .string(hash)])
    }

    private static func makeGenesis(_ invocation: Invocation) throws(CLIError) -> Genesis {
        let chainText = invocation.requiredValue("chain-id")
        guard let chainID = ChainID(chainText) else {
            throw invocation.usageError("--chain-id '\(chainText)' is not a valid chain id (1-64 of a-z 0-9 - ., first a letter or digit)")
        }
        let organisations = try invocation.values("organisation").enumerated().map { (index, text) throws(CLIError) in
            try organisation(text, position: index + 1)
        }
        let validators = try invocation.values("validator").enumerated().map { (index, text) throws(CLIError) in
            try validator(text, position: index + 1)
        }
        try checkDistinctKeys(validators)
        let genesisTimeMs = try genesisTime(invocation)
        do {
            return try Genesis(chainID: chainID, genesisTimeMs: genesisTimeMs, organisations: organisations,
                               validators: validators)
        } catch {
            throw .badInput("\(error)", "check the --organisation and --validator values")
        }
    }

    /// `Genesis` refuses a repeated validator key too, but cannot say which validators share it.
    private static func checkDistinctKeys(_ validators: [Validator]) throws(CLIError) {
        var names: [Identity: String] = [:]
        for validator in validators {
            if let other = names.updateValue(validator.name, forKey: validator.key) {
                throw .badInput("--validator \(validator.name) has the same key as --validator \(other)",
                                "give each validator its own key")
            }
        }
    }

    private static func genesisTime(_ invocation: Invocation) throws(CLIError) -> UInt64 {
        guard let text = invocation.value("genesis-time") else {
            return UInt64(Date().timeIntervalSince1970) * 1000
        }
        guard let milliseconds = Timestamp.parse(text) else {
            throw invocation.usageError("--genesis-time '\(text)' is not a UTC time like 2026-01-01T00:00:00Z")
        }
        return milliseconds
    }

    private static func organisation(_ text: String, position: Int) throws(CLIError) -> Organisation {
        let fields = try FieldList(parsing: text, option: "organisation", position: position,
                                   allowed: ["id", "name", "admin"], required: ["id", "name", "admin"], contextField: "id")
        return Organisation(id: try organisationID(fields["id"]!, context: fields.context), name: fields["name"]!,
                            adminKey: try KeyReference.identity(fields["admin"]!, context: fields.context + " admin"))
    }

    private static func validator(_ text: String, position: Int) throws(CLIError) -> Validator {
        let fields = try FieldList(parsing: text, option: "validator", position: position,
                                   allowed: ["name", "org", "key", "address", "power"],
                                   required: ["name", "org", "key", "address"], contextField: "name")
        var power: UInt64 = 1
        if let powerText = fields["power"] {
            guard let value = UInt64(powerText) else {
                throw .badInput("\(fields.context): power '\(powerText)' is not a whole number", "use power=1 to power=1000000")
            }
            power = value
        }
        let address = fields["address"]!
        guard let peerAddress = HostPort(address), peerAddress.port > 0 else {
            throw .badInput("\(fields.context): address '\(address)' is not HOST:PORT",
                            "for example address=10.0.0.7:7400, or address=[2001:db8::7]:7400 for IPv6 (port 1-65535)")
        }
        return Validator(name: fields["name"]!, organisation: try organisationID(fields["org"]!, context: fields.context),
                         key: try KeyReference.identity(fields["key"]!, context: fields.context + " key"),
                         address: peerAddress.text, power: power)
    }

    private static func organisationID(_ text: String, context: String) throws(CLIError) -> OrganisationID {
        guard let id = OrganisationID(text) else {
            throw .badInput("\(context): '\(text)' is not a valid organisation id", "use 1-64 of a-z 0-9 -, first a letter or digit")
        }
        return id
    }
}
