import Foundation

/// The JSON form of the genesis document (docs/GENESIS.md). Parsing is strict: unknown or missing fields,
/// wrong types, and invalid values are refused with the field named, because a typo in a genesis file
/// would otherwise silently create a different chain.
extension Genesis {
    /// The largest genesis file accepted.
    public static let maxJSONBytes = 1024 * 1024
    public static let formatName = "healthledger-genesis/1"

    /// Parses and validates a genesis document.
    public init(jsonBytes: [UInt8]) throws(GenesisError) {
        guard jsonBytes.count <= Self.maxJSONBytes else { throw .invalid(field: "(file)", reason: "larger than 1 MiB") }
        if let repeated = JSONKeys.firstRepeatedKey(in: jsonBytes) {
            throw .invalid(field: repeated, reason: "appears twice in one object; keep one")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(jsonBytes))
        } catch {
            throw .notJSON("check brackets, commas and quotes")
        }
        let root = try JSONFields(parsed, path: "(top level)")
        try root.allowOnly(["format", "chainId", "genesisTime", "organisations", "validators", "consensus"])
        guard try root.string("format") == Self.formatName else {
            throw .invalid(field: "format", reason: "must be \"\(Self.formatName)\"")
        }
        let chainID = try root.code("chainId", as: ChainID.self)
        let genesisTimeMs = try Timestamp.parse(try root.string("genesisTime"), field: "genesisTime")
        let organisations = try root.array("organisations").enumerated().map { (index, item) throws(GenesisError) in
            let fields = try JSONFields(item, path: "organisations[\(index)]")
            try fields.allowOnly(["id", "name", "adminKey"])
            return Organisation(id: try fields.code("id", as: OrganisationID.self), name: try fields.string("name"),
                                adminKey: try fields.identity("adminKey"))
        }
        let validators = try root.array("validators").enumerated().map { (index, item) throws(GenesisError) in
            let fields = try JSONFields(item, path: "validators[\(index)]")
            try fields.allowOnly(["name", "organisation", "key", "address", "power"])
            return Validator(name: try fields.string("name"), organisation: try fields.code("organisation", as: OrganisationID.self),
                             key: try fields.identity("key"), address: try fields.string("address"),
                             power: try fields.unsigned("power"))
        }
        let consensusFields = try JSONFields(try root.value("consensus"), path: "consensus")
        try consensusFields.allowOnly(["blockMaxEntries", "blockMaxBytes"] + ConsensusParameters.fields.map(\.name))
        var consensus = ConsensusParameters()
        consensus.blockMaxEntries = UInt32(clamping: try consensusFields.unsigned("blockMaxEntries"))
        consensus.blockMaxBytes = UInt32(clamping: try consensusFields.unsigned("blockMaxBytes"))
        for field in ConsensusParameters.fields { consensus[keyPath: field.path] = try consensusFields.unsigned(field.name) }
        try self.init(chainID: chainID, genesisTimeMs: genesisTimeMs, organisations: organisations,
                      validators: validators, consensus: consensus)
    }

    /// The JSON form, pretty-printed with sorted keys; `Genesis(jsonBytes:)` reads it back to an equal value.
    public var jsonBytes: [UInt8] {
        var consensusObject: [String: Any] = [
            "blockMaxEntries": Int(consensus.blockMaxEntries), "blockMaxBytes": Int(consensus.blockMaxBytes),
        ]
        for field in ConsensusParameters.fields { consensusObject[field.name] = Int(consensus[keyPath: field.path]) }
        let object: [String: Any] = [
            "format": Self.formatName,
            "chainId": chainID.value,
            "genesisTime": Timestamp.format(genesisTimeMs),
            "organisations": organisations.map { ["id": $0.id.value, "name": $0.name, "adminKey": $0.adminKey.text] },
            "validators": validators.map {
                ["name": $0.name, "organisation": $0.organisation.value, "key": $0.key.text, "address": $0.address, "power": Int($0.power)]
            },
            "consensus": consensusObject,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return Array(data) + [UInt8(ascii: "\n")]
    }
}

/// A JSON object with typed, path-naming accessors.
private struct JSONFields {
    let object: [String: Any]
    let path: String

    init(_ value: Any, path: String) throws(GenesisError) {
        guard let object = value as? [String: Any] else { throw .invalid(field: path, reason: "must be an object") }
        self.object = object
        self.path = path
    }

    func allowOnly(_ keys: [String]) throws(GenesisError) {
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw .invalid(field: name(unknown), reason: "unknown field (allowed: \(keys.joined(separator: ", ")))")
        }
    }

    private func name(_ key: String) -> String { path == "(top level)" ? key : "\(path).\(key)" }

    func value(_ key: String) throws(GenesisError) -> Any {
        guard let value = object[key] else { throw .invalid(field: name(key), reason: "missing") }
        return value
    }

    func string(_ key: String) throws(GenesisError) -> String {
        guard let text = try value(key) as? String else { throw .invalid(field: name(key), reason: "must be a string") }
        return text
    }

    func array(_ key: String) throws(GenesisError) -> [Any] {
        guard let items = try value(key) as? [Any] else { throw .invalid(field: name(key), reason: "must be an array") }
        return items
    }

    func unsigned(_ key: String) throws(GenesisError) -> UInt64 {
        let raw = try value(key)
        // JSONSerialization gives NSNumber for numbers and booleans alike; accept only whole numbers.
        guard let number = raw as? NSNumber, String(cString: number.objCType) != "c",
            number.int64Value >= 0, Double(number.int64Value) == number.doubleValue
        else { throw .invalid(field: name(key), reason: "must be a whole number >= 0") }
        return UInt64(number.int64Value)
    }

    func code<Code: RestrictedCode>(_ key: String, as type: Code.Type) throws(GenesisError) -> Code {
        guard let code = Code(try string(key)) else {
            throw .invalid(field: name(key), reason: "not a valid \(Code.kind) (1-\(Code.maxLength) allowed characters)")
        }
        return code
    }

    func identity(_ key: String) throws(GenesisError) -> Identity {
        guard let identity = Identity(text: try string(key)) else {
            throw .invalid(field: name(key), reason: "not a valid identity (hlk1..., as printed by `healthledger key show`)")
        }
        return identity
    }
}

/// UTC timestamps in the fixed form `YYYY-MM-DDTHH:MM:SS.sssZ` (the milliseconds are optional when
/// parsing). Converted by arithmetic, not by the system's calendar, so the result never depends on the host.
public enum Timestamp {
    /// Milliseconds since the Unix epoch for `text`; throws naming `field` when the form is wrong.
    public static func parse(_ text: String, field: String) throws(GenesisError) -> UInt64 {
        guard let value = parse(text) else {
            throw .invalid(field: field, reason: "must be a UTC time like 2026-01-31T09:00:00Z")
        }
        return value
    }

    /// Milliseconds since the Unix epoch, or nil when `text` is not of the accepted form or before 1970.
    public static func parse(_ text: String) -> UInt64? {
        let c = Array(text.utf8)
        guard c.count == 20 || c.count == 24, c[4] == UInt8(ascii: "-"), c[7] == UInt8(ascii: "-"), c[10] == UInt8(ascii: "T"),
            c[13] == UInt8(ascii: ":"), c[16] == UInt8(ascii: ":"), c.last == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c[index]) else { return nil }
                value = value * 10 + Int(c[index] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), year >= 1970, (1...12).contains(month),
            (1...daysInMonth(year: year, month: month)).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var millis = 0
        if c.count == 24 {
            guard c[19] == UInt8(ascii: "."), let fraction = number(20..<23) else { return nil }
            millis = fraction
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return UInt64(((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + UInt64(millis)
    }

    /// `YYYY-MM-DDTHH:MM:SS.sssZ` for milliseconds since the Unix epoch.
    public static func format(_ ms: UInt64) -> String {
        let totalSeconds = Int(ms / 1000)
        let (year, month, day) = civilFromDays(totalSeconds / 86_400)
        let secondOfDay = totalSeconds % 86_400
        func pad(_ value: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(Int(ms % 1000), 3))Z"
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    // Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// Finds a name repeated within one JSON object. JSONSerialization silently keeps the last value, and
/// other parsers keep the first, so a repeated name could make two tools read two different genesis
/// documents from one file.
enum JSONKeys {
    private struct Container {
        let isObject: Bool
        var keys: Set<[UInt8]> = []
        var expectingKey: Bool
    }

    /// The first repeated name (as written), or nil. Assumes nothing about validity: the parser judges that.
    static func firstRepeatedKey(in bytes: [UInt8]) -> String? {
        var stack: [Container] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"): stack.append(Container(isObject: true, expectingKey: true))
            case UInt8(ascii: "["): stack.append(Container(isObject: false, expectingKey: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","): if stack.last?.isObject == true { stack[stack.count - 1].expectingKey = true }
            case UInt8(ascii: "\""):
                let start = index + 1
                index = start
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard var top = stack.popLast() else { break }
                if top.isObject && top.expectingKey {
                    let key = Array(bytes[start..<min(index, bytes.count)])
                    if !top.keys.insert(key).inserted { return String(decoding: key, as: UTF8.self) }
                    top.expectingKey = false
                }
                stack.append(top)
            default: break
            }
            index += 1
        }
        return nil
    }
}
