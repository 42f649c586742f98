import Consensus
import Foundation
import Ledger
import Transport

/// JSON views of consensus state and evidence (docs/API.md, "GET /v1/consensus").
enum EvidenceJSON {
    /// `conflicting-votes` or `conflicting-proposals`.
    static func kind(_ evidence: Evidence) -> String {
        switch evidence {
        case .conflictingVotes: return "conflicting-votes"
        case .conflictingProposals: return "conflicting-proposals"
        }
    }

    static func evidence(_ evidence: Evidence, genesis: Genesis) -> [String: Any] {
        let index = Int(evidence.validatorIndex)
        var object: [String: Any] = ["kind": kind(evidence), "validatorIndex": index, "height": evidence.height,
                                     "evidence": Hex.encode(evidence.canonicalBytes)]
        if index < genesis.validators.count {
            object["validator"] = genesis.validators[index].name
            object["key"] = genesis.validators[index].key.text
        }
        switch evidence {
        case let .conflictingVotes(first, second):
            object["round"] = first.vote.round
            object["type"] = first.vote.type == .prevote ? "prevote" : "precommit"
            object["blockHashes"] = [first.vote.blockHash, second.vote.blockHash].map { hash -> Any in hash.map(\.hex) ?? NSNull() }
        case let .conflictingProposals(first, second):
            object["round"] = first.proposal.round
            object["type"] = "proposal"
            object["blockHashes"] = [first.proposal.blockHash.hex, second.proposal.blockHash.hex]
        }
        return object
    }

    static func status(_ status: ConsensusStatus) -> [String: Any] {
        var object: [String: Any] = [
            "mode": status.mode, "height": status.height, "round": status.round, "step": status.step,
            "committedHeight": status.committedHeight, "peersLinked": status.peersLinked, "inboxWaiting": status.inboxWaiting,
            "evidence": status.evidenceCount,
            "validators": status.peers.map { peer -> [String: Any] in
                var entry: [String: Any] = ["name": peer.name, "organisation": peer.organisation, "key": peer.key, "self": peer.isSelf,
                                            "committedHeight": peer.committedHeight]
                if !peer.isSelf {
                    entry["outboundLinked"] = peer.outboundLinked
                    entry["inboundLinked"] = peer.inboundLinked
                }
                entry["apiUrl"] = peer.apiURL
                return entry
            },
        ]
        object["halted"] = status.halted
        return object
    }
}

extension Router {
    /// `GET /v1/consensus`: the height being decided, round, step, committed height, each validator's links,
    /// announced API URL and known height, and the count of evidence.
    func consensusStatus() -> HTTPResponse {
        .json(200, LedgerJSON.encode(EvidenceJSON.status(currentConsensusStatus())))
    }

    /// `GET /v1/consensus/evidence`: every piece of equivocation evidence kept, oldest first.
    func consensusEvidence() -> HTTPResponse {
        let pieces = consensus?.evidence.all ?? []
        return .json(200, LedgerJSON.encode(["evidence": pieces.map { EvidenceJSON.evidence($0, genesis: service.genesis) },
                                             "count": pieces.count]))
    }

    func currentConsensusStatus() -> ConsensusStatus {
        if let consensus { return consensus.status }
        var status = ConsensusStatus(mode: "single-validator")
        let height = service.store.headHeight
        (status.height, status.committedHeight) = (height + 1, height)
        let validators = service.genesis.validators
        status.peers = validators.map { validator in
            ConsensusStatus.PeerStatus(name: validator.name, organisation: validator.organisation.value, key: validator.key.text,
                                       isSelf: validator.key == service.identity, apiURL: nil,
                                       committedHeight: validator.key == service.identity ? height : 0,
                                       outboundLinked: false, inboundLinked: false)
        }
        return status
    }

    /// A `not-custodian` problem with where to go: the custodian organisation's node URLs its peers announced
    /// (`custodianNodes`, space-separated, and the first as `location` and the `Location` header). Unchanged
    /// when none is known.
    func withCustodianLocation(_ problem: Problem) -> HTTPResponse {
        guard problem.code == "not-custodian", let custodianText = problem.extra["custodian"],
            let custodian = OrganisationID(custodianText), let urls = consensus?.directory.apiURLs(of: custodian), let first = urls.first
        else { return problem.response }
        var located = problem
        located.extra["location"] = first
        located.extra["custodianNodes"] = urls.joined(separator: " ")
        var response = located.response
        response.headers.append((name: "location", value: first))
        return response
    }
}
