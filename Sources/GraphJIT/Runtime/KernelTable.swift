/// The kernels of one compiled module, looked up by name in plan order, kept together with the
/// module that owns their machine code (the function pointers are valid only while it lives).
final class KernelTable: Sendable {
    let module: any CompiledCModule
    let functions: [KernelFunction]
    /// The tier the module was compiled on.
    var backend: CompilerBackend { module.backend }

    init(module: any CompiledCModule, kernelNames: [String]) throws {
        self.module = module
        self.functions = try kernelNames.map { try module.function(named: $0) }
    }
}
