import Crypto
import Foundation
import Testing

/// One block of a known-answer vector file: `key = value` lines.
struct Vector: CustomTestStringConvertible, Sendable {
    let fields: [String: String]

    /// The block's `name`, shown by Swift Testing for each parameterized case.
    var testDescription: String { fields["name"] ?? "unnamed" }

    /// The text value of `key`; records a test issue (and returns "") when missing.
    func text(_ key: String) -> String {
        guard let value = fields[key] else {
            Issue.record("vector \(testDescription) has no \(key)")
            return ""
        }
        return value
    }

    /// The hexadecimal value of `key` decoded to bytes.
    func bytes(_ key: String) -> [UInt8] {
        guard let bytes = Hex.decode(text(key)) else {
            Issue.record("vector \(testDescription): \(key) is not hexadecimal")
            return []
        }
        return bytes
    }

    /// The decimal value of `key`.
    func integer(_ key: String) -> Int { Int(text(key)) ?? -1 }
}

/// Loads a file from `Tests/CryptoTests/Vectors/` (see the format comment at the top of each file).
/// Read from the source tree next to this file, so Package.swift needs no resources.
enum VectorFile {
    static func load(_ name: String) -> [Vector] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors").appendingPathComponent(name)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("missing vector file \(url.path)")
        }
        return parse(text)
    }

    static func parse(_ text: String) -> [Vector] {
        var vectors: [Vector] = []
        var fields: [String: String] = [:]
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.isEmpty {
                if !fields.isEmpty { vectors.append(Vector(fields: fields)) }
                fields = [:]
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1)
            precondition(parts.count >= 1 && line.contains("="), "malformed vector line: \(line)")
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            fields[key] = value
        }
        if !fields.isEmpty { vectors.append(Vector(fields: fields)) }
        return vectors
    }
}
