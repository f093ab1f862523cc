/// Writes the C function for one ``KernelGroup``.
///
/// Heavy loops (GEMM, im2col, pooling, vector math, the LSTM cell) are calls into the runtime
/// table `rt`, whose routines are vectorized; the generated code orchestrates them with every
/// shape baked in as a named constant, and does the light loops (bias on a non-GEMM value,
/// strided softmax, copies) itself. Each function opens with a comment naming the layers and
/// operations it fuses.
struct KernelCodeGenerator {
    let graph: Graph
    /// How many workers `rt->parallel_for` may use at most (sizes per-worker scratch).
    var workerSlots: Int = RuntimeSettings.maxWorkers

    func generate(_ group: KernelGroup) -> GeneratedKernel {
        var emitter = KernelEmitter(graph: graph, group: group, workerSlots: workerSlots)
        emitter.emitBody()
        return emitter.finish()
    }
}

/// The state of writing one kernel: its arguments, constants and body.
private struct KernelEmitter {
    let graph: Graph
    let group: KernelGroup
    private var arguments: [KernelArgument] = []
    private var argumentNames: [KernelArgument: String] = [:]
    private var declarations: [String] = []
    private var constants: [(String, Int)] = []
    private var usedNames: Set<String> = []
    private var body = CSourceWriter()
    private var multiplyAdds = 0
    /// A loop body moved into its own function for `rt->parallel_for`: (function name, body).
    private var parallelBody: (name: String, lines: CSourceWriter)?
    /// Scratch slots per parallel kernel: one per possible worker.
    private let workerSlots: Int

    init(graph: Graph, group: KernelGroup, workerSlots: Int) {
        self.graph = graph
        self.group = group
        self.workerSlots = workerSlots
    }

    // MARK: Arguments and constants

    /// The C name bound to `argument`, declaring `buffers[i]` on first use. Names carry a prefix by
    /// role (`in_`, `w_`, `v_`, `s_`) so that no user-chosen layer or input name can collide with
    /// a C keyword, a local variable or a constant of the kernel, or start with a digit.
    mutating func bind(_ argument: KernelArgument, writable: Bool = false) -> String {
        if let name = argumentNames[argument] { return name }
        let (base, comment, isWritable): (String, String, Bool)
        switch argument {
        case let .value(id):
            let value = graph[id]
            let shape = value.shape.map(String.init).joined(separator: "x")
            switch value.role {
            case .input: (base, comment, isWritable) = ("in_" + value.name, "model input \(shape)", false)
            case .parameter: (base, comment, isWritable) = ("w_" + value.name, "weight \(shape)", false)
            case .computed:
                let isOutput = group.outputs.contains(id)
                (base, comment, isWritable) = ("v_" + value.name + (isOutput ? "_out" : "_in"),
                                              "\(isOutput ? "output" : "input") \(shape) from \(value.name)",
                                              isOutput)
            }
        case let .packedWeights(ids):
            let names = ids.map { graph[$0].name }
            let shapes = ids.map { graph[$0].shape.map(String.init).joined(separator: "x") }
            (base, comment, isWritable) = ("w_" + names.joined(separator: "_") + "_packed",
                                          "weight\(ids.count > 1 ? "s" : "") \(shapes.joined(separator: " | ")), "
                                              + (ids.count > 1 ? "concatenated along N, " : "") + "packed for sgemm_packed",
                                          false)
        case let .concatenatedVector(ids):
            let names = ids.map { graph[$0].name }
            (base, comment, isWritable) = ("w_" + names.joined(separator: "_"),
                                          "weights \(names.joined(separator: " | ")) end to end", false)
        case let .scratch(floats, label):
            (base, comment, isWritable) = ("s_" + label, "scratch, \(floats) floats", true)
        }
        var name = base.replacingNonIdentifierCharacters()
        if usedNames.contains(name) { name += "_\(arguments.count)" }
        usedNames.insert(name)
        let type = isWritable || writable ? "float *const" : "const float *const"
        declarations.append("\(type) \(name) = buffers[\(arguments.count)];  /* \(comment) */")
        arguments.append(argument)
        argumentNames[argument] = name
        return name
    }

    /// Declares a named compile-time constant and returns its name.
    mutating func constant(_ name: String, _ value: Int) -> String {
        if !constants.contains(where: { $0.0 == name }) { constants.append((name, value)) }
        return name
    }

    /// A fresh scratch buffer of `floats` floats.
    mutating func scratch(_ floats: Int, _ label: String) -> String {
        bind(.scratch(floats: floats, label: label))
    }

    var output: String { mutating get { bind(.value(group.output)) } }

    // MARK: Body

    mutating func emitBody() {
        if group.branches.count > 1 {
            emitSiblingMatmuls()
            return
        }
        switch group.anchor.operation {
        case let .conv2d(window): emitConvolution(window)
        case .matmul: emitMatmul()
        case let .lstm(attributes): emitLSTM(attributes)
        case let .concatenate(axis): emitConcatenation(axis)
        case let .maxPool2d(window): emitPooling(window)
        case .biasAdd, .activation, .softmax, .weightedSum, .reshape:
            emitChain(Array(group.nodes), source: bind(.value(group.anchor.inputs[0])))
        }
    }

    /// Splits off a leading bias and activation that a GEMM epilogue can apply.
    private mutating func foldEpilogue(_ stages: [GraphNode]) -> (bias: String, activation: String, rest: [GraphNode]) {
        var rest = stages[...]
        var bias = "0"
        var activation = ActivationFunction.linear
        if let first = rest.first, first.operation == .biasAdd {
            bias = bind(.value(first.inputs[1]))
            rest = rest.dropFirst()
        }
        if let first = rest.first, case let .activation(function) = first.operation {
            activation = function
            rest = rest.dropFirst()
        }
        return (bias, activation.cConstant, Array(rest))
    }

    /// A weight for a GEMM's B operand: packed once if it is a parameter, else as stored.
    private mutating func gemmOperand(_ id: ValueID) -> (name: String, isPacked: Bool) {
        if case .parameter = graph[id].role { return (bind(.packedWeights([id])), true) }
        return (bind(.value(id)), false)
    }

    // MARK: Contractions

    private mutating func emitMatmul() {
        let anchor = group.anchor
        let weightShape = graph[anchor.inputs[1]].shape
        let (k, n) = (weightShape[0], weightShape[1])
        let m = graph[anchor.inputs[0]].shape.elementCount / k
        multiplyAdds += m * n * k
        let x = bind(.value(anchor.inputs[0]))
        let w = gemmOperand(anchor.inputs[1])
        let (bias, activation, rest) = foldEpilogue(Array(group.stages))
        let target = rest.contains(where: Self.changesShape) ? scratch(m * n, "product") : output
        let (cm, cn, ck) = (constant("M", m), constant("N", n), constant("K", k))
        body.line("/* \(anchor.layer): [\(cm) x \(ck)] x [\(ck) x \(cn)], epilogue bias + \(activation) */")
        if w.isPacked {
            body.line("rt->sgemm_packed(\(cm), \(cn), \(ck), \(x), \(ck), \(w.name), \(target), \(cn), \(bias), \(activation), 0);")
        } else {
            body.line("rt->sgemm(\(cm), \(cn), \(ck), \(x), \(ck), \(w.name), \(cn), \(target), \(cn), \(bias), \(activation), 0);")
        }
        emitChain(rest, source: target, sourceIsWritable: true)
    }

    /// Sibling contractions of one input: one GEMM over the weights concatenated along N (bias
    /// too), then each branch copies its columns to its output and runs its own stages there.
    private mutating func emitSiblingMatmuls() {
        let anchor = group.anchor
        let k = graph[anchor.inputs[1]].shape[0]
        let m = graph[anchor.inputs[0]].shape.elementCount / k
        let widths = group.branches.map { graph[$0[0].inputs[1]].shape[1] }
        let total = widths.reduce(0, +)
        multiplyAdds += m * total * k
        let hasBias = group.branches[0].count > 1 && group.branches[0][1].operation == .biasAdd
        let x = bind(.value(anchor.inputs[0]))
        let w = bind(.packedWeights(group.branches.map { $0[0].inputs[1] }))
        let bias = hasBias ? bind(.concatenatedVector(group.branches.map { $0[1].inputs[1] })) : "0"
        let product = scratch(m * total, "product")
        let (cm, cn, ck) = (constant("M", m), constant("N", total), constant("K", k))
        body.line("/* \(group.layers.joined(separator: ", ")): one GEMM over the concatenated weights "
                  + "[\(ck) x (\(widths.map(String.init).joined(separator: " + ")))], epilogue bias */")
        body.line("rt->sgemm_packed(\(cm), \(cn), \(ck), \(x), \(ck), \(w), \(product), \(cn), \(bias), GJ_LINEAR, 0);")
        var offset = 0
        for (branch, width) in zip(group.branches, widths) {
            let out = bind(.value(branch.last!.output))
            body.line("/* \(branch[0].layer): columns \(offset)..<\(offset + width) */")
            body.block("for (long m = 0; m < M; ++m)") { writer in
                writer.line("memcpy(\(out) + m * \(width), \(product) + m * N + \(offset), sizeof(float) * \(width));")
            }
            emitChain(Array(branch.dropFirst(hasBias ? 2 : 1)), source: out, sourceIsWritable: true, target: out)
            offset += width
        }
    }

    private mutating func emitConvolution(_ window: Window2D) {
        let anchor = group.anchor
        let inputShape = graph[anchor.inputs[0]].shape
        let kernelShape = graph[anchor.inputs[1]].shape
        let (batch, height, width, channels) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let filters = kernelShape[3]
        let (oh, ow) = (window.outputSize[0], window.outputSize[1])
        let patch = window.size[0] * window.size[1] * channels
        multiplyAdds += batch * oh * ow * filters * patch

        let x = bind(.value(anchor.inputs[0]))
        let w = gemmOperand(anchor.inputs[1])
        let (bias, activation, rest) = foldEpilogue(Array(group.stages))
        let pool = rest.first { if case .maxPool2d = $0.operation { true } else { false } }
        // Scratch is per worker: images run in parallel, each worker on its own slot.
        let columnsSlot = constant("COLUMNS_SLOT", oh * ow * patch)
        let columnsBase = scratch(oh * ow * patch * workerSlots, "columns")
        let convolvedSlot = constant("CONVOLVED_SLOT", oh * ow * filters)
        let convolvedBase = pool == nil ? "" : scratch(oh * ow * filters * workerSlots, "convolved")
        let out = output

        _ = constant("BATCH", batch)
        _ = (constant("H", height), constant("W", width), constant("C", channels))
        _ = (constant("KH", window.size[0]), constant("KW", window.size[1]))
        _ = (constant("OH", oh), constant("OW", ow), constant("F", filters), constant("PATCH", patch))
        let outputImage = constant("OUT_IMAGE", graph[group.output].shape.dropFirst().elementCount)

        let imageWork = oh * ow * filters * patch
        if batch < workerSlots && imageWork * batch >= Self.bandedConvolutionMultiplyAdds {
            emitBandedConvolution(window, rest: rest, pool: pool, gemm: w, bias: bias, activation: activation,
                                  x: x, out: out, columnsBase: columnsBase, columnsSlot: columnsSlot,
                                  convolvedBase: convolvedBase, convolvedSlot: convolvedSlot,
                                  outputImage: outputImage)
            return
        }

        var images = CSourceWriter()
        images.line("float *const columns = \(columnsBase) + (long)worker * \(columnsSlot);")
        if pool != nil { images.line("float *const convolved = \(convolvedBase) + (long)worker * \(convolvedSlot);") }
        let gemm = w.isPacked
            ? "rt->sgemm_packed(OH * OW, F, PATCH, columns, PATCH, \(w.name), TARGET, F, \(bias), \(activation), 0);"
            : "rt->sgemm(OH * OW, F, PATCH, columns, PATCH, \(w.name), F, TARGET, F, \(bias), \(activation), 0);"
        var stages = CSourceWriter()
        var current = pool == nil ? "result" : "convolved"
        var currentCount = oh * ow * filters
        for stage in rest {
            switch stage.operation {
            case let .maxPool2d(poolWindow):
                stages.line("/* \(stage.layer): max pool \(poolWindow) */")
                stages.line("rt->maxpool_nhwc(\(current), OH, OW, F, \(poolWindow.size[0]), \(poolWindow.size[1]), "
                            + "\(poolWindow.strides[0]), \(poolWindow.strides[1]), \(poolWindow.padBefore[0]), "
                            + "\(poolWindow.padBefore[1]), \(poolWindow.outputSize[0]), \(poolWindow.outputSize[1]), result);")
                current = "result"
                currentCount = poolWindow.outputSize[0] * poolWindow.outputSize[1] * filters
            default:
                emitInPlace(stage, on: current, count: currentCount, writer: &stages)
            }
        }
        let target = pool == nil ? "result" : "convolved"
        images.block("for (long b = begin; b < end; ++b)") { writer in
            writer.line("const float *const image = \(x) + b * H * W * C;")
            writer.line("float *const result = \(out) + b * \(outputImage);")
            writer.line("/* \(anchor.layer): im2col, then [OH*OW x PATCH] x [PATCH x F] + bias + \(activation) */")
            writer.line("rt->im2col_nhwc(image, H, W, C, KH, KW, \(window.strides[0]), \(window.strides[1]), "
                        + "\(window.padBefore[0]), \(window.padBefore[1]), OH, OW, columns);")
            writer.line(gemm.replacingOccurrences(of: "TARGET", with: target))
            for line in stages.lines { writer.line(line) }
        }
        emitParallel(count: batch, workPerItem: imageWork, "images", images)
    }

    /// Fewer images than workers (batch 1): split each image into bands of output rows instead.
    /// A band of pooled rows `[begin, end)` convolves just the rows its pooling windows read
    /// (overlapping windows recompute a shared row), with the implicit padding shifted to the
    /// band, then pools them into its slice of the output.
    private mutating func emitBandedConvolution(
        _ window: Window2D, rest: [GraphNode], pool: GraphNode?, gemm w: (name: String, isPacked: Bool),
        bias: String, activation: String, x: String, out: String, columnsBase: String, columnsSlot: String,
        convolvedBase: String, convolvedSlot: String, outputImage: String
    ) {
        let anchor = group.anchor
        let filters = graph[anchor.inputs[1]].shape[3]
        var poolWindow: Window2D?
        if let pool, case let .maxPool2d(geometry) = pool.operation { poolWindow = geometry }
        let bandRows = poolWindow?.outputSize[0] ?? window.outputSize[0]
        let rowWidth = (poolWindow?.outputSize[1] ?? window.outputSize[1]) * filters

        var band = CSourceWriter()
        band.line("float *const columns = \(columnsBase) + (long)worker * \(columnsSlot);")
        if poolWindow != nil {
            band.line("float *const convolved = \(convolvedBase) + (long)worker * \(convolvedSlot);")
        }
        if let poolWindow {
            band.line("/* conv rows [r0, r1) feed pooled rows [begin, end) */")
            band.line("long r0 = begin * \(poolWindow.strides[0]) - \(poolWindow.padBefore[0]);")
            band.line("long r1 = (end - 1) * \(poolWindow.strides[0]) - \(poolWindow.padBefore[0]) + \(poolWindow.size[0]);")
            band.line("const int pool_top = (int)(r0 < 0 ? -r0 : 0);")
            band.line("if (r0 < 0) r0 = 0;")
            band.line("if (r1 > OH) r1 = OH;")
        } else {
            band.line("const long r0 = begin, r1 = end;")
        }
        band.line("/* input rows from r0 * stride - pad; padding before the first row only in the first band */")
        band.line("long i0 = r0 * \(window.strides[0]) - \(window.padBefore[0]);")
        band.line("const int top = (int)(i0 < 0 ? -i0 : 0);")
        band.line("if (i0 < 0) i0 = 0;")
        // Stages: before the pool on the band's conv rows, after it on the band's output rows.
        var stages = CSourceWriter()
        var current = poolWindow == nil ? "result" : "convolved"
        var count = "(r1 - r0) * OW * F"
        for stage in rest {
            if case let .maxPool2d(geometry) = stage.operation {
                stages.line("/* \(stage.layer): max pool \(geometry) over the band */")
                stages.line("rt->maxpool_nhwc(convolved, (int)(r1 - r0), OW, F, \(geometry.size[0]), \(geometry.size[1]), "
                            + "\(geometry.strides[0]), \(geometry.strides[1]), pool_top, \(geometry.padBefore[1]), "
                            + "(int)(end - begin), \(geometry.outputSize[1]), result);")
                current = "result"
                count = "(end - begin) * \(rowWidth)"
            } else {
                emitInPlace(stage, on: current, count: count, writer: &stages)
            }
        }
        band.block("for (long b = 0; b < BATCH; ++b)") { writer in
            writer.line("const float *const image = \(x) + b * H * W * C + i0 * W * C;")
            writer.line("float *const result = \(out) + b * \(outputImage) + begin * \(rowWidth);")
            writer.line("/* \(anchor.layer): im2col of the band, then [rows*OW x PATCH] x [PATCH x F] + bias + \(activation) */")
            writer.line("rt->im2col_nhwc(image, (int)(H - i0), W, C, KH, KW, \(window.strides[0]), \(window.strides[1]), "
                        + "top, \(window.padBefore[1]), (int)(r1 - r0), OW, columns);")
            let target = poolWindow == nil ? "result" : "convolved"
            let call = w.isPacked
                ? "rt->sgemm_packed((int)(r1 - r0) * OW, F, PATCH, columns, PATCH, \(w.name), \(target), F, \(bias), \(activation), 0);"
                : "rt->sgemm((int)(r1 - r0) * OW, F, PATCH, columns, PATCH, \(w.name), F, \(target), F, \(bias), \(activation), 0);"
            writer.line(call)
            for line in stages.lines { writer.line(line) }
        }
        emitParallel(count: bandRows, workPerItem: rowWidth * window.size[0] * window.size[1] * graph[anchor.inputs[0]].shape[3],
                     "bands", band)
    }

    /// Below this many multiply-adds a convolution is not worth splitting within images.
    static let bandedConvolutionMultiplyAdds = 1_000_000

    // MARK: Other anchors

    private mutating func emitLSTM(_ attributes: LSTMAttributes) {
        let anchor = group.anchor
        let zValue = anchor.inputs[0]
        let zShape = graph[zValue].shape
        let (batch, steps, units) = (zShape[0], zShape[1], attributes.units)
        multiplyAdds += batch * steps * units * 4 * units
        // The projection z is this kernel's alone (the LSTM layer made it for this node), so the
        // recurrent product accumulates into it in place; otherwise each step copies its slice.
        let ownsProjection = graph.consumers()[zValue.index].count == 1 && !graph.outputs.contains(zValue)
        let z = bind(.value(zValue), writable: ownsProjection)
        let u = gemmOperand(anchor.inputs[1])
        let out = output
        let gates = ownsProjection ? "" : scratch(batch * 4 * units, "gates")
        let cell = scratch(batch * units, "cell")
        _ = (constant("BATCH", batch), constant("T", steps), constant("U", units), constant("G", 4 * units))
        // Rows of the batch are independent: each worker runs the whole time loop for its rows.
        let hStride = attributes.returnSequences ? "T * U" : "U"
        let (zNow, zStride) = ownsProjection ? ("\(z) + begin * T * G + (long)t * G", "T * G") : ("\(gates) + begin * G", "G")
        var rows = CSourceWriter()
        rows.line("/* \(anchor.layer): the input projection z = x W + b was computed by the previous kernel. */")
        rows.line("const int rows = (int)(end - begin);")
        rows.line("float *const cell = \(cell) + begin * U;")
        rows.line("float *const hidden = \(out) + begin * \(hStride);")
        rows.line("memset(cell, 0, sizeof(float) * rows * U);")
        rows.block("for (int t = 0; t < T; ++t)") { writer in
            writer.line("float *const h = hidden\(attributes.returnSequences ? " + (long)t * U" : "");")
            writer.line("float *const gates_t = \(zNow);")
            if !ownsProjection {
                writer.block("for (long b = begin; b < end; ++b)") { copy in
                    copy.line("memcpy(\(gates) + b * G, \(z) + (b * T + t) * G, sizeof(float) * G);")
                }
            }
            writer.block("if (t > 0)") { recurrent in
                let hPrevious = attributes.returnSequences ? "hidden + (long)(t - 1) * U" : "hidden"
                recurrent.line("/* gates += h(t-1) x recurrent_kernel */")
                let call = u.isPacked
                    ? "rt->sgemm_packed(rows, G, U, \(hPrevious), \(hStride), \(u.name), gates_t, \(zStride), 0, GJ_LINEAR, 1);"
                    : "rt->sgemm(rows, G, U, \(hPrevious), \(hStride), \(u.name), G, gates_t, \(zStride), 0, GJ_LINEAR, 1);"
                recurrent.line(call)
            }
            writer.line("rt->lstm_cell(rows, U, gates_t, \(zStride), cell, U, h, \(hStride), "
                        + "\(attributes.activation.cConstant), \(attributes.recurrentActivation.cConstant));")
        }
        emitParallel(count: batch, workPerItem: steps * 4 * units * units, "rows", rows)
        emitChain(Array(group.stages), source: out, sourceIsWritable: true)
    }

    /// Moves `loop` (which iterates `[begin, end)` and may use `worker`) into a static function
    /// run by `rt->parallel_for` over `count` items, in chunks of at least ~64K multiply-adds.
    private mutating func emitParallel(count: Int, workPerItem: Int, _ label: String, _ loop: CSourceWriter) {
        let grain = max(1, (Self.parallelGrainMultiplyAdds + workPerItem - 1) / max(workPerItem, 1))
        parallelBody = (group.name + "_" + label, loop)
        body.line("gj_task task = { buffers, rt };")
        body.line("rt->parallel_for(\(count), \(grain), \(group.name)_\(label), &task);")
    }

    /// The least work worth a thread hand-off (ONNX Runtime uses about 64K multiply-adds).
    static let parallelGrainMultiplyAdds = 65_536

    private mutating func emitConcatenation(_ axis: Int) {
        let shape = graph[group.anchor.output].shape
        let outer = shape[..<axis].elementCount
        let outChunk = shape[axis...].elementCount
        let out = output
        _ = constant("OUTER", outer)
        var sources: [(name: String, chunk: Int)] = []
        for input in group.anchor.inputs {
            sources.append((bind(.value(input)), graph[input].shape[axis...].elementCount))
        }
        body.block("for (long o = 0; o < OUTER; ++o)") { writer in
            var offset = 0
            for (name, chunk) in sources {
                writer.line("memcpy(\(out) + o * \(outChunk) + \(offset), \(name) + o * \(chunk), sizeof(float) * \(chunk));")
                offset += chunk
            }
        }
        emitChain(Array(group.stages), source: out, sourceIsWritable: true)
    }

    private mutating func emitPooling(_ window: Window2D) {
        let shape = graph[group.anchor.inputs[0]].shape
        let x = bind(.value(group.anchor.inputs[0]))
        let out = output
        let (inImage, outImage) = (shape.dropFirst().elementCount, graph[group.anchor.output].shape.dropFirst().elementCount)
        _ = constant("BATCH", shape[0])
        body.block("for (int b = 0; b < BATCH; ++b)") { writer in
            writer.line("rt->maxpool_nhwc(\(x) + (long)b * \(inImage), \(shape[1]), \(shape[2]), \(shape[3]), "
                        + "\(window.size[0]), \(window.size[1]), \(window.strides[0]), \(window.strides[1]), "
                        + "\(window.padBefore[0]), \(window.padBefore[1]), \(window.outputSize[0]), "
                        + "\(window.outputSize[1]), \(out) + (long)b * \(outImage));")
        }
        emitChain(Array(group.stages), source: out, sourceIsWritable: true)
    }

    // MARK: Stage chains

    private static func changesShape(_ node: GraphNode) -> Bool {
        if case .weightedSum = node.operation { return true }
        return false
    }

    /// Emits `nodes` one after another starting from `source`. In-place stages work on the current
    /// buffer (copying a read-only source into the next buffer first); shape-changing stages write a
    /// new buffer. The last buffer written is the group's output.
    private mutating func emitChain(_ nodes: [GraphNode], source: String, sourceIsWritable: Bool = false,
                                    target: String? = nil) {
        guard !nodes.isEmpty else { return }
        let finalTarget = target ?? output
        // Which nodes start a new buffer: shape changers, and the first in-place node on a read-only source.
        var startsBuffer: [Bool] = []
        var writable = sourceIsWritable
        for node in nodes {
            let starts = Self.changesShape(node) || !writable
            startsBuffer.append(starts)
            writable = writable || starts
        }
        let lastStart = startsBuffer.lastIndex(of: true)
        var current = source
        for (position, node) in nodes.enumerated() {
            let count = graph[node.output].shape.elementCount
            if startsBuffer[position] {
                let target = position == lastStart ? finalTarget : scratch(count, "\(node.operation.mnemonic)_tmp")
                if case .weightedSum = node.operation {
                    emitWeightedSum(node, weights: current, into: target)
                    current = target
                    continue
                }
                body.line("memcpy(\(target), \(current), sizeof(float) * \(count));")
                current = target
            }
            var writer = body
            emitInPlace(node, on: current, count: count, writer: &writer)
            body = writer
        }
    }

    private mutating func emitWeightedSum(_ node: GraphNode, weights: String, into target: String) {
        let values = graph[node.inputs[1]].shape
        let (batch, steps, depth) = (values[0], values[1], values[2])
        multiplyAdds += batch * steps * depth
        let v = bind(.value(node.inputs[1]))
        body.line("/* \(node.layer): context = sum over time of weights * inputs, per row: [1 x T] x [T x D] */")
        body.block("for (int b = 0; b < \(batch); ++b)") { writer in
            writer.line("rt->sgemm(1, \(depth), \(steps), \(weights) + (long)b * \(steps), \(steps), "
                        + "\(v) + (long)b * \(steps * depth), \(depth), \(target) + (long)b * \(depth), \(depth), 0, GJ_LINEAR, 0);")
        }
    }

    /// A stage that keeps the shape, applied to `buffer` (`count` floats) in place.
    private mutating func emitInPlace(_ node: GraphNode, on buffer: String, count: Int, writer: inout CSourceWriter) {
        emitInPlace(node, on: buffer, count: String(count), writer: &writer)
    }

    /// A stage that keeps the shape, applied in place to `count` (a C expression) floats.
    private mutating func emitInPlace(_ node: GraphNode, on buffer: String, count: String, writer: inout CSourceWriter) {
        switch node.operation {
        case let .activation(function):
            writer.line("rt->activate(\(buffer), \(count), \(function.cConstant));  /* \(node.layer) */")
        case .biasAdd:
            let bias = bind(.value(node.inputs[1]))
            let n = graph[node.inputs[1]].shape[0]
            writer.line("/* \(node.layer): bias */")
            writer.line("for (long i = 0; i < \(count); ++i) \(buffer)[i] += \(bias)[i % \(n)];")
        case let .softmax(axis):
            let shape = graph[node.output].shape
            let extent = shape[axis]
            let inner = shape[(axis + 1)...].elementCount
            let outer = shape.elementCount / (extent * inner)
            if inner == 1 {
                writer.line("rt->softmax_rows(\(buffer), \(outer), \(extent));  /* \(node.layer): softmax over axis \(axis) */")
            } else {
                writer.line("/* \(node.layer): softmax over axis \(axis) (strided) */")
                writer.block("for (long o = 0; o < \(outer); ++o) for (long i = 0; i < \(inner); ++i)") { loop in
                    loop.line("float *const p = \(buffer) + o * \(extent * inner) + i;")
                    loop.line("float maximum = p[0], sum = 0.0f;")
                    loop.line("for (int e = 1; e < \(extent); ++e) if (p[e * \(inner)] > maximum) maximum = p[e * \(inner)];")
                    loop.line("for (int e = 0; e < \(extent); ++e) { p[e * \(inner)] = rt->expf(p[e * \(inner)] - maximum); sum += p[e * \(inner)]; }")
                    loop.line("for (int e = 0; e < \(extent); ++e) p[e * \(inner)] /= sum;")
                }
            }
        default:
            preconditionFailure("\(node.operation.mnemonic) is not an in-place stage")
        }
    }

    // MARK: Assembly

    mutating func finish() -> GeneratedKernel {
        var writer = CSourceWriter()
        // One chain per branch; sibling branches (sharing one GEMM) are separated by " | ".
        let chains = group.branches.map { branch in
            branch.map { "\($0.layer): \($0.operation.mnemonic)" }.joined(separator: " -> ")
        }
        writer.line("/*")
        writer.line(" * \(group.name): fuses layer\(group.layers.count == 1 ? "" : "s") \(group.layers.joined(separator: ", "))")
        writer.line(" *   " + chains.joined(separator: " | "))
        writer.line(" */")
        let constantLine = constants.isEmpty ? nil
            : "enum { " + constants.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + " };"
        if let (name, loop) = parallelBody {
            writer.block("static void \(name)(void *context, long begin, long end, int worker)") { function in
                function.line("float *const *const buffers = ((const gj_task *)context)->buffers;")
                function.line("const gj_runtime *const rt = ((const gj_task *)context)->rt;")
                function.line("(void)worker;")
                if let constantLine { function.line(constantLine) }
                for declaration in declarations { function.line(declaration) }
                for line in loop.lines { function.line(line) }
            }
            writer.line()
        }
        writer.block("void \(group.name)(float *const *buffers, const gj_runtime *rt)") { function in
            if let constantLine { function.line(constantLine) }
            for declaration in declarations { function.line(declaration) }
            for line in body.lines { function.line(line) }
        }
        return GeneratedKernel(name: group.name, group: group, arguments: arguments, source: writer.text,
                               multiplyAdds: multiplyAdds)
    }
}
