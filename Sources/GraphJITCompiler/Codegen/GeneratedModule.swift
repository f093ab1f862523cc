import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// The C source of one planned kernel, with the meaning of each `buffers[i]`.
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

/// A whole model's kernels in one C translation unit: prelude, then one function per kernel.
public struct GeneratedModule: Equatable, Sendable {
    /// A C identifier naming the module (used for the file name in diagnostics).
    public let name: String
    /// One kernel per fused group, in execution order (the order of the compiled kernel table).
    public let kernels: [GeneratedKernel]
    /// The target options the C was generated for.
    public let target: TargetOptions
    /// The updates of persistent values whose kernels write the new value straight into the
    /// target's storage; the others are copied when a call ends.
    public let inPlaceUpdates: [StateUpdate]
    /// The complete translation unit.
    public var source: String {
        ([RuntimePrelude.source, "/* target: \(target) */\n"] + kernels.map(\.source)).joined(separator: "\n")
    }
}
