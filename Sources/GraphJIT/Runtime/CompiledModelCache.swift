import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Synchronization

/// A model's compiled plans by batch size and tier, so each is compiled once.
final class CompiledModelCache: Sendable {
    private struct Key: Hashable {
        let batchSize: Int
        let tier: CompilationTier
    }

    private let entries = Mutex<[Key: CompiledModel]>([:])
    /// The model's parameters (and states), bound once for every batch size and tier.
    let storage = PersistentStore()

    /// The cached model, or the one `make` compiles (outside the lock; a race compiles twice and
    /// keeps the first).
    func model(batchSize: Int, tier: CompilationTier, make: () throws -> CompiledModel) throws -> CompiledModel {
        let key = Key(batchSize: batchSize, tier: tier)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let compiled = try make()
        return entries.withLock { entries in
            if let existing = entries[key] { return existing }
            entries[key] = compiled
            return compiled
        }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
        storage.removeAll()
    }
}
