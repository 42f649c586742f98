import Testing

@testable import Clinical

private func inputs(_ map: TaskFeatureMap, _ jsons: [[UInt8]]) throws -> ModelInputs {
    map.inputs(from: try ClinicalFeatureExtractor().extract(FHIR.records(jsons), asOfMs: FHIR.asOfMs))
}

@Suite struct ModelInputsTests {
    @Test func heartRowFollowsTheTaskOrderWithSources() throws {
        let result = try inputs(.heart, FHIR.heartRecords())
        #expect(result.row == [63, 1, 4, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6])
        #expect(result.missing.isEmpty)
        #expect(result.used.map(\.name) == ClinicalTask.heart.features.map(\.name))
        let age = result.used[0]
        #expect(age.source.element == "Patient.birthDate" && age.source.recordID == "r01" && age.reportedValue == "1960-06-15")
        let chestPain = result.used[2]
        #expect(chestPain.source.coding == .feature("chest-pain-type") && chestPain.reportedValue == "asymptomatic")
        #expect(chestPain.source.effectiveMs == FHIRDateTime.parseDateTime("2024-01-10T09:00:00Z"))
        let fbs = result.used[5]
        #expect(fbs.source.coding == .loinc("1558-6") && fbs.derivation == "fasting plasma glucose 150 mg/dL > 120 mg/dL")
        #expect(TaskFeatureMap.forTask(.heart) == .heart && TaskFeatureMap.forTask(.diabetes) == .diabetes)
    }

    @Test func diabetesRowFollowsTheTaskOrder() throws {
        let result = try inputs(.diabetes, FHIR.diabetesRecords())
        #expect(result.row == [6, 148, 72, 35, 94, 33.6, 0.627, 50])
        #expect(result.used.allSatisfy { $0.derivation == nil || $0.name == "Age" })
    }

    @Test func fastingGlucoseFlagIsDerivedAtOneHundredAndTwenty() throws {
        func fbs(_ jsons: [[UInt8]]) throws -> Double? { try inputs(.heart, jsons).row[5] }
        #expect(try fbs([FHIR.quantityObservation(.loinc("1558-6"), "120", "mg/dL")]) == 0)
        #expect(try fbs([FHIR.quantityObservation(.loinc("1558-6"), "120.5", "mg/dL")]) == 1)
        #expect(try fbs([FHIR.quantityObservation(.loinc("1558-6"), "6.7", "mmol/L")]) == 1)  // 120.7 mg/dL
        // The more recent of the flag and the glucose value wins; on equal times the glucose value.
        let olderGlucose = FHIR.quantityObservation(.loinc("1558-6"), "150", "mg/dL", effective: "2023-01-01")
        let newerFlag = FHIR.booleanObservation(.feature("fasting-glucose-over-120"), false, effective: "2024-01-01")
        #expect(try fbs([olderGlucose, newerFlag]) == 0)
        let sameTimeFlag = FHIR.booleanObservation(.feature("fasting-glucose-over-120"), false, effective: "2023-01-01")
        #expect(try fbs([olderGlucose, sameTimeFlag]) == 1)
        #expect(try fbs([]) == nil)
        #expect(try inputs(.heart, []).missing.first { $0.name == "fbs" }?.reason == .notRecorded)
    }

    @Test func pregnanciesAreZeroForAMaleWithoutACount() throws {
        let male = try inputs(.diabetes, [FHIR.patientRecord(gender: "male")])
        #expect(male.row[0] == 0)
        #expect(male.used[0].derivation == "male patient without a pregnancy count: 0")
        let female = try inputs(.diabetes, [FHIR.patientRecord(gender: "female")])
        #expect(female.row[0] == nil && female.missing[0] == MissingInput(name: "Pregnancies", reason: .notRecorded))
        let counted = try inputs(.diabetes, [FHIR.patientRecord(gender: "male"), FHIR.integerObservation(.loinc("11996-6"), "0")])
        #expect(counted.used[0].source.coding == .loinc("11996-6"))
    }

    @Test func sexIsMissingWhenGenderIsNeitherMaleNorFemale() throws {
        let other = try inputs(.heart, [FHIR.patientRecord(gender: "other")])
        #expect(other.row[1] == nil)
        #expect(other.missing.first { $0.name == "sex" }?.reason == .genderNotMaleOrFemale(recordID: "r01"))
        #expect(try inputs(.heart, [FHIR.patientRecord(gender: "female")]).row[1] == 0)
    }

    @Test func convertedValuesCarryWhatTheRecordSaid() throws {
        let result = try inputs(.heart, [FHIR.quantityObservation(.loinc("2093-3"), "5.2", "mmol/L")])
        let cholesterol = try #require(result.used.first { $0.name == "chol" })
        #expect(cholesterol.unit == "mg/dL" && cholesterol.reportedValue == "5.2" && cholesterol.reportedUnit == "mmol/L")
        #expect(cholesterol.derivation == "converted from mmol/L to mg/dL")
    }
}
