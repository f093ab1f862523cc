import GraphJITIR
import CGraphJITRuntime

/// The per-call state of a compiled model: one arena for activations and scratch, and each
/// kernel's `buffers` table resolved against it and the shared weights.
///
/// A context serves one call at a time; ``CompiledModel`` keeps a pool of them so that several
/// threads can run the same model at once without allocating on the hot path.
package final class ExecutionContext: @unchecked Sendable {  // Used by one thread at a time (checked out
                                                     // of the model's pool under a lock).
    package let arena: AlignedBuffer
    /// One `float *buffers[]` table per kernel.
    private let tables: [UnsafeMutablePointer<UnsafeMutablePointer<Float>?>]
    /// Table entries that point at model inputs: (kernel, argument, input index), set per call.
    private let inputSites: [(kernel: Int, argument: Int, input: Int)]
    private let weights: WeightStorage

    package init(plan: ExecutionPlan, weights: WeightStorage) {
        self.arena = AlignedBuffer(count: plan.arenaFloats)
        self.weights = weights
        let arena = self.arena
        var sites: [(kernel: Int, argument: Int, input: Int)] = []
        tables = plan.kernelArguments.enumerated().map { kernel, locations in
            let table = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: max(locations.count, 1))
            for (position, location) in locations.enumerated() {
                if case let .input(index) = location { sites.append((kernel, position, index)) }
                (table + position).initialize(to: Self.address(of: location, arena: arena, weights: weights, inputs: []))
            }
            return table
        }
        inputSites = sites
    }

    deinit { tables.forEach { $0.deallocate() } }

    /// The address a location resolves to in this context (`nil` for an input not given).
    package static func address(of location: ExecutionPlan.Location, arena: AlignedBuffer, weights: WeightStorage,
                        inputs: [UnsafeBufferPointer<Float>]) -> UnsafeMutablePointer<Float>? {
        switch location {
        case let .arena(offset): arena.pointer + offset
        case let .weight(index): weights.buffers[index].pointer
        case let .input(index):
            // Kernels only read model inputs (the generated C declares them `const float *`);
            // the table's element type is non-const because one table serves every argument.
            index < inputs.count ? UnsafeMutablePointer(mutating: inputs[index].baseAddress) : nil
        }
    }

    /// Runs one kernel on whatever the arena holds (for per-kernel profiling).
    package func runKernel(_ index: Int, _ kernel: KernelFunction) {
        kernel(UnsafePointer(tables[index]), gj_runtime_get())
    }

    /// Points the tables at the caller's inputs, runs every kernel in order, copies outputs out,
    /// then copies the new values of updated persistent values not written in place. The caller
    /// holds the weights' access (``WeightStorage/withWriteAccess(updating:_:)`` when the plan updates).
    package func run(plan: ExecutionPlan, kernels: [KernelFunction],
             inputs: [UnsafeBufferPointer<Float>], outputs: [UnsafeMutableBufferPointer<Float>]) {
        for site in inputSites {
            tables[site.kernel][site.argument] = UnsafeMutablePointer(mutating: inputs[site.input].baseAddress)
        }
        let runtime = gj_runtime_get()
        for (kernel, table) in zip(kernels, tables) {
            kernel(UnsafePointer(table), runtime)
        }
        for (output, slot) in zip(outputs, plan.outputs) {
            let source = Self.address(of: slot.location, arena: arena, weights: weights, inputs: inputs)!
            output.baseAddress!.update(from: source, count: slot.count)
        }
        func address(_ location: ExecutionPlan.Location) -> UnsafeMutablePointer<Float> {
            Self.address(of: location, arena: arena, weights: weights, inputs: inputs)!
        }
        // Snapshots first, so that no copy reads a persistent value another copy already replaced.
        for update in plan.updates {
            guard let source = update.source, let snapshot = update.snapshot else { continue }
            address(snapshot).update(from: address(source), count: update.count)
        }
        for update in plan.updates {
            guard let location = update.snapshot ?? update.source else { continue }
            let source = address(location)
            let target = weights.buffers[update.target].pointer
            if source != target { target.update(from: source, count: update.count) }
        }
    }
}
