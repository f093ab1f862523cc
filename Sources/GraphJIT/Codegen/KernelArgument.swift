/// One entry of a kernel's `buffers` array, resolved to an address when the plan is built.
public enum KernelArgument: Equatable, Hashable, Sendable {
    /// A graph value: an input, an activation, or a parameter as stored.
    case value(ValueID)
    /// `[K, N]` parameters, concatenated along N when there are several (sibling contractions),
    /// pre-packed once for `rt->sgemm_packed` (layout private to the runtime).
    case packedWeights([ValueID])
    /// Rank-1 parameters (biases) concatenated end to end, bound once.
    case concatenatedVector([ValueID])
    /// Scratch memory for this kernel only (`floats` floats, 64-byte aligned), reused after it.
    case scratch(floats: Int, label: String)
}

/// The C source of one fused group, with the meaning of each `buffers[i]`.
public struct GeneratedKernel: Equatable, Sendable {
    /// The C function name (the group's name).
    public let name: String
    /// The group it computes.
    public let group: KernelGroup
    /// What `buffers[i]` points to, in order.
    public let arguments: [KernelArgument]
    /// The function definition (header comment included).
    public let source: String
    /// Multiply-adds per call, counted from the contractions, for GFLOP/s reports.
    public let multiplyAdds: Int
}

/// A whole model's kernels in one C translation unit: prelude, then one function per group.
public struct GeneratedModule: Equatable, Sendable {
    /// A C identifier naming the module (used for the file name in diagnostics).
    public let name: String
    public let kernels: [GeneratedKernel]
    /// The complete translation unit.
    public var source: String {
        ([RuntimePrelude.source] + kernels.map(\.source)).joined(separator: "\n")
    }
}
