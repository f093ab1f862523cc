import CGraphJITRuntime
import GraphJITIR
/// The kernels of one compiled module, looked up by name in plan order, kept together with the
/// module that owns their machine code (the function pointers are valid only while it lives).
package final class KernelTable: Sendable {
    package let module: any CompiledCModule
    package let functions: [KernelFunction]
    /// The tier the module was compiled on.
    package var backend: CompilerBackend { module.backend }

    package init(module: any CompiledCModule, kernelNames: [String]) throws {
        self.module = module
        self.functions = try kernelNames.map { try module.function(named: $0) }
    }
}
