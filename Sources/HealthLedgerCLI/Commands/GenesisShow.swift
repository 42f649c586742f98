import Ledger

/// `healthledger genesis show`: summarises a genesis file.
enum GenesisShow {
    static let command = Command(
        path: ["genesis", "show"],
        abstract: "Summarise a genesis file: chain id, hash, organisations, validators.",
        arguments: [Argument("FILE", help: "The genesis file (JSON).")],
        discussion: "The genesis hash is what block 1 links to: compare it with the other members' before starting a node.",
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let genesis = try GenesisFile.load(invocation.argument("FILE"))
        return CommandOutput(text: text(genesis), json: json(genesis))
    }

    private static func text(_ genesis: Genesis) -> String {
        let organisations = genesis.organisations.map { [$0.id.value, $0.name, "admin \($0.adminKey.text)"] }
        let validators = genesis.validators.map {
            [$0.name, "org \($0.organisation.value)", $0.address, "power \($0.power)", $0.key.text]
        }
        return """
            chain id       \(genesis.chainID.value)
            genesis time   \(Timestamp.format(genesis.genesisTimeMs))
            hash           \(genesis.hash.hex)
            organisations (\(genesis.organisations.count))
            \(TextTable.render(organisations))
            validators (\(genesis.validators.count), total power \(genesis.totalVotingPower))
            \(TextTable.render(validators))
            """
    }

    private static func json(_ genesis: Genesis) -> JSONValue {
        [
            "chainId": .string(genesis.chainID.value),
            "genesisTime": .string(Timestamp.format(genesis.genesisTimeMs)),
            "hash": .string(genesis.hash.hex),
            "validatorSetHash": .string(genesis.validatorSetHash.hex),
            "organisations": .array(genesis.organisations.map {
                ["id": .string($0.id.value), "name": .string($0.name), "adminKey": .string($0.adminKey.text)]
            }),
            "validators": .array(genesis.validators.map {
                ["name": .string($0.name), "organisation": .string($0.organisation.value), "key": .string($0.key.text),
                 "address": .string($0.address), "power": .number($0.power)]
            }),
        ]
    }
}
