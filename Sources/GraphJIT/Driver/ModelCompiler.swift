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
    func compile(_ module: GeneratedModule, on backend: CompilerBackend) throws -> KernelTable {
        let names = module.kernels.map(\.name)
        switch backend {
        case .tcc:
            return try KernelTable(module: TCCCompiler().compile(module.source, moduleName: module.name), kernelNames: names)
        case .clang:
            return try KernelTable(module: ClangCompiler().compile(module.source, moduleName: module.name),
                                   kernelNames: names)
        }
    }

    /// Compiles `graph` with `parameters` into a runnable model on `tier`.
    func compile(_ graph: Graph, parameters: ParameterStore, tier: CompilationTier,
                 weightCache: WeightBufferCache) throws -> CompiledModel {
        let parts = try compileParts(graph, parameters: parameters, tier: tier, weightCache: weightCache)
        return CompiledModel(graph: graph, module: parts.module, tier: tier, plan: parts.plan, weights: parts.weights,
                             kernels: parts.kernels, tierUp: parts.tierUp)
    }

    /// Everything a ``CompiledModel`` is made of; `tierUp` compiles the optimized kernels
    /// (``CompilationTier/automatic`` only).
    func compileParts(_ graph: Graph, parameters: ParameterStore, tier: CompilationTier,
                      weightCache: WeightBufferCache) throws
        -> (module: GeneratedModule, plan: ExecutionPlan, weights: WeightStorage, kernels: KernelTable,
            tierUp: (@Sendable () throws -> KernelTable)?) {
        let module = generate(graph)
        let plan = ExecutionPlan(graph: graph, kernels: module.kernels)
        let weights = try WeightStorage(plan: plan, graph: graph, parameters: parameters, cache: weightCache)
        let first = try compile(module, on: tier == .optimized ? .clang : .tcc)
        let tierUp: (@Sendable () throws -> KernelTable)? = tier == .automatic ? { @Sendable [self] in
            try compile(module, on: .clang)
        } : nil
        return (module, plan, weights, first, tierUp)
    }
}
