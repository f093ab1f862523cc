import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// A set of graph nodes that one generated C kernel computes: an anchor and the stages fused into it.
///
/// The anchor is the first node; each later node (a stage) reads the value the previous node
/// produced. Values inside the group that are needed outside it are listed in
/// ``materializedInterior``; every other interior value lives only in the kernel's buffers.
public struct KernelGroup: Equatable, Sendable {
    /// A C identifier, unique within the model (`k0_conv2d`).
    public let name: String
    /// Chains computed side by side. Most groups have one; sibling contractions that read the same
    /// input (the multitask heads) have one branch each and share a single GEMM.
    public let branches: [[GraphNode]]

    /// Values computed mid-chain that are also needed outside the group (read by another
    /// kernel, graph outputs, new values of states): the kernel writes each to its own buffer.
    public let materializedInterior: [ValueID]

    /// A group of one or several chains (the anchors of several are contractions of the same input).
    public init(name: String, branches: [[GraphNode]], materializedInterior: [ValueID] = []) {
        precondition(!branches.isEmpty && branches.allSatisfy { !$0.isEmpty })
        self.name = name
        self.branches = branches
        self.materializedInterior = materializedInterior
    }

    /// Every fused node, branch after branch.
    public var nodes: [GraphNode] { branches.flatMap { $0 } }
    /// The values the group materializes: the outputs of each branch's last node, then the
    /// interior values needed elsewhere.
    public var outputs: [ValueID] { branches.flatMap { $0.last!.outputs } + materializedInterior }
    /// The first branch's output (the only one for a single-chain group).
    public var output: ValueID { outputs[0] }
    /// The first branch's anchor.
    public var anchor: GraphNode { branches[0][0] }
    /// The first branch's stages after the anchor.
    public var stages: ArraySlice<GraphNode> { branches[0].dropFirst() }

    /// The distinct model layers the group fuses, in order.
    public var layers: [String] {
        var seen = Set<String>()
        return nodes.map(\.layer).filter { seen.insert($0).inserted }
    }

    /// Values read from outside the group (activations and parameters), in first-use order.
    public var externalInputs: [ValueID] {
        let produced = Set(nodes.flatMap(\.outputs))
        var seen: Set<ValueID> = []
        return nodes.flatMap(\.inputs).filter { !produced.contains($0) && seen.insert($0).inserted }
    }
}
