import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// A parsed JSON value: safetensors headers and Keras's `config.json` / `metadata.json`.
///
/// Foundation's `JSONSerialization` is not used because it keeps only one of two equal keys (a
/// file with a duplicated tensor name must be rejected), loses member order (Keras configs are
/// written in order), and writes `/` as `\/` where the reference implementations (serde_json,
/// Python's `json`) do not. Parsing is bounded: nesting deeper than 64 levels is an error.
///
/// `Sendable` is declared, not inferred: inferring it for an enum that holds itself through
/// `[(key: String, value: JSON)]` is a cycle for the Swift 6.3 type checker ("circular
/// reference", in whichever compile job happens to ask first).
enum JSON: Sendable {
    /// Members in file order; equal keys are kept so that callers can report them.
    case object([(key: String, value: JSON)])
    case array([JSON])
    case string(String)
    /// The number's text as written, so that large integers lose nothing.
    case number(String)
    case bool(Bool)
    case null

    /// The value as an `Int`, when it is an integer literal (no fraction or exponent) that fits.
    var intValue: Int? {
        guard case let .number(text) = self else { return nil }
        return Int(text)
    }

    /// A short rendering of the value for error messages, truncated past 60 characters.
    var summary: String {
        let text = JSON.serialize(self)
        return text.count <= 60 ? text : text.prefix(57) + "..."
    }
}

// MARK: - Parsing

extension JSON {
    /// Why text is not JSON, and the byte offset where that was found.
    struct ParseError: Error {
        let message: String
        let offset: Int
    }
}

extension JSON {
    /// Parses one JSON value from UTF-8 `bytes`, allowing whitespace around it.
    /// - Throws: ``JSON/ParseError`` with the byte offset.
    static func parse(_ bytes: [UInt8]) throws -> Self {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    /// A recursive-descent JSON parser over UTF-8 bytes.
    private struct Parser {
        /// Nesting deeper than this is rejected instead of risking the stack; headers nest 3 levels.
        static let maximumDepth = 64

        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String) -> ParseError { ParseError(message: message, offset: position) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
                position += 1
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws {
            guard current == byte else { throw error("expected \(what)") }
            position += 1
        }

        mutating func parseValue(depth: Int) throws -> JSON {
            guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
            guard let byte = current else { throw error("unexpected end of the text") }
            switch byte {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try parseNumber())
            case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try parseLiteral("null"); return .null
            default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
            }
        }

        mutating func parseObject(depth: Int) throws -> JSON {
            position += 1  // "{"
            var members: [(key: String, value: JSON)] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after key")
                skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}' in object")
                return .object(members)
            }
        }

        mutating func parseArray(depth: Int) throws -> JSON {
            position += 1  // "["
            var elements: [JSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"), "',' or ']' in array")
                return .array(elements)
            }
        }

        mutating func parseString() throws -> String {
            let start = position
            position += 1  // opening quote
            var utf8: [UInt8] = []
            while true {
                guard let byte = current else { throw error("unterminated string") }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    // Decoding repairs invalid UTF-8, so a repaired string differs from the bytes.
                    let string = String(decoding: utf8, as: UTF8.self)
                    guard string.utf8.elementsEqual(utf8) else {
                        position = start
                        throw error("string is not valid UTF-8")
                    }
                    return string
                case UInt8(ascii: "\\"):
                    try parseEscape(into: &utf8)
                case 0x00 ..< 0x20:
                    position -= 1
                    throw error("unescaped control character in string")
                default:
                    utf8.append(byte)
                }
            }
        }

        mutating func parseEscape(into utf8: inout [UInt8]) throws {
            guard let byte = current else { throw error("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var value = try parseHex4()
                if (0xD800 ..< 0xDC00).contains(value) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                          bytes[position + 1] == UInt8(ascii: "u") else { throw error("unpaired surrogate") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00 ..< 0xE000).contains(low) else { throw error("unpaired surrogate") }
                    value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(value) else { throw error("unpaired surrogate") }
                utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("invalid escape '\\\(Unicode.Scalar(byte))'")
            }
        }

        mutating func parseHex4() throws -> UInt32 {
            guard position + 4 <= bytes.count,
                  bytes[position ..< position + 4].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
                  let value = UInt32(String(decoding: bytes[position ..< position + 4], as: UTF8.self), radix: 16)
            else { throw error("expected 4 hex digits after \\u") }
            position += 4
            return value
        }

        mutating func parseNumber() throws -> String {
            let start = position
            func digits(_ parser: inout Parser) -> Int {
                let first = parser.position
                while let byte = parser.current, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(byte) {
                    parser.position += 1
                }
                return parser.position - first
            }
            if current == UInt8(ascii: "-") { position += 1 }
            let integerStart = position
            let integerDigits = digits(&self)
            guard integerDigits > 0 else { throw error("expected a digit") }
            guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
                position = integerStart
                throw error("leading zero in number")
            }
            if current == UInt8(ascii: ".") {
                position += 1
                guard digits(&self) > 0 else { throw error("expected a digit after '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard digits(&self) > 0 else { throw error("expected a digit in exponent") }
            }
            return String(decoding: bytes[start ..< position], as: UTF8.self)
        }

        mutating func parseLiteral(_ word: String) throws {
            let utf8 = Array(word.utf8)
            guard position + utf8.count <= bytes.count,
                  Array(bytes[position ..< position + utf8.count]) == utf8
            else { throw error("expected '\(word)'") }
            position += utf8.count
        }
    }
}

// MARK: - Writing

extension JSON {
    /// Compact JSON text, escaped as serde_json escapes it, so headers match the reference writer.
    static func serialize(_ value: Self) -> String {
        var output = ""
        write(value, to: &output)
        return output
    }

    private static func write(_ value: Self, to output: inout String) {
        switch value {
        case let .object(members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += "," }
                output += quoted(member.key)
                output += ":"
                write(member.value, to: &output)
            }
            output += "}"
        case let .array(elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                write(element, to: &output)
            }
            output += "]"
        case let .string(string): output += quoted(string)
        case let .number(text): output += text
        case let .bool(bool): output += bool ? "true" : "false"
        case .null: output += "null"
        }
    }

    /// `string` in double quotes: `"` and `\` escaped, control characters as `\n`-style or `\u00XX`
    /// escapes, everything else (including non-ASCII and `/`) verbatim.
    static func quoted(_ string: String) -> String {
        var output = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{00}" ..< "\u{20}":
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}

// MARK: - Reading values

extension JSON {
    /// The first member named `key` of an object (`nil` for a missing key or a non-object).
    subscript(key: String) -> JSON? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The members of an object, in order.
    var members: [(key: String, value: JSON)]? {
        if case let .object(members) = self { members } else { nil }
    }

    var arrayValue: [JSON]? {
        if case let .array(elements) = self { elements } else { nil }
    }

    var stringValue: String? {
        if case let .string(string) = self { string } else { nil }
    }

    var boolValue: Bool? {
        if case let .bool(bool) = self { bool } else { nil }
    }

    /// Any number as a `Double` (integers included).
    var doubleValue: Double? {
        if case let .number(text) = self { Double(text) } else { nil }
    }

    var isNull: Bool {
        if case .null = self { true } else { false }
    }

    /// An integer, also when written as a float with no fraction (`3.0`), as Python may write it.
    var integerValue: Int? {
        if let intValue { return intValue }
        guard let double = doubleValue, double.rounded() == double, abs(double) < 1e15 else { return nil }
        return Int(double)
    }
}

// MARK: - Making values

extension JSON {
    static func int(_ value: Int) -> JSON { .number(String(value)) }

    /// A number in the shortest text that reads back as `value` (as Python's `repr` writes floats).
    static func double(_ value: Double) -> JSON {
        value.isFinite ? .number("\(value)") : .null
    }

    static func strings(_ values: [String]) -> JSON { .array(values.map(JSON.string)) }

    static func ints(_ values: [Int]) -> JSON { .array(values.map(JSON.int)) }
}
