import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Groups graph nodes into kernels, deciding by operation kind.
///
/// The rules, in the spirit of tinygrad's and TVM's schedulers:
/// - A node with several outputs (an LSTM exposing its cell states) ends its group.
/// - Contractions (matmul, conv2d), recurrences (LSTM) and copies (concatenate) anchor a group;
///   so does any node left over by the rules below.
/// - A node is fused into the group before it when it reads the group's current value as its
///   first operand, every other operand is already computed (by an earlier kernel or by this
///   group), and its kind fits:
///   - elementwise ops (bias, activations) fuse into anything: they become GEMM epilogues or
///     in-place passes over the group's buffer;
///   - reductions fuse as stages: softmax over any axis, and the weighted sum that reads the
///     softmax as its weights (its values may come from outside or from this group), unless the
///     anchor is a convolution, whose groups run image by image;
///   - a window op (max pooling) fuses into a convolution anchor, once, and runs on the
///     convolution's per-image scratch buffer, so the unpooled activations never leave the cache.
/// - Fusion follows a DAG, not only a chain: a stage's value that is also needed elsewhere (read
///   by another kernel, a graph output, or the new value of a state) is *materialized* (written
///   to its own buffer, never overwritten by a later stage) and the group goes on. Values the
///   anchor itself writes, and the stages of convolutions and recurrences (which run on per-item
///   scratch or in place on the anchor's output), still end the group when they are needed
///   elsewhere.
/// - Views (reshape/Flatten) are never kernels: their value aliases their input's storage.
/// - Sibling contractions fuse horizontally: matmul groups that read the same input with weight
///   parameters and end in row-wise stages (bias, activations, softmax over the last axis) share
///   one GEMM over their concatenated weights, as the multitask heads do.
/// Nothing is recomputed: a value read by two kernels is materialized once.
public struct FusionPass: Sendable {
    /// Creates the pass; it has no options.
    public init() {}

    /// The kernel groups of `graph`, in execution order.
    public func run(on graph: Graph) -> [KernelGroup] {
        let consumers = graph.consumers()
        let required = Set(graph.outputs).union(graph.updates.map(\.value))
        var grouped = Set<Int>()
        var groups: [[GraphNode]] = []

        /// Whether every operand of `node` is computed once the nodes grouped so far have run.
        func operandsReady(_ node: GraphNode) -> Bool {
            node.inputs.allSatisfy { input in graph.producer(of: input).map { grouped.contains($0.index) } ?? true }
        }

        for node in graph.nodes where !grouped.contains(node.index) && node.operation.kind != .view {
            var members = [node]
            var hasWindow = node.operation.kind == .window
            grouped.insert(node.index)
            while let last = members.last, last.outputs.count == 1 {
                let value = last.output
                let readers = consumers[value.index]
                // The first reader that can go on computing from this value inside the group.
                guard let next = readers.lazy.map({ graph.nodes[$0] }).first(where: { reader in
                    reader.inputs.first == value && !grouped.contains(reader.index)
                        && Self.canFuse(reader.operation, anchor: node.operation, hasWindow: hasWindow)
                        && operandsReady(reader)
                }) else { break }
                let neededElsewhere = required.contains(value) || readers.count > 1 || next.inputs.dropFirst().contains(value)
                if neededElsewhere && !Self.canMaterializeStage(of: members, graph: graph) { break }
                members.append(next)
                hasWindow = hasWindow || next.operation.kind == .window
                grouped.insert(next.index)
            }
            groups.append(members)
        }
        /// The values computed mid-chain that something besides the next stage needs: another
        /// kernel, the graph's outputs or updates, or a later stage reading it as a second operand.
        func interior(of chains: [[GraphNode]]) -> [ValueID] {
            let members = Set(chains.joined().map(\.index))
            let secondOperands = Set(chains.joined().flatMap { $0.inputs.dropFirst() })
            return chains.flatMap { chain in chain.dropLast().flatMap(\.outputs) }.filter { value in
                required.contains(value) || secondOperands.contains(value)
                    || consumers[value.index].contains { !members.contains($0) }
            }
        }
        let chains = groups.map { chain in (chain, hasInterior: !interior(of: [chain]).isEmpty) }
        return Self.mergeSiblings(chains, in: graph).enumerated().map { index, branches in
            // The identifier is ASCII, so cutting it at 40 characters cannot split a character.
            let label = String(CText.identifier(branches.map { $0[0].layer }.joined(separator: "_")).prefix(40))
            return KernelGroup(name: "k\(index)_\(label)", branches: branches,
                               materializedInterior: interior(of: branches))
        }
    }

    /// Whether the value the last of `members` computes can be materialized mid-group: it must be
    /// a stage's (not the anchor's), in a group whose stages run on whole buffers (a GEMM or
    /// stages alone; a convolution's stages run per image on scratch, a recurrence's in place on
    /// its output).
    static func canMaterializeStage(of members: [GraphNode], graph: Graph) -> Bool {
        guard members.count > 1 else { return false }
        let anchor = members[0]
        return anchor.operation.is(MatMulOp.self)
            || { if case .stage = anchor.operation.definition.lowering(of: anchor, in: graph) { true } else { false } }()
    }

    /// Merges chains that can share one GEMM (see the type's documentation) into the first of them.
    /// Chains with values materialized mid-chain stay alone.
    static func mergeSiblings(_ chains: [(chain: [GraphNode], hasInterior: Bool)],
                              in graph: Graph) -> [[[GraphNode]]] {
        func siblingKey(_ chain: [GraphNode]) -> (input: ValueID, hasBias: Bool)? {
            let anchor = chain[0]
            guard anchor.operation.is(MatMulOp.self), graph[anchor.inputs[1]].role.isPersistent else { return nil }
            for stage in chain.dropFirst() {
                guard case let .stage(lowered) = stage.operation.definition.lowering(of: stage, in: graph),
                      lowered.isRowwise else { return nil }
            }
            let hasBias = chain.count > 1 && chain[1].operation.is(BiasAddOp.self)
            if hasBias && !graph[chain[1].inputs[1]].role.isPersistent { return nil }
            return (anchor.inputs[0], hasBias)
        }
        struct Key: Hashable {
            let input: ValueID
            let hasBias: Bool
        }
        var merged: [[[GraphNode]]] = []
        var positions: [Key: Int] = [:]
        var producedAt: [ValueID: Int] = [:]  // value -> position in `merged` of the group computing it
        for (chain, hasInterior) in chains {
            let key = hasInterior ? nil : siblingKey(chain).map { Key(input: $0.input, hasBias: $0.hasBias) }
            // Merging moves the chain up to its sibling's kernel: only if every operand is computed by then.
            let ready = { (target: Int) in
                chain.flatMap(\.inputs).allSatisfy { producedAt[$0].map { $0 <= target } ?? true }
            }
            if let key, let target = positions[key], ready(target) {
                merged[target].append(chain)
                for node in chain { for output in node.outputs { producedAt[output] = target } }
            } else {
                for node in chain { for output in node.outputs { producedAt[output] = merged.count } }
                if let key { positions[key] = merged.count }
                merged.append([chain])
            }
        }
        return merged
    }

    /// Whether `operation` can be a stage of a group with this anchor (`hasWindow`: the group
    /// already has a window stage).
    static func canFuse(_ operation: Operation, anchor: Operation, hasWindow: Bool) -> Bool {
        let isConvolution = anchor.is(Conv2DOp.self)
        switch operation.kind {
        case .elementwise:
            return true
        case .reduction:
            return !isConvolution && anchor.kind != .recurrence && anchor.kind != .copy && anchor.kind != .routine
        case .window:
            return isConvolution && !hasWindow
        case .contraction, .view, .copy, .recurrence, .routine:
            return false
        }
    }
}
