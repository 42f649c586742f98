import Foundation
import Ledger

/// The result of auditing a chain export.
public struct AuditReport: Sendable, Equatable {
    /// True when every check passed.
    public let valid: Bool
    /// The chain's height when valid; otherwise the height of the first failure (0: the export as a whole).
    public let height: UInt64
    /// Entries (events) in the blocks replayed.
    public let entryCount: UInt64
    /// Hash of the last block replayed (the genesis hash when none was): for a valid chain, its head, so two
    /// exports can be compared.
    public let headHash: SHA256Digest
    /// The first failure, when not valid.
    public let failure: VerificationFailure?
}

/// Progress of a long audit, for a progress display.
public struct AuditProgress: Sendable {
    public let height: UInt64
    public let entryCount: UInt64
    public let bytesRead: UInt64
    public let fileSize: UInt64
}

/// Verifies a chain export offline against a genesis, trusting nothing else. Streams the file (one block in
/// memory at a time), replays the consent state in memory (it grows with grants and records, not with the
/// chain's length), and checks signatures on `signatureThreads` threads.
public enum ChainAudit {
    /// Signatures handed to a worker at a time.
    static let batchSize = 512

    /// Audits the export at `path`. Throws only when the file cannot be read at all; everything wrong with
    /// its contents is reported in the `AuditReport`, with the first bad height.
    public static func verify(
        exportAt path: String, genesis: Genesis, signatureThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
        progressEvery: UInt64 = 1_000, progress: ((AuditProgress) -> Void)? = nil
    ) throws(StorageError) -> AuditReport {
        var verifier = ChainVerifier(genesis: genesis, state: MemoryLedgerState(transactionMaxAgeMs: genesis.consensus.transactionMaxAgeMs))
        let workers = SignatureWorkers(threadCount: max(1, signatureThreads))
        var structuralFailure: VerificationFailure?
        do {
            try run(&verifier, path: path, workers: workers, progressEvery: progressEvery, progress: progress)
        } catch let failure as VerificationFailure {
            structuralFailure = failure
        } catch let error as DecodingError {
            structuralFailure = VerificationFailure(height: verifier.height + 1, reason: .undecodable(error))
        } catch {
            _ = workers.finish()
            throw StorageError.wrap(error)
        }
        let signatureFailure = workers.finish()
        let failure = [structuralFailure, signatureFailure].compactMap { $0 }.min { $0.height < $1.height }
        return report(verifier, failure: failure)
    }

    private static func run<State>(
        _ verifier: inout ChainVerifier<State>, path: String, workers: SignatureWorkers,
        progressEvery: UInt64, progress: ((AuditProgress) -> Void)?
    ) throws {
        let reader = try ExportReader(path: path)
        guard reader.chainID == verifier.genesis.chainID else {
            throw VerificationFailure(height: 0, reason: .wrongChain(reader.chainID))
        }
        guard reader.genesisHash == verifier.genesis.hash else {
            throw VerificationFailure(height: 0, reason: .exportMismatch("the export was made for another genesis"))
        }
        var batch: [SignatureCheck] = []
        batch.reserveCapacity(batchSize * 2)
        while let bytes = try reader.nextBlock(height: verifier.height + 1) {
            if let failed = workers.firstFailureHeight, failed <= verifier.height { break }
            let committed: CommittedBlock
            do {
                committed = try CommittedBlock(canonicalBytes: bytes)
            } catch {
                throw VerificationFailure(height: verifier.height + 1, reason: .undecodable(error))
            }
            batch += try verifier.append(committed)
            if batch.count >= batchSize {
                workers.submit(batch)
                batch.removeAll(keepingCapacity: true)
            }
            if let progress, verifier.height % progressEvery == 0 {
                progress(AuditProgress(height: verifier.height, entryCount: verifier.entryCount,
                                       bytesRead: reader.bytesRead, fileSize: reader.fileSize))
            }
        }
        workers.submit(batch)
        if let summary = reader.summary {
            try checkTrailer(summary, verifier: verifier)
        }
    }

    private static func checkTrailer<State>(_ summary: ExportSummary, verifier: ChainVerifier<State>) throws {
        guard summary.blockCount == verifier.height, summary.entryCount == verifier.entryCount,
            summary.headHash == verifier.headHash
        else {
            throw VerificationFailure(height: 0, reason: .exportMismatch(
                "the export's trailer (\(summary.blockCount) blocks, \(summary.entryCount) entries) does not match its contents"))
        }
    }

    private static func report<State>(_ verifier: ChainVerifier<State>, failure: VerificationFailure?) -> AuditReport {
        AuditReport(valid: failure == nil, height: failure?.height ?? verifier.height, entryCount: verifier.entryCount,
                    headHash: verifier.headHash, failure: failure)
    }
}
