import Clinical
import Foundation

/// `healthledger model train`: fits a clinical risk model to a CSV file, measures the procedure by
/// cross-validation, and writes the model file.
enum ModelTrain {
    static let command = Command(
        path: ["model", "train"],
        abstract: "Train a clinical risk model from a CSV file and write the model file.",
        options: [
            .value("task", "TASK", required: true, help: "heart (Cleveland columns, num > 0) or diabetes (Pima columns, Outcome)."),
            .value("data", "CSV", required: true, help: "The training rows (a header line, then one row per line)."),
            .value("out", "MODEL", required: true, help: "Where to write the model file (JSON)."),
            .value("id", "ID", help: "Model id and version recorded in the file, such as heart-v2 (default: TASK-local)."),
            .value("folds", "N", help: "Folds of the cross-validation that measures the procedure, 2-100 (default 10)."),
            .value("seed", "N", help: "Seed of the stratified fold assignment (default 1)."),
            .value("l2", "X", help: "L2 penalty of the logistic regression (default: 10 for heart, 1 for diabetes)."),
            .flag("force", help: "Replace the --out file if it exists."),
        ],
        discussion: """
            The procedure: a missing input (written ?, NaN or empty; in the Pima columns Glucose, BloodPressure,
            SkinThickness, Insulin and BMI a zero too) is replaced by the median of the training rows; coded
            categories are one-hot encoded; every input is standardised with the training mean and deviation;
            an L2-regularised logistic regression is fitted by Newton's method.

            The figures printed are those of stratified cross-validation with every step refitted inside each
            fold: each row is predicted by a model that never saw it. The model written is then fitted on all
            rows. The file records its id, the SHA-256 of the data file, the cross-validated figures and its own
            content hash. Decision support, not a diagnosis: see docs/MODEL-CARD.md.
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let (taskName, task) = try ClinicalInputs.task(invocation)
        let modelID = invocation.value("id") ?? "\(taskName)-local"
        guard ClinicalModelFile.isValidModelID(modelID) else {
            throw invocation.usageError("--id '\(modelID.prefix(40))' is not 1-64 characters of a-z, 0-9, '.', '-' starting with a letter or digit")
        }
        let folds = try ClinicalInputs.folds(invocation)
        let seed = try ClinicalInputs.seed(invocation)
        let l2 = try ClinicalInputs.l2(invocation, task: task)
        let out = invocation.requiredValue("out")
        let overwrite = invocation.flag("force")
        if !overwrite, FileManager.default.fileExists(atPath: out) { throw InputFiles.alreadyExists(out) }

        let data = try ClinicalInputs.loadData(invocation.requiredValue("data"), task: task)
        try ClinicalInputs.checkCrossValidation(data, folds: folds)
        let trained: (model: ClinicalModelFile, cv: CrossValidationResult)
        let bytes: [UInt8]
        do {
            trained = try ClinicalTrainer.train(data.dataset, trainingDataSHA256: data.sha256, folds: folds, seed: seed,
                                                l2: l2, modelID: modelID, hash: ClinicalInputs.sha256Hex)
            bytes = try trained.model.encoded() + [UInt8(ascii: "\n")]
        } catch ClinicalModelError.nonFiniteValue {
            throw .badInput("training on \(data.path) gave a model with NaN or infinite values",
                            "check the data for extreme values (a value beyond about 1e150 overflows)")
        } catch {
            throw .failure("training on \(data.path) failed: \(error)", "report this")
        }
        try InputFiles.write(bytes, to: out, overwrite: overwrite)
        return output(trained.model, cv: trained.cv, data: data, taskName: taskName, out: out)
    }

    private static func output(_ model: ClinicalModelFile, cv: CrossValidationResult, data: ClinicalInputs.DataFile,
                               taskName: String, out: String) -> CommandOutput {
        let hash = model.contentHash ?? ""
        let imputed = data.dataset.missingInputCounts
        let text = """
            model \(model.modelID) (\(taskName)) written to \(out)
            content hash    \(hash)
            training data   \(data.path), \(data.dataset.rows.count) rows, sha256 \(data.sha256)
            \(cv.folds)-fold stratified cross-validation of the procedure (L2 \(model.l2)), seed \(model.crossValidation.seed), out-of-fold predictions:
            \(ClinicalReport.metricsText(cv.pooled))
            \(ClinicalReport.imputedText(imputed, rule: "median of the training rows, fitted per fold"))
            \(ClinicalReport.calibrationText(cv.calibration))
            """
        let members: [JSONValue.Member] = [
            ClinicalReport.member("model_id", .string(model.modelID)),
            ClinicalReport.member("model_hash", .string(hash)),
            ClinicalReport.member("task", .string(taskName)),
            ClinicalReport.member("out", .string(out)),
            ClinicalReport.member("data", .string(data.path)),
            ClinicalReport.member("data_sha256", .string(data.sha256)),
            ClinicalReport.member("evaluation", .string("cross_validation")),
            ClinicalReport.member("folds", .number(UInt64(cv.folds))),
            ClinicalReport.member("seed", .number(model.crossValidation.seed)),
            ClinicalReport.member("l2", .decimal(model.l2)),
        ] + ClinicalReport.metricsMembers(cv.pooled) + [
            ClinicalReport.member("imputed", ClinicalReport.imputedJSON(imputed)),
            ClinicalReport.member("calibration", ClinicalReport.calibrationJSON(cv.calibration)),
        ]
        return CommandOutput(text: text, json: .object(members))
    }
}
