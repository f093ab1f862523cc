import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Writes the C function of one ``KernelPlan``: every decision is already in the plan; this type
/// only names buffers and renders typed runtime calls, loops and copies.
///
/// Each function opens with a comment naming the layers and operations it fuses; shapes are baked
/// in as named constants. Kernels whose items (images, bands of rows, batch rows) are independent
/// move their loop into a static function run by `rt->parallel_for`, with per-worker scratch.
struct KernelRenderer {
    let graph: Graph

    func render(_ plan: KernelPlan) -> GeneratedKernel {
        var writer = KernelWriter(graph: graph, plan: plan)
        writer.renderBody()
        return GeneratedKernel(name: plan.kernel.group.name, group: plan.kernel.group, arguments: plan.arguments,
                               source: writer.finish(), multiplyAdds: plan.multiplyAdds)
    }
}

/// The state of rendering one kernel: argument names, constants and body lines.
private struct KernelWriter {
    let graph: Graph
    let plan: KernelPlan
    private var names: [KernelArgument: String] = [:]
    private var declarations: [String] = []
    private var constants: [(String, Int)] = []
    private var body = CSourceWriter()
    private var parallelBody: CSourceWriter?
    private var chainIndex = 0

    init(graph: Graph, plan: KernelPlan) {
        self.graph = graph
        self.plan = plan
        var used: Set<String> = []
        for (index, argument) in plan.arguments.enumerated() {
            var (base, comment) = Self.describe(argument, graph: graph, outputs: plan.kernel.group.outputs)
            if case let .value(id) = argument, let target = plan.inPlaceUpdates[id] {
                base = "st_" + graph[target].name
                comment += ", the new value of \(graph[target].name), written in place"
            }
            var name = CText.identifier(base)
            if used.contains(name) { name += "_\(index)" }
            used.insert(name)
            names[argument] = name
            let type = plan.writable.contains(argument) ? "float *const" : "const float *const"
            declarations.append("\(type) \(name) = buffers[\(index)];  /* \(CText.comment(comment)) */")
        }
    }

    /// The C name prefix by role (`in_`, `w_`, `v_`, `s_`) keeps user-chosen names from colliding
    /// with C keywords, locals or constants, or starting with a digit.
    private static func describe(_ argument: KernelArgument, graph: Graph, outputs: [ValueID]) -> (String, String) {
        func shape(_ id: ValueID) -> String { graph[id].shape.map(String.init).joined(separator: "x") }
        switch argument {
        case let .value(id):
            let value = graph[id]
            switch value.role {
            case .input: return ("in_" + value.name, "model input \(shape(id))")
            case .parameter: return ("w_" + value.name, "weight \(shape(id))")
            case .state: return ("st_" + value.name, "state \(shape(id))")
            case .computed:
                let isOutput = outputs.contains(id)
                return ("v_" + value.name + (isOutput ? "_out" : "_in"),
                        "\(isOutput ? "output" : "input") \(shape(id)) from \(value.name)")
            }
        case let .weight(.raw(id)):
            return ("w_" + graph[id].name, "weight \(shape(id))")
        case let .weight(.packed(ids)):
            return ("w_" + ids.map { graph[$0].name }.joined(separator: "_") + "_packed",
                    "weight\(ids.count > 1 ? "s" : "") \(ids.map(shape).joined(separator: " | ")), "
                        + (ids.count > 1 ? "concatenated along N, " : "") + "packed for sgemm_packed")
        case let .weight(.int8(id)):
            return ("w_" + graph[id].name + "_int8", "weight \(shape(id)) as int8, packed for dense_int8")
        case let .weight(.bf16(id)):
            return ("w_" + graph[id].name + "_bf16", "weight \(shape(id)) as bf16, packed for dense_bf16")
        case let .weight(.concatenated(ids)):
            let joined = ids.map { graph[$0].name }
            return ("w_" + joined.joined(separator: "_"), "weights \(joined.joined(separator: " | ")) end to end")
        case let .scratch(floats, label):
            return ("s_" + label, "scratch, \(floats) floats")
        }
    }

    private func name(_ argument: KernelArgument) -> CExpression {
        guard let name = names[argument] else { preconditionFailure("the plan lacks argument \(argument)") }
        return .name(name)
    }

    private func value(_ id: ValueID) -> CExpression { name(.value(id)) }

    /// A GEMM B operand: the packed weight the plan chose, or the value as stored.
    private func gemmOperand(_ id: ValueID) -> (CExpression, isPacked: Bool) {
        if let packed = names[.weight(.packed([id]))] { return (.name(packed), true) }
        return (value(id), false)
    }

    private func bias(_ id: ValueID?) -> CExpression {
        guard let id else { return .null }
        return .name(names[.weight(.raw(id))] ?? names[.value(id)]!)
    }

    private mutating func constant(_ name: String, _ value: Int) -> CExpression {
        if !constants.contains(where: { $0.0 == name }) { constants.append((name, value)) }
        return .name(name)
    }

    private func hasScratch(_ label: String) -> Bool {
        plan.arguments.contains { if case .scratch(_, label) = $0 { true } else { false } }
    }

    private func scratch(_ label: String) -> CExpression {
        guard let argument = plan.arguments.first(where: { if case .scratch(_, label) = $0 { true } else { false } })
        else { preconditionFailure("the plan lacks scratch '\(label)'") }
        return name(argument)
    }

    /// `C = A · B` with an epilogue, packed or not.
    private func gemm(m: CExpression, n: CExpression, k: CExpression, a: CExpression, lda: CExpression,
                      b: (CExpression, isPacked: Bool), ldb: CExpression, c: CExpression, ldc: CExpression,
                      epilogue: Epilogue, accumulate: Bool = false) -> RuntimeCall {
        b.isPacked
            ? .sgemmPacked(m: m, n: n, k: k, a: a, lda: lda, packedB: b.0, c: c, ldc: ldc, bias: bias(epilogue.bias),
                           activation: epilogue.activation, accumulate: accumulate)
            : .sgemm(m: m, n: n, k: k, a: a, lda: lda, b: b.0, ldb: ldb, c: c, ldc: ldc, bias: bias(epilogue.bias),
                     activation: epilogue.activation, accumulate: accumulate)
    }

    // MARK: Bodies

    mutating func renderBody() {
        switch plan.kernel.body {
        case let .gemm(kernel): renderGEMM(kernel)
        case let .siblingGEMM(kernel): renderSiblings(kernel)
        case let .convolution(kernel): renderConvolution(kernel)
        case let .recurrence(kernel): renderRecurrence(kernel)
        case let .concatenation(kernel): renderConcatenation(kernel)
        case let .stages(source, _, output): renderChain(source: value(plan.updatesSourceInPlace ? output : source))
        case let .routine(kernel): renderRoutine(kernel)
        }
    }

    /// The buffer a routine's operand `value` is bound to (its output may live in the product buffer).
    private func routineBuffer(_ value: ValueID, _ kernel: RoutineKernel) -> CExpression {
        if value == kernel.anchorOutput, !kernel.stages.isEmpty {
            if hasScratch("product") { return scratch("product") }
            return self.value(kernel.output)
        }
        return self.value(value)
    }

    private mutating func renderRoutine(_ kernel: RoutineKernel) {
        let routine = kernel.routine
        var calls = CSourceWriter()
        for (index, call) in routine.calls.enumerated() {
            let arguments: [CExpression] = call.operands.enumerated().map { position, operand in
                switch operand {
                case let .input(id), let .output(id): routineBuffer(id, kernel)
                case let .int(value): .literal(value)
                case let .float(value): .float(value)
                case let .activation(function): RuntimeCall.activation(function)
                case let .loss(function): .name(function.runtimeName)
                case let .scratch(floats): name(.scratch(floats: floats, label: "call\(index)_\(position)"))
                case let .weight(format): name(.weight(format))
                case .null: .null
                }
            }
            calls.line(RuntimeCall(function: call.function, arguments: arguments).description)
        }
        body.line("/* \(kernel.layer): \(CText.comment(kernel.operation)) */")
        if routine.guardFinite.isEmpty {
            body.append(calls)
        } else {
            let checks = routine.guardFinite.map { id in
                "rt->all_finite(\(graph[id].shape.elementCount), \(value(id)))"
            }
            body.line("/* every gradient finite, or nothing moves (each new value is its old one) */")
            body.line("const int finite = " + checks.joined(separator: "\n        && ") + ";")
            let copies = routine.fallback.map { copy in
                let (from, to) = (value(copy.from), value(copy.to))
                return "if (\(to) != \(from)) memcpy(\(to), \(from), sizeof(float) * \(graph[copy.from].shape.elementCount));"
            }
            body.block("if (finite)") { writer in writer.append(calls) }
            body.block("else") { writer in for line in copies { writer.line(line) } }
        }
        renderChain(source: routineBuffer(kernel.anchorOutput, kernel))
    }

    private mutating func renderGEMM(_ kernel: GEMMKernel) {
        if plan.parallelism != nil, let rows = kernel.attentionRows {
            renderAttentionRows(kernel, rows)
            return
        }
        let (m, n, k) = (constant("M", kernel.m), constant("N", kernel.n), constant("K", kernel.k))
        let product = hasScratch("product") ? scratch("product") : value(kernel.output)
        body.line("/* \(kernel.layer): [M x K] x [K x N], epilogue bias + \(kernel.epilogue.activation.runtimeName) */")
        body.line(gemm(m: m, n: n, k: k, a: value(kernel.x), lda: k, b: gemmOperand(kernel.weights), ldb: n,
                       c: product, ldc: n, epilogue: kernel.epilogue).description)
        renderChain(source: product)
    }

    /// The attention score kernel one batch row at a time on the worker pool: the row's scores,
    /// their softmax and the weighted sum of its values, while its `T` scores are in cache.
    private mutating func renderAttentionRows(_ kernel: GEMMKernel, _ rows: AttentionRows) {
        let (t, k, d) = (constant("T", rows.steps), constant("K", kernel.k), constant("D", rows.depth))
        let steps = plan.chains[chainIndex]
        chainIndex += 1
        guard steps.count == 2, steps[0].target == nil, let context = steps[1].target else {
            preconditionFailure("the attention rows plan lacks its softmax and weighted-sum steps")
        }
        let (o, scores) = (CExpression.name("o"), CExpression.name("scores"))
        var loop = CSourceWriter()
        loop.line("/* \(kernel.layer) -> \(steps[0].stage.layer): softmax -> \(steps[1].stage.layer): weighted sum, "
                  + "batch rows [begin, end), one at a time */")
        loop.block("for (long o = begin; o < end; ++o)") { row in
            row.line("float *const scores = \(scratch("product") + .long(o) * t);")
            row.line(gemm(m: t, n: .literal(1), k: k, a: value(kernel.x) + .long(o) * t * k, lda: k,
                          b: gemmOperand(kernel.weights), ldb: .literal(1), c: scores, ldc: .literal(1),
                          epilogue: kernel.epilogue).description)
            row.line(RuntimeCall.softmaxRows(scores, rows: 1, width: rows.steps).description
                     + "  /* softmax over the \(rows.steps) steps */")
            row.line(RuntimeCall.sgemm(m: .literal(1), n: d, k: t, a: scores, lda: t, b: value(rows.values) + .long(o) * t * d,
                                       ldb: d, c: name(context) + .long(o) * d, ldc: d, bias: .null,
                                       activation: .linear, accumulate: false).description
                     + "  /* context = scores x values */")
        }
        renderParallel(loop)
    }

    private mutating func renderSiblings(_ kernel: SiblingGEMMKernel) {
        let total = kernel.branches.map(\.width).reduce(0, +)
        let (m, n, k) = (constant("M", kernel.m), constant("N", total), constant("K", kernel.k))
        let product = scratch("product")
        let biases = kernel.branches.compactMap(\.bias)
        let bias: CExpression = biases.isEmpty ? .null : name(.weight(.concatenated(biases)))
        body.line("/* \(kernel.branches.map(\.layer).joined(separator: ", ")): one GEMM over the concatenated "
                  + "weights [K x (\(kernel.branches.map { String($0.width) }.joined(separator: " + ")))], epilogue bias */")
        body.line(RuntimeCall.sgemmPacked(m: m, n: n, k: k, a: value(kernel.x), lda: k,
                                          packedB: name(.weight(.packed(kernel.branches.map(\.weights)))),
                                          c: product, ldc: n, bias: bias, activation: .linear,
                                          accumulate: false).description)
        var offset = 0
        for branch in kernel.branches {
            let out = value(branch.output)
            body.line("/* \(branch.layer): columns \(offset)..<\(offset + branch.width) */")
            body.block("for (long m = 0; m < M; ++m)") { writer in
                writer.line("memcpy(\(out + .name("m") * .literal(branch.width)), "
                            + "\(product + .name("m") * n + .literal(offset)), sizeof(float) * \(branch.width));")
            }
            renderChain(source: out)
            offset += branch.width
        }
    }

    private mutating func renderConvolution(_ kernel: ConvolutionKernel) {
        let window = kernel.window
        let (oh, ow) = (window.outputSize[0], window.outputSize[1])
        let patch = window.size[0] * window.size[1] * kernel.channels
        _ = constant("BATCH", kernel.batch)
        _ = (constant("H", kernel.height), constant("W", kernel.width), constant("C", kernel.channels))
        _ = (constant("KH", window.size[0]), constant("KW", window.size[1]))
        _ = (constant("OH", oh), constant("OW", ow), constant("F", kernel.filters), constant("PATCH", patch))
        let columnsSlot = constant("COLUMNS_SLOT", oh * ow * patch)
        let convolvedSlot = constant("CONVOLVED_SLOT", oh * ow * kernel.filters)
        let outputImage = constant("OUT_IMAGE", graph[kernel.output].shape.dropFirst().elementCount)
        let weights = gemmOperand(kernel.kernel)
        let out = value(kernel.output)
        let convolvedTarget: CExpression = kernel.pool == nil ? .name("result") : .name("convolved")

        var loop = CSourceWriter()
        loop.line("float *const columns = \(scratch("columns") + .long(.name("worker")) * columnsSlot);")
        if kernel.pool != nil {
            loop.line("float *const convolved = \(scratch("convolved") + .long(.name("worker")) * convolvedSlot);")
        }
        let activation = kernel.epilogue.activation.runtimeName
        if plan.isBanded {
            let pool = kernel.pool?.window
            let rowWidth = (pool?.outputSize[1] ?? ow) * kernel.filters
            if let pool {
                loop.line("/* conv rows [r0, r1) feed pooled rows [begin, end) */")
                loop.line("long r0 = begin * \(pool.strides[0]) - \(pool.padBefore[0]);")
                loop.line("long r1 = (end - 1) * \(pool.strides[0]) - \(pool.padBefore[0]) + \(pool.size[0]);")
                loop.line("const int pool_top = (int)(r0 < 0 ? -r0 : 0);")
                loop.line("if (r0 < 0) r0 = 0;")
                loop.line("if (r1 > OH) r1 = OH;")
            } else {
                loop.line("const long r0 = begin, r1 = end;")
            }
            loop.line("/* input rows from r0 * stride - pad; padding before the first row only in the first band */")
            loop.line("long i0 = r0 * \(window.strides[0]) - \(window.padBefore[0]);")
            loop.line("const int top = (int)(i0 < 0 ? -i0 : 0);")
            loop.line("if (i0 < 0) i0 = 0;")
            let bandRows = CExpression.int(.name("r1") - .name("r0"))
            loop.block("for (long b = 0; b < BATCH; ++b)") { writer in
                writer.line("const float *const image = \(value(kernel.x) + .name("b") * .name("H") * .name("W") * .name("C") + .name("i0") * .name("W") * .name("C"));")
                writer.line("float *const result = \(out + .name("b") * outputImage + .name("begin") * .literal(rowWidth));")
                writer.line("/* \(kernel.layer): im2col of the band, then [rows*OW x PATCH] x [PATCH x F] + bias + \(activation) */")
                writer.line(RuntimeCall.im2col(input: .name("image"), h: .int(.name("H") - .name("i0")), w: .name("W"),
                                               c: .name("C"), kh: .name("KH"), kw: .name("KW"), strideH: window.strides[0],
                                               strideW: window.strides[1], padTop: .name("top"),
                                               padLeft: window.padBefore[1], oh: bandRows, ow: .name("OW"),
                                               columns: .name("columns")).description)
                writer.line(gemm(m: bandRows * .name("OW"), n: .name("F"), k: .name("PATCH"), a: .name("columns"),
                                 lda: .name("PATCH"), b: weights, ldb: .name("F"), c: convolvedTarget, ldc: .name("F"),
                                 epilogue: kernel.epilogue).description)
                renderInPlace(kernel.preStages, on: convolvedTarget, count: bandRows * .name("OW") * .name("F"), into: &writer)
                if let pool = kernel.pool {
                    let (poolWindow, layer) = (pool.window, pool.layer)
                    writer.line("/* \(layer): max pool \(poolWindow) over the band */")
                    writer.line(RuntimeCall.maxPool(input: .name("convolved"), h: bandRows, w: .name("OW"), c: .name("F"),
                                                    window: poolWindow, padTop: .name("pool_top"),
                                                    oh: .int(.name("end") - .name("begin")),
                                                    ow: .literal(poolWindow.outputSize[1]), output: .name("result")).description)
                    renderInPlace(kernel.postStages, on: .name("result"),
                                  count: (.name("end") - .name("begin")) * .literal(rowWidth), into: &writer)
                }
            }
        } else {
            loop.block("for (long b = begin; b < end; ++b)") { writer in
                writer.line("const float *const image = \(value(kernel.x) + .name("b") * .name("H") * .name("W") * .name("C"));")
                writer.line("float *const result = \(out + .name("b") * outputImage);")
                writer.line("/* \(kernel.layer): im2col, then [OH*OW x PATCH] x [PATCH x F] + bias + \(activation) */")
                writer.line(RuntimeCall.im2col(input: .name("image"), h: .name("H"), w: .name("W"), c: .name("C"),
                                               kh: .name("KH"), kw: .name("KW"), strideH: window.strides[0],
                                               strideW: window.strides[1], padTop: .literal(window.padBefore[0]),
                                               padLeft: window.padBefore[1], oh: .name("OH"), ow: .name("OW"),
                                               columns: .name("columns")).description)
                writer.line(gemm(m: .name("OH") * .name("OW"), n: .name("F"), k: .name("PATCH"), a: .name("columns"),
                                 lda: .name("PATCH"), b: weights, ldb: .name("F"), c: convolvedTarget, ldc: .name("F"),
                                 epilogue: kernel.epilogue).description)
                renderInPlace(kernel.preStages, on: convolvedTarget, count: .literal(oh * ow * kernel.filters), into: &writer)
                if let pool = kernel.pool {
                    let (poolWindow, layer) = (pool.window, pool.layer)
                    writer.line("/* \(layer): max pool \(poolWindow) */")
                    writer.line(RuntimeCall.maxPool(input: .name("convolved"), h: .name("OH"), w: .name("OW"), c: .name("F"),
                                                    window: poolWindow, padTop: .literal(poolWindow.padBefore[0]),
                                                    oh: .literal(poolWindow.outputSize[0]),
                                                    ow: .literal(poolWindow.outputSize[1]), output: .name("result")).description)
                    renderInPlace(kernel.postStages, on: .name("result"),
                                  count: .literal(poolWindow.outputSize[0] * poolWindow.outputSize[1] * kernel.filters),
                                  into: &writer)
                }
            }
        }
        renderParallel(loop)
    }

    private mutating func renderRecurrence(_ kernel: RecurrenceKernel) {
        let units = kernel.attributes.units
        _ = (constant("BATCH", kernel.batch), constant("T", kernel.steps), constant("U", units), constant("G", 4 * units))
        let sequences = kernel.attributes.returnSequences
        let hStride: CExpression = sequences ? .name("T") * .name("U") : .name("U")
        let (t, g, u) = (CExpression.name("t"), CExpression.name("G"), CExpression.name("U"))
        let z = value(kernel.z)
        let zNow: CExpression = plan.ownsProjection
            ? z + .name("begin") * .name("T") * g + .long(t) * g : scratch("gates") + .name("begin") * g
        let zStride: CExpression = plan.ownsProjection ? .name("T") * g : g
        let recurrent = gemmOperand(kernel.recurrentKernel)
        var rows = CSourceWriter()
        rows.line("/* \(kernel.layer): the input projection z = x W + b was computed by the previous kernel. */")
        rows.line("const int rows = (int)(end - begin);")
        rows.line("float *const cell = \(scratch("cell") + .name("begin") * u);")
        rows.line("float *const hidden = \(value(kernel.output) + .name("begin") * hStride);")
        rows.line("memset(cell, 0, sizeof(float) * rows * U);")
        rows.block("for (int t = 0; t < T; ++t)") { writer in
            writer.line("float *const h = hidden\(sequences ? " + (long)t * U" : "");")
            writer.line("float *const gates_t = \(zNow);")
            if !plan.ownsProjection {
                writer.block("for (long b = begin; b < end; ++b)") { copy in
                    copy.line("memcpy(\(scratch("gates") + .name("b") * g), \(z + (.name("b") * .name("T") + t) * g), sizeof(float) * G);")
                }
            }
            writer.block("if (t > 0)") { step in
                let previous: CExpression = sequences ? .name("hidden") + .long(t - 1) * u : .name("hidden")
                step.line("/* gates += h(t-1) x recurrent_kernel */")
                step.line(gemm(m: .name("rows"), n: g, k: u, a: previous, lda: hStride, b: recurrent, ldb: g,
                               c: .name("gates_t"), ldc: zStride, epilogue: Epilogue(), accumulate: true).description)
            }
            writer.line(RuntimeCall.lstmCell(rows: .name("rows"), units: u, z: .name("gates_t"), ldz: zStride,
                                             c: .name("cell"), ldc: u, h: .name("h"), ldh: hStride,
                                             activation: kernel.attributes.activation,
                                             recurrentActivation: kernel.attributes.recurrentActivation).description)
            if let states = kernel.cellStates {
                writer.line("/* the cell state after step t, for the backward pass */")
                writer.block("for (long b = 0; b < rows; ++b)") { copy in
                    copy.line("memcpy(\(value(states) + ((.name("begin") + .name("b")) * .name("T") + t) * u), "
                              + "\(CExpression.name("cell") + .name("b") * u), sizeof(float) * U);")
                }
            }
        }
        renderParallel(rows)
        renderChain(source: value(kernel.output))
    }

    private mutating func renderConcatenation(_ kernel: ConcatenationKernel) {
        _ = constant("OUTER", kernel.outer)
        let out = value(kernel.output)
        let total = kernel.chunks.reduce(0, +)
        let sources = kernel.inputs.map(value)
        body.block("for (long o = 0; o < OUTER; ++o)") { writer in
            var offset = 0
            for (source, chunk) in zip(sources, kernel.chunks) {
                writer.line("memcpy(\(out + .name("o") * .literal(total) + .literal(offset)), "
                            + "\(source + .name("o") * .literal(chunk)), sizeof(float) * \(chunk));")
                offset += chunk
            }
        }
        renderChain(source: out)
    }

    /// Runs `loop` (over `[begin, end)`, may use `worker`) in a static function on the worker pool.
    private mutating func renderParallel(_ loop: CSourceWriter) {
        guard let parallelism = plan.parallelism else { preconditionFailure("the plan has no parallel loop") }
        parallelBody = loop
        let function = plan.kernel.group.name + "_" + parallelism.label
        body.line("gj_task task = { buffers, rt };")
        body.line(RuntimeCall.parallelFor(count: parallelism.count, grain: parallelism.grain, body: function,
                                          context: .name("&task")).description)
    }

    // MARK: Stages

    /// The next chain of the plan, starting from `source`.
    private mutating func renderChain(source: CExpression) {
        let steps = plan.chains[chainIndex]
        chainIndex += 1
        var current = source
        for step in steps {
            let count = graph[step.stage.output].shape.elementCount
            if let target = step.target {
                let next = name(target)
                if case let .weightedSum(values, outer, steps, middle, depth) = step.stage.stage {
                    renderWeightedSum(step.stage.layer, weights: current, values: value(values), into: next,
                                      outer: outer, steps: steps, middle: middle, depth: depth)
                    current = next
                    continue
                }
                if case let .maxPool(window, batch, channels) = step.stage.stage {
                    renderPooling(step.stage.layer, window, batch: batch, channels: channels, from: current, into: next)
                    current = next
                    continue
                }
                body.line("memcpy(\(next), \(current), sizeof(float) * \(count));")
                current = next
            }
            // Into a fresh writer: passing `&body` to a method of `self` would copy `self`, and so
            // every line written so far, once per stage (quadratic in the chain's length).
            var stageLines = CSourceWriter()
            renderInPlace([step.stage], on: current, count: .literal(count), into: &stageLines)
            body.append(stageLines)
        }
    }

    private mutating func renderWeightedSum(_ layer: String, weights: CExpression, values: CExpression,
                                            into target: CExpression, outer: Int, steps: Int, middle: Int, depth: Int) {
        let o = CExpression.name("o")
        if middle == 1 {
            body.line("/* \(layer): context = sum over time of weights * inputs, per row: [1 x T] x [T x D] */")
            body.block("for (int o = 0; o < \(outer); ++o)") { writer in
                writer.line(RuntimeCall.sgemm(m: 1, n: .literal(depth), k: .literal(steps), a: weights + .long(o) * .literal(steps),
                                              lda: .literal(steps), b: values + .long(o) * .literal(steps * depth),
                                              ldb: .literal(depth), c: target + .long(o) * .literal(depth),
                                              ldc: .literal(depth), bias: .null, activation: .linear,
                                              accumulate: false).description)
            }
        } else {
            body.line("/* \(layer): weighted sum over axis of \(steps) steps, \(middle) positions between */")
            body.block("for (long o = 0; o < \(outer); ++o) for (long m = 0; m < \(middle); ++m)") { writer in
                writer.line("float *const out = \(target + (o * .literal(middle) + .name("m")) * .literal(depth));")
                writer.line("for (int d = 0; d < \(depth); ++d) out[d] = 0.0f;")
                writer.block("for (long t = 0; t < \(steps); ++t)") { step in
                    step.line("const long row = (o * \(steps) + t) * \(middle) + m;")
                    step.line("for (int d = 0; d < \(depth); ++d) out[d] += \(weights)[row] * \(values)[row * \(depth) + d];")
                }
            }
        }
    }

    private mutating func renderPooling(_ layer: String, _ window: Window2D, batch: Int, channels: Int,
                                        from source: CExpression, into target: CExpression) {
        let inImage = window.inputSize[0] * window.inputSize[1] * channels
        let outImage = window.outputSize[0] * window.outputSize[1] * channels
        body.line("/* \(layer): max pool \(window) */")
        body.block("for (int b = 0; b < \(batch); ++b)") { writer in
            writer.line(RuntimeCall.maxPool(input: source + .long(.name("b")) * .literal(inImage),
                                            h: .literal(window.inputSize[0]), w: .literal(window.inputSize[1]),
                                            c: .literal(channels), window: window, padTop: .literal(window.padBefore[0]),
                                            oh: .literal(window.outputSize[0]), ow: .literal(window.outputSize[1]),
                                            output: target + .long(.name("b")) * .literal(outImage)).description)
        }
    }

    /// Shape-keeping stages applied to `count` floats of `buffer`, in place.
    private func renderInPlace(_ stages: [ScheduledStage], on buffer: CExpression, count: CExpression,
                               into writer: inout CSourceWriter) {
        for stage in stages {
            switch stage.stage {
            case let .activation(function):
                writer.line(RuntimeCall.activate(buffer, count: count, function).description + "  /* \(stage.layer) */")
            case let .bias(bias, width):
                // Rows times columns (not `i % width`), so that compilers vectorize the columns.
                writer.line("/* \(stage.layer): bias */")
                writer.line("for (long r = 0; r < (\(count)) / \(width); ++r) for (long c = 0; c < \(width); ++c) "
                            + "\(buffer)[r * \(width) + c] += \(self.bias(bias))[c];")
            case let .softmax(outer, extent, inner):
                if inner == 1 {
                    writer.line(RuntimeCall.softmaxRows(buffer, rows: outer, width: extent).description
                                + "  /* \(stage.layer): softmax over the last axis */")
                } else {
                    writer.line("/* \(stage.layer): softmax over a middle axis (strided) */")
                    writer.block("for (long o = 0; o < \(outer); ++o) for (long i = 0; i < \(inner); ++i)") { loop in
                        loop.line("float *const p = \(buffer) + o * \(extent * inner) + i;")
                        // The runtime's softmax rules: the max skips NaN; a NaN sum (a NaN or +inf
                        // entry) leaves NaN where exp(x - max) is NaN and 0 elsewhere.
                        loop.line("float maximum = -3.402823466e+38f, sum = 0.0f;  /* -FLT_MAX: a row of -inf still gives 0/0 = NaN */")
                        loop.line("for (int e = 0; e < \(extent); ++e) if (p[e * \(inner)] > maximum) maximum = p[e * \(inner)];")
                        loop.line("for (int e = 0; e < \(extent); ++e) { p[e * \(inner)] = rt->expf(p[e * \(inner)] - maximum); sum += p[e * \(inner)]; }")
                        loop.line("if (sum != sum) { for (int e = 0; e < \(extent); ++e) if (p[e * \(inner)] == p[e * \(inner)]) p[e * \(inner)] = 0.0f; }")
                        loop.line("else { for (int e = 0; e < \(extent); ++e) p[e * \(inner)] /= sum; }")
                    }
                }
            case let .activationGradient(function, operand):
                writer.line(RuntimeCall(function: "activation_grad", arguments: [
                    buffer, self.value(operand), count, RuntimeCall.activation(function),
                ]).description + "  /* \(stage.layer): times \(function)'s derivative */")
            case let .add(addend):
                writer.line("/* \(stage.layer): gradients that meet are summed */")
                writer.line("for (long i = 0; i < \(count); ++i) \(buffer)[i] += \(self.value(addend))[i];")
            case .weightedSum, .maxPool:
                preconditionFailure("\(stage.stage) is not an in-place stage")
            }
        }
    }

    // MARK: Assembly

    func finish() -> String {
        let group = plan.kernel.group
        var writer = CSourceWriter()
        // One chain per branch; sibling branches (sharing one GEMM) are separated by " | ".
        let chains = group.branches.map { branch in
            branch.map { "\(CText.comment($0.layer)): \($0.operation.mnemonic)" }.joined(separator: " -> ")
        }
        writer.line("/*")
        writer.line(" * \(group.name): fuses layer\(group.layers.count == 1 ? "" : "s") "
                    + group.layers.map(CText.comment).joined(separator: ", "))
        writer.line(" *   " + chains.joined(separator: " | "))
        writer.line(" */")
        let constantLine = constants.isEmpty ? nil
            : "enum { " + constants.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") + " };"
        if let loop = parallelBody, let parallelism = plan.parallelism {
            writer.block("static void \(group.name)_\(parallelism.label)(void *context, long begin, long end, int worker)") { function in
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
        return writer.text
    }
}
