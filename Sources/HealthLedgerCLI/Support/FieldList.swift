/// A list of `name=value` fields separated by commas, as in
/// `--validator name=st-marys-1,org=st-marys,key=hlk1...,address=node1:7400`.
/// A comma or backslash inside a value is written `\,` or `\\`.
struct FieldList {
    private let values: [String: String]
    /// How error messages name the option value, such as `--validator st-marys-1`.
    let context: String

    /// Parses `text`; refuses fields not in `allowed`, fields given twice and missing `required` ones.
    /// `contextField` names the field that identifies the item in messages (`id`, `name`).
    init(
        parsing text: String, option: String, position: Int, allowed: [String], required: [String], contextField: String
    ) throws(CLIError) {
        var values: [String: String] = [:]
        var context = "--\(option) #\(position)"
        let items = Self.split(text)
        if let field = items.compactMap(Self.nameAndValue).first(where: { $0.name == contextField }) {
            context = "--\(option) \(field.value)"
        }
        for item in items {
            guard let (name, value) = Self.nameAndValue(item) else {
                throw .badInput("\(context): '\(item)' is not of the form NAME=VALUE", "separate fields with commas")
            }
            guard allowed.contains(name) else {
                throw .badInput("\(context): unknown field '\(name)'", "use \(allowed.joined(separator: ", "))")
            }
            guard values.updateValue(value, forKey: name) == nil else {
                throw .badInput("\(context): field '\(name)' given twice", "give it once")
            }
        }
        for name in required where values[name] == nil {
            throw .badInput("\(context): missing field '\(name)='", "add \(name)=VALUE")
        }
        self.values = values
        self.context = context
    }

    subscript(name: String) -> String? { values[name] }

    private static func nameAndValue(_ item: String) -> (name: String, value: String)? {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else { return nil }
        return (String(item[..<equals]), String(item[item.index(after: equals)...]))
    }

    /// Splits at commas not escaped by a backslash, removing the escapes.
    private static func split(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        return items + [current]
    }
}
