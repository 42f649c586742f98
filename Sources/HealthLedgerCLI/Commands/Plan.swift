import Foundation
import Ledger

/// `healthledger plan`: a type 2 diabetes care plan from a patient's records, under a plan grant. The records
/// never leave the node: it releases the plan once the access and the result event are committed.
enum Plan {
    static let command = Command(
        path: ["plan"],
        abstract: "Type 2 diabetes care plan from a patient's records, under a plan grant (exit 3 when denied).",
        options: ServiceCall.options(.plan),
        discussion: """
            The node commits the request; only if a grant with action 'plan' for you is in force at that block does it
            run the diabetes-v1 model and the guideline rules (docs/CARE-PLAN.md) over the patient's records there, as of
            that block's time, and commit the model and the hashes of the inputs and the plan before it answers. Prints
            the model's risk (or why it could not be computed), the decision path, and each item with the rule and
            guideline that chose it. Decision support, not a diagnosis.

            \(ServiceCall.exitCodes)
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        switch try ServiceCall.run(.plan, invocation) {
        case let .refused(refusal):
            return ServiceCall.output(refusal)
        case let .released(released):
            return CommandOutput(text: ServiceReport.plan(released.document) + "\n" + ServiceCall.receiptText(released.answer),
                                 json: .object(ServiceCall.receipt(released.answer)
                                     + [.init(name: "result", value: .verbatim(String(decoding: released.content, as: UTF8.self)))]))
        }
    }
}
