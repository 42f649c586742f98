import Clinical

/// `healthledger model evaluate`: cross-validates the training procedure on a CSV file (`--task`), or scores
/// a trained model, shipped or from a file, on a CSV file without retraining (`--model`).
enum ModelEvaluate {
    static let command = Command(
        path: ["model", "evaluate"],
        abstract: "Cross-validate the training procedure, or score a trained model, on a CSV file.",
        options: [
            .value("data", "CSV", required: true, help: "The rows to evaluate on (the layout of the task)."),
            .value("task", "TASK", help: "Cross-validate training for heart or diabetes on the rows."),
            .value("model", "MODEL", help: "Score this model: a shipped one (heart, diabetes, or an id such as heart-v1) or a model file."),
            .value("folds", "N", help: "With --task: number of stratified folds, 2-100 (default 10)."),
            .value("seed", "N", help: "With --task: seed of the fold assignment (default 1)."),
            .value("l2", "X", help: "With --task: L2 penalty of the logistic regression (default: 10 for heart, 1 for diabetes)."),
            .flag("predictions", help: "Also list every row: line, label, probability (out-of-fold with --task), imputed inputs."),
        ] + MetricTargets.options,
        discussion: """
            Give --task or --model. With --task, every step (imputation, encoding, standardisation, fitting) is
            refitted inside each fold and every row is predicted by a model that never saw it. With --model, the
            model is applied as it is; when the rows are the model's own training data (same SHA-256) the figures
            are in-sample and optimistic, and the output says so.

            Reports rows, positives, accuracy (threshold 0.5), ROC AUC, Brier score, a calibration table of ten
            probability bins, and which inputs were missing and imputed on how many rows. Exits 4 when a
            --min-accuracy or --min-roc-auc target is missed, 2 for a bad CSV (the line and column are named).
            """,
        run: run)

    static func run(_ invocation: Invocation) throws(CLIError) -> CommandOutput {
        let targets = try MetricTargets(invocation)
        switch (invocation.value("task"), invocation.value("model")) {
        case (nil, nil):
            throw invocation.usageError("give --task (cross-validate the training procedure) or --model (score a trained model)")
        case (.some, .some):
            throw invocation.usageError("give either --task or --model, not both")
        case (.some, nil):
            return try crossValidate(invocation, targets: targets)
        case let (nil, .some(reference)):
            for option in ["folds", "seed", "l2"] where invocation.value(option) != nil {
                throw invocation.usageError("--\(option) applies to --task only: a trained model is scored as it is")
            }
            return try score(reference, invocation, targets: targets)
        }
    }

    private static func crossValidate(_ invocation: Invocation, targets: MetricTargets) throws(CLIError) -> CommandOutput {
        let (taskName, task) = try ClinicalInputs.task(invocation)
        let folds = try ClinicalInputs.folds(invocation)
        let seed = try ClinicalInputs.seed(invocation)
        let l2 = try ClinicalInputs.l2(invocation, task: task)
        let data = try ClinicalInputs.loadData(invocation.requiredValue("data"), task: task)
        try ClinicalInputs.checkCrossValidation(data, folds: folds)
        var generator = SeededGenerator(seed: seed)
        let cv = Clinical.crossValidate(data.dataset, folds: folds, l2: l2, using: &generator)
        let dataset = data.dataset
        let imputedByRow = dataset.rows.indices.map(dataset.missingInputNames)
        let result = Result(
            heading: """
                \(taskName): \(folds)-fold stratified cross-validation of the training procedure (L2 \(l2)), seed \(seed)
                data   \(data.path), sha256 \(data.sha256)
                out-of-fold predictions (each row predicted by a model that never saw it):
                """,
            members: [
                ClinicalReport.member("evaluation", .string("cross_validation")),
                ClinicalReport.member("task", .string(taskName)),
                ClinicalReport.member("data", .string(data.path)),
                ClinicalReport.member("data_sha256", .string(data.sha256)),
                ClinicalReport.member("folds", .number(UInt64(folds))),
                ClinicalReport.member("seed", .number(seed)),
                ClinicalReport.member("l2", .decimal(l2)),
            ],
            metrics: cv.pooled, calibration: cv.calibration, imputed: dataset.missingInputCounts,
            imputedRule: "median of the training rows, fitted per fold",
            probabilities: cv.outOfFoldProbabilities, imputedByRow: imputedByRow)
        return result.output(invocation, data: data, targets: targets, what: "cross-validation of \(taskName)")
    }

    private static func score(_ reference: String, _ invocation: Invocation, targets: MetricTargets) throws(CLIError) -> CommandOutput {
        let loaded = try ClinicalInputs.loadModel(reference)
        let model = loaded.file
        let taskName = ClinicalInputs.name(of: model.task)
        let data = try ClinicalInputs.loadData(invocation.requiredValue("data"), task: model.task)
        let evaluation = model.evaluate(data.dataset)
        let inSample = data.sha256 == model.trainingDataSHA256
        let recorded = model.crossValidation
        var heading = """
            model   \(model.modelID) (\(taskName), \(loaded.isShipped ? "shipped" : loaded.source)), content hash \(model.contentHash ?? "")
            data    \(data.path), sha256 \(data.sha256)
            scored as trained, without retraining:
            """
        if inSample {
            heading = """
                note: these rows are the model's training data, so these figures are in-sample and optimistic; its \
                cross-validated figures: accuracy \(ClinicalReport.decimal(recorded.accuracy)), ROC AUC \
                \(ClinicalReport.decimal(recorded.rocAUC)), Brier \(ClinicalReport.decimal(recorded.brier))
                """ + "\n" + heading
        }
        let result = Result(
            heading: heading,
            members: [
                ClinicalReport.member("evaluation", .string("model")),
                ClinicalReport.member("model_id", .string(model.modelID)),
                ClinicalReport.member("model_hash", .string(model.contentHash ?? "")),
                ClinicalReport.member("model_source", .string(loaded.source)),
                ClinicalReport.member("task", .string(taskName)),
                ClinicalReport.member("data", .string(data.path)),
                ClinicalReport.member("data_sha256", .string(data.sha256)),
                ClinicalReport.member("in_sample", .bool(inSample)),
                ClinicalReport.member("recorded_cross_validation", .object([
                    ClinicalReport.member("folds", .number(UInt64(recorded.folds))),
                    ClinicalReport.member("seed", .number(recorded.seed)),
                    ClinicalReport.member("accuracy", .decimal(recorded.accuracy)),
                    ClinicalReport.member("roc_auc", .decimal(recorded.rocAUC)),
                    ClinicalReport.member("brier", .decimal(recorded.brier)),
                ])),
            ],
            metrics: evaluation.metrics, calibration: evaluation.calibration, imputed: evaluation.imputedInputs,
            imputedRule: "median of the model's training rows",
            probabilities: evaluation.probabilities, imputedByRow: evaluation.imputedByRow)
        return result.output(invocation, data: data, targets: targets, what: "model \(model.modelID)")
    }

    /// What both modes print: their own heading and members, then the same figures.
    private struct Result {
        let heading: String
        let members: [JSONValue.Member]
        let metrics: EvaluationMetrics
        let calibration: [CalibrationBin]
        let imputed: [ImputedInputCount]
        let imputedRule: String
        let probabilities: [Double]
        let imputedByRow: [[String]]

        func output(_ invocation: Invocation, data: ClinicalInputs.DataFile, targets: MetricTargets, what: String) -> CommandOutput {
            var textParts = [heading, ClinicalReport.metricsText(metrics), ClinicalReport.imputedText(imputed, rule: imputedRule),
                             ClinicalReport.calibrationText(calibration)]
            var json = members + ClinicalReport.metricsMembers(metrics) + [
                ClinicalReport.member("imputed", ClinicalReport.imputedJSON(imputed)),
                ClinicalReport.member("calibration", ClinicalReport.calibrationJSON(calibration)),
            ]
            if invocation.flag("predictions") {
                let lines = data.lines
                textParts.append(ClinicalReport.predictionsText(lines: lines, labels: data.dataset.labels,
                                                                probabilities: probabilities, imputed: imputedByRow))
                json.append(ClinicalReport.member("predictions", ClinicalReport.predictionsJSON(
                    lines: lines, labels: data.dataset.labels, probabilities: probabilities, imputed: imputedByRow)))
            }
            if !targets.isEmpty {
                textParts.append(targets.text(metrics))
                json.append(ClinicalReport.member("targets", targets.json(metrics)))
            }
            return CommandOutput(text: textParts.joined(separator: "\n"), json: .object(json),
                                 failure: targets.failure(metrics, what: what))
        }
    }
}
