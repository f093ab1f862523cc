/// A dense, row-major (C order) array of `Float` with a static shape.
///
/// `Tensor` is a plain value type: it is what goes into and comes out of a model, and what parameter
/// files hold. Shapes include the batch dimension where there is one.
public struct Tensor: Equatable, Sendable {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.elementCount`.
    public package(set) var scalars: [Float]

    /// Creates a tensor from its shape and row-major elements.
    /// - Throws: ``TensorError/elementCountMismatch(shape:count:)`` when `scalars.count` is not the
    ///   product of `shape`, or an extent is negative.
    public init(shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.checkedElementCount == scalars.count else {
            throw TensorError.elementCountMismatch(shape: shape, count: scalars.count)
        }
        self.init(shape: shape, uncheckedScalars: scalars)
    }

    /// A tensor whose element count the caller knows matches its shape (GraphJIT's own code: shapes
    /// it computed). A mismatch is a bug in GraphJIT and stops the program.
    package init(shape: [Int], uncheckedScalars scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(scalars.count == shape.elementCount,
                     "shape \(shape) holds \(shape.elementCount) elements, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, uncheckedScalars: Array(repeating: value, count: shape.elementCount))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// The number of elements.
    public var elementCount: Int { scalars.count }

    /// The samples `range` of the first axis (rows of a matrix, images of a batch).
    /// - Throws: ``TensorError/rowsOutOfRange(range:rows:)`` for a range outside the first axis.
    public func rows(_ range: Range<Int>) throws -> Tensor {
        guard rank >= 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw TensorError.rowsOutOfRange(range: range, rows: shape.first ?? 0)
        }
        let width = shape.dropFirst().elementCount
        return Tensor(shape: [range.count] + shape.dropFirst(),
                      uncheckedScalars: Array(scalars[range.lowerBound * width ..< range.upperBound * width]))
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        guard newShape.checkedElementCount == elementCount else {
            throw TensorError.reshapeMismatch(from: shape, to: newShape)
        }
        return Tensor(shape: newShape, uncheckedScalars: scalars)
    }
}

/// Errors about tensor construction and reshaping.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A shape's element count for messages (a user's shape may overflow `Int`, or be negative).
    private static func count(_ shape: [Int]) -> String {
        shape.checkedElementCount.map(String.init) ?? (shape.contains { $0 < 0 } ? "no" : "more than \(Int.max)")
    }

    /// The scalars do not fill the shape: `shape` is the shape asked for (it may have a negative
    /// extent), `count` the number of scalars given.
    case elementCountMismatch(shape: [Int], count: Int)
    /// A reshape to another element count: `from` is the tensor's shape, `to` the shape asked for.
    case reshapeMismatch(from: [Int], to: [Int])
    /// A range of rows outside the first axis: `range` is the range asked for, `rows` the first
    /// axis's extent (0 for a tensor of rank 0).
    case rowsOutOfRange(range: Range<Int>, rows: Int)
    /// Rows of unequal length: row `row` (counted from 0) has `count` values, the first row `expected`.
    case raggedRows(row: Int, count: Int, expected: Int)
    /// A class label outside `0 ..< classes`: `label` is that label, `classes` the number of classes.
    /// Also thrown, with the first label (or 0), when `classes` is not positive or the one-hot
    /// matrix would be too large to count.
    case labelOutOfRange(label: Int, classes: Int)

    public var description: String {
        switch self {
        case let .elementCountMismatch(shape, count):
            "shape \(shape) holds \(Self.count(shape)) elements, but \(count) were given"
        case let .reshapeMismatch(from, to):
            "cannot reshape \(from) (\(Self.count(from)) elements) to \(to) (\(Self.count(to)) elements)"
        case let .raggedRows(row, count, expected):
            "row \(row) has \(count) values, the first row has \(expected): rows must have the same length"
        case let .labelOutOfRange(label, classes):
            "label \(label) is not a class of 0..<\(classes)"
        case let .rowsOutOfRange(range, rows):
            "rows \(range.lowerBound)..<\(range.upperBound) are outside the tensor's \(rows) rows"
        }
    }
}

extension Collection where Element == Int {
    /// The product of the extents: the number of elements a tensor of this shape holds.
    /// Shapes in a graph are checked on entry (``checkedElementCount``), so this cannot overflow for them.
    public var elementCount: Int { reduce(1, *) }

    /// The product of the extents, or `nil` when an extent is negative or the product overflows `Int`.
    public var checkedElementCount: Int? {
        var product = 1
        for extent in self {
            guard extent >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            product = next
        }
        return product
    }
}

extension Int {
    /// `a · b`, or `Int.max` when that overflows (sizes that large fail the memory budget instead).
    public static func saturatingProduct(_ factors: Int...) -> Int {
        var product = 1
        for factor in factors {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow { return .max }
            product = next
        }
        return product
    }

    /// `a + b`, or `Int.max` when that overflows.
    public static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
