/// Every command `healthledger` knows, in the order `healthledger --help` lists them. To add a command,
/// write it in a file of its own (see `Command`) and add it here; groups and help follow from the paths.
enum CommandTable {
    static let all: [Command] = [
        KeyNew.command,
        KeyShow.command,
        GenesisInit.command,
        GenesisShow.command,
        NodeCommand.command,
        ConsensusStatusCommand.command,
        PractitionerEnroll.command,
        RecordPut.command,
        RecordGet.command,
        Diagnose.command,
        Plan.command,
        ConsentGrant.command,
        ConsentRevoke.command,
        ConsentList.command,
        AccessLog.command,
        ChainExport.command,
        AuditVerify.command,
        ModelTrain.command,
        ModelEvaluate.command,
    ]
}
