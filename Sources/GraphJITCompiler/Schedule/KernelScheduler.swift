import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Turns fused groups into typed kernels: each node's ``KernelLowering`` plus two folding rules.
///
/// Layer names in typed kernels are already escaped for C comments (``CText/comment(_:)``): they
/// exist only to be printed in the generated source.
///
/// Rules, applied in order to the stages after an anchor:
/// 1. *Epilogue*: a leading bias, then a leading elementwise activation, are applied by the GEMM as
///    it stores (matmul and convolution anchors).
/// 2. *Pool*: a max pool after a convolution runs on the convolution's per-image scratch; the
///    stages before it run on the unpooled rows, the stages after it on the pooled ones.
struct KernelScheduler {
    let graph: Graph

    func schedule(_ group: KernelGroup) -> ScheduledKernel {
        ScheduledKernel(group: group, body: body(of: group))
    }

    private func stages(_ nodes: some Collection<GraphNode>) -> [ScheduledStage] {
        nodes.map { node in
            guard case let .stage(stage) = node.operation.definition.lowering(of: node, in: graph) else {
                preconditionFailure("fusion placed \(node.operation.mnemonic) after an anchor")
            }
            return ScheduledStage(stage: stage, layer: CText.comment(node.layer), output: node.output)
        }
    }

    /// Rule 1: splits a leading bias and activation off `stages`; a stage whose value is
    /// materialized mid-chain (`interior`) stays a stage, so that its value reaches its buffer.
    private func foldEpilogue(_ stages: [ScheduledStage], interior: [ValueID]) -> (Epilogue, [ScheduledStage]) {
        var rest = stages[...]
        var epilogue = Epilogue()
        if case let .bias(bias, _) = rest.first?.stage, !interior.contains(rest.first!.output) {
            epilogue.bias = bias
            rest = rest.dropFirst()
        }
        if case let .activation(function) = rest.first?.stage, !interior.contains(rest.first!.output) {
            epilogue.activation = function
            rest = rest.dropFirst()
        }
        return (epilogue, Array(rest))
    }

    private func body(of group: KernelGroup) -> KernelBody {
        let anchor = group.anchor
        let lowering = anchor.operation.definition.lowering(of: anchor, in: graph)
        if group.branches.count > 1, case let .anchor(.matmul(x, _, m, _, k)) = lowering {
            return .siblingGEMM(SiblingGEMMKernel(x: x, m: m, k: k, branches: group.branches.map { branch in
                var rest = stages(branch.dropFirst())
                var bias: ValueID?
                if case let .bias(value, _) = rest.first?.stage {
                    bias = value
                    rest.removeFirst()
                }
                return .init(weights: branch[0].inputs[1], bias: bias, width: graph[branch[0].inputs[1]].shape[1],
                             stages: rest, layer: CText.comment(branch[0].layer), output: branch.last!.output)
            }))
        }
        let output = group.output
        switch lowering {
        case .view:
            preconditionFailure("views are never kernels")
        case let .stage(first):
            let all = [ScheduledStage(stage: first, layer: CText.comment(anchor.layer), output: anchor.output)] + stages(group.stages)
            return .stages(source: anchor.inputs[0], stages: all, output: output)
        case let .anchor(.matmul(x, weights, m, n, k)):
            let (epilogue, rest) = foldEpilogue(stages(group.stages), interior: group.materializedInterior)
            return .gemm(GEMMKernel(x: x, weights: weights, m: m, n: n, k: k, epilogue: epilogue, stages: rest,
                                    layer: CText.comment(anchor.layer), output: output))
        case let .anchor(.convolution(x, kernel, window, batch, channels, filters)):
            let (epilogue, rest) = foldEpilogue(stages(group.stages), interior: group.materializedInterior)
            let poolIndex = rest.firstIndex { if case .maxPool = $0.stage { true } else { false } }
            var pool: ConvolutionKernel.Pool?
            if let poolIndex, case let .maxPool(poolWindow, _, _) = rest[poolIndex].stage {
                pool = .init(window: poolWindow, layer: rest[poolIndex].layer)
            }
            let inputShape = graph[x].shape
            return .convolution(ConvolutionKernel(
                x: x, kernel: kernel, window: window, batch: batch, height: inputShape[1], width: inputShape[2],
                channels: channels, filters: filters, epilogue: epilogue,
                preStages: Array(rest[..<(poolIndex ?? rest.count)]), pool: pool,
                postStages: poolIndex.map { Array(rest[($0 + 1)...]) } ?? [], layer: CText.comment(anchor.layer), output: output))
        case let .anchor(.recurrence(z, recurrentKernel, attributes, batch, steps)):
            return .recurrence(RecurrenceKernel(
                z: z, recurrentKernel: recurrentKernel, attributes: attributes, batch: batch, steps: steps,
                cellStates: anchor.outputs.count > 1 ? anchor.outputs[1] : nil,
                stages: stages(group.stages), layer: CText.comment(anchor.layer), output: output))
        case let .anchor(.routine(routine)):
            return .routine(RoutineKernel(routine: routine, operation: anchor.operation.description,
                                          anchorOutput: anchor.output, stages: stages(group.stages),
                                          layer: CText.comment(anchor.layer), output: output))
        case let .anchor(.concatenation(inputs, outer, chunks)):
            return .concatenation(ConcatenationKernel(inputs: inputs, outer: outer, chunks: chunks,
                                                      stages: stages(group.stages), output: output))
        }
    }
}
