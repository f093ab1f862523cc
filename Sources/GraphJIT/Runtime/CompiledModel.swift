import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Dispatch
import Synchronization

/// A model compiled by the JIT for one batch size: fused C kernels, a static memory plan and
/// bound weights.
///
/// Safe to call from several threads at once: each call checks an `ExecutionContext` out of a
/// pool (creating one only when all are busy), so calls never share an arena and the hot path
/// allocates nothing but the returned tensors (use ``run(inputs:outputs:)`` to avoid even that).
/// With ``CompilationTier/automatic`` the model starts on tcc's kernels; when it is called a
/// second time (``callsBeforeOptimizing``) clang compiles the same C in the background, and its
/// kernels are swapped in when ready. Callers never wait for the swap, and a model called once (a
/// one-shot command) never pays for clang.
public final class CompiledModel: Sendable {
    /// The graph that was compiled.
    public let graph: Graph
    /// The generated C: kernels in execution order, each with its fused group.
    public let module: GeneratedModule
    /// The tier requested.
    public let tier: CompilationTier
    let plan: ExecutionPlan
    let weights: WeightStorage
    let table: Mutex<KernelTable>
    private let pool = ExecutionContextPool()
    private let report: Mutex<CompileReport>
    private let optimizing = DispatchGroup()
    /// The optimized tier's compile, until it is started (``CompilationTier/automatic`` only).
    private let pendingTierUp: Mutex<(@Sendable () throws -> KernelTable)?>
    private let calls = Atomic<Int>(0)

    /// The call of an ``CompilationTier/automatic`` model that starts the optimized tier's
    /// background compile: the second, so that the first call runs at once on tcc and a model
    /// called only once never starts clang.
    public static let callsBeforeOptimizing = 2

    /// Every background compile of the process, for ``waitForBackgroundOptimizations()``.
    private static let backgroundCompiles = DispatchGroup()

    /// Compiles `graph` with `parameters` on `tier`. States start at zero; the model keeps its
    /// parameters and states between calls (see ``currentValue(of:)``).
    public convenience init(graph: Graph, parameters: ParameterStore, tier: CompilationTier = .automatic) throws {
        let parts = try ModelCompiler().compileParts(graph, parameters: parameters, tier: tier,
                                                     store: PersistentStore())
        self.init(graph: graph, module: parts.module, tier: tier, plan: parts.plan, weights: parts.weights,
                  kernels: parts.kernels, tierUp: parts.tierUp)
    }

    /// A model ready to run: the driver (``ModelCompiler``) made every part. With `tierUp` (the
    /// ``CompilationTier/automatic`` tier) the optimized kernels are compiled in the background and
    /// swapped in when ready.
    init(graph: Graph, module: GeneratedModule, tier: CompilationTier, plan: ExecutionPlan, weights: WeightStorage,
         kernels: KernelTable, tierUp: (@Sendable () throws -> KernelTable)?) {
        self.graph = graph
        self.tier = tier
        self.module = module
        self.plan = plan
        self.weights = weights
        var report = CompileReport()
        Self.record(kernels, in: &report)
        self.table = Mutex(kernels)
        self.report = Mutex(report)
        self.pendingTierUp = Mutex(tierUp)
    }

    private static func record(_ kernels: KernelTable, in report: inout CompileReport) {
        switch kernels.backend {
        case .tcc: report.instantCompileTime = kernels.module.compileTime
        case .clang:
            report.optimizedCompileTime = kernels.module.compileTime
            report.optimizedCacheHit = kernels.module.cacheHit
        }
    }

    // MARK: Tiering

    /// Starts the optimized tier's background compile unless it has started already (or the tier
    /// is not automatic).
    private func startOptimizingIfPending() {
        // The groups are entered under the lock that hands the compile out, so that a concurrent
        // `waitForOptimizedTier()` that finds nothing pending always waits for it.
        guard let tierUp = pendingTierUp.withLock({ pending -> (@Sendable () throws -> KernelTable)? in
            guard let taken = pending else { return nil }
            pending = nil
            optimizing.enter()
            Self.backgroundCompiles.enter()
            return taken
        }) else {
            return
        }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer {
                optimizing.leave()
                Self.backgroundCompiles.leave()
            }
            do {
                let optimized = try tierUp()
                table.withLock { $0 = optimized }
                report.withLock { Self.record(optimized, in: &$0) }
            } catch {
                report.withLock { $0.optimizationError = "\(error)" }
            }
        }
    }

    /// Compiles the optimized kernels now if they are pending (``CompilationTier/automatic``),
    /// blocks until they are in use or have failed, and returns the backend now in use. Callers
    /// never need this; tests and benchmarks do.
    @discardableResult
    public func waitForOptimizedTier() -> CompilerBackend {
        startOptimizingIfPending()
        optimizing.wait()
        return activeBackend
    }

    /// Blocks until every background compile this process started has finished.
    ///
    /// A command-line program calls this before it exits, so that no clang process or compile
    /// thread is cut off mid-way (the object would not reach the cache, and leak checkers report
    /// the thread's memory). It never starts a compile: models called only once have none.
    public static func waitForBackgroundOptimizations() {
        backgroundCompiles.wait()
    }

    /// The compiler whose kernels calls use now.
    public var activeBackend: CompilerBackend { table.withLock { $0.backend } }

    /// Compile times and memory figures.
    public var compileReport: CompileReport {
        var copy = report.withLock { $0 }
        copy.arenaBytes = plan.arenaFloats * MemoryLayout<Float>.stride
        copy.unsharedArenaBytes = plan.unsharedFloats * MemoryLayout<Float>.stride
        copy.peakLiveActivationBytes = plan.peakLiveFloats * MemoryLayout<Float>.stride
        copy.weightBytes = weights.byteCount
        copy.kernelCount = module.kernels.count
        return copy
    }

    // MARK: Persistent values

    /// The current contents of a parameter or state the plan uses, after every call so far
    /// (calls of a graph with `Graph.updates` change them); `nil` for other names.
    public func currentValue(of name: String) -> Tensor? { weights.store.read(name) }

    // MARK: Running

    /// Runs the model: one tensor per input (batch first, shapes as compiled), one per output.
    public func predict(_ inputs: [Tensor]) throws -> [Tensor] {
        try graph.validate(inputs: inputs)
        let outputBuffers = plan.outputs.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        defer { outputBuffers.forEach { $0.deallocate() } }
        try withBuffers(inputs) { inputBuffers in
            try run(inputs: inputBuffers, outputs: outputBuffers)
        }
        return zip(graph.outputs, outputBuffers).map { Tensor(shape: graph[$0].shape, uncheckedScalars: Array($1)) }
    }

    /// Runs the model on caller-owned memory: no allocation once a context is pooled.
    /// Each buffer must hold exactly its input's or output's element count.
    public func run(inputs: [UnsafeBufferPointer<Float>], outputs: [UnsafeMutableBufferPointer<Float>]) throws {
        guard inputs.count == plan.inputCounts.count else {
            throw GraphError.inputCountMismatch(expected: plan.inputCounts.count, actual: inputs.count)
        }
        for (position, (buffer, count)) in zip(inputs, plan.inputCounts).enumerated() where buffer.count != count {
            throw GraphError.inputShapeMismatch(input: graph.inputNames[position],
                                                expected: graph[graph.inputs[position]].shape, actual: [buffer.count])
        }
        for (buffer, slot) in zip(outputs, plan.outputs) where buffer.count != slot.count {
            throw GraphError.invalidModel(reason: "an output buffer holds \(buffer.count) floats, expected \(slot.count)")
        }
        guard outputs.count == plan.outputs.count else {
            throw GraphError.invalidModel(reason: "expected \(plan.outputs.count) output buffers, got \(outputs.count)")
        }
        if calls.wrappingAdd(1, ordering: .relaxed).newValue == Self.callsBeforeOptimizing {
            startOptimizingIfPending()
        }
        let kernels = table.withLock { $0 }
        let context = pool.take() ?? ExecutionContext(plan: plan, weights: weights)
        defer { pool.put(context) }
        withExtendedLifetime(kernels) {
            if plan.updates.isEmpty {
                weights.withReadAccess { context.run(plan: plan, kernels: kernels.functions, inputs: inputs, outputs: outputs) }
            } else {
                weights.withWriteAccess(updating: plan.updatedWeights) {
                    context.run(plan: plan, kernels: kernels.functions, inputs: inputs, outputs: outputs)
                }
            }
        }
    }
}

// MARK: - Profiling

extension CompiledModel {
    /// One kernel's measured time.
    public struct KernelTiming: Sendable {
        /// The kernel's name in the generated C.
        public let name: String
        /// The layers the kernel fuses.
        public let layers: [String]
        /// The compiler that built it (tcc or clang).
        public let backend: CompilerBackend
        /// The median time of one call, in seconds.
        public let medianSeconds: Double
        /// The multiply-adds of one call.
        public let multiplyAdds: Int
        /// Achieved GFLOP/s (2 flops per multiply-add).
        public var gflops: Double { medianSeconds > 0 ? 2 * Double(multiplyAdds) / medianSeconds / 1e9 : 0 }
    }

    /// Times each kernel on its own (after one full run on `inputs` fills the arena), taking the
    /// median of `repetitions` calls.
    public func profileKernels(_ inputs: [Tensor], repetitions: Int = 10) throws -> [KernelTiming] {
        try graph.validate(inputs: inputs)
        let kernels = table.withLock { $0 }
        let context = ExecutionContext(plan: plan, weights: weights)
        let outputs = plan.outputs.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        defer { outputs.forEach { $0.deallocate() } }
        // The whole profile runs while the input buffers are pinned (the tables point at them) and
        // the weights are held (updates, if the plan has any, are applied once per kernel call).
        var timings: [KernelTiming] = []
        withBuffers(inputs) { buffers in weights.withWriteAccess(updating: plan.updatedWeights) {
            context.run(plan: plan, kernels: kernels.functions, inputs: buffers, outputs: outputs)
            timings = zip(module.kernels, kernels.functions).enumerated().map { index, pair in
                let (kernel, function) = pair
                var samples: [Double] = []
                for _ in 0..<max(repetitions, 1) {
                    let start = ContinuousClock.now
                    context.runKernel(index, function)
                    let elapsed = ContinuousClock.now - start
                    samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                }
                samples.sort()
                return KernelTiming(name: kernel.name, layers: kernel.group.layers, backend: kernels.backend,
                                    medianSeconds: samples[samples.count / 2], multiplyAdds: kernel.multiplyAdds)
            }
        } }
        return timings
    }
}

// MARK: - Buffer helpers

private func withBuffers<R>(_ tensors: [Tensor], _ body: ([UnsafeBufferPointer<Float>]) throws -> R) rethrows -> R {
    var collected: [UnsafeBufferPointer<Float>] = []
    func recurse(_ index: Int) throws -> R {
        guard index < tensors.count else { return try body(collected) }
        return try tensors[index].scalars.withUnsafeBufferPointer { buffer in
            collected.append(buffer)
            return try recurse(index + 1)
        }
    }
    return try recurse(0)
}
