import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A C expression of generated code, built from typed parts and rendered in one place.
///
/// Kernels compute addresses and extents from named constants, loop variables and buffer names;
/// building them as values (not strings) keeps the renderer the only place that writes C syntax.
indirect enum CExpression: Equatable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// An integer literal.
    case literal(Int)
    /// A name: a constant (`OH`), a local (`columns`, `rows`), a buffer (`w_dense_kernel_packed`).
    case name(String)
    /// `NULL`.
    case null
    /// A finite `float` literal, written with the shortest digits that read back as exactly this
    /// value (`0.001f`, `1e-07f`).
    case float(Float)
    case sum([CExpression])
    case difference(CExpression, CExpression)
    case product([CExpression])
    /// `(int)(x)`: the runtime takes `int` extents.
    case int(CExpression)
    /// `(long)x`: widens before a product that may exceed `int`.
    case long(CExpression)

    init(integerLiteral value: Int) { self = .literal(value) }

    static func + (lhs: CExpression, rhs: CExpression) -> CExpression { .sum([lhs, rhs]) }
    static func - (lhs: CExpression, rhs: CExpression) -> CExpression { .difference(lhs, rhs) }
    static func * (lhs: CExpression, rhs: CExpression) -> CExpression { .product([lhs, rhs]) }

    /// `1` or `0`, for the runtime's `int` flag arguments.
    static func flag(_ value: Bool) -> CExpression { .literal(value ? 1 : 0) }

    var description: String { render(parenthesized: false) }

    private func render(parenthesized: Bool) -> String {
        switch self {
        case let .literal(value): return String(value)
        case let .name(name): return name
        case .null: return "0"
        case let .float(value):
            precondition(value.isFinite, "a float literal must be finite")
            var digits = "\(value)"
            if !digits.contains(where: { $0 == "." || $0 == "e" }) { digits += ".0" }
            return value < 0 ? "(\(digits)f)" : digits + "f"
        case let .sum(terms):
            let text = terms.map { $0.render(parenthesized: false) }.joined(separator: " + ")
            return parenthesized ? "(\(text))" : text
        case let .difference(lhs, rhs):
            let text = "\(lhs.render(parenthesized: false)) - \(rhs.render(parenthesized: true))"
            return parenthesized ? "(\(text))" : text
        case let .product(factors):
            return factors.map { $0.render(parenthesized: true) }.joined(separator: " * ")
        case let .int(value): return "(int)(\(value.render(parenthesized: false)))"
        case let .long(value): return "(long)" + value.render(parenthesized: true)
        }
    }
}
