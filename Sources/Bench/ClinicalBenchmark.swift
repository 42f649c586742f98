import Clinical
import Foundation
import Ledger
import Node
import TestSupport
import Transport

/// `clinical`: diagnose and plan requests end to end against a real `healthledger node` process on loopback,
/// the single-node default (issue 5): admission and commit of the signed access, the policy decision in its
/// block, reading and decrypting the records, feature extraction and inference, the commit of the
/// `ServiceResult`, and the answer. Sequential requests on an otherwise idle node: p50/p99 latency and
/// requests per second, each also against E2 (docs/PERFORMANCE.md, "Clinical services (issue 5)").
struct ClinicalBenchmark {
    struct Options {
        var baselineSeconds = 3.0
        var directory: String?
        var nodeBinary: String?
        var patients = 50
        var samples = 400
        var warmup = 20
    }

    let options: Options

    func run() throws -> [String: Any] {
        let (e1, e2) = Ed25519Baseline.measure(seconds: options.baselineSeconds, report: progress)
        let directory = try scratchDirectory(options.directory, prefix: "healthledger-bench-clinical")
        defer { if options.directory == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let binary = try NodeBinary.find(options.nodeBinary)
        var result: [String: Any] = ["ed25519_verify_per_s_1t": Int(e1), "ed25519_verify_per_s_2t": Int(e2)]

        let chain = try BenchChain(path: directory + "/node-clinical", genesisTimeMs: wallClockMs())
        let node = try NodeProcess(binary: binary, data: chain.path, logPath: directory + "/node-clinical.log")
        progress("node started at \(node.url) (pid \(node.pid)); binary \(binary)")
        let population = try populate(node: node, chain: chain)
        result["patients"] = options.patients
        result["records_per_patient"] = population.recordsPerPatient

        for action in [AccessAction.diagnose, .plan] {
            let measured = try measure(action, node: node, population: population)
            for (key, value) in measured { result["\(action.name)_\(key)"] = value }
        }
        result.merge(measureComputation(population)) { $1 }
        result["node_peak_rss_mb"] = rounded(node.memoryMB("VmHWM") ?? .nan, 1)
        guard node.stop() == 0 else { throw NodeBenchError.node("did not exit cleanly after SIGTERM (see \(directory)/node-clinical.log)") }

        var ratios: [String: Any] = [:]
        for action in ["diagnose", "plan"] {
            for key in ["latency_ms_p50", "latency_ms_p99"] {
                if let value = result["\(action)_\(key)"] as? Double { ratios["\(action)_\(key)"] = rounded(value / 1000 * e2, 1) }
            }
            if let value = result["\(action)_requests_per_s"] as? Double { ratios["\(action)_requests_per_s"] = rounded(value / e2, 4) }
        }
        result["ratios_e2"] = ratios
        result["targets_met"] = [
            "diagnose_p50_le_10ms": (result["diagnose_latency_ms_p50"] as? Double ?? .infinity) <= 10,
            "plan_p50_le_10ms": (result["plan_latency_ms_p50"] as? Double ?? .infinity) <= 10,
        ]
        return result
    }

    /// The patients' keys and records (as stored), and the clinician they granted diagnose and plan to.
    struct Population: Sendable {
        var signer: RequestSigner
        var organisation: OrganisationID
        var clinician: Ed25519.PrivateKey
        var patients: [Ed25519.PrivateKey] = []
        /// Each patient's resources as sent (the node stores them normalised).
        var resources: [[[UInt8]]] = []
        var recordsPerPatient: Int { resources.first?.count ?? 0 }

        func request(_ action: AccessAction, _ index: Int) -> SignedTransaction {
            let patient = Identity(publicKey: patients[index % patients.count].publicKey)
            return signer.transaction(.recordAccess(RecordAccess(custodian: organisation, patient: patient, action: action, selector: .all)),
                                      by: clinician)
        }
    }

    /// Through the API: one clinician enrolled; per patient a cardiology and a diabetes work-up
    /// (`ClinicalPatients`, seeded by the patient's index) stored by the clinician with `POST /v1/records`, and
    /// a grant of diagnose and plan to the clinician.
    private func populate(node: NodeProcess, chain: BenchChain) throws -> Population {
        let signer = RequestSigner(chainID: chain.genesis.chainID)
        let client = try NodeClient(url: node.url)
        var population = Population(signer: signer, organisation: chain.organisation, clinician: Ed25519.PrivateKey())
        _ = try client.submit(signer.transaction(.enrollPractitioner(EnrollPractitioner(
            organisation: chain.organisation, practitioner: Identity(publicKey: population.clinician.publicKey),
            role: PractitionerRole("physician")!)), by: chain.adminKey))
        population.patients = parallelMap(options.patients) { _ in Ed25519.PrivateKey() }
        population.resources = (0..<options.patients).map { index in
            ClinicalPatients.heart(seed: UInt64(index)) + ClinicalPatients.diabetes(seed: UInt64(index)).dropFirst()
        }
        let started = nowSeconds()
        let tally = Tally()
        let url = node.url
        let threads = min(8, options.patients)
        let frozen = population
        let join = startThreads(threads, name: "records") { thread in
            guard let client = try? NodeClient(url: url) else { tally.count("error"); return }
            for index in stride(from: thread, to: frozen.patients.count, by: threads) {
                let patient = Identity(publicKey: frozen.patients[index].publicKey)
                for resource in frozen.resources[index] {
                    let submission = signer.submission(resource: resource, patient: patient, custodian: frozen.organisation, by: frozen.clinician)
                    let answer = try? client.storeRecord(resource: resource, submission: submission)
                    tally.count(answer?["status"] as? String == "committed" ? "stored" : "error")
                }
            }
        }
        join()
        guard tally.allCounts["error"] == nil else { throw NodeBenchError.unexpected("storing records failed: \(tally.allCounts)") }
        let grants = population.patients.map { patient in
            signer.transaction(.grantConsent(GrantConsent(grantee: .practitioner(Identity(publicKey: population.clinician.publicKey)),
                                                          actions: AccessActions([.diagnose, .plan]))), by: patient)
        }
        for grant in grants { _ = try client.submit(grant, wait: false) }
        try NodeHTTP(url: url).waitCommitted(grants.map(\.id))
        progress("populated: \(options.patients) patients, \(tally.allCounts["stored"] ?? 0) FHIR records "
            + "(\(population.recordsPerPatient) each: Patient, 11 cardiology and 9 diabetes Observations) stored through the API, "
            + "a diagnose+plan grant each, in \(rounded(nowSeconds() - started, 1)) s")
        return population
    }

    /// Sequential requests, one patient after another, each signed before timing; the first `warmup` are
    /// not counted. Every answer must be a 200 with its committed result event.
    private func measure(_ action: AccessAction, node: NodeProcess, population: Population) throws -> [String: Any] {
        let count = options.samples + options.warmup
        let bodies = (0..<count).map { transactionBody(population.request(action, $0)) }
        let http = try HTTPClient(baseURL: node.url, timeoutMs: 60_000)
        var latencies: [Double] = []
        latencies.reserveCapacity(options.samples)
        var measuredSeconds = 0.0
        for (index, body) in bodies.enumerated() {
            let sent = nowSeconds()
            let response = try http.request("POST", "/v1/\(action.name)", headers: jsonHeaders, body: body)
            let elapsed = nowSeconds() - sent
            guard response.status == 200, String(decoding: response.body, as: UTF8.self).contains("\"resultTransaction\":\"") else {
                throw NodeBenchError.unexpected("POST /v1/\(action.name) answered HTTP \(response.status): "
                    + String(decoding: response.body.prefix(300), as: UTF8.self))
            }
            guard index >= options.warmup else { continue }
            latencies.append(elapsed * 1000)
            measuredSeconds += elapsed
        }
        let p50 = rounded(quantile(latencies, 0.5), 2)
        let p99 = rounded(quantile(latencies, 0.99), 2)
        let perSecond = rounded(Double(latencies.count) / measuredSeconds, 1)
        progress("\(action.name): \(latencies.count) sequential POST /v1/\(action.name) (after \(options.warmup) warm-up), "
            + "p50 \(p50) ms, p99 \(p99) ms, max \(rounded(latencies.max() ?? .nan, 2)) ms, \(perSecond) requests/s")
        return ["latency_ms_p50": p50, "latency_ms_p99": p99, "requests_per_s": perSecond, "samples": latencies.count]
    }

    /// The service alone, in this process (no HTTP, no ledger, no vault): feature extraction and inference over
    /// the same records, to show how much of the end-to-end time is the clinical work itself.
    private func measureComputation(_ population: Population) -> [String: Any] {
        guard let services = try? ClinicalServices.shipped() else { return [:] }
        var result: [String: Any] = [:]
        for action in [AccessAction.diagnose, .plan] {
            var micros: [Double] = []
            for index in 0..<(options.samples + options.warmup) {
                let resources = population.resources[index % population.resources.count]
                let records = resources.enumerated().map { ClinicalRecord(id: String(format: "%032x", $0.offset), json: $0.element) }
                let start = nowSeconds()
                let patient = Identity(publicKey: population.patients[index % population.patients.count].publicKey).text
                let output = services.run(action, records: records, asOfMs: Int64(wallClockMs()), patient: patient)
                let elapsed = nowSeconds() - start
                precondition(output.refusal == nil, "the benchmark's records give a result")
                if index >= options.warmup { micros.append(elapsed * 1e6) }
            }
            let p50 = rounded(quantile(micros, 0.5), 1)
            result["\(action.name)_compute_us_p50"] = p50
            progress("\(action.name) computation alone (extraction and inference, in process, \(micros.count) runs): p50 \(p50) us, "
                + "p99 \(rounded(quantile(micros, 0.99), 1)) us")
        }
        return result
    }
}
