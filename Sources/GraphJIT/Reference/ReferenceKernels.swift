import Foundation

/// Plain-loop implementations of every ``Operation``, accumulating in `A`.
struct ReferenceKernels<A: BinaryFloatingPoint & Sendable> {
    // MARK: Dispatch

    func evaluate(_ operation: Operation, _ x: [Tensor], outputShape: [Int]) -> Tensor {
        switch operation {
        case .matmul: matmul(x[0], x[1], outputShape)
        case let .conv2d(window): conv2d(x[0], x[1], window, outputShape)
        case .biasAdd: biasAdd(x[0], x[1])
        case let .activation(function): map(x[0]) { Self.activate(function, $0) }
        case let .softmax(axis): softmax(x[0], axis: axis)
        case let .maxPool2d(window): maxPool2d(x[0], window, outputShape)
        case .reshape: Tensor(shape: outputShape, scalars: x[0].scalars)
        case let .concatenate(axis): concatenate(x, axis: axis, outputShape)
        case let .lstm(attributes): lstm(x[0], x[1], attributes, outputShape)
        case .weightedSum: weightedSum(x[0], x[1], outputShape)
        }
    }

    // MARK: Contractions

    private func matmul(_ x: Tensor, _ w: Tensor, _ shape: [Int]) -> Tensor {
        let (k, n) = (w.shape[0], w.shape[1])
        let m = x.elementCount / k
        var out = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum: A = 0
                for i in 0..<k { sum += A(x.scalars[row * k + i]) * A(w.scalars[i * n + column]) }
                out[row * n + column] = Float(sum)
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    private func conv2d(_ x: Tensor, _ kernel: Tensor, _ window: Window2D, _ shape: [Int]) -> Tensor {
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw, filters) = (kernel.shape[0], kernel.shape[1], kernel.shape[3])
        let (oh, ow) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for f in 0..<filters {
                        var sum: A = 0
                        for ky in 0..<kh {
                            let iy = oy * window.strides[0] - window.padBefore[0] + ky
                            guard iy >= 0 && iy < height else { continue }
                            for kx in 0..<kw {
                                let ix = ox * window.strides[1] - window.padBefore[1] + kx
                                guard ix >= 0 && ix < width else { continue }
                                let inputBase = ((b * height + iy) * width + ix) * channels
                                let kernelBase = (ky * kw + kx) * channels * filters + f
                                for c in 0..<channels {
                                    sum += A(x.scalars[inputBase + c]) * A(kernel.scalars[kernelBase + c * filters])
                                }
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * filters + f] = Float(sum)
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    // MARK: Elementwise

    private func biasAdd(_ x: Tensor, _ bias: Tensor) -> Tensor {
        let n = bias.elementCount
        var out = x
        for i in 0..<out.elementCount { out.scalars[i] = Float(A(x.scalars[i]) + A(bias.scalars[i % n])) }
        return out
    }

    private func map(_ x: Tensor, _ transform: (Float) -> Float) -> Tensor {
        Tensor(shape: x.shape, scalars: x.scalars.map(transform))
    }

    /// An elementwise activation, evaluated in `Double` and rounded once.
    static func activate(_ function: ActivationFunction, _ x: Float) -> Float {
        let v = Double(x)
        switch function {
        case .linear: return x
        case .relu: return max(x, 0)
        case .sigmoid: return Float(1 / (1 + exp(-v)))
        case .tanh: return Float(Foundation.tanh(v))
        case .softmax: preconditionFailure("softmax is not elementwise")
        }
    }

    // MARK: Reductions

    private func softmax(_ x: Tensor, axis: Int) -> Tensor {
        let extent = x.shape[axis]
        let inner = x.shape[(axis + 1)...].elementCount
        let outer = x.elementCount / (extent * inner)
        var out = x
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * extent * inner + i
                var maximum = -Float.infinity
                for e in 0..<extent { maximum = max(maximum, x.scalars[base + e * inner]) }
                var sum = 0.0
                var exps = [Double](repeating: 0, count: extent)
                for e in 0..<extent {
                    exps[e] = exp(Double(x.scalars[base + e * inner] - maximum))
                    sum += exps[e]
                }
                for e in 0..<extent { out.scalars[base + e * inner] = Float(exps[e] / sum) }
            }
        }
        return out
    }

    private func weightedSum(_ weights: Tensor, _ values: Tensor, _ shape: [Int]) -> Tensor {
        let (batch, steps, depth) = (values.shape[0], values.shape[1], values.shape[2])
        var out = [Float](repeating: 0, count: batch * depth)
        for b in 0..<batch {
            for d in 0..<depth {
                var sum: A = 0
                for t in 0..<steps {
                    sum += A(weights.scalars[b * steps + t]) * A(values.scalars[(b * steps + t) * depth + d])
                }
                out[b * depth + d] = Float(sum)
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    private func maxPool2d(_ x: Tensor, _ window: Window2D, _ shape: [Int]) -> Tensor {
        let (batch, height, width, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    for c in 0..<channels {
                        var maximum = -Float.infinity
                        for py in 0..<window.size[0] {
                            let iy = oy * window.strides[0] - window.padBefore[0] + py
                            guard iy >= 0 && iy < height else { continue }
                            for px in 0..<window.size[1] {
                                let ix = ox * window.strides[1] - window.padBefore[1] + px
                                guard ix >= 0 && ix < width else { continue }
                                maximum = max(maximum, x.scalars[((b * height + iy) * width + ix) * channels + c])
                            }
                        }
                        out[((b * oh + oy) * ow + ox) * channels + c] = maximum
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    // MARK: Data movement

    private func concatenate(_ inputs: [Tensor], axis: Int, _ shape: [Int]) -> Tensor {
        let outer = shape[..<axis].elementCount
        var out: [Float] = []
        out.reserveCapacity(shape.elementCount)
        for o in 0..<outer {
            for input in inputs {
                let chunk = input.shape[axis...].elementCount
                out.append(contentsOf: input.scalars[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    // MARK: Recurrence

    private func lstm(_ z: Tensor, _ recurrent: Tensor, _ attributes: LSTMAttributes, _ shape: [Int]) -> Tensor {
        let (batch, steps, units) = (z.shape[0], z.shape[1], attributes.units)
        let gates = 4 * units
        var out = [Float](repeating: 0, count: shape.elementCount)
        for b in 0..<batch {
            var h = [Float](repeating: 0, count: units)
            var c = [Float](repeating: 0, count: units)
            for t in 0..<steps {
                var preactivation = [Float](repeating: 0, count: gates)
                for g in 0..<gates {
                    var sum = A(z.scalars[(b * steps + t) * gates + g])
                    for j in 0..<units { sum += A(h[j]) * A(recurrent.scalars[j * gates + g]) }
                    preactivation[g] = Float(sum)
                }
                for j in 0..<units {
                    let input = Self.activate(attributes.recurrentActivation, preactivation[j])
                    let forget = Self.activate(attributes.recurrentActivation, preactivation[units + j])
                    let candidate = Self.activate(attributes.activation, preactivation[2 * units + j])
                    let output = Self.activate(attributes.recurrentActivation, preactivation[3 * units + j])
                    c[j] = Float(A(forget) * A(c[j]) + A(input) * A(candidate))
                    h[j] = output * Self.activate(attributes.activation, c[j])
                }
                if attributes.returnSequences {
                    out.replaceSubrange(((b * steps + t) * units)..<((b * steps + t + 1) * units), with: h)
                }
            }
            if !attributes.returnSequences { out.replaceSubrange((b * units)..<((b + 1) * units), with: h) }
        }
        return Tensor(shape: shape, scalars: out)
    }
}
