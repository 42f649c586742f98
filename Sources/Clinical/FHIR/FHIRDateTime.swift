// FHIR `date`, `dateTime` and `instant` values as milliseconds since the Unix epoch (UTC).
//
// Written here rather than with DateFormatter so that the result does not depend on the locale, the time
// zone database or the Foundation version: the same text is the same instant everywhere. The calendar
// arithmetic is the proleptic Gregorian "days from civil" algorithm (H. Hinnant, chrono-Compatible
// Low-Level Date Algorithms).

/// A calendar date (proleptic Gregorian), as in `Patient.birthDate`.
public struct CivilDate: Sendable, Equatable, Comparable {
    /// The year, 1...9999.
    public let year: Int
    /// The month, 1...12.
    public let month: Int
    /// The day, 1...31 (valid for the month).
    public let day: Int

    /// Creates a date; nil when it does not exist (such as February 30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...CivilDate.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The UTC calendar date that contains `ms`.
    public init(utcMs ms: Int64) {
        let days = FHIRDateTime.floorDivide(ms, FHIRDateTime.msPerDay)
        let (year, month, day) = FHIRDateTime.civil(fromDays: days)
        self.year = year
        self.month = month
        self.day = day
    }

    /// Midnight UTC at the start of this date.
    public var startMs: Int64 { FHIRDateTime.days(year: year, month: month, day: day) * FHIRDateTime.msPerDay }

    /// `YYYY-MM-DD`.
    public var text: String {
        FHIRDateTime.pad(year, 4) + "-" + FHIRDateTime.pad(month, 2) + "-" + FHIRDateTime.pad(day, 2)
    }

    /// Whole years from this date (a birth date) to `date`; nil when `date` is earlier.
    public func wholeYears(until date: CivilDate) -> Int? {
        guard date >= self else { return nil }
        let birthdayPassed = (date.month, date.day) >= (month, day)
        return date.year - year - (birthdayPassed ? 0 : 1)
    }

    public static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Parsing and formatting of FHIR times.
public enum FHIRDateTime {
    /// Milliseconds in a day.
    public static let msPerDay: Int64 = 86_400_000

    /// A FHIR `date` (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`) as the first day of the period it names.
    /// nil when the text is not a valid date.
    public static func parseDate(_ text: String) -> CivilDate? {
        let bytes = Array(text.utf8)
        guard [4, 7, 10].contains(bytes.count) else { return nil }
        return parseDatePart(bytes)
    }

    /// A FHIR `dateTime` or `instant` as milliseconds since the epoch, UTC. A partial date means the start
    /// of its period in UTC (`2024` is 2024-01-01T00:00:00Z); a time must carry seconds and a zone (`Z` or
    /// `±hh:mm`), as FHIR R4 requires. Fractions beyond milliseconds are truncated. nil when invalid.
    public static func parseDateTime(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 64 else { return nil }
        if bytes.count <= 10 { return parseDate(text)?.startMs }
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T"), let date = parseDatePart(Array(bytes[0..<10]))
        else { return nil }
        guard let timeOfDayMs = parseTime(Array(bytes[11...])) else { return nil }
        return date.startMs + timeOfDayMs
    }

    /// `YYYY-MM-DDThh:mm:ss.sssZ`, always with milliseconds and in UTC.
    public static func format(ms: Int64) -> String {
        let date = CivilDate(utcMs: ms)
        let within = ms - floorDivide(ms, msPerDay) * msPerDay
        let hours = Int(within / 3_600_000)
        let minutes = Int(within / 60_000 % 60)
        let seconds = Int(within / 1000 % 60)
        let millis = Int(within % 1000)
        return date.text + "T" + pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(seconds, 2) + "." + pad(millis, 3)
            + "Z"
    }

    // MARK: Parsing parts

    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    private static func parseDatePart(_ bytes: [UInt8]) -> CivilDate? {
        guard let year = digits(bytes, 0, 4), year >= 1 else { return nil }
        guard bytes.count > 4 else { return CivilDate(year: year, month: 1, day: 1) }
        guard bytes[4] == UInt8(ascii: "-"), bytes.count >= 7, let month = digits(bytes, 5, 2) else { return nil }
        guard bytes.count > 7 else { return CivilDate(year: year, month: month, day: 1) }
        guard bytes.count == 10, bytes[7] == UInt8(ascii: "-"), let day = digits(bytes, 8, 2) else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// `hh:mm:ss[.f+](Z|±hh:mm)` as milliseconds after midnight UTC of the same date (may be negative or
    /// exceed a day once the zone is applied).
    private static func parseTime(_ bytes: [UInt8]) -> Int64? {
        guard bytes.count >= 9, bytes[2] == UInt8(ascii: ":"), bytes[5] == UInt8(ascii: ":"),
            let hours = digits(bytes, 0, 2), let minutes = digits(bytes, 3, 2), let seconds = digits(bytes, 6, 2),
            hours <= 23, minutes <= 59, seconds <= 60
        else { return nil }
        var index = 8
        var millis = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            let count = index - start
            guard (1...9).contains(count) else { return nil }
            for k in 0..<3 { millis = millis * 10 + (k < count ? Int(bytes[start + k] - UInt8(ascii: "0")) : 0) }
        }
        guard let offsetMinutes = parseZone(Array(bytes[index...])) else { return nil }
        let local = Int64(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
        return local - Int64(offsetMinutes) * 60_000
    }

    /// `Z` or `±hh:mm` (at most 14:00) as minutes east of UTC.
    private static func parseZone(_ bytes: [UInt8]) -> Int? {
        if bytes == [UInt8(ascii: "Z")] { return 0 }
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
            bytes[3] == UInt8(ascii: ":"), let hours = digits(bytes, 1, 2), let minutes = digits(bytes, 4, 2),
            minutes <= 59, hours * 60 + minutes <= 14 * 60
        else { return nil }
        let offset = hours * 60 + minutes
        return bytes[0] == UInt8(ascii: "-") ? -offset : offset
    }

    private static func digits(_ bytes: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[start..<(start + count)] {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    // MARK: Calendar arithmetic

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
