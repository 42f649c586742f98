import Consensus
import Ledger
import Testing
import TestSupport

/// The write-ahead log: every input kind encodes and decodes strictly, and replaying the log of a height
/// into a fresh machine rebuilds exactly the state the validator had, at every point a crash could happen,
/// with owed actions that never make the signing guard refuse (no conflicting signature after a restart).
@Suite struct ConsensusReplayTests {
    /// Validator 0 driven through four rounds of height 1: it locks on block A in round 0, refuses B in
    /// round 1 (locked), times out in round 2, re-proposes A in round 3 and commits it. Its own messages are
    /// signed through the guard and delivered back; every input is logged before it is handled.
    struct Driver {
        var fixture: ConsensusFixture
        var machine: Tendermint
        var signingGuard = SigningGuard()
        var log: [[UInt8]] = []
        /// The machine after each logged input, and the guard when each record was appended.
        var statesAfter: [Tendermint] = []
        var guardsBeforeAppend: [SigningGuard] = []
        var committed: [CommittedBlock] = []
        var blockA: Block

        init() {
            fixture = ConsensusFixture()
            machine = Tendermint(configuration: fixture.configuration(own: 0))
            blockA = fixture.block(proposer: 1)
        }

        mutating func input(_ input: ConsensusInput) {
            guardsBeforeAppend.append(signingGuard)
            log.append(input.canonicalBytes)
            let actions = machine.handle(input)
            statesAfter.append(machine)
            perform(actions)
        }

        mutating func perform(_ actions: [ConsensusAction]) {
            let key = fixture.builder.validatorKey(0)
            for action in actions {
                switch action {
                case let .signVote(vote):
                    let signature = try! signingGuard.sign(vote: vote) { key.signature(for: $0) }
                    input(.vote(SignedVote(vote: vote, validatorIndex: 0, signature: signature.signature)))
                case let .signProposal(proposal, block):
                    let signature = try! signingGuard.sign(proposal: proposal) { key.signature(for: $0) }
                    input(.proposal(SignedProposal(proposal: proposal, validatorIndex: 0, signature: signature.signature, block: block),
                                    check: .accepted))
                case let .commit(block): committed.append(block)
                case .buildBlock, .checkProposal, .scheduleTimeout, .reportEvidence: break
                }
            }
        }

        mutating func votes(_ type: VoteType, round: UInt32, for block: Block?, from voters: [Int]) {
            for voter in voters { input(.vote(fixture.vote(type, round: round, for: block, by: voter))) }
        }

        mutating func run() {
            let genesis = fixture.genesis
            input(.startHeight(height: 1, previousBlockTimeMs: genesis.genesisTimeMs))
            input(.proposal(fixture.signedProposal(blockA, round: 0), check: .accepted))
            votes(.prevote, round: 0, for: blockA, from: [1, 2])
            votes(.precommit, round: 0, for: nil, from: [1, 2, 3])
            input(.timeout(Timeout(height: 1, round: 0, step: .precommit)))
            let blockB = fixture.block(proposer: 2, advanceMs: 2_000)
            input(.proposal(fixture.signedProposal(blockB, round: 1), check: .accepted))
            votes(.prevote, round: 1, for: nil, from: [1, 2, 3])
            votes(.precommit, round: 1, for: nil, from: [1, 2, 3])
            input(.timeout(Timeout(height: 1, round: 1, step: .precommit)))
            input(.timeout(Timeout(height: 1, round: 2, step: .propose)))
            votes(.prevote, round: 2, for: nil, from: [1, 2, 3])
            votes(.precommit, round: 2, for: nil, from: [1, 2, 3])
            input(.timeout(Timeout(height: 1, round: 2, step: .precommit)))
            votes(.prevote, round: 3, for: blockA, from: [1, 2])
            votes(.precommit, round: 3, for: blockA, from: [1, 2])
        }
    }

    @Test func theScenarioDecidesTheReproposedBlock() {
        var driver = Driver()
        driver.run()
        #expect(driver.committed.map(\.block) == [driver.blockA])
        #expect(driver.committed.first?.certificate.round == 3)
        #expect(driver.signingGuard.lastSigned?.round == 3 && driver.signingGuard.lastSigned?.step == .precommit)
    }

    @Test func replayingTheWholeLogRebuildsTheSameState() throws {
        var driver = Driver()
        driver.run()
        let replay = try ConsensusReplay.replay(driver.log, configuration: driver.fixture.configuration(own: 0))
        #expect(replay.machine == driver.machine)
        #expect(replay.pendingActions.commits.map(\.block) == [driver.blockA], "the commit is owed until the next height starts")
        #expect(replay.pendingActions.votes.isEmpty && replay.pendingActions.proposals.isEmpty)
    }

    /// A crash after any number of logged records: replay gives the state after that record, and every
    /// signature it still owes passes the guard as it was at any moment of that window, and as rebuilt from
    /// the log, giving the very signature already made when there was one.
    @Test func aCrashAtAnyPointReplaysToTheSameStateWithoutAConflictingSignature() throws {
        var driver = Driver()
        driver.run()
        let configuration = driver.fixture.configuration(own: 0)
        var owedSignatures = 0
        for count in 1...driver.log.count {
            let replay = try ConsensusReplay.replay(Array(driver.log.prefix(count)), configuration: configuration)
            #expect(replay.machine == driver.statesAfter[count - 1], "state after \(count) records")
            let savedGuards = [driver.guardsBeforeAppend[count - 1],
                               count < driver.log.count ? driver.guardsBeforeAppend[count] : driver.signingGuard,
                               SigningGuard.recovering(log: Array(driver.log.prefix(count)), ownIndex: 0, saved: nil, committedHeight: 0)]
            for saved in savedGuards {
                var signingGuard = saved
                for action in replay.pendingActions {
                    let key = driver.fixture.builder.validatorKey(0)
                    switch action {
                    case let .signVote(vote):
                        owedSignatures += 1
                        #expect(throws: Never.self, "after \(count) records") { try signingGuard.sign(vote: vote) { key.signature(for: $0) } }
                    case let .signProposal(proposal, _):
                        owedSignatures += 1
                        #expect(throws: Never.self, "after \(count) records") { try signingGuard.sign(proposal: proposal) { key.signature(for: $0) } }
                    default: break
                    }
                }
            }
        }
        #expect(owedSignatures > 0, "some crash points fall between a signature and its delivery")
    }

    @Test func pendingActionsAreThoseWithoutAFollowUp() throws {
        var driver = Driver()
        let genesis = driver.fixture.genesis
        driver.input(.startHeight(height: 1, previousBlockTimeMs: genesis.genesisTimeMs))
        var replay = try ConsensusReplay.replay(driver.log, configuration: driver.fixture.configuration(own: 0))
        #expect(replay.pendingActions == [.scheduleTimeout(Timeout(height: 1, round: 0, step: .propose), delayMs: 1_000)])
        driver.input(.timeout(Timeout(height: 1, round: 0, step: .propose)))
        replay = try ConsensusReplay.replay(driver.log, configuration: driver.fixture.configuration(own: 0))
        #expect(replay.pendingActions.isEmpty, "the timeout fired and the nil prevote was delivered back")
        // A log cut right after the timeout: the prevote is owed.
        replay = try ConsensusReplay.replay(Array(driver.log.prefix(2)), configuration: driver.fixture.configuration(own: 0))
        #expect(replay.pendingActions.votes.map(\.blockHash) == [nil])
    }

    @Test func theCarriedNextHeightMessagesReplayToTheSameState() throws {
        var fixture = ConsensusFixture()
        var machine = fixture.machine(own: 0).0
        let block = fixture.block(proposer: 1)
        _ = machine.handle(.proposal(fixture.signedProposal(block, round: 0), check: .accepted))
        for index in 1...3 { _ = machine.handle(.vote(fixture.vote(.precommit, round: 0, for: block, by: index))) }
        let next = Block(entries: [], height: 2, timeMs: block.header.timeMs + 1, previousHash: block.header.hash,
                                          proposer: fixture.genesis.validators[2].key, genesis: fixture.genesis)
        _ = machine.handle(.proposal(fixture.signedProposal(next, round: 0), check: nil))
        for index in [1, 3] { _ = machine.handle(.vote(fixture.vote(.prevote, round: 0, for: next, by: index, height: 2))) }
        let start = ConsensusInput.startHeight(height: 2, previousBlockTimeMs: block.header.timeMs)
        let log = [start] + machine.carriedInputs(into: 2)
        let liveActions = machine.handle(start)
        let replay = try ConsensusReplay.replay(log.map(\.canonicalBytes), configuration: fixture.configuration(own: 0))
        #expect(replay.machine == machine)
        #expect(replay.pendingActions == liveActions)
    }

    /// The log is emptied after each commit without a sync, so a crash can leave records of the height
    /// before behind (or among) the new ones: they change nothing.
    @Test func recordsOfTheHeightBeforeChangeNothing() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let previousHeight: [ConsensusInput] = [.startHeight(height: 1, previousBlockTimeMs: fixture.genesis.genesisTimeMs),
                                                .proposal(fixture.signedProposal(block, round: 0), check: .accepted),
                                                .timeout(Timeout(height: 1, round: 0, step: .propose))]
            + (1...3).map { .vote(fixture.vote(.precommit, round: 0, for: block, by: $0)) }
        let next = Block(entries: [], height: 2, timeMs: block.header.timeMs + 1, previousHash: block.header.hash,
                         proposer: fixture.genesis.validators[2].key, genesis: fixture.genesis)
        let currentHeight: [ConsensusInput] = [.startHeight(height: 2, previousBlockTimeMs: block.header.timeMs),
                                               .proposal(fixture.signedProposal(next, round: 0), check: .accepted),
                                               .vote(fixture.vote(.prevote, round: 0, for: next, by: 1, height: 2))]
        let configuration = fixture.configuration(own: 0)
        let clean = try ConsensusReplay.replay(currentHeight.map(\.canonicalBytes), configuration: configuration)
        for stale in [currentHeight + previousHeight, [currentHeight[0]] + previousHeight + currentHeight.dropFirst()] {
            let replay = try ConsensusReplay.replay(stale.map(\.canonicalBytes), configuration: configuration)
            #expect(replay.machine == clean.machine)
            #expect(replay.pendingActions == clean.pendingActions)
            let resumed = try #require(try ConsensusReplay.resuming(stale.map(\.canonicalBytes), storedHeight: 1, configuration: configuration))
            #expect(resumed.decided.isEmpty && resumed.current.machine == clean.machine)
        }
    }

    /// The log keeps the heights whose blocks the chain store may have lost (appends not on disk yet when the
    /// machine stopped): resuming gives back the blocks decided above the stored height, with their
    /// certificates, and the replay of the height in progress; nothing when the store holds every height.
    @Test func aLogOfSeveralHeightsGivesBackTheDecisionsAboveTheStore() throws {
        var driver = Driver()
        driver.run()
        let firstHeightRecords = driver.log.count
        let genesis = driver.fixture.genesis
        let next = Block(entries: [], height: 2, timeMs: driver.blockA.header.timeMs + 1, previousHash: driver.blockA.header.hash,
                         proposer: genesis.validators[2].key, genesis: genesis)
        driver.input(.startHeight(height: 2, previousBlockTimeMs: driver.blockA.header.timeMs))
        driver.input(.proposal(driver.fixture.signedProposal(next, round: 0), check: .accepted))
        driver.input(.vote(driver.fixture.vote(.prevote, round: 0, for: next, by: 1, height: 2)))
        let configuration = driver.fixture.configuration(own: 0)
        let secondHeight = try ConsensusReplay.replay(Array(driver.log[firstHeightRecords...]), configuration: configuration)

        let lost = try #require(try ConsensusReplay.resuming(driver.log, storedHeight: 0, configuration: configuration))
        #expect(lost.decided == driver.committed && lost.decided.map(\.block) == [driver.blockA])
        #expect(lost.current.machine == driver.machine && lost.current.machine == secondHeight.machine)
        #expect(lost.current.pendingActions == secondHeight.pendingActions)
        let stored = try #require(try ConsensusReplay.resuming(driver.log, storedHeight: 1, configuration: configuration))
        #expect(stored.decided.isEmpty && stored.current.machine == driver.machine)
        #expect(try ConsensusReplay.resuming(driver.log, storedHeight: 2, configuration: configuration) == nil)
        #expect(try ConsensusReplay.resuming([], storedHeight: 0, configuration: configuration) == nil)
    }

    /// A later height's start after a height the log shows undecided cannot come from this node's runtime
    /// (it moves on by deciding, or by durably storing fetched blocks, which empties the log): refused.
    @Test func aLaterHeightAfterAnUndecidedOneIsRefused() throws {
        var fixture = ConsensusFixture()
        let block = fixture.block(proposer: 1)
        let log: [ConsensusInput] = [.startHeight(height: 1, previousBlockTimeMs: fixture.genesis.genesisTimeMs),
                                     .proposal(fixture.signedProposal(block, round: 0), check: .accepted),
                                     .startHeight(height: 2, previousBlockTimeMs: block.header.timeMs)]
        #expect(throws: ReplayError.undecided(height: 1)) {
            try ConsensusReplay.resuming(log.map(\.canonicalBytes), storedHeight: 0, configuration: fixture.configuration(own: 0))
        }
    }

    @Test func everyInputKindRoundTripsAndRefusesTruncation() throws {
        var driver = Driver()
        driver.run()
        let fixture = driver.fixture
        let inputs: [ConsensusInput] = [
            .startHeight(height: 9, previousBlockTimeMs: 123),
            .proposal(fixture.signedProposal(driver.blockA, round: 0), check: nil),
            .proposal(fixture.signedProposal(driver.blockA, round: 2, validRound: 1), check: ProposalCheck(isValid: true, isTimely: false)),
            .vote(fixture.vote(.prevote, round: 5, for: nil, by: 2)),
            .timeout(Timeout(height: 3, round: 7, step: .precommit)),
            .blockBuilt(height: 1, round: 3, block: driver.blockA),
        ]
        for input in inputs {
            let bytes = input.canonicalBytes
            #expect(try ConsensusInput(canonicalBytes: bytes) == input)
            for length in 0..<bytes.count {
                #expect(throws: DecodingError.self) { try ConsensusInput(canonicalBytes: Array(bytes.prefix(length))) }
            }
            #expect(throws: DecodingError.self) { try ConsensusInput(canonicalBytes: bytes + [1]) }
        }
        var badFlag = ConsensusInput.proposal(fixture.signedProposal(driver.blockA, round: 0), check: .accepted).canonicalBytes
        badFlag[badFlag.count - 1] = 2
        #expect(throws: DecodingError.invalidValue(field: "proposal timely", reason: "flag must be 0 or 1, got 2")) {
            try ConsensusInput(canonicalBytes: badFlag)
        }
    }

    @Test func aLogThatIsDamagedOrDoesNotStartAHeightIsRefused() {
        var driver = Driver()
        driver.run()
        let configuration = driver.fixture.configuration(own: 0)
        #expect(throws: ReplayError.missingStartHeight) { try ConsensusReplay.replay(Array(driver.log.dropFirst()), configuration: configuration) }
        #expect(throws: ReplayError.missingStartHeight) { try ConsensusReplay.replay([], configuration: configuration) }
        var damaged = driver.log
        damaged[3] = Array(damaged[3].dropLast())
        #expect(throws: ReplayError.self) { try ConsensusReplay.replay(damaged, configuration: configuration) }
        do {
            _ = try ConsensusReplay.replay(damaged, configuration: configuration)
        } catch let .undecodable(index, _) {
            #expect(index == 3)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
