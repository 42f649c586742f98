/// # healthledger
///
/// The command line of HealthLedger. Thin by design: it parses arguments, calls the libraries, and prints
/// results as text or, with `--json`, as one JSON object. The command framework is in `Framework/`, one
/// file per command in `Commands/`, and the command table in `Commands/CommandTable.swift`.

import Foundation

let tool = CommandLineTool(commands: CommandTable.all)
exit(tool.run(Array(CommandLine.arguments.dropFirst())).rawValue)
