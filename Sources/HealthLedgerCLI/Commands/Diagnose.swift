import Foundation
import Ledger

/// `healthledger diagnose`: the coronary heart disease risk from a patient's records, under a diagnose grant.
/// The records never leave the node: it releases the result once the access and the result event are committed.
enum Diagnose {
    static let command = Command(
        path: ["diagnose"],
        abstract: "Coronary heart disease risk from a patient's records, under a diagnose grant (exit 3 when denied).",
        options: ServiceCall.options(.diagnose),
        discussion: """
            The node commits the request; only if a grant with action 'diagnose' for you is in force at that block does it
            run the heart-v1 model over the patient's records there, as of that block's time, and commit the model and
            the hashes of the inputs and the result before it answers. Prints the probability, the risk band, the inputs
            that moved it most, what was imputed, the model and the ledger events. Decision support, not a diagnosis.

            \(ServiceCall.exitCodes)
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        switch try ServiceCall.run(.diagnose, invocation) {
        case let .refused(refusal):
            return ServiceCall.output(refusal)
        case let .released(released):
            return CommandOutput(text: ServiceReport.diagnosis(released.document) + "\n" + ServiceCall.receiptText(released.answer),
                                 json: .object(ServiceCall.receipt(released.answer)
                                     + [.init(name: "result", value: .verbatim(String(decoding: released.content, as: UTF8.self)))]))
        }
    }
}
