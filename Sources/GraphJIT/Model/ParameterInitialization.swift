import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
// MARK: - Keras default initializers

extension ParameterInitializer {
    /// Draws a tensor of `shape` from this initializer.
    func makeTensor(shape: [Int], using generator: inout SeededGenerator) -> Tensor {
        switch self {
        case .zeros:
            return .zeros(shape)
        case .ones:
            return Tensor(repeating: 1, shape: shape)
        case let .unitForgetBias(units):
            return Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { $0 >= units && $0 < 2 * units ? 1 : 0 })
        case let .glorotUniform(fanIn, fanOut):
            let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
            return Tensor(shape: shape,
                          uncheckedScalars: (0..<shape.elementCount).map { _ in generator.uniform(-limit, limit) })
        case .orthogonal:
            return Self.orthogonal(shape: shape, using: &generator)
        }
    }

    /// Keras's `Orthogonal` (gain 1): a normal matrix of shape `(max(r, c), min(r, c))` made
    /// orthonormal by QR (here modified Gram–Schmidt, whose R has a positive diagonal, so no sign
    /// correction is needed), transposed when `rows < columns`.
    private static func orthogonal(shape: [Int], using generator: inout SeededGenerator) -> Tensor {
        let columns = shape.last ?? 1
        let rows = shape.elementCount / max(columns, 1)
        let (tall, narrow) = (max(rows, columns), min(rows, columns))
        // q[j] is column j (length `tall`).
        var q = (0..<narrow).map { _ in (0..<tall).map { _ in generator.normal() } }
        for j in 0..<narrow {
            for k in 0..<j {
                let dot = zip(q[j], q[k]).reduce(0) { $0 + $1.0 * $1.1 }
                for i in 0..<tall { q[j][i] -= dot * q[k][i] }
            }
            let norm = q[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<tall { q[j][i] /= norm }
        }
        var scalars = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns {
                // Matrix Q is tall x narrow with Q[i][j] = q[j][i]; the result is Q or its transpose.
                scalars[r * columns + c] = Float(rows >= columns ? q[c][r] : q[r][c])
            }
        }
        return Tensor(shape: shape, uncheckedScalars: scalars)
    }
}
