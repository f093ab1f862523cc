import GraphJITRuntime
import Synchronization

/// A compiled model's weights, bound once: raw copies for kernels that read weights as stored,
/// and pre-packed copies (`rt->pack_b`) for GEMM B operands. Read-only after init, shared by
/// every execution context, and (through a ``WeightBufferCache``) by every batch size and tier
/// compiled from the same model.
final class WeightStorage: Sendable {
    let raw: [AlignedBuffer]
    let packed: [AlignedBuffer]

    /// Copies and packs the weights a plan needs, reusing buffers already in `cache`.
    /// Throws when a parameter is missing or misshapen.
    init(plan: ExecutionPlan, graph: Graph, parameters: ParameterStore,
         cache: WeightBufferCache = WeightBufferCache()) throws {
        func tensor(_ id: ValueID) throws -> Tensor {
            guard case let .parameter(name) = graph[id].role, let tensor = parameters[name] else {
                throw WeightsError.nameMismatch(source: "the model's parameters", missing: [graph[id].name],
                                                unexpected: [])
            }
            guard tensor.shape == graph[id].shape else {
                throw WeightsError.shapeMismatch(source: "the model's parameters", name: graph[id].name,
                                                 expected: graph[id].shape, actual: tensor.shape)
            }
            return tensor
        }
        raw = try plan.rawParameters.map { id in
            let values = try tensor(id)
            return cache.buffer(for: graph[id].name, packed: false) {
                let buffer = AlignedBuffer(count: values.elementCount)
                values.scalars.withUnsafeBufferPointer { source in
                    buffer.pointer.update(from: source.baseAddress!, count: source.count)
                }
                return buffer
            }
        }
        let runtime = gj_runtime_get()!.pointee
        packed = try plan.packedParameters.map { id in
            let values = try tensor(id)
            return cache.buffer(for: graph[id].name, packed: true) {
                // A GEMM B operand: the last axis is N, the rest flatten into K (HWIO conv kernels
                // are [KH*KW*C, F]).
                let n = Int32(values.shape.last!)
                let k = Int32(values.elementCount / values.shape.last!)
                let buffer = AlignedBuffer(count: Int(runtime.packed_b_floats(k, n)))
                values.scalars.withUnsafeBufferPointer { source in
                    runtime.pack_b(k, n, source.baseAddress, n, buffer.pointer)
                }
                return buffer
            }
        }
    }

    /// Bytes held (raw plus packed).
    var byteCount: Int { (raw + packed).reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }
}

/// Bound weight buffers by parameter name, shared by the compiled plans of one model so that
/// each weight is copied and packed once, whatever the batch size or tier.
final class WeightBufferCache: Sendable {
    private struct Key: Hashable {
        let name: String
        let isPacked: Bool
    }

    private let buffers = Mutex<[Key: AlignedBuffer]>([:])

    init() {}

    /// The cached buffer, or the one `make` creates.
    func buffer(for name: String, packed: Bool, make: () -> AlignedBuffer) -> AlignedBuffer {
        let key = Key(name: name, isPacked: packed)
        if let existing = buffers.withLock({ $0[key] }) { return existing }
        let created = make()
        return buffers.withLock { buffers in
            if let existing = buffers[key] { return existing }
            buffers[key] = created
            return created
        }
    }

    func removeAll() { buffers.withLock { $0.removeAll() } }
}
