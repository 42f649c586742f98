import Foundation
import Testing
@testable import Node

/// docs/openapi.json describes exactly the routes the node serves (`Router.routes`), and every operation
/// documents its errors as problem details.
@Suite struct OpenAPIDocumentTests {
    static let documentURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/openapi.json").standardizedFileURL

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: documentURL)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DocumentError("docs/openapi.json is not a JSON object")
        }
        return object
    }

    /// Every (method, path) the document lists, as "GET /v1/blocks/{height}".
    static func operations(_ document: [String: Any]) throws -> [String: [String: Any]] {
        guard let paths = document["paths"] as? [String: Any] else { throw DocumentError("docs/openapi.json has no paths object") }
        var operations: [String: [String: Any]] = [:]
        for (path, item) in paths {
            guard let item = item as? [String: Any] else { throw DocumentError("path \(path) is not an object") }
            for (method, operation) in item where methods.contains(method) {
                guard let operation = operation as? [String: Any] else { throw DocumentError("\(method) \(path) is not an object") }
                operations["\(method.uppercased()) \(path)"] = operation
            }
        }
        return operations
    }

    @Test func documentListsExactlyTheRoutesTheRouterServes() throws {
        let documented = Set(try Self.operations(try Self.document()).keys)
        let served = Set(Router.routes.map { "\($0.method) \($0.pattern)" })
        #expect(served.count == Router.routes.count, "Router.routes lists a route twice")
        let undocumented = served.subtracting(documented).sorted()
        let notServed = documented.subtracting(served).sorted()
        #expect(undocumented.isEmpty && notServed.isEmpty, """
            docs/openapi.json and Router.routes differ.
            Served but not documented: \(undocumented.isEmpty ? "none" : undocumented.joined(separator: ", "))
            Documented but not served: \(notServed.isEmpty ? "none" : notServed.joined(separator: ", "))
            """)
    }

    @Test func everyOperationDocumentsAProblemForClientErrors() throws {
        let document = try Self.document()
        let components = document["components"] as? [String: Any] ?? [:]
        let sharedResponses = components["responses"] as? [String: Any] ?? [:]
        let schemas = components["schemas"] as? [String: Any] ?? [:]
        let problem = try #require(schemas["Problem"] as? [String: Any], "components.schemas.Problem is missing")
        let required = problem["required"] as? [String] ?? []
        #expect(required.contains("code"), "the Problem schema must require the `code` member")

        for (name, operation) in try Self.operations(document).sorted(by: { $0.key < $1.key }) {
            let responses = operation["responses"] as? [String: Any] ?? [:]
            let clientErrors = responses.filter { status, _ in status.count == 3 && status.hasPrefix("4") }
            let usesProblem = clientErrors.values.contains { response in
                Self.usesProblemSchema(Self.resolve(response, in: sharedResponses), schemas: schemas)
            }
            #expect(usesProblem, "\(name) has no 4xx response with an application/problem+json Problem body")
        }
    }

    /// A response object, following a `$ref` into components.responses.
    static func resolve(_ response: Any, in shared: [String: Any]) -> [String: Any] {
        guard let object = response as? [String: Any] else { return [:] }
        if let reference = object["$ref"] as? String {
            let name = String(reference.split(separator: "/").last ?? "")
            return shared[name] as? [String: Any] ?? [:]
        }
        return object
    }

    /// True when the response's problem+json schema is Problem, or a schema built on it with allOf.
    static func usesProblemSchema(_ response: [String: Any], schemas: [String: Any]) -> Bool {
        let content = response["content"] as? [String: Any] ?? [:]
        guard let media = content["application/problem+json"] as? [String: Any], let schema = media["schema"] as? [String: Any] else {
            return false
        }
        return isProblem(schema, schemas: schemas, depth: 0)
    }

    static func isProblem(_ schema: [String: Any], schemas: [String: Any], depth: Int) -> Bool {
        guard depth < 8 else { return false }
        if let reference = schema["$ref"] as? String {
            let name = String(reference.split(separator: "/").last ?? "")
            if name == "Problem" { return true }
            return (schemas[name] as? [String: Any]).map { isProblem($0, schemas: schemas, depth: depth + 1) } ?? false
        }
        let parts = schema["allOf"] as? [[String: Any]] ?? []
        return parts.contains { isProblem($0, schemas: schemas, depth: depth + 1) }
    }

    struct DocumentError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
