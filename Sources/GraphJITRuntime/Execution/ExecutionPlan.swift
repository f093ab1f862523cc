import CGraphJITRuntime
import GraphJITIR
/// The static layout of a compiled model: where each kernel argument lives.
///
/// Model inputs are read in place from the caller's memory (kernels never write them), so a call
/// copies nothing in. Activations and scratch share one arena per execution context, placed by
/// ``MemoryPlan``;
/// weights (raw and pre-packed) live once per compiled model in ``WeightStorage``. Views
/// (Flatten) alias their source's memory. All of this is decided before the first call, so a
/// call allocates nothing.
package struct ExecutionPlan: Sendable {
    /// Where one `buffers[i]` entry points.
    package enum Location: Equatable, Sendable {
        /// Offset in floats into the context's arena.
        case arena(Int)
        /// The caller's buffer for the model input with this index (patched in per call).
        case input(Int)
        /// Index into the weight storage's buffers (``weights``).
        case weight(Int)
    }

    /// Per kernel, the location of each argument.
    package let kernelArguments: [[Location]]
    /// Float count of each model input, in order.
    package let inputCounts: [Int]
    /// Arena offset (or weight) and float count of each model output, in order.
    package let outputs: [(location: Location, count: Int)]
    /// The bound weight buffers the kernels need, in weight-storage order.
    package let weights: [WeightFormat]
    /// The arena size in floats.
    package let arenaFloats: Int
    /// What the arena would take if no buffer were reused.
    package let unsharedFloats: Int
    /// The largest sum of simultaneously live activation floats at any kernel.
    package let peakLiveFloats: Int

    package init(graph: Graph, kernelArguments kernels: [[KernelArgument]]) {
        // Views alias their source: resolve every value to the value that owns its storage.
        func root(_ id: ValueID) -> ValueID {
            if let node = graph.producer(of: id), node.operation.kind == .view { return root(node.inputs[0]) }
            return id
        }

        // Collect arena buffers: kernel outputs and scratch (inputs stay in the caller's memory,
        // but count as live activations for the peak figure).
        var requests: [MemoryPlan.Request] = []
        var bufferOfValue: [ValueID: Int] = [:]
        var firstUse: [ValueID: Int] = [:]
        var lastUse: [ValueID: Int] = [:]
        let inputIndex = Dictionary(uniqueKeysWithValues: graph.inputs.enumerated().map { ($1, $0) })
        for (step, kernel) in kernels.enumerated() {
            for case let .value(id) in kernel {
                let owner = root(id)
                if case .parameter = graph[owner].role { continue }
                firstUse[owner] = min(firstUse[owner] ?? step, step)
                lastUse[owner] = max(lastUse[owner] ?? step, step)
            }
        }
        let finalStep = max(kernels.count - 1, 0)
        for output in graph.outputs {
            let owner = root(output)
            if case .parameter = graph[owner].role { continue }
            firstUse[owner] = min(firstUse[owner] ?? 0, finalStep)
            lastUse[owner] = finalStep
        }
        var inputLastUse = Array(repeating: 0, count: graph.inputs.count)
        for (owner, step) in lastUse {
            if let index = inputIndex[owner] { inputLastUse[index] = step }
        }
        for owner in firstUse.keys.sorted() where inputIndex[owner] == nil {
            bufferOfValue[owner] = requests.count
            requests.append(.init(floats: graph[owner].shape.elementCount, first: firstUse[owner]!,
                                  last: lastUse[owner] ?? firstUse[owner]!))
        }
        var scratchBuffer: [[Int?]] = []
        for (step, kernel) in kernels.enumerated() {
            scratchBuffer.append(kernel.map { argument in
                guard case let .scratch(floats, _) = argument else { return nil }
                requests.append(.init(floats: floats, first: step, last: step))
                return requests.count - 1
            })
        }
        let memory = MemoryPlan(requests: requests)

        // Weights in first-use order.
        var weights: [WeightFormat] = []
        func weightIndex(_ spec: WeightFormat) -> Int {
            if let index = weights.firstIndex(of: spec) { return index }
            weights.append(spec)
            return weights.count - 1
        }
        var arguments: [[Location]] = []
        for (step, kernel) in kernels.enumerated() {
            arguments.append(kernel.enumerated().map { position, argument in
                switch argument {
                case let .value(id):
                    let owner = root(id)
                    if case .parameter = graph[owner].role { return .weight(weightIndex(.raw(owner))) }
                    if let index = inputIndex[owner] { return .input(index) }
                    return .arena(memory.offsets[bufferOfValue[owner]!])
                case let .weight(format):
                    return .weight(weightIndex(format))
                case .scratch:
                    return .arena(memory.offsets[scratchBuffer[step][position]!])
                }
            })
        }

        var peak = 0
        for step in 0...finalStep {
            let inputs = graph.inputs.indices.filter { inputLastUse[$0] >= step }
                .reduce(0) { $0 + graph[graph.inputs[$1]].shape.elementCount }
            let live = requests.filter { $0.first <= step && step <= $0.last }.reduce(inputs) { $0 + $1.floats }
            peak = max(peak, live)
        }

        self.kernelArguments = arguments
        self.inputCounts = graph.inputs.map { graph[$0].shape.elementCount }
        self.outputs = graph.outputs.map { output in
            let owner = root(output)
            if case .parameter = graph[owner].role {
                return (.weight(weightIndex(.raw(owner))), graph[output].shape.elementCount)
            }
            if let index = inputIndex[owner] { return (.input(index), graph[output].shape.elementCount) }
            return (.arena(memory.offsets[bufferOfValue[owner]!]), graph[output].shape.elementCount)
        }
        self.weights = weights
        self.arenaFloats = memory.arenaFloats
        self.unsharedFloats = memory.unsharedFloats
        self.peakLiveFloats = peak
    }
}
