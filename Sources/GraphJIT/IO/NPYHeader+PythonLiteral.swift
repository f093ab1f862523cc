import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
extension NPYHeader {
    /// A Python literal, the subset of `ast.literal_eval` that `.npy` headers use.
    ///
    /// NumPy writes the header with `repr` of a dict, e.g. `{'descr': '<f4', 'fortran_order': False,
    /// 'shape': (2, 3), }`, but other writers vary quoting, spacing and trailing commas, and Python 2
    /// wrote long integers as `3L`; all of that is accepted.
    indirect enum PythonLiteral {
        case string(String)
        case integer(Int)
        case bool(Bool)
        case none
        case tuple([PythonLiteral])
        case list([PythonLiteral])
        /// Entries in written order; equal keys are kept so that callers can report them.
        case dict([(key: PythonLiteral, value: PythonLiteral)])

        /// The literal as Python's `repr` writes it.
        var repr: String {
            switch self {
            case let .string(string):
                "'" + string.unicodeScalars.map { scalar in
                    switch scalar {
                    case "\\": "\\\\"
                    case "'": "\\'"
                    case "\n": "\\n"
                    default: String(scalar)
                    }
                }.joined() + "'"
            case let .integer(value): String(value)
            case let .bool(value): value ? "True" : "False"
            case .none: "None"
            case let .tuple(elements) where elements.count == 1: "(\(elements[0].repr),)"
            case let .tuple(elements): "(" + elements.map(\.repr).joined(separator: ", ") + ")"
            case let .list(elements): "[" + elements.map(\.repr).joined(separator: ", ") + "]"
            case let .dict(entries): "{" + entries.map { "\($0.key.repr): \($0.value.repr)" }.joined(separator: ", ") + "}"
            }
        }
    }
}

// MARK: - Parsing

extension NPYHeader.PythonLiteral {
    /// An error in a Python literal: a message and the scalar offset where it was noticed.
    struct SyntaxError: Error {
        var message: String
        var offset: Int
    }

    /// Parses one literal from `text`, allowing whitespace around it.
    static func parse(_ text: String) throws(SyntaxError) -> Self {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.scalars.count else { throw parser.error("unexpected text after the literal") }
        return value
    }

    /// A recursive-descent parser over Unicode scalars.
    private struct Parser {
        /// Nesting deeper than this is rejected instead of risking the stack.
        static let maximumDepth = 64

        let scalars: [Unicode.Scalar]
        var position = 0

        var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: position) }

        mutating func skipWhitespace() {
            while let scalar = current, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                position += 1
            }
        }

        mutating func parseValue(depth: Int) throws(SyntaxError) -> NPYHeader.PythonLiteral {
            guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
            guard let scalar = current else { throw error("unexpected end of header") }
            switch scalar {
            case "'", "\"": return .string(try parseString())
            case "-", "+", "0" ... "9": return .integer(try parseInteger())
            case "(":
                let (elements, hasComma) = try parseSequence(closing: ")", depth: depth)
                // `(x)` is just `x` in parentheses; `(x,)` and `()` are tuples.
                return elements.count == 1 && !hasComma ? elements[0] : .tuple(elements)
            case "[": return .list(try parseSequence(closing: "]", depth: depth).elements)
            case "{": return try parseDict(depth: depth)
            default:
                let word = parseWord()
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                case "": throw error("unexpected character '\(scalar)'")
                default:
                    position -= word.unicodeScalars.count
                    throw error("unsupported name '\(word)'")
                }
            }
        }

        /// Elements up to `closing`, and whether any comma separated or followed them.
        mutating func parseSequence(closing: Unicode.Scalar, depth: Int) throws(SyntaxError) -> (elements: [NPYHeader.PythonLiteral], hasComma: Bool) {
            position += 1  // opening bracket
            var elements: [NPYHeader.PythonLiteral] = []
            var hasComma = false
            while true {
                skipWhitespace()
                if current == closing { position += 1; return (elements, hasComma) }
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                if current == "," { position += 1; hasComma = true; continue }
                guard current == closing else { throw error("expected ',' or '\(closing)'") }
            }
        }

        mutating func parseDict(depth: Int) throws(SyntaxError) -> NPYHeader.PythonLiteral {
            position += 1  // "{"
            var entries: [(key: NPYHeader.PythonLiteral, value: NPYHeader.PythonLiteral)] = []
            while true {
                skipWhitespace()
                if current == "}" { position += 1; return .dict(entries) }
                let key = try parseValue(depth: depth + 1)
                skipWhitespace()
                guard current == ":" else { throw error("expected ':' after a dictionary key") }
                position += 1
                skipWhitespace()
                entries.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                if current == "," { position += 1; continue }
                guard current == "}" else { throw error("expected ',' or '}'") }
            }
        }

        mutating func parseString() throws(SyntaxError) -> String {
            let quote = current!
            position += 1
            var output = String.UnicodeScalarView()
            while true {
                guard let scalar = current, scalar != "\n" else { throw error("unterminated string") }
                position += 1
                if scalar == quote { return String(output) }
                guard scalar == "\\" else { output.append(scalar); continue }
                guard let escaped = current else { throw error("unterminated string") }
                position += 1
                switch escaped {
                case "n": output.append("\n")
                case "t": output.append("\t")
                case "r": output.append("\r")
                case "0": output.append("\0")
                default: output.append(escaped)  // \\, \', \" and anything else: the character itself
                }
            }
        }

        mutating func parseInteger() throws(SyntaxError) -> Int {
            let start = position
            if current == "-" || current == "+" { position += 1 }
            while let scalar = current, ("0" ... "9").contains(scalar) || scalar == "_" { position += 1 }
            var text = String(String.UnicodeScalarView(scalars[start ..< position].filter { $0 != "_" }))
            if text.hasPrefix("+") { text.removeFirst() }
            if current == "L" || current == "l" { position += 1 }  // Python 2 long suffix
            if let scalar = current, scalar == "." || scalar == "e" || scalar == "E" || scalar == "j" {
                throw error("expected an integer")
            }
            guard text.contains(where: \.isNumber) else { throw error("expected digits") }
            guard let value = Int(text) else {
                position = start
                throw error("integer \(text) out of range")
            }
            return value
        }

        mutating func parseWord() -> String {
            let start = position
            while let scalar = current, scalar.properties.isAlphabetic || scalar == "_" { position += 1 }
            return String(String.UnicodeScalarView(scalars[start ..< position]))
        }
    }
}
