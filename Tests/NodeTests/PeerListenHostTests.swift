import Crypto
import Ledger
import Testing
import TestSupport
import Transport

@testable import Node

/// Where a validator's peer links listen by default: its genesis address's host when that is an address,
/// every interface of both families when it is a name (which may resolve to either).
struct PeerListenHostTests {
    static func configuration(ownAddress: String, settings: ConsensusSettings = ConsensusSettings()) throws -> PeerNetworkConfiguration {
        let nodeKeys = [fixedKey(1), fixedKey(2)]
        let genesis = try consortiumGenesis(chainID: "listen-test", organisations: [OrganisationID("hospital-1")!, OrganisationID("hospital-2")!],
                                            adminKeys: [fixedKey(101), fixedKey(102)], nodeKeys: nodeKeys,
                                            peerAddresses: [ownAddress, "192.0.2.2:7401"], consensus: InProcessConsortium.testParameters())
        return try ConsensusEngine.peerConfiguration(genesis: genesis, key: nodeKeys[0], ownIndex: 0, settings: settings)
    }

    @Test(arguments: [("192.0.2.1:7400", "192.0.2.1"), ("[2001:db8::1]:7400", "2001:db8::1"), ("localhost:7400", "localhost")])
    func anAddressListensOnItself(ownAddress: String, host: String) throws {
        let configuration = try Self.configuration(ownAddress: ownAddress)
        #expect(configuration.listenHost == host && configuration.listenPort == 7400)
    }

    @Test func aNameListensOnEveryInterfaceOfBothFamilies() throws {
        let configuration = try Self.configuration(ownAddress: "node1.hospital-1.example:7400")
        #expect(configuration.listenHost == (ipv6LoopbackAvailable ? "::" : "0.0.0.0"))
        #expect(configuration.listenPort == 7400)
    }

    @Test func theSettingsOverrideBoth() throws {
        var settings = ConsensusSettings()
        (settings.peerListenHost, settings.peerListenPort) = ("127.0.0.1", 9000)
        let configuration = try Self.configuration(ownAddress: "node1.hospital-1.example:7400", settings: settings)
        #expect(configuration.listenHost == "127.0.0.1" && configuration.listenPort == 9000)
    }
}
