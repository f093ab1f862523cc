import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// The compile pipeline, in order: fusion, scheduling, planning, C, then the backend.
///
///     graph ──FusionPass──> groups ──KernelScheduler──> typed kernels ──KernelPlanner──> plans
///           ──KernelRenderer──> C module ──ExecutionPlan──> memory ──tcc | clang──> machine code
///
/// Every stage is a value-to-value function of the graph and the ``TargetOptions``; only the
/// last one touches a compiler.
public struct ModelCompiler: Sendable {
    /// What the generated C may assume about the machine.
    public var target: TargetOptions

    public init(target: TargetOptions = .current) { self.target = target }

    /// The generated C for `graph`: deterministic for a given graph and target.
    public func generate(_ graph: Graph) -> GeneratedModule {
        let kernels = FusionPass().run(on: graph).map { generate($0, in: graph) }
        return GeneratedModule(name: "graphjit_model", kernels: kernels, target: target)
    }

    /// The C function of one fused group of `graph`.
    public func generate(_ group: KernelGroup, in graph: Graph) -> GeneratedKernel {
        let kernel = KernelScheduler(graph: graph).schedule(group)
        return KernelRenderer(graph: graph).render(KernelPlanner(graph: graph, target: target).plan(kernel))
    }

    /// Compiles `module` on one backend into a table of kernel functions in plan order.
    package func compile(_ module: GeneratedModule, on backend: CompilerBackend) throws -> KernelTable {
        let names = module.kernels.map(\.name)
        switch backend {
        case .tcc:
            return try KernelTable(module: TCCCompiler().compile(module.source, moduleName: module.name), kernelNames: names)
        case .clang:
            return try KernelTable(module: ClangCompiler().compile(module.source, moduleName: module.name),
                                   kernelNames: names)
        }
    }
}
