/// How a node becomes calls of runtime routines: the lowering of operations whose work is one
/// routine of the C runtime each (most backward operations, losses and optimizer steps).
///
/// The routine names and parameter lists are those of `GJ_ABI_FUNCTIONS` in
/// `runtime-c/include/gj_abi.h`; `RuntimeABITests` checks each operation's calls against it. The
/// compiler binds the operands to buffers and renders the calls in order, inside one kernel.
public struct RoutineLowering: Hashable, Sendable {
    /// The calls, in order.
    public let calls: [RuntimeInvocation]
    /// When not empty, the calls run only if every element of these values is finite; otherwise
    /// each `(from, to)` of ``fallback`` is copied instead (an optimizer step that must leave the
    /// weights as they were when a gradient is not finite).
    public let guardFinite: [ValueID]
    /// The copies made instead of the calls when ``guardFinite`` fails.
    public let fallback: [Copy]
    /// Multiply-adds per call, for GFLOP/s reports.
    public let multiplyAdds: Int
    /// Whether each output may share its storage with an input of the same shape: the routines read
    /// element `i` of every input before they write element `i` of any output (an optimizer step),
    /// so the compiler may write a new parameter value straight over the old one.
    public let aliasesElementwise: Bool

    /// Every element of `from` copied into `to`.
    public struct Copy: Hashable, Sendable {
        /// The value copied.
        public let from: ValueID
        /// The value written, with as many elements as ``from``.
        public let to: ValueID
        /// Creates a copy of every element of `from` into `to`.
        public init(from: ValueID, to: ValueID) {
            self.from = from
            self.to = to
        }
    }

    /// Creates a lowering from its calls and, optionally, a finiteness guard.
    ///
    /// - Parameters:
    ///   - calls: The calls, in order.
    ///   - guardFinite: The values that must be entirely finite for the calls to run; empty for no guard.
    ///   - fallback: The copies made instead of the calls when a guarded value is not finite.
    ///   - multiplyAdds: Multiply-adds per call, for GFLOP/s reports.
    ///   - aliasesElementwise: Whether each output may share its storage with an input of the same
    ///     shape (see ``aliasesElementwise``).
    public init(calls: [RuntimeInvocation], guardFinite: [ValueID] = [], fallback: [Copy] = [], multiplyAdds: Int = 0,
                aliasesElementwise: Bool = false) {
        self.calls = calls
        self.guardFinite = guardFinite
        self.fallback = fallback
        self.multiplyAdds = multiplyAdds
        self.aliasesElementwise = aliasesElementwise
    }

    /// One call.
    public init(_ function: String, _ operands: [RuntimeOperand], multiplyAdds: Int = 0) {
        self.init(calls: [RuntimeInvocation(function, operands)], multiplyAdds: multiplyAdds)
    }
}

/// `rt->function(operands...)`.
public struct RuntimeInvocation: Hashable, Sendable {
    /// The routine's name in the runtime's table (`sgemm_t`, `adam_update`), called as `rt->function`.
    public let function: String
    /// The arguments, in the routine's parameter order.
    public let operands: [RuntimeOperand]

    /// A call of `function` with `operands`.
    public init(_ function: String, _ operands: [RuntimeOperand]) {
        self.function = function
        self.operands = operands
    }
}

/// One argument of a runtime routine.
public enum RuntimeOperand: Hashable, Sendable {
    /// A value the routine reads (`const float *`).
    case input(ValueID)
    /// A value the routine writes (`float *`).
    case output(ValueID)
    /// An integer extent or attribute (`int` or `long`; the compiler checks it fits 32 bits).
    case int(Int)
    /// A float attribute (`float`), rendered exactly.
    case float(Float)
    /// An activation constant (`GJ_ACT_*`).
    case activation(ElementwiseActivation)
    /// A loss constant (`GJ_LOSS_*`).
    case loss(LossFunction)
    /// Scratch memory of this many floats, private to the call (`float *`).
    case scratch(floats: Int)
    /// A parameter in a derived format (``WeightFormat``), read by the routine.
    case weight(WeightFormat)
    /// No buffer (`NULL`): an optional operand left out.
    case null
}
