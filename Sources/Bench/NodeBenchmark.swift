import Foundation
import Ledger
import Node
import Storage
import TestSupport
import Transport

/// `node`: a real `healthledger node` process on loopback (issue 3). Committed transactions per second at
/// saturation and commit latency at half that rate, access-with-audit latency, the policy decision with
/// 1,000,000 grants in the node's state store, the node's peak memory, and restart time on a ledger of more
/// than 1,000,000 events; every figure also against E2 (docs/PERFORMANCE.md, "Node (issue 3)").
struct NodeBenchmark {
    struct Options {
        var baselineSeconds = 3.0
        var directory: String?
        var nodeBinary: String?
        var clients = 8
        var warmupSeconds = 3.0
        var windowSeconds = 10.0
        var latencySeconds = 10.0
        var accessSamples = 200
        var grants = 1_000_000
        var patients = 100_000
        var decisions = 20_000
        var restarts = 3
        var fastInterval = true
    }

    let options: Options

    /// Practitioners, patients with one stored record each and a grant to one practitioner, and patients who
    /// make new grants during the run: what the transaction mix draws on.
    struct Population: @unchecked Sendable {
        var practitioners: [Ed25519.PrivateKey] = []
        var readers: [(patient: Ed25519.PrivateKey, record: RecordID)] = []
        var grantors: [Ed25519.PrivateKey] = []
        var signer: RequestSigner
        var organisation: OrganisationID

        /// Readers[i] granted `read` to practitioners[i % count]; practitioners[(i + 1) % count] has no grant.
        func allowedAccess(_ index: Int) -> SignedTransaction {
            let reader = readers[index % readers.count]
            return signer.transaction(.recordAccess(RecordAccess(
                custodian: organisation, patient: Identity(publicKey: reader.patient.publicKey), action: .read,
                selector: .records([reader.record]))), by: practitioners[index % readers.count % practitioners.count])
        }

        func deniedAccess(_ index: Int) -> SignedTransaction {
            let reader = readers[index % readers.count]
            return signer.transaction(.recordAccess(RecordAccess(
                custodian: organisation, patient: Identity(publicKey: reader.patient.publicKey), action: .read, selector: .all)),
                by: practitioners[(index % readers.count + 1) % practitioners.count])
        }

        func newGrant(_ index: Int) -> SignedTransaction {
            var random = SeededRandom(seed: UInt64(index) &* 7919)
            let grantor = grantors[Int.random(in: 0..<grantors.count, using: &random)]
            let practitioner = practitioners[Int.random(in: 0..<practitioners.count, using: &random)]
            return signer.transaction(.grantConsent(GrantConsent(
                grantee: .practitioner(Identity(publicKey: practitioner.publicKey)), actions: AccessActions([.read]))), by: grantor)
        }

        /// The saturation mix: half new grants, a quarter allowed reads, a quarter denied reads.
        func mixed(_ index: Int) -> SignedTransaction {
            switch index % 4 {
            case 0, 2: return newGrant(index)
            case 1: return allowedAccess(index / 4)
            default: return deniedAccess(index / 4)
            }
        }
    }

    func run() throws -> [String: Any] {
        let (e1, e2) = Ed25519Baseline.measure(seconds: options.baselineSeconds, report: progress)
        let directory = try scratchDirectory(options.directory, prefix: "healthledger-bench-node")
        defer { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let binary = try NodeBinary.find(options.nodeBinary)
        progress("node binary: \(binary); scratch: \(directory)")

        var result: [String: Any] = ["ed25519_verify_per_s_1t": Int(e1), "ed25519_verify_per_s_2t": Int(e2)]

        // 1. Saturation, latency at half rate, access with audit, peak memory: one node with default parameters.
        let chain = try BenchChain(path: directory + "/node-default", genesisTimeMs: wallClockMs())
        result["block_interval_ms"] = Int(chain.genesis.consensus.blockIntervalMs)
        result["block_max_entries"] = Int(chain.genesis.consensus.blockMaxEntries)
        let node = try NodeProcess(binary: binary, data: chain.path, logPath: directory + "/node-default.log")
        progress("node started at \(node.url) (pid \(node.pid)), block interval \(chain.genesis.consensus.blockIntervalMs) ms")
        let population = try populate(node: node, chain: chain, readers: 200, practitioners: 100, grantors: 10_000)

        let saturation = try measureSaturation(node: node, population: population)
        result.merge(saturation) { $1 }
        let rate = saturation["node_commit_tx_per_s"] as! Double
        let latency = try measureCommitLatency(node: node, population: population, rate: rate / 2)
        result.merge(latency) { $1 }
        let access = try measureAccess(node: node, population: population, samples: options.accessSamples)
        result["access_audit_latency_ms_p50"] = access.p50
        result["access_audit_latency_ms_p99"] = access.p99
        result["node_peak_rss_mb"] = rounded(node.memoryMB("VmHWM") ?? .nan, 1)
        progress("node peak resident set (VmHWM, whole life of the process): \(result["node_peak_rss_mb"]!) MB")
        guard node.stop() == 0 else { throw NodeBenchError.node("did not exit cleanly after SIGTERM (see \(node.logPath))") }

        // 2. The same access measurement on a chain whose genesis cuts blocks after 1 ms instead of 100 ms.
        if options.fastInterval {
            var consensus = ConsensusParameters()
            consensus.blockIntervalMs = 1
            let fast = try BenchChain(path: directory + "/node-interval-1ms", consensus: consensus, genesisTimeMs: wallClockMs())
            let fastNode = try NodeProcess(binary: binary, data: fast.path, logPath: directory + "/node-interval-1ms.log")
            progress("second node (genesis blockIntervalMs = 1) at \(fastNode.url)")
            let fastPopulation = try populate(node: fastNode, chain: fast, readers: 20, practitioners: 10, grantors: 10)
            let fastAccess = try measureAccess(node: fastNode, population: fastPopulation, samples: options.accessSamples)
            result["access_audit_latency_ms_p50_interval_1ms"] = fastAccess.p50
            result["access_audit_latency_ms_p99_interval_1ms"] = fastAccess.p99
            fastNode.stop()
        }

        // 3. A ledger of more than 1,000,000 events, 1,000,000 of them grants: the decision and the restart.
        let big = try buildLargeLedger(directory: directory + "/node-large")
        result["policy_grants"] = big.grants
        result["restart_events"] = big.events
        result.merge(try measureDecisions(big)) { $1 }
        result.merge(try measureRestart(big, binary: binary, log: directory + "/node-large.log")) { $1 }

        // Ratios to E2: rates divided by E2; durations multiplied by E2 (how many two-thread verifications fit in them).
        let rates = ["node_commit_tx_per_s"]
        let durationsMs = ["node_commit_latency_ms_p50", "node_commit_latency_ms_p99", "access_audit_latency_ms_p50",
                           "access_audit_latency_ms_p99", "access_audit_latency_ms_p50_interval_1ms", "access_audit_latency_ms_p99_interval_1ms"]
        var ratios: [String: Any] = [:]
        for key in rates { if let value = result[key] as? Double { ratios[key] = rounded(value / e2, 3) } }
        for key in durationsMs { if let value = result[key] as? Double { ratios[key] = rounded(value / 1000 * e2, 1) } }
        if let value = result["policy_decision_us_p99"] as? Double { ratios["policy_decision_us_p99"] = rounded(value / 1e6 * e2, 3) }
        if let value = result["node_restart_s"] as? Double { ratios["node_restart_s"] = rounded(value * e2, 0) }
        result["ratios_e2"] = ratios
        result["node_commit_ratio_e2"] = ratios["node_commit_tx_per_s"]

        let commit = result["node_commit_tx_per_s"] as? Double ?? 0
        result["targets_met"] = [
            "node_commit_ge_0_6x_e2": commit >= 0.6 * e2,
            "access_audit_p50_le_5ms": (result["access_audit_latency_ms_p50"] as? Double ?? .infinity) <= 5,
            "policy_decision_p99_le_1ms": (result["policy_decision_us_p99"] as? Double ?? .infinity) <= 1_000,
            "node_peak_rss_le_300mb": (result["node_peak_rss_mb"] as? Double ?? .infinity) <= 300,
            "node_restart_le_2s": (result["node_restart_s"] as? Double ?? .infinity) <= 2,
        ]
        return result
    }

    // MARK: Setup through the API

    private func populate(node: NodeProcess, chain: BenchChain, readers readerCount: Int, practitioners practitionerCount: Int,
                          grantors grantorCount: Int) throws -> Population {
        let api = try NodeHTTP(url: node.url)
        let client = try NodeClient(url: node.url)
        let signer = RequestSigner(chainID: chain.genesis.chainID)
        var population = Population(signer: signer, organisation: chain.organisation)
        population.practitioners = parallelMap(practitionerCount) { _ in Ed25519.PrivateKey() }
        population.grantors = parallelMap(grantorCount) { _ in Ed25519.PrivateKey() }
        let readerKeys = parallelMap(readerCount) { _ in Ed25519.PrivateKey() }

        let enrolments = population.practitioners.map {
            signer.transaction(.enrollPractitioner(EnrollPractitioner(
                organisation: chain.organisation, practitioner: Identity(publicKey: $0.publicKey), role: PractitionerRole("physician")!)),
                by: chain.adminKey)
        }
        for enrolment in enrolments { _ = try client.submit(enrolment, wait: false) }
        try api.waitCommitted(enrolments.map(\.id))

        // One record per reader, stored through POST /v1/records (the node seals it and commits RegisterRecord).
        let records = Tally()
        let recordIDs = RecordIDBox(readerCount)
        let url = node.url
        let organisation = chain.organisation
        let join = startThreads(min(16, readerCount), name: "records") { thread in
            guard let client = try? NodeClient(url: url) else { records.count("error"); return }
            for index in stride(from: thread, to: readerCount, by: min(16, readerCount)) {
                let patient = readerKeys[index]
                let resource = Array("""
                    {"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},\
                    "valueQuantity":{"value":\(100 + index % 80),"unit":"mm[Hg]"}}
                    """.utf8)
                let submission = signer.submission(resource: resource, patient: Identity(publicKey: patient.publicKey),
                                                   custodian: organisation, by: patient)
                guard let answer = try? client.storeRecord(resource: resource, submission: submission),
                    let id = (answer["recordId"] as? String).flatMap(RecordID.init(hex:)), answer["status"] as? String == "committed"
                else { records.count("error"); continue }
                recordIDs.set(index, id)
            }
        }
        join()
        guard records.allCounts["error"] == nil else { throw NodeBenchError.unexpected("storing records failed: \(records.allCounts)") }
        population.readers = (0..<readerCount).map { (readerKeys[$0], recordIDs.get($0)!) }

        let grants = population.readers.enumerated().map { index, reader in
            signer.transaction(.grantConsent(GrantConsent(
                grantee: .practitioner(Identity(publicKey: population.practitioners[index % practitionerCount].publicKey)),
                actions: AccessActions([.read]))), by: reader.patient)
        }
        for grant in grants { _ = try client.submit(grant, wait: false) }
        try api.waitCommitted(grants.map(\.id))
        progress("populated: \(practitionerCount) practitioners enrolled, \(readerCount) patients with a stored record and a grant, "
            + "\(grantorCount) patients who grant during the run; height \(try api.json("/health")["height"] ?? "?")")
        return population
    }

    // MARK: Saturation

    private func measureSaturation(node: NodeProcess, population: Population) throws -> [String: Any] {
        let count = 200_000
        let batchSize = 100
        progress("signing \(count) transactions (half grants, a quarter allowed reads, a quarter denied reads) before timing, "
            + "sent in batches of \(batchSize) (POST /v1/transactions/batch)...")
        let signed = parallelMap(count) { population.mixed($0).canonicalBytes }
        let feed = Feed(batchBodies(signed, batchSize: batchSize))
        let tally = Tally()
        let url = node.url
        let join = startSaturatingClients(options.clients, urls: [url], feed: feed, tally: tally)
        let api = try NodeHTTP(url: url)
        let startedAt = nowSeconds()
        sleep(until: startedAt + options.warmupSeconds)
        let committedBefore = try api.metric("healthledger_transactions_committed_total")
        let windowStart = nowSeconds()
        let nodeCPUBefore = node.cpuSeconds
        let benchCPUBefore = cpuSecondsOfProcess("self")
        let blocksBefore = try api.metric("healthledger_blocks_committed_total")
        sleep(until: windowStart + options.windowSeconds)
        let committedAfter = try api.metric("healthledger_transactions_committed_total")
        let blocksAfter = try api.metric("healthledger_blocks_committed_total")
        let windowEnd = nowSeconds()
        let nodeCores = (node.cpuSeconds - nodeCPUBefore) / (windowEnd - windowStart)
        let benchCores = (cpuSecondsOfProcess("self") - benchCPUBefore) / (windowEnd - windowStart)
        let exhausted = feed.exhausted
        let mempool = try api.json("/health")["mempool"] as? Int ?? -1
        feed.stop()
        join()
        try api.waitIdle()
        let rate = (committedAfter - committedBefore) / (windowEnd - windowStart)
        let blocks = blocksAfter - blocksBefore
        let counts = tally.allCounts
        progress("saturation: \(Int(rate)) committed tx/s over \(rounded(windowEnd - windowStart, 1)) s after \(options.warmupSeconds) s warm-up, "
            + "\(options.clients) client connections; \(Int(blocks)) blocks (\(blocks > 0 ? Int((committedAfter - committedBefore) / blocks) : 0) entries each); "
            + "mempool at the end of the window \(mempool); client answers \(counts)")
        progress("  CPU during the window: node \(rounded(nodeCores)) cores, benchmark clients \(rounded(benchCores)) cores (of 2)")
        if exhausted { progress("WARNING: the pre-signed transactions ran out inside the window; the rate is a lower bound") }
        let errors = counts.filter { !["admitted", "batches-admitted", "busy"].contains($0.key) }
        if !errors.isEmpty { progress("WARNING: unexpected answers during saturation: \(errors)") }
        return ["node_commit_tx_per_s": rounded(rate, 0), "node_commit_window_s": rounded(windowEnd - windowStart, 2),
                "node_commit_entries_per_block": blocks > 0 ? Int((committedAfter - committedBefore) / blocks) : 0,
                "node_commit_busy_answers": counts["busy"] ?? 0,
                "node_commit_node_cpu_cores": rounded(nodeCores), "node_commit_client_cpu_cores": rounded(benchCores)]
    }

    // MARK: Commit latency at a paced rate

    /// Sends the mix at `rate` on a fixed schedule (open loop). Every `sampleEvery`-th slot is sent with
    /// `wait=true` by a sampler thread and timed from its send to the committed answer; the other slots go
    /// without waiting from two pacing threads.
    private func measureCommitLatency(node: NodeProcess, population: Population, rate: Double) throws -> [String: Any] {
        let seconds = options.latencySeconds
        let slots = Int(rate * seconds)
        let sampleEvery = max(1, Int(rate / 150))
        let samplers = 64
        progress("commit latency at \(Int(rate)) tx/s (half the saturation rate) for \(seconds) s: signing \(slots) transactions...")
        let bodies = parallelMap(slots) { transactionBody(population.mixed($0 + 1_000_000)) }
        let url = node.url
        let api = try NodeHTTP(url: url)
        let latencies = Tally()
        let lateness = Tally()
        let tally = Tally()
        let start = nowSeconds() + 0.5
        let committedBefore = try api.metric("healthledger_transactions_committed_total")
        let pacers = startThreads(2, name: "pace") { thread in
            guard let http = try? HTTPClient(baseURL: url, timeoutMs: 30_000) else { tally.count("connect-error"); return }
            for slot in stride(from: thread, to: slots, by: 2) where slot % sampleEvery != 0 {
                let due = start + Double(slot) / rate
                sleep(until: due)
                lateness.add(nowSeconds() - due)
                while true {
                    guard let response = try? http.request("POST", "/v1/transactions", headers: jsonHeaders, body: bodies[slot]) else {
                        tally.count("transport-error"); break
                    }
                    if response.status == 503 { tally.count("busy"); usleep(5_000); continue }
                    tally.count(response.status == 202 ? "admitted" : "http-\(response.status)")
                    break
                }
            }
        }
        let sampled = stride(from: 0, to: slots, by: sampleEvery).map { $0 }
        let sampling = startThreads(samplers, name: "sample") { thread in
            guard let http = try? HTTPClient(baseURL: url, timeoutMs: 60_000) else { tally.count("connect-error"); return }
            for slot in stride(from: thread, to: sampled.count, by: samplers).map({ sampled[$0] }) {
                sleep(until: start + Double(slot) / rate)
                let sent = nowSeconds()
                guard let response = try? http.request("POST", "/v1/transactions?wait=true", headers: jsonHeaders, body: bodies[slot]) else {
                    tally.count("transport-error"); continue
                }
                if response.status == 200 {
                    latencies.add((nowSeconds() - sent) * 1000)
                } else {
                    tally.count("sampled-http-\(response.status)")
                }
            }
        }
        pacers()
        sampling()
        let end = nowSeconds()
        try api.waitIdle()
        let committed = try api.metric("healthledger_transactions_committed_total") - committedBefore
        let samples = latencies.allSamples
        let late = lateness.allSamples
        let p50 = rounded(quantile(samples, 0.5), 1)
        let p99 = rounded(quantile(samples, 0.99), 1)
        progress("commit latency (send to committed answer, wait=true on 1 transaction in \(sampleEvery), \(samples.count) samples): "
            + "p50 \(p50) ms, p99 \(p99) ms; offered \(Int(Double(slots) / (end - start))) tx/s, \(Int(committed)) committed; "
            + "pacing lateness p99 \(rounded(quantile(late, 0.99) * 1000, 1)) ms; answers \(tally.allCounts)")
        return ["node_commit_latency_ms_p50": p50, "node_commit_latency_ms_p99": p99, "node_commit_latency_samples": samples.count,
                "node_commit_latency_rate_tx_per_s": Int(rate)]
    }

    // MARK: Access with audit

    private func measureAccess(node: NodeProcess, population: Population, samples: Int) throws -> (p50: Double, p99: Double) {
        let requests = (0..<samples).map { transactionBody(population.allowedAccess($0)) }
        let http = try HTTPClient(baseURL: node.url, timeoutMs: 60_000)
        var latencies: [Double] = []
        for body in requests {
            let sent = nowSeconds()
            let response = try http.request("POST", "/v1/access", headers: jsonHeaders, body: body)
            let elapsed = (nowSeconds() - sent) * 1000
            guard response.status == 200 else {
                throw NodeBenchError.unexpected("POST /v1/access answered HTTP \(response.status): \(String(decoding: response.body.prefix(300), as: UTF8.self))")
            }
            latencies.append(elapsed)
        }
        let p50 = rounded(quantile(latencies, 0.5), 2)
        let p99 = rounded(quantile(latencies, 0.99), 2)
        progress("access with audit (sequential allowed POST /v1/access, one record released, idle node, \(samples) requests): p50 \(p50) ms, p99 \(p99) ms")
        return (p50, p99)
    }

    // MARK: A large ledger

    struct LargeLedger {
        let chain: BenchChain
        let events: Int
        let grants: Int
        let practitioners: [Identity]
        let patients: [Identity]
        /// The practitioner each patient's first grant names.
        let firstGrantee: [Int]
    }

    /// Block 1 enrols 200 practitioners; then one record per patient (RegisterRecord signed by the node, as
    /// custodian); then `grants` grants in blocks of 2,000, each patient granting in turn (10 each by
    /// default), to practitioners except the fourth grant of every other patient, which names the organisation
    /// (so any enrolled practitioner may read that patient's records).
    private func buildLargeLedger(directory: String) throws -> LargeLedger {
        let chain = try BenchChain(path: directory, genesisTimeMs: wallClockMs() - 3 * 3_600_000)
        let started = nowSeconds()
        let patientCount = options.patients
        let patientKeys = parallelMap(patientCount) { _ in Ed25519.PrivateKey() }
        let practitionerKeys = parallelMap(200) { _ in Ed25519.PrivateKey() }
        let practitioners = practitionerKeys.map { Identity(publicKey: $0.publicKey) }
        let patients = patientKeys.map { Identity(publicKey: $0.publicKey) }
        let writer = try ChainWriter(chain: chain)
        nonisolated(unsafe) let signing = writer
        let organisation = chain.organisation
        try writer.commit(practitioners.map {
            writer.sign(.enrollPractitioner(EnrollPractitioner(organisation: organisation, practitioner: $0, role: PractitionerRole("physician")!)),
                        by: chain.adminKey, at: writer.nextBlockTimeMs)
        })
        let blockSize = 2_000
        for first in stride(from: 0, to: patientCount, by: blockSize) {
            let time = writer.nextBlockTimeMs
            let nodeKey = chain.nodeKey
            try writer.commit(parallelMap(min(blockSize, patientCount - first)) { offset in
                let patient = patients[first + offset]
                let body = RegisterRecord(record: RecordID(bytes: SecureRandom.bytes(count: RecordID.byteCount))!, patient: patient,
                                          custodian: organisation, type: RecordType(offset % 2 == 0 ? "Observation" : "Condition")!,
                                          commitment: SHA256.hash(SecureRandom.bytes(count: 32)), author: patient)
                return signing.sign(.registerRecord(body), by: nodeKey, at: time)
            })
        }
        progress("large ledger: \(writer.events) events (enrolments and records) in \(rounded(nowSeconds() - started, 1)) s")
        let grantCount = options.grants
        let firstGrantee = (0..<patientCount).map { ($0 * 7) % practitioners.count }
        func commitGrants(from first: Int, count: Int) throws {
            let time = writer.nextBlockTimeMs
            try writer.commit(parallelMap(count) { offset in
                let index = first + offset
                let patient = index % patientCount
                let round = index / patientCount
                let grantee: Grantee = round == 3 && patient % 2 == 0
                    ? .organisation(organisation)
                    : .practitioner(practitioners[round == 0 ? firstGrantee[patient] : (patient &* 31 &+ round &* 17) % practitioners.count])
                return signing.sign(.grantConsent(GrantConsent(grantee: grantee, actions: AccessActions([.read, .diagnose]))),
                                    by: patientKeys[patient], at: time)
            })
        }
        var granted = 0
        while granted < grantCount {
            try commitGrants(from: granted, count: min(blockSize, grantCount - granted))
            granted += min(blockSize, grantCount - granted)
            if (granted / blockSize) % 50 == 0 {
                progress("  \(writer.events) events, \(rounded(Double(writer.events) / (nowSeconds() - started), 0)) events/s (signing on 2 threads, propose, durable append)")
            }
        }
        // The worst case for opening the store: just under a full batch of ids not yet in the id index, which
        // the store reloads from the entries table when it opens, and no batch being written (a store opened
        // then writes the rest of it first, and the next opening finds the index complete). Pad with small
        // blocks of grants until that is so: with full ones a batch is always being written (it takes as many
        // appends as it has blocks, during which the next batch gathers).
        let paddingBlockSize = 100
        let worstCase = ChainStore.defaultIDIndexFlushCount - paddingBlockSize..<ChainStore.defaultIDIndexFlushCount
        while writer.store.isWritingIndexBatch || !worstCase.contains(writer.store.unindexedIDCount) {
            try commitGrants(from: granted, count: paddingBlockSize)
            granted += paddingBlockSize
        }
        progress("large ledger: \(granted) grants, \(writer.store.unindexedIDCount) ids not yet in the store's id index (the most a store reopens with is \(ChainStore.defaultIDIndexFlushCount - 1))")
        progress("large ledger: \(writer.events) events, height \(writer.store.headHeight), built in \(rounded(nowSeconds() - started, 1)) s")
        return LargeLedger(chain: chain, events: writer.events, grants: granted, practitioners: practitioners, patients: patients, firstGrantee: firstGrantee)
    }

    // MARK: Policy decision

    /// `AccessPolicy.evaluate` against the node's SQLite state store (`ChainStore`) holding the large ledger:
    /// random patients, half the requests from the practitioner the patient's first grant names (allowed), half
    /// from a random practitioner (mostly denied); selector all, so each decision also reads the patient's records.
    private func measureDecisions(_ ledger: LargeLedger) throws -> [String: Any] {
        let opened = nowSeconds()
        let store = try ChainStore(path: ledger.chain.ledgerPath, genesis: ledger.chain.genesis)
        let openSeconds = nowSeconds() - opened
        progress("ChainStore open on \(ledger.events) events: \(rounded(openSeconds * 1000, 1)) ms (the storage part of a restart)")
        let height = store.headHeight + 1
        let timeMs = store.headTimeMs + 1_000
        var random = SeededRandom(seed: 42)
        let count = options.decisions
        let requests: [(RecordAccess, Identity)] = (0..<count + 1_000).map { index in
            let patient = Int.random(in: 0..<ledger.patients.count, using: &random)
            let requester = index % 2 == 0 ? ledger.practitioners[ledger.firstGrantee[patient]]
                : ledger.practitioners[Int.random(in: 0..<ledger.practitioners.count, using: &random)]
            return (RecordAccess(custodian: ledger.chain.organisation, patient: ledger.patients[patient], action: .read, selector: .all), requester)
        }
        var allowed = 0
        var micros: [Double] = []
        micros.reserveCapacity(count)
        for (index, (request, requester)) in requests.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let decision = try AccessPolicy.evaluate(request, requester: requester, height: height, blockTimeMs: timeMs, state: store)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000
            guard index >= 1_000 else { continue }  // the first 1,000 warm the statement cache
            micros.append(elapsed)
            if decision.isAllowed { allowed += 1 }
        }
        let p50 = rounded(quantile(micros, 0.5), 1)
        let p99 = rounded(quantile(micros, 0.99), 1)
        progress("policy decision with \(ledger.grants) grants in the ChainStore: p50 \(p50) us, p99 \(p99) us, max \(rounded(micros.max() ?? 0, 1)) us "
            + "over \(count) requests (\(allowed) allowed)")
        return ["policy_decision_us_p50": p50, "policy_decision_us_p99": p99, "ledger_open_ms": rounded(openSeconds * 1000, 1)]
    }

    // MARK: Restart

    /// Starts the node once on the large ledger (it creates its vault), stops it, then times `restarts`
    /// starts from spawning the process to the first `GET /health` answer; reports the median.
    private func measureRestart(_ ledger: LargeLedger, binary: String, log: String) throws -> [String: Any] {
        let first = try NodeProcess(binary: binary, data: ledger.chain.path, logPath: log)
        let height = try NodeHTTP(url: first.url).json("/health")["height"] as? Int ?? -1
        first.stop()
        var times: [Double] = []
        var rss: [Double] = []
        for _ in 0..<options.restarts {
            let started = nowSeconds()
            let node = try NodeProcess(binary: binary, data: ledger.chain.path, logPath: log)
            let health = try NodeHTTP(url: node.url).json("/health")
            times.append(nowSeconds() - started)
            guard health["height"] as? Int == height else { throw NodeBenchError.unexpected("restarted at another height: \(health)") }
            rss.append(node.memoryMB("VmHWM") ?? .nan)
            guard node.stop() == 0 else { throw NodeBenchError.node("did not exit cleanly after SIGTERM") }
        }
        let median = rounded(quantile(times, 0.5), 3)
        progress("restart with \(ledger.events) events (height \(height)), spawn to first /health answer: median \(median) s of "
            + "\(times.map { rounded($0, 3) }) s; resident set after start \(rss.map { rounded($0, 0) }) MB")
        return ["node_restart_s": median, "node_restart_runs_s": times.map { rounded($0, 3) }, "node_restart_rss_mb": rounded(rss.max() ?? .nan, 1)]
    }
}

private final class RecordIDBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [RecordID?]

    init(_ count: Int) { ids = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ id: RecordID) { lock.withLock { ids[index] = id } }
    func get(_ index: Int) -> RecordID? { lock.withLock { ids[index] } }
}
