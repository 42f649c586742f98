import Foundation
import Ledger

/// What this node knows about each genesis validator, learnt over the authenticated peer links: the API URL
/// it announced, the highest height it is known to have committed, and whether its links are up.
///
/// Used for three things: the custodian redirect (a record request for another organisation is answered
/// with the URL of that organisation's node), catch-up (whom to ask for missing blocks), and the consensus
/// status route. Nothing here is trusted for safety: a wrong height only wastes a sync request, and a
/// URL is only ever shown to a client, never followed by the node.
final class PeerDirectory: @unchecked Sendable {
    /// One validator's entry, in genesis order.
    struct Entry: Sendable {
        let index: Int
        let name: String
        let organisation: OrganisationID
        let key: Identity
        let power: UInt64
        var apiURL: String?
        /// The highest height this validator is known to have committed (announced, or implied by the
        /// height it signs messages at).
        var committedHeight: UInt64 = 0
        var outboundLinked = false
        var inboundLinked = false
    }

    private let lock = NSLock()
    private var entries: [Entry]
    let ownIndex: Int

    init(genesis: Genesis, ownIndex: Int, ownAPIURL: String?) {
        entries = genesis.validators.enumerated().map { index, validator in
            Entry(index: index, name: validator.name, organisation: validator.organisation, key: validator.key, power: validator.power)
        }
        self.ownIndex = ownIndex
        entries[ownIndex].apiURL = ownAPIURL
    }

    var snapshot: [Entry] { lock.withLock { entries } }

    /// Records an announcement from validator `index` (its key proved by the link).
    func announced(_ announcement: NodeAnnouncement, by index: Int) {
        guard index != ownIndex else { return }
        lock.withLock {
            entries[index].apiURL = announcement.apiURL
            entries[index].committedHeight = max(entries[index].committedHeight, announcement.headHeight)
        }
    }

    /// Validator `index` signed a message at `height`: it has committed `height - 1`.
    func signed(atHeight height: UInt64, by index: Int) {
        guard index != ownIndex, height > 0 else { return }
        lock.withLock { entries[index].committedHeight = max(entries[index].committedHeight, height - 1) }
    }

    /// The API URL this node announces (nil: none that a client could use).
    func setOwnAPIURL(_ url: String?) { lock.withLock { entries[ownIndex].apiURL = url } }

    /// This node's own committed height (shown in the status beside the peers').
    func setOwnHeight(_ height: UInt64) { lock.withLock { entries[ownIndex].committedHeight = height } }

    func setLinks(_ index: Int, outbound: Bool? = nil, inbound: Bool? = nil) {
        lock.withLock {
            if let outbound { entries[index].outboundLinked = outbound }
            if let inbound { entries[index].inboundLinked = inbound }
        }
    }

    /// The validator ahead of `height` with the highest committed height, if any (never this node).
    func peerAhead(of height: UInt64) -> (index: Int, height: UInt64)? {
        lock.withLock {
            entries.filter { $0.index != ownIndex && $0.committedHeight > height }
                .max { $0.committedHeight < $1.committedHeight }
                .map { ($0.index, $0.committedHeight) }
        }
    }

    /// The highest height validator `index` is known to have committed.
    func committedHeight(of index: Int) -> UInt64 { lock.withLock { entries[index].committedHeight } }

    /// The voting power of the other validators known to have committed `height` or more.
    func powerCommitted(atLeast height: UInt64) -> UInt64 {
        lock.withLock { entries.filter { $0.index != ownIndex && $0.committedHeight >= height }.reduce(0) { $0 + $1.power } }
    }

    /// The announced API URLs of `organisation`'s nodes, in genesis order.
    func apiURLs(of organisation: OrganisationID) -> [String] {
        lock.withLock { entries.filter { $0.organisation == organisation }.compactMap(\.apiURL) }
    }

    /// Remote validators with both links up.
    var peersLinked: Int { lock.withLock { entries.filter { $0.index != ownIndex && $0.outboundLinked && $0.inboundLinked }.count } }
}
