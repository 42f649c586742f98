import Ledger
import Node

/// `healthledger practitioner enroll`: an organisation's admin enrols a practitioner.
enum PractitionerEnroll {
    static let command = Command(
        path: ["practitioner", "enroll"],
        abstract: "Enrol a practitioner with your organisation (signed by its admin key).",
        options: [
            .signingKey("The organisation's admin key (the embedded default's is admin.key in its data directory)."),
            .passphraseFile,
            .value("practitioner", "ID", required: true, help: "The practitioner's identity (hlk1...)."),
            .value("role", "ROLE", help: "The practitioner's role, such as physician or nurse (default: physician)."),
            .node,
        ],
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let session = try Online.session(invocation)
        let adminKey = try Online.signingKey(invocation)
        let practitioner = try Online.identity(invocation.requiredValue("practitioner"), option: "practitioner")
        let roleText = invocation.value("role") ?? "physician"
        guard let role = PractitionerRole(roleText) else {
            throw .badInput("--role '\(roleText)' is not a role (1-32 of a-z, 0-9, -)", "for example --role nurse")
        }
        let genesis = try Online.call(session.url) { () throws(ClientError) in try session.client.genesis() }
        guard let organisation = genesis.organisations.first(where: { $0.adminKey == Identity(publicKey: adminKey.publicKey) }) else {
            throw .badInput("this key is not the admin key of any organisation in the genesis", "sign with your organisation's admin key")
        }
        let transaction = session.signer.transaction(
            .enrollPractitioner(EnrollPractitioner(organisation: organisation.id, practitioner: practitioner, role: role)), by: adminKey)
        let answer = try Online.call(session.url) { () throws(ClientError) in try session.client.submit(transaction) }
        let height = Online.height(of: answer)
        return CommandOutput(
            text: "enrolled \(practitioner.text) as \(role) at \(organisation.id) (block \(height))",
            json: ["practitioner": .string(practitioner.text), "organisation": .string(organisation.id.value), "role": .string(role.value),
                   "transaction": .string(transaction.id.hex), "height": .number(height)])
    }
}
