/// A set of graph nodes that one generated C kernel computes: an anchor and the stages fused into it.
///
/// The anchor is the first node; each later node (a stage) reads the value the previous node
/// produced, which no one else reads, so it never has to be written to memory the plan knows of.
public struct KernelGroup: Equatable, Sendable {
    /// A C identifier, unique within the model (`k0_conv2d`).
    public let name: String
    /// The fused nodes in execution order; the first is the anchor.
    public let nodes: [GraphNode]
    /// The value the group materializes (the last node's output).
    public var output: ValueID { nodes.last!.output }
    /// The anchor node.
    public var anchor: GraphNode { nodes[0] }
    /// The stages after the anchor.
    public var stages: ArraySlice<GraphNode> { nodes.dropFirst() }

    /// The distinct model layers the group fuses, in order.
    public var layers: [String] {
        nodes.map(\.layer).reduce(into: [String]()) { if $0.last != $1 { $0.append($1) } }
    }

    /// Values read from outside the group (activations and parameters), in first-use order.
    public var externalInputs: [ValueID] {
        let produced = Set(nodes.map(\.output))
        var seen: Set<ValueID> = []
        return nodes.flatMap(\.inputs).filter { !produced.contains($0) && seen.insert($0).inserted }
    }
}
