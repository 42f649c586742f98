import Foundation
import Testing

@testable import Clinical

@Suite struct FHIRDateTimeTests {
    @Test func parsesDateTimesAsUTCMilliseconds() {
        let cases: [(String, Int64)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("2024-06-01T00:00:00Z", 1_717_200_000_000),
            ("2024-06-01T02:00:00+02:00", 1_717_200_000_000),
            ("2024-05-31T14:00:00-10:00", 1_717_200_000_000),
            ("2024-06-01T00:00:00.123Z", 1_717_200_000_123),
            ("2024-06-01T00:00:00.1239999Z", 1_717_200_000_123),
            ("2024-06-01T00:00:00.5Z", 1_717_200_000_500),
            ("2024", 1_704_067_200_000),
            ("2024-06", 1_717_200_000_000),
            ("2024-06-01", 1_717_200_000_000),
            ("1969-12-31T23:59:59Z", -1000),
            ("2000-02-29", 951_782_400_000),
        ]
        for (text, ms) in cases {
            #expect(FHIRDateTime.parseDateTime(text) == ms, "\(text)")
        }
    }

    @Test func refusesInvalidDateTimes() {
        for text in [
            "", "24", "2024-1", "2024-13", "2024-02-30", "2023-02-29", "2024-06-01T10:00Z", "2024-06-01T10:00:00",
            "2024-06-01T24:00:00Z", "2024-06-01T10:60:00Z", "2024-06-01T10:00:00+15:00", "2024-06-01 10:00:00Z",
            "2024-06-01T10:00:00.Z", "2024-06-01T10:00:00.1234567890Z", "0000-01-01", "２０２４", "2024-06-01T10:00:00z",
        ] {
            #expect(FHIRDateTime.parseDateTime(text) == nil, "\(text)")
        }
    }

    @Test func formatsAndAgreesWithFoundation() {
        #expect(FHIRDateTime.format(ms: 1_717_200_000_123) == "2024-06-01T00:00:00.123Z")
        #expect(FHIRDateTime.format(ms: -1) == "1969-12-31T23:59:59.999Z")
        // Every 97th day over 400 years against Foundation's Gregorian calendar in UTC.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for day in stride(from: Int64(-73_000), to: 73_000, by: 97) {
            let ms = day * FHIRDateTime.msPerDay + 3_723_004
            let parts = calendar.dateComponents(
                [.year, .month, .day], from: Date(timeIntervalSince1970: Double(ms) / 1000))
            let date = CivilDate(utcMs: ms)
            let expected: [Int] = [parts.year!, parts.month!, parts.day!]
            #expect([date.year, date.month, date.day] == expected)
            #expect(FHIRDateTime.parseDateTime(FHIRDateTime.format(ms: ms)) == ms)
        }
    }

    @Test func wholeYearsTurnOnTheBirthday() {
        let birth = CivilDate(year: 1960, month: 6, day: 15)!
        #expect(birth.wholeYears(until: CivilDate(year: 2024, month: 6, day: 14)!) == 63)
        #expect(birth.wholeYears(until: CivilDate(year: 2024, month: 6, day: 15)!) == 64)
        #expect(birth.wholeYears(until: CivilDate(year: 1960, month: 6, day: 15)!) == 0)
        #expect(birth.wholeYears(until: CivilDate(year: 1960, month: 6, day: 14)!) == nil)
        let leapling = CivilDate(year: 2000, month: 2, day: 29)!
        #expect(leapling.wholeYears(until: CivilDate(year: 2001, month: 2, day: 28)!) == 0)
        #expect(leapling.wholeYears(until: CivilDate(year: 2001, month: 3, day: 1)!) == 1)
        #expect(FHIRDateTime.parseDate("1960") == CivilDate(year: 1960, month: 1, day: 1))
        #expect(FHIRDateTime.parseDate("1960-06") == CivilDate(year: 1960, month: 6, day: 1))
        #expect(FHIRDateTime.parseDate("1960-06-15T00:00:00Z") == nil)
    }
}
