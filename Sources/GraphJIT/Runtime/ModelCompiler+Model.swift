import GraphJITCompiler
import GraphJITIR
import GraphJITRuntime

/// The last step of the pipeline, where compiled kernels, plan and weights become a model that runs.
extension ModelCompiler {
    /// Compiles `graph` with `parameters` into a runnable model on `tier`.
    func compile(_ graph: Graph, parameters: ParameterStore, tier: CompilationTier,
                 store: PersistentStore) throws -> CompiledModel {
        let parts = try compileParts(graph, parameters: parameters, tier: tier, store: store)
        return CompiledModel(graph: graph, module: parts.module, tier: tier, plan: parts.plan, weights: parts.weights,
                             kernels: parts.kernels, tierUp: parts.tierUp)
    }

    /// Everything a ``CompiledModel`` is made of; `tierUp` compiles the optimized kernels
    /// (``CompilationTier/automatic`` only).
    func compileParts(_ graph: Graph, parameters: ParameterStore, tier: CompilationTier,
                      store: PersistentStore) throws
        -> (module: GeneratedModule, plan: ExecutionPlan, weights: WeightStorage, kernels: KernelTable,
            tierUp: (@Sendable () throws -> KernelTable)?) {
        OptimizedRuntime.installIfNeeded()  // once per process: debug builds' -O0 runtime-c -> an -O2 copy
        let module = generate(graph)
        let plan = ExecutionPlan(graph: graph, kernelArguments: module.kernels.map(\.arguments),
                                 inPlaceUpdates: module.inPlaceUpdates)
        try MemoryBudget.check(MemoryBudget.bytes(ofFloats: plan.requiredFloats(graph)),
                               for: "the compiled plan for batch size \(graph.batchSize) (arena "
                                   + "\(GraphError.readable(MemoryBudget.bytes(ofFloats: plan.arenaFloats))), weights and outputs)")
        try Self.checkIndexRange(of: graph)
        let weights = try WeightStorage(plan: plan, graph: graph, parameters: parameters, store: store)
        let first = try compile(module, on: tier == .optimized ? .clang : .tcc)
        let tierUp: (@Sendable () throws -> KernelTable)? = tier == .automatic ? { @Sendable [self] in
            try compile(module, on: .clang)
        } : nil
        return (module, plan, weights, first, tierUp)
    }
}
