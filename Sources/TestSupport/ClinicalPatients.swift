/// Realistic FHIR R4 record sets of one patient for the clinical services (docs/CLINICAL-FEATURES.md): a
/// `Patient` and the `Observation`s with the LOINC and project codes the feature extractor reads, as a
/// clinician would store them through `POST /v1/records`. The resources name no patient: the vault fills in
/// the patient the submission names. Values vary with a seed, within the ranges of the training data, so
/// the benchmark's patients differ and every run of a test gets the same records.
public enum ClinicalPatients {
    /// The code system of the project's feature codes.
    public static let featureSystem = "https://healthledger.example/fhir/CodeSystem/feature"

    /// Every heart-disease input measured: a Patient (birth date, sex) and 11 Observations.
    /// `note`, when given, is put into every Observation's free-text note (tests look for it in logs).
    public static func heart(seed: UInt64, note: String? = nil) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        let chestPain = ["typical-angina", "atypical-angina", "non-anginal-pain", "asymptomatic"]
        let ecg = ["normal", "st-t-wave-abnormality", "left-ventricular-hypertrophy"]
        let slope = ["upsloping", "flat", "downsloping"]
        let thal = ["normal", "fixed-defect", "reversible-defect"]
        return [
            patient(birthDate: "19\(Int.random(in: 40...70, using: &random))-0\(Int.random(in: 1...9, using: &random))-14",
                    gender: Bool.random(using: &random) ? "male" : "female"),
            coded("chest-pain-type", chestPain.randomElement(using: &random)!, note: note),
            quantity(loinc("8480-6"), Int.random(in: 105...170, using: &random), "mm[Hg]", note: note),
            quantity(loinc("2093-3"), Int.random(in: 170...320, using: &random), "mg/dL", note: note),
            quantity(loinc("1558-6"), Int.random(in: 80...160, using: &random), "mg/dL", note: note),
            coded("resting-ecg", ecg.randomElement(using: &random)!, note: note),
            quantity(loinc("55422-0"), Int.random(in: 110...185, using: &random), "/min", note: note),
            observation(feature("exercise-induced-angina"), "\"valueBoolean\":\(Bool.random(using: &random))", note: note),
            observation(feature("st-depression-exercise"),
                        "\"valueQuantity\":{\"value\":\(Int.random(in: 0...35, using: &random)).\(Int.random(in: 0...9, using: &random)),"
                            + "\"unit\":\"mm\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm\"}", note: note),
            coded("st-slope-peak-exercise", slope.randomElement(using: &random)!, note: note),
            observation(feature("major-vessels-fluoroscopy"), "\"valueInteger\":\(Int.random(in: 0...3, using: &random))", note: note),
            coded("thallium-stress-result", thal.randomElement(using: &random)!, note: note),
        ]
    }

    /// Every diabetes input measured for a woman aged 25 to 60, plus what the care plan reads: haemoglobin
    /// A1c, fasting glucose and a blood-pressure panel (systolic and diastolic).
    public static func diabetes(seed: UInt64, note: String? = nil) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        return [
            patient(birthDate: "19\(Int.random(in: 66...99, using: &random))-1\(Int.random(in: 0...2, using: &random))-03", gender: "female"),
            observation(loinc("11996-6"), "\"valueInteger\":\(Int.random(in: 0...8, using: &random))", note: note),
            quantity(loinc("1518-0"), Int.random(in: 95...210, using: &random), "mg/dL", note: note),
            quantity(feature("triceps-skinfold"), Int.random(in: 12...45, using: &random), "mm", note: note),
            quantity(feature("insulin-2h-ogtt"), Int.random(in: 40...300, using: &random), "u[IU]/mL", note: note),
            observation(loinc("39156-5"), "\"valueQuantity\":{\"value\":\(Int.random(in: 21...42, using: &random)).\(Int.random(in: 0...9, using: &random)),"
                            + "\"unit\":\"kg/m2\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg/m2\"}", note: note),
            observation(feature("diabetes-pedigree-function"),
                        "\"valueQuantity\":{\"value\":0.\(Int.random(in: 100...999, using: &random)),\"unit\":\"1\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"1\"}",
                        note: note),
            observation(loinc("4548-4"), "\"valueQuantity\":{\"value\":\(Int.random(in: 5...7, using: &random)).\(Int.random(in: 0...9, using: &random)),"
                            + "\"unit\":\"%\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"%\"}", note: note),
            quantity(loinc("1558-6"), Int.random(in: 85...135, using: &random), "mg/dL", note: note),
            bloodPressurePanel(systolic: Int.random(in: 110...150, using: &random), diastolic: Int.random(in: 65...95, using: &random), note: note),
        ]
    }

    /// A patient with a birth date, a sex and one blood pressure: too few measured inputs for a diagnosis
    /// (heart needs the chest pain type and 9 of 13 inputs) or for the diabetes model (it needs the 2-hour
    /// glucose and BMI); the care plan still runs on it (it needs only the age).
    public static func sparse(note: String? = nil) -> [[UInt8]] {
        [patient(birthDate: "1958-04-21", gender: "male"), quantity(loinc("8480-6"), 152, "mm[Hg]", note: note)]
    }

    /// A patient resource with no birth date: not even the care plan can run.
    public static func withoutBirthDate() -> [[UInt8]] {
        [Array(#"{"resourceType":"Patient","gender":"female"}"#.utf8)]
    }

    // MARK: Builders

    /// When every Observation was measured (before any test's block time).
    static let effective = "2026-03-10T09:30:00Z"

    static func loinc(_ code: String) -> String { #"{"system":"http://loinc.org","code":"\#(code)"}"# }

    static func feature(_ code: String) -> String { #"{"system":"\#(featureSystem)","code":"\#(code)"}"# }

    static func patient(birthDate: String, gender: String) -> [UInt8] {
        Array(#"{"resourceType":"Patient","birthDate":"\#(birthDate)","gender":"\#(gender)"}"#.utf8)
    }

    static func observation(_ coding: String, _ value: String, note: String?) -> [UInt8] {
        let noteMember = note.map { #","note":[{"text":"\#($0)"}]"# } ?? ""
        return Array(("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[\(coding)]},"
            + "\"effectiveDateTime\":\"\(effective)\",\(value)\(noteMember)}").utf8)
    }

    static func quantity(_ coding: String, _ value: Int, _ unit: String, note: String?) -> [UInt8] {
        observation(coding, #""valueQuantity":{"value":\#(value),"unit":"\#(unit)","system":"http://unitsofmeasure.org","code":"\#(unit)"}"#, note: note)
    }

    static func coded(_ code: String, _ answer: String, note: String?) -> [UInt8] {
        observation(feature(code), #""valueCodeableConcept":{"coding":[\#(feature(answer))]}"#, note: note)
    }

    static func bloodPressurePanel(systolic: Int, diastolic: Int, note: String?) -> [UInt8] {
        func component(_ code: String, _ value: Int) -> String {
            #"{"code":{"coding":[\#(loinc(code))]},"valueQuantity":{"value":\#(value),"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}"#
        }
        return observation(loinc("85354-9"), "\"component\":[\(component("8480-6", systolic)),\(component("8462-4", diastolic))]", note: note)
    }
}
