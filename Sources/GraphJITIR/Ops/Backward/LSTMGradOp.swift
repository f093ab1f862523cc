/// Backpropagation through time of an ``LSTMOp``, in one kernel: inputs the projected inputs
/// `z [B, T, 4u]`, the recurrent kernel `[u, 4u]` and the hidden output's gradient (`[B, u]`, or
/// `[B, T, u]` with `returnSequences`); outputs `dz [B, T, 4u]` and `dU [u, 4u]`.
///
/// The forward recurrence is recomputed inside the kernel (gates, cells and hidden states of every
/// step kept in scratch), then, going back over t, with gates i, f, c, o:
/// `dc += dh ⊙ o ⊙ act′(c_t)`, `dz_o = dh ⊙ act(c_t) ⊙ σ′`, `dz_i = dc ⊙ g ⊙ σ′`,
/// `dz_f = dc ⊙ c_{t−1} ⊙ σ′`, `dz_c = dc ⊙ i ⊙ act′`, `dh_{t−1} = dz_t · Uᵀ`, `dc_{t−1} = dc ⊙ f`;
/// after the loop `dU = Σ_t h_{t−1}ᵀ · dz_t` as one GEMM. The kernel `W` and bias gradients are the
/// projection's (`xᵀ · dz`, `Σ dz`), computed by the matmul and bias rules.
public struct LSTMGradOp: OperationDefinition {
    /// The forward LSTM's attributes; ``LSTMOp`` passes them with ``LSTMAttributes/exposesCellStates``
    /// off, so the only gradient read is the hidden output's.
    public let attributes: LSTMAttributes

    /// Creates the backward pass of an LSTM with these attributes.
    public init(attributes: LSTMAttributes) { self.attributes = attributes }

    public var mnemonic: String { "lstm_grad" }
    public var attributeDescription: String { LSTMOp(attributes: attributes).attributeDescription }
    public var kind: OperationKind { .routine }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 3)
        let forward = try LSTMOp(attributes: attributes).outputShapes(for: [shapes[0], shapes[1]])
        try require(shapes[2] == forward[0], "the hidden output's gradient of shape \(forward[0])")
        return [shapes[0], shapes[1]]
    }

    /// Floats of scratch the C routine needs.
    static func scratchFloats(batch: Int, steps: Int, units: Int) -> Int {
        Int.saturatingSum(Int.saturatingProduct(batch, steps, 12 * units), Int.saturatingProduct(batch, 2 * units))
    }

    @_specialize(exported: false, where A == Double)
    @_specialize(exported: false, where A == Float)
    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let (z, recurrent, dh) = (inputs[0], inputs[1], inputs[2])
        let (batch, steps, units) = (z.shape[0], z.shape[1], attributes.units)
        let gates = 4 * units
        let (act, rec) = (attributes.activation, attributes.recurrentActivation)
        let (actD, recD) = (act.definition.derivative, rec.definition.derivative)
        func derivative(_ d: ElementwiseActivation.Derivative, input: Float, output: Float) -> A {
            A(d(Double(d.readsOutput ? output : input)))
        }
        var dz = [Float](repeating: 0, count: z.elementCount)
        var dU = [A](repeating: 0, count: recurrent.elementCount)
        for b in 0..<batch {
            // Forward, keeping everything the backward pass reads.
            var pre = [[Float]](), gate = [[Float]](), cells = [[Float]](), hidden = [[Float]]()
            var h = [Float](repeating: 0, count: units), c = [Float](repeating: 0, count: units)
            for t in 0..<steps {
                var p = [Float](repeating: 0, count: gates)
                for g in 0..<gates {
                    var sum = A(z.scalars[(b * steps + t) * gates + g])
                    for j in 0..<units { sum += A(h[j]) * A(recurrent.scalars[j * gates + g]) }
                    p[g] = Float(sum)
                }
                var a = [Float](repeating: 0, count: gates)
                for j in 0..<units {
                    a[j] = rec(p[j]); a[units + j] = rec(p[units + j])
                    a[2 * units + j] = act(p[2 * units + j]); a[3 * units + j] = rec(p[3 * units + j])
                    c[j] = Float(A(a[units + j]) * A(c[j]) + A(a[j]) * A(a[2 * units + j]))
                    h[j] = a[3 * units + j] * act(c[j])
                }
                pre.append(p); gate.append(a); cells.append(c); hidden.append(h)
            }
            // Backward over time.
            var dhNext = [A](repeating: 0, count: units), dcNext = [A](repeating: 0, count: units)
            for t in stride(from: steps - 1, through: 0, by: -1) {
                var dzt = [A](repeating: 0, count: gates)
                for j in 0..<units {
                    var dht = dhNext[j]
                    if attributes.returnSequences { dht += A(dh.scalars[(b * steps + t) * units + j]) }
                    else if t == steps - 1 { dht += A(dh.scalars[b * units + j]) }
                    let (i, f, g, o) = (gate[t][j], gate[t][units + j], gate[t][2 * units + j], gate[t][3 * units + j])
                    let ct = cells[t][j], actC = act(ct)
                    let previousC: A = t > 0 ? A(cells[t - 1][j]) : 0
                    let dc = dcNext[j] + dht * A(o) * derivative(actD, input: ct, output: actC)
                    dzt[3 * units + j] = dht * A(actC) * derivative(recD, input: pre[t][3 * units + j], output: o)
                    dzt[j] = dc * A(g) * derivative(recD, input: pre[t][j], output: i)
                    dzt[units + j] = dc * previousC * derivative(recD, input: pre[t][units + j], output: f)
                    dzt[2 * units + j] = dc * A(i) * derivative(actD, input: pre[t][2 * units + j], output: g)
                    dcNext[j] = dc * A(f)
                }
                for g in 0..<gates { dz[(b * steps + t) * gates + g] = Float(dzt[g]) }
                for j in 0..<units {
                    var sum: A = 0
                    for g in 0..<gates { sum += dzt[g] * A(recurrent.scalars[j * gates + g]) }
                    dhNext[j] = sum
                    if t > 0 { for g in 0..<gates { dU[j * gates + g] += A(hidden[t - 1][j]) * dzt[g] } }
                }
            }
        }
        return [Tensor(shape: z.shape, uncheckedScalars: dz), Tensor(shape: recurrent.shape, uncheckedScalars: dU.map { Float($0) })]
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        let z = graph[node.inputs[0]].shape
        let (batch, steps, units) = (z[0], z[1], attributes.units)
        return .anchor(.routine(RoutineLowering("lstm_backward", [
            .int(batch), .int(steps), .int(units), .input(node.inputs[0]), .input(node.inputs[1]), .input(node.inputs[2]),
            .int(attributes.returnSequences ? 1 : 0), .activation(attributes.activation),
            .activation(attributes.recurrentActivation), .output(node.outputs[0]), .output(node.outputs[1]),
            .scratch(floats: Self.scratchFloats(batch: batch, steps: steps, units: units)),
        ], multiplyAdds: .saturatingProduct(3, batch, steps, units, 4 * units))))
    }
}
