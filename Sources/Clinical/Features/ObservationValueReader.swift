// Checks and converts one Observation (or component) value by its measurement's rule: the value form,
// the UCUM unit and its conversion, the plausible range, category codes.

enum ObservationValueReader {
    /// Units a count may carry in a `valueQuantity` (or none).
    static let countUnits: Set<String> = ["1", "{#}", ""]

    static func read(
        _ holder: [String: JSONValue], measurement: ClinicalMeasurement, coding: Coding, recordID: String,
        effectiveMs: Int64
    ) -> Result<MeasuredValue, ObservationProblem> {
        let valueKeys = holder.keys.filter(ObservationReader.isValueKey)
        guard valueKeys.count == 1, let key = valueKeys.first, let value = holder[key] else {
            return .failure(.severalValues)
        }
        let rule = measurement.definition.value
        let read: Result<Reading, ObservationProblem>
        switch rule {
        case let .quantity(unit, accepted, range):
            read = readQuantity(key: key, value: value, unit: unit, accepted: accepted, range: range)
        case let .count(unit, range):
            read = readCount(key: key, value: value, unit: unit, range: range)
        case .flag:
            read = readFlag(key: key, value: value)
        case .category(let levels):
            read = readCategory(key: key, value: value, levels: levels)
        }
        return read.map { reading in
            MeasuredValue(
                measurement: measurement, value: reading.value, unit: rule.unit, reportedValue: reading.reportedValue,
                reportedUnit: reading.reportedUnit, recordID: recordID, coding: coding, effectiveMs: effectiveMs)
        }
    }

    private struct Reading {
        let value: Double
        let reportedValue: String
        let reportedUnit: String?
    }

    private static func readQuantity(
        key: String, value: JSONValue, unit: String, accepted: [UnitConversion], range: ClosedRange<Double>
    ) -> Result<Reading, ObservationProblem> {
        guard key == "valueQuantity" else { return .failure(.wrongValueType(expected: "valueQuantity")) }
        switch quantity(value) {
        case .failure(let problem): return .failure(problem)
        case .success(let (number, ucum)):
            guard let conversion = accepted.first(where: { $0.ucum == ucum }) else {
                return .failure(.unitNotAccepted(accepted: accepted.map { $0.ucum.isEmpty ? "no unit" : $0.ucum }))
            }
            let converted = number.value * conversion.factor + conversion.offset
            guard range.contains(converted) else { return .failure(.valueOutOfRange(range: range, unit: unit)) }
            return .success(Reading(value: converted, reportedValue: number.text, reportedUnit: ucum.isEmpty ? nil : ucum))
        }
    }

    /// The number and UCUM code of a Quantity. The unit is `code` (or, without a code, `unit`, which must
    /// then be spelled as UCUM); `system`, when present, must be UCUM. A `comparator` is refused.
    private static func quantity(_ value: JSONValue) -> Result<(JSONNumber, String), ObservationProblem> {
        guard let object = value.objectValue, let number = object["value"]?.numberValue else {
            return .failure(.wrongValueType(expected: "a Quantity with a numeric value"))
        }
        guard object["comparator"] == nil else { return .failure(.comparatorNotAccepted) }
        if let system = object["system"], system.stringValue != CodeSystem.ucum { return .failure(.unitSystemNotUCUM) }
        let ucum = object["code"]?.stringValue ?? object["unit"]?.stringValue ?? ""
        return .success((number, ucum))
    }

    private static func readCount(key: String, value: JSONValue, unit: String, range: ClosedRange<Int>)
        -> Result<Reading, ObservationProblem>
    {
        let number: JSONNumber
        var reportedUnit: String?
        switch key {
        case "valueInteger":
            guard let integer = value.numberValue else { return .failure(.wrongValueType(expected: "an integer")) }
            guard integer.integerValue != nil else { return .failure(.notAWholeNumber) }
            number = integer
        case "valueQuantity":
            switch quantity(value) {
            case .failure(let problem): return .failure(problem)
            case .success(let (quantityNumber, ucum)):
                guard countUnits.contains(ucum) else { return .failure(.unitNotAccepted(accepted: ["1", "{#}"])) }
                number = quantityNumber
                reportedUnit = ucum.isEmpty ? nil : ucum
            }
        default:
            return .failure(.wrongValueType(expected: "valueInteger or valueQuantity"))
        }
        guard number.value == number.value.rounded(), abs(number.value) < 1e9 else { return .failure(.notAWholeNumber) }
        guard range.contains(Int(number.value)) else {
            return .failure(.valueOutOfRange(range: Double(range.lowerBound)...Double(range.upperBound), unit: unit))
        }
        return .success(Reading(value: number.value, reportedValue: number.text, reportedUnit: reportedUnit))
    }

    private static func readFlag(key: String, value: JSONValue) -> Result<Reading, ObservationProblem> {
        switch key {
        case "valueBoolean":
            guard let flag = value.boolValue else { return .failure(.wrongValueType(expected: "true or false")) }
            return .success(Reading(value: flag ? 1 : 0, reportedValue: flag ? "true" : "false", reportedUnit: nil))
        case "valueInteger":
            guard let number = value.numberValue else { return .failure(.wrongValueType(expected: "an integer")) }
            guard number.integerValue != nil else { return .failure(.notAWholeNumber) }
            guard number.value == 0 || number.value == 1 else {
                return .failure(.valueOutOfRange(range: 0...1, unit: "{yes=1}"))
            }
            return .success(Reading(value: number.value, reportedValue: number.text, reportedUnit: nil))
        default:
            return .failure(.wrongValueType(expected: "valueBoolean or valueInteger"))
        }
    }

    private static func readCategory(key: String, value: JSONValue, levels: [CategoryLevel])
        -> Result<Reading, ObservationProblem>
    {
        let accepted = levels.map { "\(Preprocessor.formatLevel($0.value)) (\($0.code))" }
        switch key {
        case "valueInteger":
            guard let number = value.numberValue else { return .failure(.wrongValueType(expected: "an integer")) }
            guard number.integerValue != nil else { return .failure(.notAWholeNumber) }
            guard levels.contains(where: { $0.value == number.value }) else {
                return .failure(.categoryNotRecognised(accepted: accepted))
            }
            return .success(Reading(value: number.value, reportedValue: number.text, reportedUnit: nil))
        case "valueCodeableConcept":
            for entry in value["coding"]?.arrayValue ?? [] where entry["system"]?.stringValue == CodeSystem.feature {
                if let code = entry["code"]?.stringValue, let level = levels.first(where: { $0.code == code }) {
                    return .success(Reading(value: level.value, reportedValue: code, reportedUnit: nil))
                }
            }
            return .failure(.categoryNotRecognised(accepted: accepted))
        default:
            return .failure(.wrongValueType(expected: "valueInteger or valueCodeableConcept"))
        }
    }
}
