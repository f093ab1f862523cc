import GraphJITIR
import Synchronization

/// The storage of one model's persistent values (parameters and states), shared by every plan
/// compiled from the model, whatever its batch size or tier, and the derived weight formats made
/// from them (packed GEMM operands, concatenated biases).
///
/// Each persistent value has one buffer and a version that changes whenever its contents do (a
/// call that updates it, ``write(_:)``). A derived buffer records the versions it was made from
/// and is remade from its sources before the next call that reads it when they changed, so a
/// derived format is never stale. All contents are guarded by ``access``: calls that only read
/// share it, calls that update persistent values, writes and refreshes hold it alone.
package final class PersistentStore: Sendable {
    package let access = ReadWriteLock()
    /// Counts changes of any persistent value's contents: a plan whose derived formats were
    /// current at this count needs no per-buffer check (one atomic load on the hot path).
    package let changes = Atomic<Int>(0)
    private let values = Mutex<[String: PersistentBuffer]>([:])
    /// Contents for values no plan has bound yet (a resumed optimizer's states), used instead of
    /// the binder's initial contents when the shape matches.
    private let presets = Mutex<[String: Tensor]>([:])
    private let derived = Mutex<[DerivedKey: DerivedBuffer]>([:])

    private struct DerivedKey: Hashable {
        let format: String
        let sources: [String]
    }

    package init() {}

    /// The buffer of the persistent value `name`, created with `initial` contents on first use.
    /// Later requests get the same buffer, with whatever it holds now.
    package func persistent(named name: String, shape: [Int],
                            initial: () throws -> [Float]) throws -> PersistentBuffer {
        if let existing = values.withLock({ $0[name] }) {
            guard existing.shape == shape else {
                throw WeightsError.shapeMismatch(source: "the model's bound values", name: name,
                                                 expected: existing.shape, actual: shape)
            }
            return existing
        }
        let preset = presets.withLock { $0[name] }
        let contents = try preset.flatMap { $0.shape == shape ? $0.scalars : nil } ?? initial()
        let created = PersistentBuffer(name: name, shape: shape, contents: contents)
        return values.withLock { values in
            if let existing = values[name] { return existing }
            values[name] = created
            // The preset is spent only by the binding that wins (a concurrent first bind built the
            // same contents from it and lost).
            presets.withLock { _ = $0.removeValue(forKey: name) }
            return created
        }
    }

    /// The derived buffer `format` of `sources` (made by `derive` now and whenever they change).
    package func derived(_ format: String, of sources: [PersistentBuffer], count: Int,
                         derive: @escaping @Sendable ([PersistentBuffer], UnsafeMutablePointer<Float>) -> Void)
        -> DerivedBuffer {
        let key = DerivedKey(format: format, sources: sources.map(\.name))
        if let existing = derived.withLock({ $0[key] }) { return existing }
        let created = access.withWriteLock { DerivedBuffer(sources: sources, count: count, derive: derive) }
        return derived.withLock { derived in
            if let existing = derived[key] { return existing }
            derived[key] = created
            return created
        }
    }

    /// Replaces the contents of the persistent values in `tensors` that plans have bound (the others
    /// get their contents when first bound); derived formats follow at their next use.
    /// Shapes must match.
    package func write(_ tensors: [String: Tensor]) {
        access.withWriteLock {
            for (name, tensor) in tensors {
                guard let buffer = values.withLock({ $0[name] }) else { continue }
                precondition(buffer.shape == tensor.shape, "\(name): shape \(tensor.shape), bound as \(buffer.shape)")
                buffer.replaceContents(with: tensor.scalars)
                changes.add(1, ordering: .releasing)
            }
        }
    }

    /// Sets persistent values: the bound ones now (as ``write(_:)``), the others when a plan first
    /// binds them with the same shape (instead of zeros, for states).
    package func preset(_ tensors: [String: Tensor]) {
        // Decided under the values lock, so a value bound meanwhile gets its contents by `write`.
        let bound = values.withLock { values in
            let bound = tensors.filter { values[$0.key] != nil }
            presets.withLock { presets in
                for (name, tensor) in tensors where bound[name] == nil { presets[name] = tensor }
            }
            return bound
        }
        write(bound)
    }

    /// Forgets the presets not bound yet.
    package func removePresets() { presets.withLock { $0.removeAll() } }

    /// The current contents of a bound persistent value, or `nil` if no plan has bound it.
    package func read(_ name: String) -> Tensor? {
        guard let buffer = values.withLock({ $0[name] }) else { return nil }
        return access.withReadLock { Tensor(shape: buffer.shape, uncheckedScalars: buffer.contents) }
    }

    /// Forgets every buffer (plans holding them keep theirs alive).
    package func removeAll() {
        values.withLock { $0.removeAll() }
        derived.withLock { $0.removeAll() }
        presets.withLock { $0.removeAll() }
    }
}

/// One persistent value's buffer and the version of its contents.
package final class PersistentBuffer: @unchecked Sendable {  // Contents and version change only under the
                                                              // store's write lock; readers hold it shared.
    package let name: String
    package let shape: [Int]
    package let storage: AlignedBuffer
    /// Changes whenever the contents do.
    package private(set) var version = 0

    init(name: String, shape: [Int], contents: [Float]) {
        self.name = name
        self.shape = shape
        storage = AlignedBuffer(count: contents.count)
        storage.pointer.update(from: contents, count: contents.count)
    }

    var contents: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count)) }

    func replaceContents(with scalars: [Float]) {
        storage.pointer.update(from: scalars, count: min(scalars.count, storage.count))
        markChanged()
    }

    /// Records that a kernel or a copy changed the contents (caller holds the write lock).
    package func markChanged() { version += 1 }
}

/// A weight format derived from persistent values, remade when any of them changes.
package final class DerivedBuffer: @unchecked Sendable {  // Remade only under the store's write lock.
    package let storage: AlignedBuffer
    private let sources: [PersistentBuffer]
    private let derive: @Sendable ([PersistentBuffer], UnsafeMutablePointer<Float>) -> Void
    private var madeFrom: [Int]

    init(sources: [PersistentBuffer], count: Int,
         derive: @escaping @Sendable ([PersistentBuffer], UnsafeMutablePointer<Float>) -> Void) {
        self.sources = sources
        self.derive = derive
        storage = AlignedBuffer(count: count)
        madeFrom = sources.map(\.version)
        derive(sources, storage.pointer)
    }

    /// Whether a source changed since the buffer was made (caller holds the lock, shared or not).
    package var isStale: Bool {
        for index in sources.indices where sources[index].version != madeFrom[index] { return true }
        return false
    }

    /// Remakes the buffer if it is stale (caller holds the write lock).
    package func refreshIfStale() {
        guard isStale else { return }
        derive(sources, storage.pointer)
        madeFrom = sources.map(\.version)
    }
}
