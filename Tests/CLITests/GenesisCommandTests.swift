import Crypto
import Foundation
import Ledger
import Testing

/// `genesis init` and `genesis show`: the file written parses with `Genesis(jsonBytes:)`, keys may be key
/// files or identities, and bad values exit 2 naming the option.
@Suite struct GenesisCommandTests {
    /// Makes key files `name.pem` in the runner's directory and returns their identities.
    static func makeKeys(_ names: [String], _ runner: CLIRunner) throws -> [String: String] {
        var identities: [String: String] = [:]
        for name in names {
            let result = try runner.run("key", "new", "--out", "\(name).pem", "--json")
            identities[name] = try #require(result.json()["id"] as? String)
        }
        return identities
    }

    static let twoOrganisationsFourValidators = [
        "--chain-id", "cli-test",
        "--genesis-time", "2026-01-01T00:00:00Z",
        "--organisation", "id=st-marys,name=St Mary's Hospital\\, North,admin=admin-a.pem",
        "--organisation", "id=city,name=City General,admin=admin-b.pem",
        "--validator", "name=st-marys-1,org=st-marys,key=node-1.pem,address=node1.st-marys.example:7400",
        "--validator", "name=st-marys-2,org=st-marys,key=node-2.pem,address=node2.st-marys.example:7400",
        "--validator", "name=city-1,org=city,key=node-3.pem,address=10.0.0.3:7400,power=2",
        "--validator", "name=city-2,org=city,key=node-4.pem,address=[2001:db8::4]:7400",
    ]

    @Test func initWritesAGenesisThatParses() throws {
        let runner = try CLIRunner()
        let keys = try Self.makeKeys(["admin-a", "admin-b", "node-1", "node-2", "node-3", "node-4"], runner)
        let result = try runner.run(["genesis", "init", "--out", "genesis.json", "--json"] + Self.twoOrganisationsFourValidators)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let json = try result.json()

        let genesis = try Genesis(jsonBytes: Array(try Data(contentsOf: URL(fileURLWithPath: runner.file("genesis.json")))))
        #expect(json["file"] as? String == "genesis.json")
        #expect(json["chainId"] as? String == "cli-test")
        #expect(json["hash"] as? String == genesis.hash.hex)
        #expect(genesis.genesisTimeMs == 1_767_225_600_000)
        #expect(genesis.organisations.map(\.name) == ["St Mary's Hospital, North", "City General"])
        #expect(genesis.organisations.map(\.adminKey.text) == [keys["admin-a"], keys["admin-b"]])
        #expect(genesis.validators.map(\.key.text) == ["node-1", "node-2", "node-3", "node-4"].map { keys[$0] })
        #expect(genesis.validators.map(\.power) == [1, 1, 2, 1])
        #expect(genesis.validators.map(\.address) == ["node1.st-marys.example:7400", "node2.st-marys.example:7400", "10.0.0.3:7400",
                                                      "[2001:db8::4]:7400"])
    }

    @Test func keysMayBeIdentitiesOrPublicKeyFiles() throws {
        let runner = try CLIRunner()
        let keys = try Self.makeKeys(["admin", "node"], runner)
        let shown = try runner.run("key", "show", "node.pem", "--public", "--json").json()
        try #require(shown["publicKeyPEM"] as? String).write(toFile: runner.file("node.pub"), atomically: true, encoding: .utf8)
        let result = try runner.run(
            "genesis", "init", "--out", "genesis.json", "--chain-id", "one-node", "--json",
            "--organisation", "id=org,name=Org,admin=\(keys["admin"]!)",
            "--validator", "name=node,org=org,key=node.pub,address=localhost:7400")
        #expect(result.exitCode == 0, "\(result.stderr)")
        let genesis = try Genesis(jsonBytes: Array(try Data(contentsOf: URL(fileURLWithPath: runner.file("genesis.json")))))
        #expect(genesis.organisations[0].adminKey.text == keys["admin"])
        #expect(genesis.validators[0].key.text == keys["node"])
        // Genesis time defaults to now, whole seconds.
        #expect(genesis.genesisTimeMs % 1000 == 0)
        #expect(abs(Double(genesis.genesisTimeMs) / 1000 - Date().timeIntervalSince1970) < 60)
    }

    @Test func duplicateValidatorKeyIsRefused() throws {
        let runner = try CLIRunner()
        _ = try Self.makeKeys(["admin", "node"], runner)
        let result = try runner.run(
            "genesis", "init", "--out", "genesis.json", "--chain-id", "dup", "--json",
            "--organisation", "id=org,name=Org,admin=admin.pem",
            "--validator", "name=node-1,org=org,key=node.pem,address=h1:7400",
            "--validator", "name=node-2,org=org,key=node.pem,address=h2:7400")
        #expect(result.exitCode == 2)
        #expect(try result.jsonError().contains("--validator node-2 has the same key as --validator node-1"))
        #expect(!FileManager.default.fileExists(atPath: runner.file("genesis.json")))
    }

    @Test(arguments: [
        (["--chain-id", "Bad Chain"], "--chain-id 'Bad Chain' is not a valid chain id"),
        (["--validator", "name=x,org=nowhere,key=node.pem,address=h:1"], "genesis field validators[x].organisation"),
        (["--validator", "name=x,org=org,key=node.pem"], "--validator x: missing field 'address='"),
        (["--validator", "name=x,org=org,key=node.pem,address=h:1,colour=red"], "--validator x: unknown field 'colour'"),
        (["--validator", "name=x,org=org,key=hlk1abc,address=h:1"], "--validator x key: not a valid identity"),
        (["--validator", "name=x,org=org,key=missing.pem,address=h:1"], "cannot read key file missing.pem"),
        (["--validator", "name=x,org=org,key=node.pem,address=h:1,power=lots"], "power 'lots' is not a whole number"),
        (["--validator", "name=x,org=org,key=node.pem,address=2001:db8::4:7400"], "--validator x: address '2001:db8::4:7400' is not HOST:PORT"),
        (["--validator", "name=x,org=org,key=node.pem,address=h:0"], "--validator x: address 'h:0' is not HOST:PORT"),
        (["--genesis-time", "2026-02-30T00:00:00Z"], "--genesis-time '2026-02-30T00:00:00Z' is not a UTC time"),
    ])
    func badValuesAreRefusedNamingTheOption(_ change: [String], _ expected: String) throws {
        let runner = try CLIRunner()
        _ = try Self.makeKeys(["admin", "node"], runner)
        // Valid values for every option, except the one `change` gives instead.
        let valid = [["--chain-id", "c"], ["--organisation", "id=org,name=Org,admin=admin.pem"],
                     ["--validator", "name=n,org=org,key=node.pem,address=h:1"]]
        let arguments = ["genesis", "init", "--out", "genesis.json", "--json"] + valid.filter { $0[0] != change[0] }.joined()
        let result = try runner.run(arguments + change)
        #expect(result.exitCode == (expected.hasPrefix("cannot read") ? 1 : 2), "\(result.stderr)")
        #expect(try result.jsonError().contains(expected), "\(result.stderr)")
    }

    @Test func existingGenesisIsReplacedOnlyWithForce() throws {
        let runner = try CLIRunner()
        _ = try Self.makeKeys(["admin", "node"], runner)
        let arguments = ["genesis", "init", "--out", "genesis.json", "--chain-id", "c",
                         "--organisation", "id=org,name=Org,admin=admin.pem",
                         "--validator", "name=n,org=org,key=node.pem,address=h:1"]
        #expect(try runner.run(arguments).exitCode == 0)
        let refused = try runner.run(arguments)
        #expect(refused.exitCode == 2)
        #expect(refused.stderr.contains("--force"))
        #expect(try runner.run(arguments + ["--force"]).exitCode == 0)
    }

    @Test func showSummarisesTheExampleGenesis() throws {
        let path = CLIRunner.packageRoot.appendingPathComponent("genesis/example.json").path
        let runner = try CLIRunner()
        let result = try runner.run("genesis", "show", path, "--json")
        #expect(result.exitCode == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["chainId"] as? String == "healthledger-example")
        #expect(json["hash"] as? String == "0f0c28bbdc64d7b37d0f9fb34afb46cba32972115d3cfe8bf185421962eb02d0")
        #expect((json["organisations"] as? [Any])?.count == 3)
        let validators = try #require(json["validators"] as? [[String: Any]])
        #expect(validators.map { $0["name"] as? String } == ["st-marys-1", "st-marys-2", "city-general-1", "north-clinic-1"])

        let text = try runner.run("genesis", "show", path)
        #expect(text.stdout.contains("0f0c28bbdc64d7b37d0f9fb34afb46cba32972115d3cfe8bf185421962eb02d0"))
        #expect(text.stdout.contains("St Mary's Hospital"))
    }

    @Test func showRefusesAnInvalidGenesis() throws {
        let runner = try CLIRunner()
        try #"{"format": "healthledger-genesis/1"}"#.write(toFile: runner.file("bad.json"), atomically: true, encoding: .utf8)
        let result = try runner.run("genesis", "show", "bad.json", "--json")
        #expect(result.exitCode == 2)
        #expect(try result.jsonError().contains("bad.json: genesis field chainId"))
    }
}
