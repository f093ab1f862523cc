import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Groups graph nodes into kernels, deciding by operation kind.
///
/// The rules, in the spirit of tinygrad's and TVM's schedulers:
/// - A node with several outputs (an LSTM exposing its cell states) ends its group.
/// - Contractions (matmul, conv2d), recurrences (LSTM) and copies (concatenate) anchor a group;
///   so does any node left over by the rules below.
/// - A node is fused into the group before it when it reads the group's current value, nobody else
///   reads that value, and it is not a graph output; and its kind fits:
///   - elementwise ops (bias, activations) fuse into anything: they become GEMM epilogues or
///     in-place passes over the group's buffer;
///   - reductions fuse as stages: softmax over any axis, and the weighted sum that reads the
///     softmax as its weights (its other operand comes from outside), unless the anchor is a
///     convolution, whose groups run image by image;
///   - a window op (max pooling) fuses into a convolution anchor, once, and runs on the
///     convolution's per-image scratch buffer, so the unpooled activations never leave the cache.
/// - Views (reshape/Flatten) are never kernels: their value aliases their input's storage.
/// - Sibling contractions fuse horizontally: matmul groups that read the same input with weight
///   parameters and end in row-wise stages (bias, activations, softmax over the last axis) share
///   one GEMM over their concatenated weights, as the multitask heads do.
/// A value read by two consumers (the multitask trunk) is materialized once; nothing is recomputed.
public struct FusionPass: Sendable {
    public init() {}

    /// The kernel groups of `graph`, in execution order.
    public func run(on graph: Graph) -> [KernelGroup] {
        let consumers = graph.consumers()
        let outputs = Set(graph.outputs)
        var grouped = Set<Int>()
        var groups: [[GraphNode]] = []

        for node in graph.nodes where !grouped.contains(node.index) && node.operation.kind != .view {
            var members = [node]
            grouped.insert(node.index)
            while let last = members.last,
                  last.outputs.count == 1,
                  !outputs.contains(last.output),
                  consumers[last.output.index].count == 1 {
                let next = graph.nodes[consumers[last.output.index][0]]
                guard next.inputs.first == last.output, !grouped.contains(next.index),
                      Self.canFuse(next.operation, into: members.map(\.operation))
                else { break }
                members.append(next)
                grouped.insert(next.index)
            }
            groups.append(members)
        }
        return Self.mergeSiblings(groups, in: graph).enumerated().map { index, branches in
            let label = branches.map { $0[0].layer }.joined(separator: "_").replacingNonIdentifierCharacters()
            return KernelGroup(name: "k\(index)_\(label)", branches: branches)
        }
    }

    /// Merges chains that can share one GEMM (see the type's documentation) into the first of them.
    static func mergeSiblings(_ chains: [[GraphNode]], in graph: Graph) -> [[[GraphNode]]] {
        func siblingKey(_ chain: [GraphNode]) -> (input: ValueID, hasBias: Bool)? {
            let anchor = chain[0]
            guard anchor.operation.is(MatMulOp.self), case .parameter = graph[anchor.inputs[1]].role else { return nil }
            for stage in chain.dropFirst() {
                guard case let .stage(lowered) = stage.operation.definition.lowering(of: stage, in: graph),
                      lowered.isRowwise else { return nil }
            }
            let hasBias = chain.count > 1 && chain[1].operation.is(BiasAddOp.self)
            if hasBias, case .parameter = graph[chain[1].inputs[1]].role {} else if hasBias { return nil }
            return (anchor.inputs[0], hasBias)
        }
        var merged: [[[GraphNode]]] = []
        var keys: [(input: ValueID, hasBias: Bool)?] = []
        for chain in chains {
            let key = siblingKey(chain)
            if let key, let target = keys.firstIndex(where: { $0?.input == key.input && $0?.hasBias == key.hasBias }) {
                merged[target].append(chain)
            } else {
                merged.append([chain])
                keys.append(key)
            }
        }
        return merged
    }

    /// Whether `operation` can be a stage of a group made of `members` (anchor first).
    static func canFuse(_ operation: Operation, into members: [Operation]) -> Bool {
        let anchor = members[0]
        let isConvolution = anchor.is(Conv2DOp.self)
        switch operation.kind {
        case .elementwise:
            return true
        case .reduction:
            return !isConvolution && anchor.kind != .recurrence && anchor.kind != .copy
        case .window:
            return isConvolution && !members.contains { $0.kind == .window }
        case .contraction, .view, .copy, .recurrence:
            return false
        }
    }
}

extension String {
    /// The string with every character that cannot appear in a C identifier replaced by `_`.
    func replacingNonIdentifierCharacters() -> String {
        String(map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
    }
}
