import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A failure to turn generated C into callable code, with everything needed to understand it.
///
/// Carries the backend, the module (kernel) name, the compiler's diagnostics, the source lines around
/// the first reported error (numbered), and the complete source. `description` is a readable report;
/// `debugDescription` appends the whole numbered source.
public struct CompileError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where in the pipeline the failure happened.
    public enum Stage: String, Sendable, Hashable {
        /// The compiler rejected the source (syntax or type errors).
        case compile
        /// Linking or relocation failed, typically an undefined symbol.
        case link
        /// The compiled shared object could not be loaded (`dlopen`).
        case load
        /// The module compiled but has no function of the requested name.
        case lookup
        /// The compiler itself is missing or unusable (clang not found, libtcc could not start).
        case toolchain
    }

    /// The compiler that failed.
    public let backend: CompilerBackend
    /// The module (kernel) name; the source file is reported as `moduleName.c`.
    public let moduleName: String
    /// Where the failure happened.
    public let stage: Stage
    /// The compiler's messages, verbatim, one per line.
    public let diagnostics: String
    /// The complete C source that was compiled (without the `#line` prefix the backend adds).
    public let source: String
    /// The 1-based source line of the first error the compiler reported, or for a link error the
    /// first line that names the undefined symbol; `nil` when neither is known.
    public let errorLine: Int?

    /// Creates an error; the error line is parsed from `diagnostics` unless given.
    public init(
        backend: CompilerBackend,
        moduleName: String,
        stage: Stage,
        diagnostics: String,
        source: String,
        errorLine: Int? = nil
    ) {
        self.backend = backend
        self.moduleName = moduleName
        self.stage = stage
        self.diagnostics = diagnostics
        self.source = source
        self.errorLine = errorLine
            ?? Self.firstErrorLine(in: diagnostics)
            ?? Self.firstLineUsingUndefinedSymbol(in: diagnostics, source: source)
    }

    // MARK: - Source excerpt

    /// The source lines around ``errorLine`` (three before, two after), numbered, with the error line
    /// marked by `>`; empty when there is no error line.
    public var excerpt: String {
        guard let errorLine else { return "" }
        let lines = Self.lines(of: source)
        guard errorLine >= 1, errorLine <= lines.count else { return "" }
        let range = max(1, errorLine - 3)...min(lines.count, errorLine + 2)
        return Self.numbered(lines, range: range, marking: errorLine)
    }

    // MARK: - Descriptions

    public var description: String {
        var text = "\(backend) failed to \(stage.verb) module '\(moduleName)'"
        if let errorLine { text += " (\(Self.fileName(for: moduleName)):\(errorLine))" }
        text += ":\n"
        let trimmed = diagnostics.trimmingTrailingNewlines()
        text += trimmed.isEmpty ? "(no diagnostics)" : trimmed
        let excerpt = excerpt
        if !excerpt.isEmpty { text += "\n\n" + excerpt }
        return text
    }

    public var debugDescription: String {
        let lines = Self.lines(of: source)
        let listing = lines.isEmpty
            ? "(empty source)"
            : Self.numbered(lines, range: 1...lines.count, marking: errorLine)
        return description + "\n\nFull source of \(Self.fileName(for: moduleName)):\n" + listing
    }

    // MARK: - Helpers shared with the backends

    /// The file name a module's source is reported under: the name with anything outside
    /// `[A-Za-z0-9_.-]` replaced by `_`, plus `.c`.
    static func fileName(for moduleName: String) -> String {
        sanitizedStem(moduleName) + ".c"
    }

    /// `name` reduced to characters that are safe in file names and C string literals.
    static func sanitizedStem(_ name: String) -> String {
        let safe = name.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".": Character(scalar)
            default: "_"
            }
        }
        let stem = String(safe)
        return stem.isEmpty ? "module" : stem
    }

    /// The line number of the first diagnostic that reports an error, as tcc (`file.c:12: error: ...`)
    /// or clang (`file.c:12:5: error: ...`) print them.
    static func firstErrorLine(in diagnostics: String) -> Int? {
        for line in diagnostics.split(whereSeparator: \.isNewline) {
            guard let marker = line.firstRange(of: "error:") else { continue }
            // "file.c:12:5: fatal error:" -> fields before the marker: ["file.c", "12", "5", " fatal "].
            let fields = line[..<marker.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            if let number = Int(fields[1].filter { !$0.isWhitespace }), number > 0 {
                return number
            }
        }
        return nil
    }

    /// For link failures, which report no source line: the first line that uses the first undefined
    /// symbol inside a function body, else the first line that names it at all (its declaration).
    /// Braces are counted naively (comments and string literals are not skipped).
    static func firstLineUsingUndefinedSymbol(in diagnostics: String, source: String) -> Int? {
        guard let symbol = undefinedSymbols(in: diagnostics).first else { return nil }
        var depth = 0
        var firstMention: Int?
        for (index, line) in lines(of: source).enumerated() {
            if let match = line.firstIdentifierRange(symbol) {
                let prefix = line[..<match.lowerBound]
                let depthAtMatch = depth + prefix.count(of: "{") - prefix.count(of: "}")
                if depthAtMatch > 0 { return index + 1 }
                firstMention = firstMention ?? index + 1
            }
            depth += line.count(of: "{") - line.count(of: "}")
        }
        return firstMention
    }

    /// The undefined symbols the diagnostics name, in order of appearance.
    static func undefinedSymbols(in diagnostics: String) -> [String] {
        let patterns = [
            /undefined symbol '([A-Za-z_][A-Za-z0-9_]*)'/,
            /undefined symbol: ([A-Za-z_][A-Za-z0-9_]*)/,
            /undefined reference to [`']([A-Za-z_][A-Za-z0-9_]*)'/,
        ]
        var symbols: [String] = []
        for line in diagnostics.split(whereSeparator: \.isNewline) {
            for pattern in patterns {
                if let match = line.firstMatch(of: pattern) {
                    let symbol = String(match.1)
                    if !symbols.contains(symbol) { symbols.append(symbol) }
                }
            }
        }
        return symbols
    }

    private static func lines(of text: String) -> [Substring] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    private static func numbered(_ lines: [Substring], range: ClosedRange<Int>, marking marked: Int?) -> String {
        let width = String(range.upperBound).count
        return range.map { number in
            let label = String(number)
            let padded = String(repeating: " ", count: width - label.count) + label
            return "\(number == marked ? ">" : " ") \(padded) | \(lines[number - 1])"
        }.joined(separator: "\n")
    }
}

// MARK: - Private extensions

extension CompileError.Stage {
    fileprivate var verb: String {
        switch self {
        case .compile: "compile"
        case .link: "link"
        case .load: "load"
        case .lookup: "find a function in"
        case .toolchain: "start compiling"
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = String(self)
        while text.last?.isNewline == true { text.removeLast() }
        return text
    }

    /// The first occurrence of `identifier` as a whole C identifier (not part of a longer one).
    fileprivate func firstIdentifierRange(_ identifier: String) -> Range<Index>? {
        var searchStart = startIndex
        while let range = self[searchStart...].firstRange(of: identifier) {
            let before = range.lowerBound == startIndex ? nil : self[index(before: range.lowerBound)]
            let after = range.upperBound == endIndex ? nil : self[range.upperBound]
            if !(before?.isIdentifierCharacter ?? false), !(after?.isIdentifierCharacter ?? false) {
                return range
            }
            searchStart = range.upperBound
        }
        return nil
    }

    /// How many times `character` occurs.
    fileprivate func count(of character: Character) -> Int {
        reduce(0) { $1 == character ? $0 + 1 : $0 }
    }
}

extension Character {
    fileprivate var isIdentifierCharacter: Bool { isLetter || isNumber || self == "_" }
}
