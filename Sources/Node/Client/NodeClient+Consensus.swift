import Foundation
import Ledger

extension NodeClient {
    /// `GET /v1/consensus`: where consensus stands and what the node knows of each validator, including
    /// the API URL each announced (`validators[].apiUrl`).
    public func consensus() throws(ClientError) -> [String: Any] { try json("GET", "/v1/consensus") }

    /// `GET /v1/consensus/evidence`: the equivocation evidence the node keeps (`evidence`, oldest first, and `count`).
    public func evidence() throws(ClientError) -> [String: Any] { try json("GET", "/v1/consensus/evidence") }

    /// The API URL of `organisation`'s node as the node at this client's URL knows it from its peers, or
    /// nil when none announced itself.
    public func nodeURL(of organisation: OrganisationID) throws(ClientError) -> String? {
        let validators = try consensus()["validators"] as? [[String: Any]] ?? []
        return validators.first { $0["organisation"] as? String == organisation.value && $0["apiUrl"] is String }?["apiUrl"] as? String
    }

    /// The hash of the committed block at `height` (`GET /v1/blocks/{height}`), or nil above the head.
    public func blockHash(at height: UInt64) throws(ClientError) -> String? {
        do {
            let block = try json("GET", "/v1/blocks/\(height)")
            return block["hash"] as? String
        } catch {
            if error.code == "no-such-block" { return nil }
            throw error
        }
    }
}
