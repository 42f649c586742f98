import Foundation
import Testing
import Ledger
import Node
import TestSupport
import Transport

/// A request that waits for its block gets the committed answer, however the block producer's steps (append
/// to the store, remove from the mempool, wake the waiters) interleave with the request's look-ups. Sequential
/// requests are the tightest case: each block is cut the moment its one request is admitted, while the request
/// thread starts looking for it; busy processors preempt it between look-ups. (A look-up that checked the store
/// before the append and the mempool after the removal used to answer "unknown": the read failed with 504 at
/// once and a waiting submission answered pending; this test found it 1 to 6 times in 600 waits.)
@Suite struct CommitWaitTests {
    @Test func everySequentialRequestSeesItsBlockOnABusyMachine() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let patient = identity(patientKey)
        let doctor = Ed25519.PrivateKey()
        let record = try node.storeObservation(about: patient, by: patientKey)
        _ = try node.grant(from: patientKey, to: .practitioner(identity(doctor)), actions: [.read])
        // Busy threads on every core, so the request thread is preempted between its look-ups now and then,
        // as on a loaded machine.
        let spinning = Spinners(count: ProcessInfo.processInfo.activeProcessorCount + 1)
        defer { spinning.stop() }
        var failures: [String] = []
        for index in 0..<300 {
            do {
                _ = try node.client.access(node.readRequest(record, of: patient, by: doctor))
                let grant = node.signer.transaction(.grantConsent(GrantConsent(grantee: .organisation(node.organisation),
                                                                               actions: AccessActions([.read]))), by: patientKey)
                let answer = try node.client.submit(grant)
                if answer["status"] as? String != "committed" { failures.append("grant \(index): \(answer)") }
            } catch {
                failures.append("request \(index): \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of 600 waits did not see their block: \(failures.prefix(3))")
    }
}

/// A waiting submission is answered by the thread that appended its block (`EarlyAnswer`), with the same
/// answer a status look-up gives afterwards, and the node counts it.
@Suite struct EarlyCommitAnswerTests {
    @Test func aWaitingSubmissionIsAnsweredByTheAppenderWithTheStoredAnswer() throws {
        let node = try TestNode()
        let patientKey = Ed25519.PrivateKey()
        let http = try HTTPTestClient(node.runtime.url).client
        for _ in 0..<5 {
            let grant = node.signer.transaction(.grantConsent(GrantConsent(grantee: .organisation(node.organisation),
                                                                           actions: AccessActions([.read]))), by: patientKey)
            let answer = try node.client.submit(grant)
            #expect(answer["status"] as? String == "committed" && answer["kind"] as? String == "GrantConsent", "\(answer)")
            let lookedUp = try http.request("GET", "/v1/transactions/\(grant.id.hex)")
            let stored = try JSONSerialization.jsonObject(with: Data(lookedUp.body)) as? [String: Any] ?? [:]
            for key in ["id", "status", "height", "position", "kind"] {
                #expect(String(describing: answer[key]) == String(describing: stored[key]), "\(key): \(answer) against \(stored)")
            }
        }
        let metrics = String(decoding: try http.request("GET", "/metrics").body, as: UTF8.self)
        let early = metrics.split(separator: "\n").first { $0.hasPrefix("healthledger_commit_waits_answered_early_total ") }
        #expect(early.flatMap { Double($0.split(separator: " ").last!) } ?? 0 >= 1, "\(early.map(String.init) ?? "no counter")")
    }
}

/// Threads that keep the processors busy until stopped.
final class Spinners: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    private let done = DispatchGroup()

    init(count: Int) {
        for _ in 0..<count {
            done.enter()
            Thread.detachNewThread { [self] in
                var x: UInt64 = 1
                while lock.withLock({ running }) {
                    for _ in 0..<10_000 { x = x &* 6_364_136_223_846_793_005 &+ 1 }
                }
                precondition(x != 0 || x == 0)
                done.leave()
            }
        }
    }

    func stop() {
        lock.withLock { running = false }
        done.wait()
    }
}
