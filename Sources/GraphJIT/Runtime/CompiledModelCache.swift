import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Synchronization

/// A model's compiled plans by batch size and tier, so each is compiled once.
final class CompiledModelCache: Sendable {
    /// What a plan computes.
    enum Purpose: Hashable {
        /// The model's outputs.
        case prediction
        /// Losses, predictions and the optimizer's update.
        case trainStep
        /// Losses and predictions.
        case testStep
    }

    private struct Key: Hashable {
        let batchSize: Int
        let tier: CompilationTier
        let purpose: Purpose
    }

    private let entries = Mutex<[Key: CompiledModel]>([:])
    /// The model's parameters (and states), bound once for every batch size and tier.
    let storage = PersistentStore()

    /// The cached model, or the one `make` compiles (outside the lock; a race compiles twice and
    /// keeps the first).
    func model(batchSize: Int, tier: CompilationTier, purpose: Purpose = .prediction,
               make: () throws -> CompiledModel) throws -> CompiledModel {
        let key = Key(batchSize: batchSize, tier: tier, purpose: purpose)
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let compiled = try make()
        return entries.withLock { entries in
            if let existing = entries[key] { return existing }
            entries[key] = compiled
            return compiled
        }
    }

    /// Forgets the train and test steps (their configuration changed); the weights stay.
    func removeTrainingPlans() {
        entries.withLock { entries in entries = entries.filter { $0.key.purpose == .prediction } }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
        storage.removeAll()
    }
}
