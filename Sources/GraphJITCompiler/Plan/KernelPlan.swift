import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A scheduled kernel with every decision made that the C writer needs: which buffers it takes
/// (and in which weight format), which of them it writes, its scratch, how its stages move between
/// buffers, and how it runs in parallel. Built by ``KernelPlanner`` before any C is written.
struct KernelPlan: Equatable, Sendable {
    let kernel: ScheduledKernel
    /// What `buffers[i]` points to, in order.
    let arguments: [KernelArgument]
    /// Arguments the kernel writes (its outputs, its scratch, and inputs it owns and updates in place).
    let writable: Set<KernelArgument>
    /// Multiply-adds per call, for GFLOP/s reports.
    let multiplyAdds: Int
    /// How the kernel's main loop runs on the worker pool, if it does.
    let parallelism: Parallelism?
    /// A convolution split into bands of output rows (fewer images than workers).
    let isBanded: Bool
    /// An LSTM accumulating its recurrent product into its own input projection (no per-step copy).
    let ownsProjection: Bool
    /// Per chain of stages (in the order the kernel runs them), where each stage writes.
    let chains: [[ChainStep]]
    /// A stages-only kernel whose output is the new value of its source, a state it updates in
    /// place: the chain starts from the output buffer, which holds the source's old contents.
    let updatesSourceInPlace: Bool
    /// The values this kernel writes straight into a persistent value's storage (value → target).
    let inPlaceUpdates: [ValueID: ValueID]

    /// A loop over `count` items run by `rt->parallel_for` in chunks of at least `grain`.
    struct Parallelism: Equatable, Sendable {
        let count: Int
        let grain: Int
        let label: String
    }

    /// One stage of a chain and the buffer it writes: `nil` to work in place on the current
    /// buffer; otherwise a new buffer (an in-place stage copies the current buffer there first).
    struct ChainStep: Equatable, Sendable {
        let stage: ScheduledStage
        let target: KernelArgument?
    }
}

/// Decides, for each scheduled kernel, everything that is not C syntax.
struct KernelPlanner {
    let graph: Graph
    let target: TargetOptions
    /// The updates whose values kernels write straight into the target's storage.
    let inPlaceUpdates: [StateUpdate]
    private let consumers: [[Int]]

    init(graph: Graph, target: TargetOptions, inPlaceUpdates: [StateUpdate] = []) {
        self.graph = graph
        self.target = target
        self.inPlaceUpdates = inPlaceUpdates
        self.consumers = graph.consumers()
    }

    func plan(_ kernel: ScheduledKernel) -> KernelPlan {
        var builder = Builder(materialized: Set(kernel.group.materializedInterior))
        var updatesSourceInPlace = false
        let slots = target.workerSlots
        var parallelism: KernelPlan.Parallelism?
        var isBanded = false
        var ownsProjection = false
        var multiplyAdds = 0

        switch kernel.body {
        case let .gemm(gemm):
            multiplyAdds = .saturatingProduct(gemm.m, gemm.n, gemm.k)
            builder.read(.value(gemm.x))
            builder.read(gemmOperand(gemm.weights))
            if let bias = gemm.epilogue.bias { builder.read(bias: bias, graph) }
            let product: KernelArgument = gemm.stages.contains { !$0.stage.isInPlace } || !builder.materialized.isEmpty
                ? .scratch(floats: gemm.m * gemm.n, label: "product") : .value(gemm.output)
            builder.write(product)
            builder.chain(gemm.stages, sourceIsWritable: true, finalTarget: .value(gemm.output), graph)
            if let rows = gemm.attentionRows, rows.outer > 1, builder.materialized.isEmpty {
                // Score, softmax and weighted sum of one batch row after another, rows split over
                // the workers: a row's scores stay in cache between the three. (Not when a training
                // graph keeps the softmax: it must reach its own buffer.)
                parallelism = .init(count: rows.outer, grain: grain(.saturatingProduct(rows.steps, gemm.k + rows.depth)),
                                    label: "rows")
            }
        case let .siblingGEMM(siblings):
            let total = siblings.branches.map(\.width).reduce(0, +)
            multiplyAdds = .saturatingProduct(siblings.m, total, siblings.k)
            builder.read(.value(siblings.x))
            builder.read(.weight(.packed(siblings.branches.map(\.weights))))
            let biases = siblings.branches.compactMap(\.bias)
            if !biases.isEmpty { builder.read(.weight(.concatenated(biases))) }
            builder.write(.scratch(floats: siblings.m * total, label: "product"))
            for branch in siblings.branches {
                builder.write(.value(branch.output))
                builder.chain(branch.stages, sourceIsWritable: true, finalTarget: .value(branch.output), graph)
            }
        case let .convolution(conv):
            let (oh, ow) = (conv.window.outputSize[0], conv.window.outputSize[1])
            let patch = Int.saturatingProduct(conv.window.size[0], conv.window.size[1], conv.channels)
            let imageWork = Int.saturatingProduct(oh, ow, conv.filters, patch)
            multiplyAdds = .saturatingProduct(conv.batch, imageWork)
            builder.read(.value(conv.x))
            builder.read(gemmOperand(conv.kernel))
            if let bias = conv.epilogue.bias { builder.read(bias: bias, graph) }
            builder.write(.scratch(floats: .saturatingProduct(oh, ow, patch, slots), label: "columns"))
            if conv.pool != nil { builder.write(.scratch(floats: .saturatingProduct(oh, ow, conv.filters, slots), label: "convolved")) }
            builder.write(.value(conv.output))
            for stage in conv.preStages + conv.postStages { builder.readOperands(of: stage.stage, graph) }
            isBanded = conv.batch < slots && multiplyAdds >= target.bandedConvolutionMultiplyAdds
            if isBanded {
                let rows = conv.pool?.window.outputSize[0] ?? oh
                let rowWidth = Int.saturatingProduct(conv.pool?.window.outputSize[1] ?? ow, conv.filters)
                parallelism = .init(count: rows, grain: grain(.saturatingProduct(rowWidth, patch)), label: "bands")
            } else {
                parallelism = .init(count: conv.batch, grain: grain(imageWork), label: "images")
            }
        case let .recurrence(lstm):
            let units = lstm.attributes.units
            multiplyAdds = .saturatingProduct(lstm.batch, lstm.steps, units, 4, units)
            // The projection z is this kernel's alone (the LSTM layer made it for this node), so the
            // recurrent product accumulates into it in place; otherwise each step copies its slice.
            ownsProjection = consumers[lstm.z.index].count == 1 && !graph.outputs.contains(lstm.z)
                && !graph.updates.contains { $0.value == lstm.z }
                && graph.producer(of: lstm.z).map { $0.operation.kind != .view } == true
            if ownsProjection { builder.write(.value(lstm.z)) } else { builder.read(.value(lstm.z)) }
            builder.read(gemmOperand(lstm.recurrentKernel))
            // Fusion only puts elementwise stages after a recurrence: they run in place on the output.
            builder.write(.value(lstm.output))
            if let states = lstm.cellStates { builder.write(.value(states)) }
            if !ownsProjection { builder.write(.scratch(floats: lstm.batch * 4 * units, label: "gates")) }
            builder.write(.scratch(floats: lstm.batch * units, label: "cell"))
            parallelism = .init(count: lstm.batch, grain: grain(.saturatingProduct(lstm.steps, 4, units, units)), label: "rows")
            builder.chain(lstm.stages, sourceIsWritable: true, finalTarget: .value(lstm.output), graph)
        case let .concatenation(concat):
            for input in concat.inputs { builder.read(.value(input)) }
            builder.write(.value(concat.output))
            builder.chain(concat.stages, sourceIsWritable: true, finalTarget: .value(concat.output), graph)
        case let .routine(kernel):
            multiplyAdds = kernel.routine.multiplyAdds
            // The stages start from the anchor's output: in the group's output buffer when they all
            // work in place, else in scratch.
            let product: KernelArgument
            if kernel.stages.isEmpty {
                product = .value(kernel.anchorOutput)
            } else if kernel.stages.allSatisfy(\.stage.isInPlace) && builder.materialized.isEmpty {
                product = .value(kernel.output)
            } else {
                product = .scratch(floats: graph[kernel.anchorOutput].shape.elementCount, label: "product")
            }
            for value in kernel.routine.guardFinite { builder.read(.value(value)) }
            for (index, call) in kernel.routine.calls.enumerated() {
                for (position, operand) in call.operands.enumerated() {
                    switch operand {
                    case let .input(value): builder.read(.value(value))
                    case let .output(value): builder.write(value == kernel.anchorOutput ? product : .value(value))
                    case let .scratch(floats): builder.write(.scratch(floats: floats, label: "call\(index)_\(position)"))
                    case let .weight(format): builder.read(.weight(format))
                    case .int, .float, .activation, .loss, .null: break
                    }
                }
            }
            for copy in kernel.routine.fallback {
                builder.read(.value(copy.from))
                builder.write(.value(copy.to))
            }
            builder.chain(kernel.stages, sourceIsWritable: true, finalTarget: .value(kernel.output), graph)
        case let .stages(source, stages, output):
            if inPlaceUpdates.contains(StateUpdate(target: source, value: output)) {
                // The output's storage is the source's: the chain runs in place on it.
                updatesSourceInPlace = true
                builder.write(.value(output))
                builder.chain(stages, sourceIsWritable: true, finalTarget: .value(output), graph)
            } else {
                builder.read(.value(source))
                builder.chain(stages, sourceIsWritable: false, finalTarget: .value(output), graph)
            }
        }
        // weighted sums count as contractions too
        for step in builder.chains.flatMap({ $0 }) {
            if case let .weightedSum(_, outer, steps, middle, depth) = step.stage.stage {
                multiplyAdds = .saturatingSum(multiplyAdds, .saturatingProduct(outer, steps, middle, depth))
            }
        }
        let written = Set(builder.writable.compactMap { if case let .value(id) = $0 { id } else { nil } })
        let inPlace = inPlaceUpdates.filter { written.contains($0.value) }
        return KernelPlan(kernel: kernel, arguments: builder.arguments, writable: builder.writable,
                          multiplyAdds: multiplyAdds, parallelism: parallelism, isBanded: isBanded,
                          ownsProjection: ownsProjection, chains: builder.chains,
                          updatesSourceInPlace: updatesSourceInPlace,
                          inPlaceUpdates: Dictionary(uniqueKeysWithValues: inPlace.map { ($0.value, $0.target) }))
    }

    /// A GEMM's B operand: packed once if it is a parameter, else as stored.
    private func gemmOperand(_ id: ValueID) -> KernelArgument {
        if graph[id].role.isPersistent { return .weight(.packed([id])) }
        return .value(id)
    }

    private func grain(_ workPerItem: Int) -> Int {
        max(1, Int.saturatingSum(target.parallelGrainMultiplyAdds, workPerItem - 1) / max(workPerItem, 1))
    }

    /// Collects arguments in first-use order.
    private struct Builder {
        /// Values computed mid-chain that must reach their own buffer.
        let materialized: Set<ValueID>
        var arguments: [KernelArgument] = []
        var writable: Set<KernelArgument> = []
        var chains: [[KernelPlan.ChainStep]] = []
        private var scratchCount = 0

        init(materialized: Set<ValueID>) { self.materialized = materialized }

        mutating func read(_ argument: KernelArgument) {
            if !arguments.contains(argument) { arguments.append(argument) }
        }

        mutating func write(_ argument: KernelArgument) {
            read(argument)
            writable.insert(argument)
        }

        /// A bias: a parameter as stored, or a computed value.
        mutating func read(bias: ValueID, _ graph: Graph) {
            if graph[bias].role.isPersistent { read(.weight(.raw(bias))) } else { read(.value(bias)) }
        }

        mutating func readOperands(of stage: KernelStage, _ graph: Graph) {
            switch stage {
            case let .bias(bias, _): read(bias: bias, graph)
            case let .weightedSum(values, _, _, _, _): read(.value(values))
            case let .activationGradient(_, operand): read(.value(operand))
            case let .add(addend): read(.value(addend))
            case .activation, .softmax, .maxPool: break
            }
        }

        /// Plans a chain: in-place stages work on the current buffer (copying a read-only source
        /// into the next buffer first); shape-changing stages write a new buffer; a stage whose
        /// value is materialized writes that value's buffer, which later stages only read; the
        /// last buffer written is the chain's final target.
        mutating func chain(_ stages: [ScheduledStage], sourceIsWritable: Bool, finalTarget: KernelArgument,
                            _ graph: Graph) {
            guard !stages.isEmpty else {
                chains.append([])
                return
            }
            var startsBuffer: [Bool] = []
            var writableSource = sourceIsWritable
            for (position, stage) in stages.enumerated() {
                let isMaterialized = position < stages.count - 1 && materialized.contains(stage.output)
                let starts = !stage.stage.isInPlace || !writableSource || isMaterialized
                startsBuffer.append(starts)
                writableSource = starts ? !isMaterialized : writableSource
            }
            let lastStart = startsBuffer.lastIndex(of: true)
            var steps: [KernelPlan.ChainStep] = []
            for (position, stage) in stages.enumerated() {
                readOperands(of: stage.stage, graph)
                var target: KernelArgument?
                if startsBuffer[position] {
                    if position == lastStart {
                        target = finalTarget
                    } else if materialized.contains(stage.output) {
                        target = .value(stage.output)
                    } else {
                        scratchCount += 1
                        target = .scratch(floats: graph[stage.output].shape.elementCount,
                                          label: "stage\(scratchCount)")
                    }
                    write(target!)
                }
                steps.append(.init(stage: stage, target: target))
            }
            chains.append(steps)
        }
    }
}

/// An attention layer's score kernel: `scores = x · v` (one column) over `outer` rows of `steps`
/// time steps, then a softmax over each row's steps, then the weighted sum of that row's `values`
/// (`[steps, depth]`). Each batch row is independent of the others, so the kernel runs row by row,
/// in parallel.
struct AttentionRows: Equatable, Sendable {
    let outer: Int
    let steps: Int
    let depth: Int
    let values: ValueID
}

extension GEMMKernel {
    /// The attention score pattern, if this GEMM and its stages are one: a one-column product
    /// followed by exactly a softmax over the time axis and the weighted sum over it.
    var attentionRows: AttentionRows? {
        guard n == 1, stages.count == 2,
              case let .softmax(outer, extent, 1) = stages[0].stage,
              case let .weightedSum(values, sumOuter, steps, 1, depth) = stages[1].stage,
              sumOuter == outer, steps == extent, m == outer * steps
        else { return nil }
        return AttentionRows(outer: outer, steps: steps, depth: depth, values: values)
    }
}
