/// The largest absolute and relative element differences between two tensors of one shape.
public struct Difference: Sendable, CustomStringConvertible {
    /// The largest `|actual − expected|` over the elements; NaN in both counts as equal, NaN in only
    /// one as an infinite difference.
    public let maxAbsolute: Float
    /// The largest `|actual − expected| / max(|expected|, 1e-6)` over the elements.
    public let maxRelative: Float

    /// Compares `actual` with `expected`; relative differences are taken against `max(|expected|, 1e-6)`.
    public init(_ actual: Tensor, _ expected: Tensor) {
        precondition(actual.shape == expected.shape, "comparing \(actual.shape) with \(expected.shape)")
        var absolute: Float = 0
        var relative: Float = 0
        for (a, e) in zip(actual.scalars, expected.scalars) {
            let difference = a.isNaN != e.isNaN ? .infinity : (a.isNaN ? 0 : abs(a - e))
            absolute = max(absolute, difference)
            relative = max(relative, difference / max(abs(e), 1e-6))
        }
        maxAbsolute = absolute
        maxRelative = relative
    }

    public var description: String { "max abs \(maxAbsolute), max rel \(maxRelative)" }
}
