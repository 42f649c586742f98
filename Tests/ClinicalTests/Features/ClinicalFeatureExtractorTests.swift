import Foundation
import Testing

@testable import Clinical

private let extractor = ClinicalFeatureExtractor()

private func extract(_ jsons: [[UInt8]], asOfMs: Int64 = FHIR.asOfMs) throws -> PatientSnapshot {
    try extractor.extract(FHIR.records(jsons), asOfMs: asOfMs, patient: FHIR.patient)
}

private let systolic = Coding.loinc("8480-6")

@Suite struct ClinicalFeatureExtractorTests {
    // MARK: Most recent wins

    @Test func mostRecentValueWinsWhateverTheRecordOrder() throws {
        let jsons = [
            FHIR.quantityObservation(systolic, "150", "mm[Hg]", effective: "2023-03-01T08:00:00Z"),
            FHIR.quantityObservation(systolic, "128", "mm[Hg]", effective: "2024-02-01T08:00:00+01:00"),
            FHIR.quantityObservation(systolic, "160", "mm[Hg]", effective: "2022-12-01"),
        ]
        let snapshot = try extract(jsons)
        let value = try #require(snapshot.value(of: .systolicBloodPressure))
        #expect(value.value == 128 && value.recordID == "r02")
        #expect(value.effectiveMs == FHIRDateTime.parseDateTime("2024-02-01T07:00:00Z"))
        let reversed = try extractor.extract(
            FHIR.records(jsons).reversed(), asOfMs: FHIR.asOfMs, patient: FHIR.patient)
        #expect(reversed == snapshot)
    }

    @Test func tiesGoToLaterIssuedThenGreaterRecordID() throws {
        let time = "2024-01-10T09:00:00Z"
        let byIssued = try extract([
            FHIR.quantityObservation(systolic, "121", "mm[Hg]", effective: time, issued: "2024-01-11T00:00:00Z"),
            FHIR.quantityObservation(systolic, "122", "mm[Hg]", effective: time, issued: "2024-01-10T12:00:00Z"),
            FHIR.quantityObservation(systolic, "123", "mm[Hg]", effective: time),
        ])
        #expect(byIssued.value(of: .systolicBloodPressure)?.value == 121)
        let byRecordID = try extract([
            FHIR.quantityObservation(systolic, "131", "mm[Hg]", effective: time),
            FHIR.quantityObservation(systolic, "132", "mm[Hg]", effective: time),
        ])
        #expect(byRecordID.value(of: .systolicBloodPressure)?.recordID == "r02")
    }

    @Test func timeComesFromPeriodEndThenIssued() throws {
        let period = FHIR.observation(
            systolic, ("valueQuantity", FHIR.quantity("140", "mm[Hg]")), effective: nil,
            extra: [
                "effectivePeriod": .object([
                    "start": .string("2024-03-01T08:00:00Z"), "end": .string("2024-03-01T09:00:00Z"),
                ])
            ])
        let issuedOnly = FHIR.observation(
            systolic, ("valueQuantity", FHIR.quantity("150", "mm[Hg]")), effective: nil,
            issued: "2024-02-01T00:00:00Z")
        let snapshot = try extract([period, issuedOnly])
        #expect(snapshot.value(of: .systolicBloodPressure)?.value == 140)
        #expect(
            snapshot.value(of: .systolicBloodPressure)?.effectiveMs == FHIRDateTime.parseDateTime("2024-03-01T09:00:00Z"))
        let untimed = FHIR.observation(systolic, ("valueQuantity", FHIR.quantity("150", "mm[Hg]")), effective: nil)
        let badTime = FHIR.quantityObservation(systolic, "150", "mm[Hg]", effective: "yesterday")
        let refused = try extract([untimed, badTime])
        #expect(refused.value(of: .systolicBloodPressure) == nil)
        #expect(refused.refusedObservations.map(\.problem) == [.noTime, .invalidTime])
    }

    @Test func onlyFinalAmendedOrCorrectedObservationsCount() throws {
        var jsons: [[UInt8]] = []
        for (index, status) in ["preliminary", "entered-in-error", "cancelled", "registered", "unknown"].enumerated() {
            jsons.append(
                FHIR.quantityObservation(systolic, "\(170 + index)", "mm[Hg]", effective: "2024-05-0\(index + 1)", status: status))
        }
        #expect(try extract(jsons).measurements[.systolicBloodPressure] == .unavailable(.notRecorded))
        jsons.append(FHIR.quantityObservation(systolic, "133", "mm[Hg]", effective: "2023-01-01", status: "corrected"))
        #expect(try extract(jsons).value(of: .systolicBloodPressure)?.value == 133)
    }

    @Test func observationsAfterTheAsOfTimeAreNotUsed() throws {
        let snapshot = try extract([
            FHIR.quantityObservation(systolic, "138", "mm[Hg]", effective: "2024-05-01T00:00:00Z"),
            FHIR.quantityObservation(systolic, "180", "mm[Hg]", effective: "2024-06-01T00:00:00.001Z"),
        ])
        #expect(snapshot.value(of: .systolicBloodPressure)?.value == 138)
        #expect(
            snapshot.refusedObservations
                == [RefusedObservation(recordID: "r02", measurement: .systolicBloodPressure, problem: .effectiveAfterAsOf)])
    }

    @Test func bloodPressurePanelComponentsAreRead() throws {
        let snapshot = try extract([FHIR.bloodPressurePanel(systolic: "132", diastolic: "84")])
        #expect(snapshot.value(of: .systolicBloodPressure)?.value == 132)
        #expect(snapshot.value(of: .diastolicBloodPressure)?.value == 84)
        #expect(snapshot.value(of: .diastolicBloodPressure)?.coding == .loinc("8462-4"))
    }

    // MARK: Units

    @Test func unitsAreConvertedToTheModelUnits() throws {
        let snapshot = try extract([
            FHIR.quantityObservation(.loinc("2093-3"), "5.2", "mmol/L"),
            FHIR.quantityObservation(.loinc("1558-6"), "7.0", "mmol/L"),
            FHIR.quantityObservation(.loinc("14995-5"), "11.1", "mmol/L"),
            FHIR.quantityObservation(.loinc("59261-8"), "48", "mmol/mol"),
            FHIR.quantityObservation(.feature("st-depression-exercise"), "0.15", "mV"),
            FHIR.quantityObservation(.feature("triceps-skinfold"), "2.5", "cm"),
            FHIR.quantityObservation(.feature("insulin-2h-ogtt"), "94", "m[IU]/L"),
            FHIR.quantityObservation(.loinc("55422-0"), "162", "{beats}/min"),
        ])
        func value(_ measurement: ClinicalMeasurement) -> Double? { snapshot.value(of: measurement)?.value }
        #expect(abs(value(.totalCholesterol)! - 201.084) < 1e-9)
        #expect(abs(value(.fastingGlucose)! - 126.112) < 1e-9)
        #expect(abs(value(.glucose2hOGTT)! - 199.9776) < 1e-9)
        #expect(abs(value(.hemoglobinA1c)! - 6.54304) < 1e-9)
        #expect(abs(value(.stDepressionExercise)! - 1.5) < 1e-9)
        #expect(abs(value(.tricepsSkinfold)! - 25) < 1e-9)
        #expect(value(.insulin2hOGTT) == 94 && value(.maxHeartRateExercise) == 162)
        let cholesterol = try #require(snapshot.value(of: .totalCholesterol))
        #expect(cholesterol.reportedValue == "5.2" && cholesterol.reportedUnit == "mmol/L" && cholesterol.unit == "mg/dL")
        #expect(snapshot.refusedObservations.isEmpty)
    }

    @Test func wrongUnitIsRefusedAndAnOlderValueIsNotUsedInstead() throws {
        let snapshot = try extract([
            FHIR.quantityObservation(systolic, "130", "mm[Hg]", effective: "2023-06-01"),
            FHIR.quantityObservation(systolic, "17.3", "kPa", effective: "2024-01-01"),
        ])
        #expect(snapshot.value(of: .systolicBloodPressure) == nil)
        let problem = ObservationProblem.unitNotAccepted(accepted: ["mm[Hg]"])
        #expect(
            snapshot.measurements[.systolicBloodPressure]
                == .unavailable(
                    .mostRecentRefused(
                        recordID: "r02", effectiveMs: FHIRDateTime.parseDateTime("2024-01-01")!, problem: problem)))
        #expect(
            snapshot.refusedObservations
                == [RefusedObservation(recordID: "r02", measurement: .systolicBloodPressure, problem: problem)])
    }

    @Test func quantityFormsAreChecked() throws {
        func problem(_ value: JSONValue, key: String = "valueQuantity") throws -> ObservationProblem? {
            try extract([FHIR.observation(systolic, (key, value))]).refusedObservations.first?.problem
        }
        #expect(try problem(FHIR.quantity("130", nil)) == .unitNotAccepted(accepted: ["mm[Hg]"]))
        #expect(
            try problem(
                .object([
                    "value": FHIR.number("130"), "system": .string("http://example.org/units"), "code": .string("mm[Hg]"),
                ])) == .unitSystemNotUCUM)
        #expect(
            try problem(.object(["value": FHIR.number("130"), "comparator": .string(">"), "code": .string("mm[Hg]")]))
                == .comparatorNotAccepted)
        #expect(
            try problem(.object(["code": .string("mm[Hg]")]))
                == .wrongValueType(expected: "a Quantity with a numeric value"))
        #expect(try problem(.string("130"), key: "valueString") == .wrongValueType(expected: "valueQuantity"))
        // Without `code`, the human-readable `unit` is read as UCUM.
        let unitOnly = JSONValue.object(["value": FHIR.number("130"), "unit": .string("mm[Hg]")])
        let fromUnit = try extract([FHIR.observation(systolic, ("valueQuantity", unitOnly))])
        #expect(fromUnit.value(of: .systolicBloodPressure)?.value == 130)
        // Two value[x] elements are refused.
        let twoValues = FHIR.observation(
            systolic, ("valueQuantity", FHIR.quantity("130", "mm[Hg]")), extra: ["valueInteger": FHIR.number("1")])
        #expect(try extract([twoValues]).refusedObservations.first?.problem == .severalValues)
        // No value[x] (a dataAbsentReason): not a measurement, not a refusal.
        let absent = FHIR.observation(systolic, ("dataAbsentReason", FHIR.concept([.feature("x")])))
        let absentSnapshot = try extract([absent])
        #expect(absentSnapshot.refusedObservations.isEmpty)
        #expect(absentSnapshot.measurements[.systolicBloodPressure] == .unavailable(.notRecorded))
    }

    @Test func implausibleValuesAreRefusedAtTheirBounds() throws {
        let cases: [(Coding, String, String, Bool)] = [
            (.loinc("8480-6"), "300", "mm[Hg]", true), (.loinc("8480-6"), "300.5", "mm[Hg]", false),
            (.loinc("8480-6"), "49", "mm[Hg]", false), (.loinc("2093-3"), "1000", "mg/dL", true),
            (.loinc("2093-3"), "1001", "mg/dL", false), (.loinc("1518-0"), "0", "mg/dL", false),
            (.loinc("4548-4"), "20", "%", true), (.loinc("4548-4"), "65", "%", false),
            (.loinc("39156-5"), "9.9", "kg/m2", false), (.loinc("55422-0"), "251", "/min", false),
        ]
        for (coding, value, unit, accepted) in cases {
            let snapshot = try extract([FHIR.quantityObservation(coding, value, unit)])
            let measurement = ClinicalMeasurement.identified(by: coding)!
            #expect((snapshot.value(of: measurement) != nil) == accepted, "\(coding.code) \(value)")
            if !accepted, case .quantity(let unit, _, let range) = measurement.definition.value {
                #expect(snapshot.refusedObservations.first?.problem == .valueOutOfRange(range: range, unit: unit))
            }
        }
    }

    // MARK: Categories, flags, counts

    @Test func categoriesComeFromCodesOrIntegers() throws {
        let snapshot = try extract([
            FHIR.codeObservation(.feature("chest-pain-type"), "asymptomatic"),
            FHIR.integerObservation(.feature("thallium-stress-result"), "7"),
            FHIR.integerObservation(.feature("resting-ecg"), "1"),
        ])
        #expect(snapshot.value(of: .chestPainType)?.value == 4)
        #expect(snapshot.value(of: .chestPainType)?.reportedValue == "asymptomatic")
        #expect(snapshot.value(of: .thalliumStressResult)?.value == 7)
        #expect(snapshot.value(of: .restingECG)?.value == 1)
        let refused = try extract([
            FHIR.codeObservation(.feature("chest-pain-type"), "crushing"),
            FHIR.integerObservation(.feature("thallium-stress-result"), "5"),
            FHIR.integerObservation(.feature("resting-ecg"), "1.0"),
            FHIR.observation(.feature("st-slope-peak-exercise"), ("valueString", .string("flat"))),
        ]).refusedObservations.map(\.problem)
        #expect(refused.count == 4)
        #expect(
            refused[0]
                == .categoryNotRecognised(accepted: [
                    "1 (typical-angina)", "2 (atypical-angina)", "3 (non-anginal-pain)", "4 (asymptomatic)",
                ]))
        #expect(refused[1] == .categoryNotRecognised(accepted: ["3 (normal)", "6 (fixed-defect)", "7 (reversible-defect)"]))
        #expect(refused[2] == .notAWholeNumber)
        #expect(refused[3] == .wrongValueType(expected: "valueInteger or valueCodeableConcept"))
    }

    @Test func flagsAndCountsAreChecked() throws {
        let snapshot = try extract([
            FHIR.booleanObservation(.feature("exercise-induced-angina"), true),
            FHIR.integerObservation(.feature("fasting-glucose-over-120"), "0"),
            FHIR.integerObservation(.loinc("11996-6"), "3"),
            FHIR.observation(.feature("major-vessels-fluoroscopy"), ("valueQuantity", FHIR.quantity("2", "{#}"))),
        ])
        #expect(snapshot.value(of: .exerciseInducedAngina)?.value == 1)
        #expect(snapshot.value(of: .fastingGlucoseOver120)?.value == 0)
        #expect(snapshot.value(of: .pregnancies)?.value == 3)
        #expect(snapshot.value(of: .majorVesselsFluoroscopy)?.value == 2)
        let refused = try extract([
            FHIR.integerObservation(.feature("exercise-induced-angina"), "2"),
            FHIR.integerObservation(.loinc("11996-6"), "31"),
            FHIR.integerObservation(.feature("major-vessels-fluoroscopy"), "1.5"),
            FHIR.observation(.feature("fasting-glucose-over-120"), ("valueString", .string("yes"))),
        ]).refusedObservations.map(\.problem)
        #expect(
            refused == [
                .valueOutOfRange(range: 0...1, unit: "{yes=1}"), .valueOutOfRange(range: 0...30, unit: "{#}"),
                .notAWholeNumber, .wrongValueType(expected: "valueBoolean or valueInteger"),
            ])
    }

    // MARK: Patient

    @Test func ageIsWholeYearsAtTheAsOfTime() throws {
        let dayBefore = FHIRDateTime.parseDateTime("2024-06-14T23:59:59Z")!
        let birthday = FHIRDateTime.parseDateTime("2024-06-15T00:00:00Z")!
        let patient = FHIR.patientRecord(birthDate: "1960-06-15", gender: "female")
        #expect(try extract([patient], asOfMs: dayBefore).age.value?.value.years == 63)
        #expect(try extract([patient], asOfMs: birthday).age.value?.value.years == 64)
        #expect(try extract([patient], asOfMs: birthday).gender.value?.value == .female)
        #expect(try extract([patient], asOfMs: birthday).age.value?.recordID == "r01")
        // A year-only birth date counts from 1 January.
        let yearOnly = FHIR.patientRecord(birthDate: "1960", gender: "male")
        #expect(try extract([yearOnly], asOfMs: dayBefore).age.value?.value.years == 64)
    }

    @Test func patientElementsMustBeValidAndAgree() throws {
        let conflicting = try extract([
            FHIR.patientRecord(birthDate: "1960-06-15", gender: "male"),
            FHIR.patientRecord(birthDate: "1961-06-15", gender: "male"),
        ])
        #expect(conflicting.age == .unavailable(.conflictingPatientRecords(element: "Patient.birthDate")))
        #expect(conflicting.gender.value?.value == .male)
        let agreeing = try extract([
            FHIR.patientRecord(birthDate: "1960-06-15", gender: nil),
            FHIR.patientRecord(birthDate: "1960-06-15", gender: "female"),
        ])
        #expect(agreeing.age.value?.value.years == 63 && agreeing.gender.value?.recordID == "r02")
        let invalid = try extract([FHIR.patientRecord(birthDate: "15/06/1960", gender: "M")])
        #expect(invalid.age == .unavailable(.invalidPatientElement(recordID: "r01", element: "Patient.birthDate")))
        #expect(invalid.gender == .unavailable(.invalidPatientElement(recordID: "r01", element: "Patient.gender")))
        let future = try extract([FHIR.patientRecord(birthDate: "2025-01-01")])
        #expect(future.age == .unavailable(.invalidPatientElement(recordID: "r01", element: "Patient.birthDate")))
        let ancient = try extract([FHIR.patientRecord(birthDate: "1900-01-01")])
        #expect(ancient.age.value == nil)
        #expect(try extract([]).age == .unavailable(.notRecorded))
    }

    @Test func asianAncestryComesFromUSCoreRace() throws {
        #expect(try extract([FHIR.patientRecord(asian: true)]).asianAncestryRecordID == "r01")
        #expect(try extract([FHIR.patientRecord(asian: false)]).asianAncestryRecordID == nil)
    }

    // MARK: Refusing the whole request

    @Test func recordsAboutAnotherPatientRefuseTheRequest() throws {
        let foreignObservation = FHIR.observation(
            systolic, ("valueQuantity", FHIR.quantity("130", "mm[Hg]")), subject: FHIR.subject(FHIR.otherPatient))
        #expect(throws: ClinicalServiceError.recordForOtherPatient(recordID: "r02")) {
            try extract([FHIR.patientRecord(), foreignObservation])
        }
        #expect(throws: ClinicalServiceError.recordForOtherPatient(recordID: "r01")) {
            try extract([FHIR.patientRecord(identifier: FHIR.otherPatient)])
        }
        // Without an expected patient the check is off.
        let unchecked = try extractor.extract(FHIR.records([foreignObservation]), asOfMs: FHIR.asOfMs)
        #expect(unchecked.value(of: .systolicBloodPressure) != nil)
    }

    @Test func batchLimitsAndRecordIDsAreChecked() {
        let small = ClinicalFeatureExtractor(
            limits: ExtractionLimits(maxRecords: 2, maxTotalBytes: 100, record: .record))
        let record = ClinicalRecord(id: "a", json: Array("{}".utf8))
        #expect(throws: ClinicalServiceError.tooManyRecords(count: 3, limit: 2)) {
            try small.extract([record, record, record], asOfMs: 0)
        }
        #expect(throws: ClinicalServiceError.recordsTooLarge(byteCount: 101, limit: 100)) {
            try small.extract([ClinicalRecord(id: "a", json: [UInt8](repeating: 0x20, count: 101))], asOfMs: 0)
        }
        for id in ["", "has space", String(repeating: "x", count: 129), "é"] {
            #expect(throws: ClinicalServiceError.invalidRecordID(index: 0)) {
                try extractor.extract([ClinicalRecord(id: id, json: Array("{}".utf8))], asOfMs: 0)
            }
        }
        #expect(throws: ClinicalServiceError.duplicateRecordID(index: 1)) {
            try extractor.extract([record, record], asOfMs: 0)
        }
        #expect(throws: ClinicalServiceError.invalidAsOf) { try extractor.extract([], asOfMs: -1) }
        #expect(throws: ClinicalServiceError.invalidAsOf) {
            try extractor.extract([], asOfMs: ClinicalFeatureExtractor.maxAsOfMs + 1)
        }
    }

    // MARK: Odd input

    @Test func unreadableRecordsAreListedAndTheRestIsRead() throws {
        let garbage: [[UInt8]] = [
            [], Array("[]".utf8), Array("{".utf8), Array(String(repeating: "[", count: 5000).utf8), [0xFF, 0xFE],
            Array("{\"resourceType\":\"Observation\",\"resourceType\":\"Patient\"}".utf8), Array("1e999".utf8),
            Array("{\"resourceType\": 7}".utf8), Array("{\"resourceType\":\"Observation\",\"code\":[],\"status\":1}".utf8),
        ]
        let snapshot = try extract(garbage + [FHIR.quantityObservation(systolic, "128", "mm[Hg]")])
        #expect(snapshot.value(of: .systolicBloodPressure)?.value == 128)
        #expect(snapshot.unreadableRecords.map(\.recordID) == ["r01", "r02", "r03", "r04", "r05", "r06", "r07"])
        #expect(snapshot.unreadableRecords[1].reason == "record is not a JSON object")
        #expect(snapshot.unreadableRecords[3].reason == "record nests objects and arrays deeper than 64 levels")
    }

    /// Every byte of valid records replaced, one at a time, by values a fuzzer favours: the extractor never
    /// crashes, and each record ends up read or listed as unreadable.
    @Test func mutatedRecordsNeverCrashTheExtractor() throws {
        let originals = FHIR.heartRecords() + [FHIR.bloodPressurePanel(systolic: "132", diastolic: "84")]
        let replacements: [UInt8] = [0x00, 0x22, 0x2C, 0x30, 0x39, 0x5B, 0x5D, 0x7B, 0x7D, 0x2D, 0x65, 0xFF]
        var g = SeededGenerator(seed: 2024)
        var mutations = 0
        for original in originals {
            for _ in 0..<60 {
                var mutated = original
                let position = Int(g.next() % UInt64(mutated.count))
                mutated[position] = replacements[Int(g.next() % UInt64(replacements.count))]
                let snapshot = try extractor.extract([ClinicalRecord(id: "m", json: mutated)], asOfMs: FHIR.asOfMs)
                let parses = (try? JSONParser.parse(mutated).objectValue) != nil
                #expect(snapshot.unreadableRecords.isEmpty == parses)
                mutations += 1
            }
        }
        #expect(mutations == originals.count * 60)
    }
}
