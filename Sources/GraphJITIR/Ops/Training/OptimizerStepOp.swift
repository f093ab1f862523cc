/// One optimizer step over every parameter, in one kernel.
///
/// Inputs: `iterations [1]`, then per parameter its value, its gradient and its slots (in
/// ``OptimizerRule/slotNames`` order). Outputs: `iterations + 1`, then per parameter its new value
/// and new slots. If any gradient holds a NaN or an infinity, nothing moves: every output is its
/// old value (and `iterations` does not advance), so a failed step never leaves weights half-updated.
public struct OptimizerStepOp: OperationDefinition {
    /// The update rule and its hyperparameters; its ``OptimizerRule/slotNames`` give the number of
    /// slots per parameter.
    public let rule: OptimizerRule
    /// How many parameters the step moves: the op has `1 + parameterCount · (2 + slots)` inputs and
    /// `1 + parameterCount · (1 + slots)` outputs.
    public let parameterCount: Int

    /// Creates a step of `rule` over `parameterCount` parameters.
    public init(rule: OptimizerRule, parameterCount: Int) {
        self.rule = rule
        self.parameterCount = parameterCount
    }

    public var mnemonic: String { "optimizer_step" }
    public var attributeDescription: String { "\(rule) parameters=\(parameterCount)" }
    public var kind: OperationKind { .routine }

    var stride: Int { 2 + rule.slotNames.count }

    public func outputShapes(for shapes: [[Int]]) throws(ShapeExpectation) -> [[Int]] {
        try require(inputs: shapes, count: 1 + parameterCount * stride)
        try require(shapes[0] == [1], "iterations of shape [1]")
        var outputs: [[Int]] = [[1]]
        for p in 0..<parameterCount {
            let base = 1 + p * stride
            let shape: [Int] = shapes[base]
            let group: ArraySlice<[Int]> = shapes[base..<(base + stride)]
            try require(group.allSatisfy { $0 == shape }, "a parameter, its gradient and its slots of one shape")
            for _ in 1..<stride { outputs.append(shape) }
        }
        return outputs
    }

    public func evaluate<A: BinaryFloatingPoint & Sendable>(_ inputs: [Tensor], outputShapes: [[Int]],
                                                            accumulator: A.Type) -> [Tensor] {
        let iterations = inputs[0].scalars[0]
        let gradients = (0..<parameterCount).map { inputs[2 + $0 * stride] }
        guard gradients.allSatisfy({ $0.scalars.allSatisfy(\.isFinite) }) else {
            // Nothing moves: each output is its old value.
            var unchanged = [inputs[0]]
            for p in 0..<parameterCount {
                let base = 1 + p * stride
                unchanged.append(inputs[base])
                unchanged += inputs[(base + 2)..<(base + stride)]
            }
            return unchanged
        }
        var outputs = [Tensor(shape: [1], uncheckedScalars: [iterations + 1])]
        for p in 0..<parameterCount {
            let base = 1 + p * stride
            let slots = inputs[(base + 2)..<(base + stride)].map(\.scalars)
            let (theta, newSlots) = rule.step(parameter: inputs[base].scalars, gradient: inputs[base + 1].scalars,
                                              slots: Array(slots), iterations: iterations)
            outputs.append(Tensor(shape: inputs[base].shape, uncheckedScalars: theta))
            outputs += newSlots.map { Tensor(shape: inputs[base].shape, uncheckedScalars: $0) }
        }
        return outputs
    }

    public func lowering(of node: GraphNode, in graph: Graph) -> KernelLowering {
        var calls: [RuntimeInvocation] = []
        var fallback: [RoutineLowering.Copy] = [.init(from: node.inputs[0], to: node.outputs[0])]
        var gradients: [ValueID] = []
        for p in 0..<parameterCount {
            let base = 1 + p * stride
            let (theta, gradient) = (node.inputs[base], node.inputs[base + 1])
            let slots = Array(node.inputs[(base + 2)..<(base + stride)])
            let outputs = Array(node.outputs[(1 + p * (stride - 1))..<(1 + (p + 1) * (stride - 1))])
            gradients.append(gradient)
            fallback += zip([theta] + slots, outputs).map { .init(from: $0, to: $1) }
            let n = RuntimeOperand.int(graph[theta].shape.elementCount)
            let scalars = rule.scalars.map(RuntimeOperand.float)
            switch rule {
            case .adam:
                calls.append(RuntimeInvocation("adam_update", [
                    n, .input(node.inputs[0]), .input(theta), .input(gradient), .input(slots[0]), .input(slots[1]),
                    .output(outputs[0]), .output(outputs[1]), .output(outputs[2]),
                ] + scalars))
            case let .sgd(_, momentum, nesterov):
                let hasMomentum = momentum != 0
                calls.append(RuntimeInvocation("sgd_update", [
                    n, .input(theta), .input(gradient), hasMomentum ? .input(slots[0]) : .null, .output(outputs[0]),
                    hasMomentum ? .output(outputs[1]) : .null,
                ] + scalars + [.int(nesterov ? 1 : 0)]))
            case let .rmsprop(_, _, momentum, _, centered):
                let momentumSlot = momentum > 0 ? 1 : nil
                let averageSlot = centered ? (momentum > 0 ? 2 : 1) : nil
                func slot(_ index: Int?) -> RuntimeOperand { index.map { .input(slots[$0]) } ?? .null }
                func newSlot(_ index: Int?) -> RuntimeOperand { index.map { .output(outputs[1 + $0]) } ?? .null }
                calls.append(RuntimeInvocation("rmsprop_update", [
                    n, .input(theta), .input(gradient), .input(slots[0]), slot(momentumSlot), slot(averageSlot),
                    .output(outputs[0]), .output(outputs[1]), newSlot(momentumSlot), newSlot(averageSlot),
                ] + scalars))
            }
        }
        calls.append(RuntimeInvocation("increment", [.input(node.inputs[0]), .output(node.outputs[0])]))
        return .anchor(.routine(RoutineLowering(calls: calls, guardFinite: gradients, fallback: fallback,
                                                aliasesElementwise: true)))
    }
}
