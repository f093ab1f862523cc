/// Reverse-mode differentiation on the static graph: each operation's gradient rule appends the
/// nodes of its backward pass, last forward node first.
///
/// Only what is needed is built: a node's rule runs when a gradient reaches one of its outputs,
/// and asks only for the inputs that lead to a requested value. Gradients that meet (a value read
/// by several nodes, such as the multitask trunk) are summed by an ``AddOp``, which fuses as a
/// stage into the kernel computing the newer term.
public enum Autodiff {
    /// Appends to `builder` the gradients of `Σ seeds` with respect to `targets`.
    ///
    /// - Parameters:
    ///   - seeds: pairs of a value and the gradient flowing into it (for a loss, a ``FillOp`` of
    ///     its weight).
    ///   - targets: the values to differentiate with respect to (parameters, or inputs for saliency).
    ///   - builder: the graph being built; the backward nodes are appended to it.
    /// - Returns: each target's gradient; a target no seed depends on gets none.
    /// - Throws: ``GraphError/notDifferentiable(layer:operation:)`` for an operation without a rule
    ///   on the path.
    public static func gradients(of seeds: [(value: ValueID, gradient: ValueID)], withRespectTo targets: [ValueID],
                                 in builder: inout GraphBuilder) throws -> [ValueID: ValueID] {
        let forward = builder.graph.nodes
        let wanted = Set(targets)
        // Values through which a gradient can reach a target.
        var leadsToTarget = wanted
        for node in forward where node.inputs.contains(where: leadsToTarget.contains) {
            leadsToTarget.formUnion(node.outputs)
        }
        var gradients: [ValueID: ValueID] = [:]
        func accumulate(_ gradient: ValueID, into value: ValueID, builder: inout GraphBuilder) throws {
            if let existing = gradients[value] {
                gradients[value] = try builder.apply(Operation(AddOp()), [gradient, existing])
            } else {
                gradients[value] = gradient
            }
        }
        let savedScope = builder.scope
        defer { builder.scope = savedScope }
        for (value, gradient) in seeds { try accumulate(gradient, into: value, builder: &builder) }
        for node in forward.reversed() {
            let outputGradients = node.outputs.map { gradients[$0] }
            guard outputGradients.contains(where: { $0 != nil }) else { continue }
            let needed = node.inputs.map { leadsToTarget.contains($0) }
            guard needed.contains(true) else { continue }
            // Backward nodes belong to `<layer>_grad`, so dumps and generated C tell gradients from activations.
            builder.scope = node.layer + "_grad"
            let inputGradients = try node.operation.definition.gradients(
                of: node, outputGradients: outputGradients, needed: needed, into: &builder)
            for (input, gradient) in zip(node.inputs, inputGradients) {
                guard let gradient else { continue }
                try accumulate(gradient, into: input, builder: &builder)
            }
        }
        return gradients.filter { wanted.contains($0.key) }
    }
}
