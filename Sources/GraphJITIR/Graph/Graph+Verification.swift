// MARK: - Verification

extension Graph {
    /// Checks the graph's invariants: nodes in topological order, every input defined before use,
    /// every recorded shape equal to the inferred one, outputs defined. Passes call this after
    /// rewriting; a failure is a bug, reported as an error rather than a crash.
    public func verify() throws {
        var defined = Set(inputs)
        defined.formUnion(parameters.map(\.value))
        defined.formUnion(states.map(\.value))
        for (position, node) in nodes.enumerated() {
            guard node.index == position else {
                throw GraphError.verificationFailed(reason: "node \(position) records index \(node.index)")
            }
            for input in node.inputs where !defined.contains(input) {
                throw GraphError.verificationFailed(
                    reason: "node \(position) (\(node.layer)) reads \(input) before it is defined")
            }
            let inferred = try node.operation.outputShapes(for: node.inputs.map { self[$0].shape },
                                                           layer: node.layer)
            let recorded = node.outputs.map { self[$0].shape }
            guard inferred == recorded else {
                throw GraphError.verificationFailed(
                    reason: "node \(position) (\(node.layer)) records shapes \(recorded), inference gives \(inferred)")
            }
            defined.formUnion(node.outputs)
        }
        guard !outputs.isEmpty else { throw GraphError.verificationFailed(reason: "the graph has no outputs") }
        for output in outputs where !defined.contains(output) {
            throw GraphError.verificationFailed(reason: "output \(output) is never defined")
        }
        var updated = Set<ValueID>()
        for update in updates {
            guard self[update.target].role.isPersistent, defined.contains(update.value),
                  self[update.target].shape == self[update.value].shape, updated.insert(update.target).inserted
            else {
                throw GraphError.verificationFailed(
                    reason: "the update of \(self[update.target].name) by \(update.value) is malformed")
            }
        }
    }
}
