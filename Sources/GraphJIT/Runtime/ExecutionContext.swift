import GraphJITRuntime

/// The per-call state of a compiled model: one arena for activations and scratch, and each
/// kernel's `buffers` table resolved against it and the shared weights.
///
/// A context serves one call at a time; ``CompiledModel`` keeps a pool of them so that several
/// threads can run the same model at once without allocating on the hot path.
final class ExecutionContext: @unchecked Sendable {  // Used by one thread at a time (checked out
                                                     // of the model's pool under a lock).
    let arena: AlignedBuffer
    /// One `float *buffers[]` table per kernel.
    private let tables: [UnsafeMutablePointer<UnsafeMutablePointer<Float>?>]
    private let weights: WeightStorage

    init(plan: ExecutionPlan, weights: WeightStorage) {
        self.arena = AlignedBuffer(count: plan.arenaFloats)
        self.weights = weights
        let arena = self.arena
        tables = plan.kernelArguments.map { locations in
            let table = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: max(locations.count, 1))
            for (position, location) in locations.enumerated() {
                (table + position).initialize(to: Self.address(of: location, arena: arena, weights: weights))
            }
            return table
        }
    }

    deinit { tables.forEach { $0.deallocate() } }

    /// The address a location resolves to in this context.
    static func address(of location: ExecutionPlan.Location, arena: AlignedBuffer,
                        weights: WeightStorage) -> UnsafeMutablePointer<Float> {
        switch location {
        case let .arena(offset): arena.pointer + offset
        case let .weight(index): weights.raw[index].pointer
        case let .packed(index): weights.packed[index].pointer
        }
    }

    /// Runs one kernel on whatever the arena holds (for per-kernel profiling).
    func runKernel(_ index: Int, _ kernel: KernelFunction) {
        kernel(UnsafePointer(tables[index]), gj_runtime_get())
    }

    /// Copies inputs in, runs every kernel in order, copies outputs out.
    func run(plan: ExecutionPlan, kernels: [KernelFunction],
             inputs: [UnsafeBufferPointer<Float>], outputs: [UnsafeMutableBufferPointer<Float>]) {
        for (input, slot) in zip(inputs, plan.inputs) {
            (arena.pointer + slot.offset).update(from: input.baseAddress!, count: slot.count)
        }
        let runtime = gj_runtime_get()
        for (kernel, table) in zip(kernels, tables) {
            kernel(UnsafePointer(table), runtime)
        }
        for (output, slot) in zip(outputs, plan.outputs) {
            let source = Self.address(of: slot.location, arena: arena, weights: weights)
            output.baseAddress!.update(from: source, count: slot.count)
        }
    }
}
