// MARK: - Shape inference

extension Operation {
    /// The output shape for the given input shapes, or a thrown ``GraphError/shapeMismatch``
    /// naming `layer`.
    public func outputShape(for shapes: [[Int]], layer: String) throws -> [Int] {
        func mismatch(_ expected: String) -> GraphError {
            .shapeMismatch(layer: layer, operation: mnemonic, inputShapes: shapes, expected: expected)
        }
        func require(count: Int) throws {
            guard shapes.count == count else { throw mismatch("\(count) inputs") }
        }

        switch self {
        case .matmul:
            try require(count: 2)
            let (x, w) = (shapes[0], shapes[1])
            guard x.count >= 2, w.count == 2, x.last == w[0] else {
                throw mismatch("x[..., K] and kernel [K, N] with matching K")
            }
            return x.dropLast() + [w[1]]

        case let .conv2d(window):
            try require(count: 2)
            let (x, k) = (shapes[0], shapes[1])
            guard x.count == 4 else { throw mismatch("a 4-D NHWC input (batch, height, width, channels)") }
            guard k.count == 4, k[0] == window.size[0], k[1] == window.size[1], k[2] == x[3] else {
                throw mismatch("kernel [\(window.size[0]), \(window.size[1]), \(x[3]), filters]")
            }
            guard Array(x[1...2]) == window.inputSize else {
                throw mismatch("spatial size \(window.inputSize)")
            }
            return [x[0]] + window.outputSize + [k[3]]

        case .biasAdd:
            try require(count: 2)
            guard let n = shapes[0].last, shapes[1] == [n] else {
                throw mismatch("a bias of shape [\(shapes[0].last ?? 0)]")
            }
            return shapes[0]

        case .activation:
            try require(count: 1)
            return shapes[0]

        case let .softmax(axis):
            try require(count: 1)
            guard axis >= 0, axis < shapes[0].count else { throw mismatch("an input with axis \(axis)") }
            return shapes[0]

        case let .maxPool2d(window):
            try require(count: 1)
            let x = shapes[0]
            guard x.count == 4 else { throw mismatch("a 4-D NHWC input (batch, height, width, channels)") }
            guard Array(x[1...2]) == window.inputSize else {
                throw mismatch("spatial size \(window.inputSize)")
            }
            return [x[0]] + window.outputSize + [x[3]]

        case let .reshape(target):
            try require(count: 1)
            guard target.elementCount == shapes[0].elementCount else {
                throw mismatch("\(target.elementCount) elements to reshape to \(target)")
            }
            return target

        case let .concatenate(axis):
            guard shapes.count >= 2 else { throw mismatch("at least 2 inputs") }
            let rank = shapes[0].count
            guard axis >= 0, axis < rank else { throw mismatch("inputs with axis \(axis)") }
            for shape in shapes {
                guard shape.count == rank else { throw mismatch("inputs of equal rank \(rank)") }
                for d in 0..<rank where d != axis && shape[d] != shapes[0][d] {
                    throw mismatch("equal extents on every axis except \(axis)")
                }
            }
            var output = shapes[0]
            output[axis] = shapes.map { $0[axis] }.reduce(0, +)
            return output

        case let .lstm(attributes):
            try require(count: 2)
            let (z, u) = (shapes[0], attributes.units)
            guard z.count == 3, z[2] == 4 * u else {
                throw mismatch("projected inputs (batch, timesteps, \(4 * u))")
            }
            guard shapes[1] == [u, 4 * u] else { throw mismatch("recurrent kernel [\(u), \(4 * u)]") }
            return attributes.returnSequences ? [z[0], z[1], u] : [z[0], u]

        case let .weightedSum(axis):
            try require(count: 2)
            let (w, v) = (shapes[0], shapes[1])
            guard axis == 1, v.count == 3, w == [v[0], v[1], 1] else {
                throw mismatch("weights (batch, T, 1) and values (batch, T, D) summed over axis 1")
            }
            return [v[0], v[2]]
        }
    }
}
