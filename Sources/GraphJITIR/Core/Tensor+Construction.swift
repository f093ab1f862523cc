/// The ways users make and read tensors: from nested arrays and literals, one-hot labels, rows,
/// the class with the highest score. Every size mismatch from user data throws.
extension Tensor: ExpressibleByArrayLiteral {
    /// A vector literal: `let scores: Tensor = [0.1, 0.7, 0.2]` (shape `[3]`).
    public init(arrayLiteral elements: Float...) {
        self.init(shape: [elements.count], uncheckedScalars: elements)
    }

    /// A matrix from its rows: `try Tensor([[1, 2, 3], [4, 5, 6]])` (shape `[2, 3]`).
    /// - Throws: ``TensorError/raggedRows(row:count:expected:)`` when the rows differ in length.
    public init(_ rows: [[Float]]) throws {
        let width = rows.first?.count ?? 0
        for (index, row) in rows.enumerated() where row.count != width {
            throw TensorError.raggedRows(row: index, count: row.count, expected: width)
        }
        self.init(shape: [rows.count, width], uncheckedScalars: rows.flatMap { $0 })
    }

    /// One-hot rows for class labels: `try Tensor.oneHot([2, 0], classes: 3)` is
    /// `[[0, 0, 1], [1, 0, 0]]` (Keras's `to_categorical`).
    /// - Throws: ``TensorError/labelOutOfRange(label:classes:)`` for a label outside `0 ..< classes`.
    public static func oneHot(_ labels: [Int], classes: Int) throws -> Tensor {
        guard classes > 0, let count = [labels.count, classes].checkedElementCount else {
            throw TensorError.labelOutOfRange(label: labels.first ?? 0, classes: classes)
        }
        var scalars = [Float](repeating: 0, count: count)
        for (row, label) in labels.enumerated() {
            guard (0 ..< classes).contains(label) else { throw TensorError.labelOutOfRange(label: label, classes: classes) }
            scalars[row * classes + label] = 1
        }
        return Tensor(shape: [labels.count, classes], uncheckedScalars: scalars)
    }

    /// Sample `index` of the first axis (`probabilities[0]` is the first sample's scores).
    public subscript(index: Int) -> Tensor {
        get throws { try rows(index ..< index + 1).reshaped(to: Array(shape.dropFirst())) }
    }

    /// The position of the largest value along the last axis, for every row (the predicted class
    /// of each sample); the first on ties, as `np.argmax`. NaN counts as the largest.
    public func argmax() -> [Int] {
        guard let width = shape.last, width > 0 else { return [] }
        return stride(from: 0, to: scalars.count, by: width).map { start in
            var best = start
            for index in start ..< start + width where scalars[index] > scalars[best] || (scalars[index].isNaN && !scalars[best].isNaN) {
                best = index
            }
            return best - start
        }
    }
}

extension Tensor: CustomStringConvertible {
    /// A short rendering: the shape and the first values (`Tensor([2, 3]: 1.0, 2.0, 3.0, 4.0, …)`).
    public var description: String {
        let shown = scalars.prefix(6).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(\(shape): \(shown)\(scalars.count > 6 ? ", … (\(scalars.count) values)" : ""))"
    }
}
