import CGraphJITRuntime
import GraphJITIR
/// The static layout of a compiled model: where each kernel argument lives.
///
/// Model inputs are read in place from the caller's memory (kernels never write them), so a call
/// copies nothing in. Activations and scratch share one arena per execution context, placed by
/// ``MemoryPlan``;
/// persistent values (parameters, states) and their derived formats live once per model in
/// ``WeightStorage``. Views (Flatten) alias their source's memory; the new value of a state that
/// a kernel writes in place lives in the state's own buffer. All of this is decided before the
/// first call, so a call allocates nothing.
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
    /// The persistent values a call updates, in ``Graph/updates`` order.
    package let updates: [Update]
    /// Indices into ``weights`` of the persistent values a call updates.
    package var updatedWeights: [Int] { updates.map(\.target) }

    /// One update of a persistent value: in place (a kernel wrote the target's buffer), or a copy
    /// of `count` floats from `source` when the call ends.
    package struct Update: Equatable, Sendable {
        /// Index into ``weights`` of the target's raw buffer.
        package let target: Int
        /// Where the new value is, when it is copied; `nil` when a kernel wrote it in place.
        package let source: Location?
        /// Arena room the source is first copied to, when the source is a persistent value that
        /// another update overwrites (`previous ← current`, or a swap): all such snapshots are
        /// taken before any target is written, so every update sees the contents the call started with.
        package let snapshot: Location?
        package let count: Int
    }
    /// The arena size in floats.
    package let arenaFloats: Int
    /// What the arena would take if no buffer were reused.
    package let unsharedFloats: Int
    /// The largest sum of simultaneously live activation floats at any kernel.
    package let peakLiveFloats: Int

    /// Lays out `kernels` (each kernel's arguments, in execution order); the kernels computing
    /// the values of `inPlaceUpdates` write them into their targets' buffers.
    package init(graph: Graph, kernelArguments kernels: [[KernelArgument]], inPlaceUpdates: [StateUpdate] = []) {
        // Views alias their source, in-place updates their target: resolve every value to the
        // value that owns its storage.
        let aliased = Dictionary(uniqueKeysWithValues: inPlaceUpdates.map { ($0.value, $0.target) })
        func root(_ id: ValueID) -> ValueID {
            if let target = aliased[id] { return target }
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
                if graph[owner].role.isPersistent { continue }
                firstUse[owner] = min(firstUse[owner] ?? step, step)
                lastUse[owner] = max(lastUse[owner] ?? step, step)
            }
        }
        let finalStep = max(kernels.count - 1, 0)
        let copied = graph.updates.filter { aliased[$0.value] == nil }.map(\.value)
        for output in graph.outputs + copied {
            let owner = root(output)
            if graph[owner].role.isPersistent { continue }
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
        // Updates copied from a persistent value that another update writes need a snapshot,
        // live at the last step beside the outputs.
        let targets = Set(graph.updates.map(\.target))
        var snapshotRequest: [Int: Int] = [:]  // update position -> request
        for (position, update) in graph.updates.enumerated()
        where aliased[update.value] == nil && targets.contains(root(update.value)) {
            snapshotRequest[position] = requests.count
            requests.append(.init(floats: graph[update.target].shape.elementCount, first: finalStep, last: finalStep))
        }
        let memory = MemoryPlan(requests: requests)

        // Weights in first-use order.
        var weights: [WeightFormat] = []
        var weightPositions: [WeightFormat: Int] = [:]
        func weightIndex(_ spec: WeightFormat) -> Int {
            if let index = weightPositions[spec] { return index }
            weightPositions[spec] = weights.count
            weights.append(spec)
            return weights.count - 1
        }
        var arguments: [[Location]] = []
        for (step, kernel) in kernels.enumerated() {
            arguments.append(kernel.enumerated().map { position, argument in
                switch argument {
                case let .value(id):
                    let owner = root(id)
                    if graph[owner].role.isPersistent { return .weight(weightIndex(.raw(owner))) }
                    if let index = inputIndex[owner] { return .input(index) }
                    return .arena(memory.offsets[bufferOfValue[owner]!])
                case let .weight(format):
                    return .weight(weightIndex(format))
                case .scratch:
                    return .arena(memory.offsets[scratchBuffer[step][position]!])
                }
            })
        }

        // The peak: a sweep over the steps, each buffer added where it starts and removed after
        // it ends (inputs count from the start to their last use).
        var change = Array(repeating: 0, count: finalStep + 2)
        for request in requests {
            change[request.first] = Int.saturatingSum(change[request.first], request.floats)
            change[request.last + 1] -= request.floats == .max ? 0 : request.floats
        }
        for (index, input) in graph.inputs.enumerated() {
            change[0] = Int.saturatingSum(change[0], graph[input].shape.elementCount)
            change[inputLastUse[index] + 1] -= graph[input].shape.elementCount
        }
        var peak = 0
        var live = 0
        for step in 0...finalStep {
            live = Int.saturatingSum(live, change[step])
            peak = max(peak, live)
        }

        func location(_ value: ValueID) -> Location {
            let owner = root(value)
            if graph[owner].role.isPersistent { return .weight(weightIndex(.raw(owner))) }
            if let index = inputIndex[owner] { return .input(index) }
            return .arena(memory.offsets[bufferOfValue[owner]!])
        }
        self.kernelArguments = arguments
        self.inputCounts = graph.inputs.map { graph[$0].shape.elementCount }
        self.outputs = graph.outputs.map { (location($0), graph[$0].shape.elementCount) }
        self.updates = graph.updates.enumerated().map { position, update in
            Update(target: weightIndex(.raw(update.target)),
                   source: aliased[update.value] == nil ? location(update.value) : nil,
                   snapshot: snapshotRequest[position].map { .arena(memory.offsets[$0]) },
                   count: graph[update.target].shape.elementCount)
        }
        self.weights = weights
        self.arenaFloats = memory.arenaFloats
        self.unsharedFloats = memory.unsharedFloats
        self.peakLiveFloats = peak
    }

    /// The floats a compiled model of this plan allocates at most once per context: the arena, the
    /// weights in every format the plan binds (packed formats counted at their source size; the
    /// padding is small), and one call's outputs. Saturating.
    package func requiredFloats(_ graph: Graph) -> Int {
        let weightFloats = weights.reduce(0) { total, format in
            format.sources.reduce(total) { Int.saturatingSum($0, graph[$1].shape.elementCount) }
        }
        let outputFloats = outputs.reduce(0) { Int.saturatingSum($0, $1.count) }
        return Int.saturatingSum(Int.saturatingSum(arenaFloats, weightFloats), outputFloats)
    }
}
