import GraphJITIR
import CGraphJITRuntime
import Synchronization

/// A compiled model's weights, bound once: raw copies for kernels that read weights as stored,
/// and pre-packed copies (`rt->pack_b`) for GEMM B operands. Read-only after init, shared by
/// every execution context, and (through a ``WeightBufferCache``) by every batch size and tier
/// compiled from the same model.
package final class WeightStorage: Sendable {
    /// One buffer per ``ExecutionPlan/weights`` entry.
    package let buffers: [AlignedBuffer]

    /// Copies and packs the weights a plan needs, reusing buffers already in `cache`.
    /// Throws when a parameter is missing or misshapen.
    package init(plan: ExecutionPlan, graph: Graph, parameters: ParameterStore,
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
        let runtime = gj_runtime_get()!.pointee
        buffers = try plan.weights.map { spec in
            switch spec {
            case let .raw(id):
                let values = try tensor(id)
                return cache.buffer(for: graph[id].name, form: "raw") { Self.copy(values.scalars) }
            case let .concatenated(ids):
                let values = try ids.map(tensor)
                return cache.buffer(for: ids.map { graph[$0].name }.joined(separator: "+"), form: "vector") {
                    Self.copy(values.flatMap(\.scalars))
                }
            case let .packed(ids):
                let values = try ids.map(tensor)
                return cache.buffer(for: ids.map { graph[$0].name }.joined(separator: "+"), form: "packed") {
                    // GEMM B operands: the last axis is N, the rest flatten into K (HWIO conv kernels
                    // are [KH*KW*C, F]); several are concatenated along N, row by row.
                    let widths = values.map { $0.shape.last! }
                    let k = values[0].elementCount / widths[0]
                    let n = widths.reduce(0, +)
                    var rows = [Float]()
                    rows.reserveCapacity(k * n)
                    for row in 0..<k {
                        for (tensor, width) in zip(values, widths) {
                            rows.append(contentsOf: tensor.scalars[(row * width)..<((row + 1) * width)])
                        }
                    }
                    let buffer = AlignedBuffer(count: Int(runtime.packed_b_floats(Int32(k), Int32(n))))
                    rows.withUnsafeBufferPointer { source in
                        runtime.pack_b(Int32(k), Int32(n), source.baseAddress, Int32(n), buffer.pointer)
                    }
                    return buffer
                }
            }
        }
    }

    private static func copy(_ scalars: [Float]) -> AlignedBuffer {
        let buffer = AlignedBuffer(count: scalars.count)
        scalars.withUnsafeBufferPointer { source in
            buffer.pointer.update(from: source.baseAddress!, count: source.count)
        }
        return buffer
    }

    /// Bytes held.
    package var byteCount: Int { buffers.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }
}

/// Bound weight buffers by parameter name, shared by the compiled plans of one model so that
/// each weight is copied and packed once, whatever the batch size or tier.
package final class WeightBufferCache: Sendable {
    private struct Key: Hashable {
        let name: String
        let form: String
    }

    private let buffers = Mutex<[Key: AlignedBuffer]>([:])

    package init() {}

    /// The cached buffer, or the one `make` creates.
    package func buffer(for name: String, form: String, make: () -> AlignedBuffer) -> AlignedBuffer {
        let key = Key(name: name, form: form)
        if let existing = buffers.withLock({ $0[key] }) { return existing }
        let created = make()
        return buffers.withLock { buffers in
            if let existing = buffers[key] { return existing }
            buffers[key] = created
            return created
        }
    }

    package func removeAll() { buffers.withLock { $0.removeAll() } }
}
