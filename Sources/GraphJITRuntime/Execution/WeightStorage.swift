import GraphJITIR
import CGraphJITRuntime
import Synchronization

/// The persistent values one compiled plan reads and writes, bound once: each parameter or state
/// as stored (its ``PersistentBuffer``, shared through the model's ``PersistentStore``), and the
/// derived formats its kernels read (``DerivedBuffer``s: packed GEMM operands, concatenated
/// biases), remade whenever a source changes.
package final class WeightStorage: Sendable {
    /// One buffer per ``ExecutionPlan/weights`` entry.
    package let buffers: [AlignedBuffer]
    /// The store the buffers belong to.
    package let store: PersistentStore
    /// Per ``ExecutionPlan/weights`` entry, the persistent value it is, if it is one (raw formats).
    private let persistent: [PersistentBuffer?]
    private let derived: [DerivedBuffer]
    /// ``PersistentStore/changes`` when every derived buffer of this plan was last seen current
    /// (-1: never checked).
    private let currentAt = Atomic<Int>(-1)

    /// Binds the weights a plan needs, reusing the buffers already in `store`: parameters start from
    /// `parameters`, states from zeros, the first time any plan of the model binds them.
    /// Throws when a parameter is missing or misshapen.
    package init(plan: ExecutionPlan, graph: Graph, parameters: ParameterStore,
                 store: PersistentStore = PersistentStore()) throws {
        func bind(_ id: ValueID) throws -> PersistentBuffer {
            let value = graph[id]
            return try store.persistent(named: value.name, shape: value.shape) {
                switch value.role {
                case let .parameter(name):
                    guard let tensor = parameters[name] else {
                        throw WeightsError.nameMismatch(source: "the model's parameters", missing: [name],
                                                        unexpected: [])
                    }
                    guard tensor.shape == value.shape else {
                        throw WeightsError.shapeMismatch(source: "the model's parameters", name: name,
                                                         expected: value.shape, actual: tensor.shape)
                    }
                    return tensor.scalars
                case .state:
                    return [Float](repeating: 0, count: value.shape.elementCount)
                case .input, .computed:
                    throw WeightsError.nameMismatch(source: "the model's parameters", missing: [value.name],
                                                    unexpected: [])
                }
            }
        }
        var persistent: [PersistentBuffer?] = []
        var derived: [DerivedBuffer] = []
        var buffers: [AlignedBuffer] = []
        for format in plan.weights {
            let sources = try format.sources.map(bind)
            /// A format derived from `sources` into `count` floats, recomputed when they change.
            func derive(_ label: String, count: Int,
                        _ body: @escaping @Sendable ([PersistentBuffer], UnsafeMutablePointer<Float>) -> Void) {
                derived.append(store.derived(label, of: sources, count: max(count, 1), derive: body))
                persistent.append(nil)
                buffers.append(derived.last!.storage)
            }
            /// The floats a runtime packing of the GEMM operand `sources` takes.
            func packedCount(_ floats: (Int32, Int32) -> Int) -> Int {
                let (k, n) = Self.gemmExtents(sources)
                return floats(Int32(k), Int32(n))
            }
            let runtime = gj_runtime_get()!.pointee
            switch format {
            case .raw:
                persistent.append(sources[0])
                buffers.append(sources[0].storage)
            case .concatenated:
                derive("concatenated", count: sources.reduce(0) { $0 + $1.storage.count }, Self.concatenate)
            case .packed:
                derive("packed", count: packedCount { Int(runtime.packed_b_floats($0, $1)) }, Self.pack)
            case .int8:
                derive("int8", count: packedCount { Int(runtime.int8_kernel_floats($0, $1)) }, Self.packInt8)
            case .bf16:
                derive("bf16", count: packedCount { Int(runtime.bf16_kernel_floats($0, $1)) }, Self.packBf16)
            }
        }
        self.buffers = buffers
        self.store = store
        self.persistent = persistent
        self.derived = derived
    }

    /// A GEMM B operand's extents: the last axis is N, the rest flatten into K (HWIO conv kernels
    /// are [KH*KW*C, F]); several operands are concatenated along N.
    private static func gemmExtents(_ sources: [PersistentBuffer]) -> (k: Int, n: Int) {
        let n = sources.reduce(0) { $0 + $1.shape.last! }
        return (sources[0].storage.count / sources[0].shape.last!, n)
    }

    private static func concatenate(_ sources: [PersistentBuffer], into target: UnsafeMutablePointer<Float>) {
        var offset = 0
        for source in sources {
            (target + offset).update(from: source.storage.pointer, count: source.storage.count)
            offset += source.storage.count
        }
    }

    /// `rt->pack_b` of the sources side by side along N, row by row.
    private static func pack(_ sources: [PersistentBuffer], into target: UnsafeMutablePointer<Float>) {
        let (k, n) = gemmExtents(sources)
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
        defer { rows.deallocate() }
        for row in 0..<k {
            var column = 0
            for source in sources {
                let width = source.shape.last!
                (rows + row * n + column).update(from: source.storage.pointer + row * width, count: width)
                column += width
            }
        }
        gj_runtime_get()!.pointee.pack_b(Int32(k), Int32(n), rows, Int32(n), target)
    }

    /// `rt->pack_int8_kernel` of one `[K, N]` kernel of int8 values stored as floats.
    private static func packInt8(_ sources: [PersistentBuffer], into target: UnsafeMutablePointer<Float>) {
        let (k, n) = gemmExtents(sources)
        gj_runtime_get()!.pointee.pack_int8_kernel(Int32(k), Int32(n), sources[0].storage.pointer, target)
    }

    /// `rt->pack_bf16_kernel` of one `[K, N]` kernel (rounded to bf16 there, if it is not already).
    private static func packBf16(_ sources: [PersistentBuffer], into target: UnsafeMutablePointer<Float>) {
        let (k, n) = gemmExtents(sources)
        gj_runtime_get()!.pointee.pack_bf16_kernel(Int32(k), Int32(n), sources[0].storage.pointer, target)
    }

    /// Runs `body` (a call that only reads persistent values) with every derived format current,
    /// sharing the store with other such calls. (Not generic: it runs on every call, across a
    /// module boundary, where a generic body would not be specialized.)
    package func withReadAccess(_ body: () throws -> Void) rethrows {
        while true {
            store.access.lockRead()
            let changes = store.changes.load(ordering: .acquiring)
            if currentAt.load(ordering: .relaxed) == changes || !hasStaleDerived() {
                currentAt.store(changes, ordering: .relaxed)
                defer { store.access.unlock() }
                try body()
                return
            }
            store.access.unlock()
            store.access.lockWrite()
            for buffer in derived { buffer.refreshIfStale() }
            store.access.unlock()
        }
    }

    /// Runs `body` (a call that updates the persistent values at `updated`, indices into
    /// ``buffers``) alone, with every derived format current; the updated values' versions change
    /// afterwards, so the formats derived from them are remade before their next use.
    package func withWriteAccess(updating updated: [Int], _ body: () throws -> Void) rethrows {
        store.access.lockWrite()
        defer {
            for index in updated { persistent[index]?.markChanged() }
            if !updated.isEmpty { store.changes.add(1, ordering: .releasing) }
            store.access.unlock()
        }
        for buffer in derived { buffer.refreshIfStale() }
        try body()
    }

    private func hasStaleDerived() -> Bool {
        for buffer in derived where buffer.isStale { return true }
        return false
    }

    /// Bytes held.
    package var byteCount: Int { buffers.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride }
}
