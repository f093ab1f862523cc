import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
import Synchronization

/// A model's compiled plans by batch size, tier and purpose, so each is compiled once, and at
/// most ``capacity`` of each purpose family are kept (least recently used released first; every
/// explanation request is one family).
final class CompiledModelCache: Sendable {
    /// What a plan computes.
    enum Purpose: Hashable {
        /// The model's outputs.
        case prediction
        /// Losses, predictions and the optimizer's update.
        case trainStep
        /// Losses and predictions.
        case testStep
        /// Chosen forward values and gradients (``InspectionRequest``): what explanations run.
        case inspection(InspectionRequest)

        /// The purposes that share one ``capacity``: every inspection request counts as one family.
        var family: Int {
            switch self {
            case .prediction: 0
            case .trainStep: 1
            case .testStep: 2
            case .inspection: 3
            }
        }
        static let familyCount = 4
    }

    private struct Key: Hashable {
        let batchSize: Int
        let tier: CompilationTier
        let purpose: Purpose
    }

    private struct Entry {
        let model: CompiledModel
        var lastUse: Int
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var clock = 0
        var capacity = CompiledModelCache.defaultCapacity
    }

    /// The most plans kept for each purpose unless told otherwise: enough for the batch sizes a
    /// program alternates between (a full batch and a remainder, a training and a validation batch).
    static let defaultCapacity = 8

    private let state = Mutex(State())
    /// The model's parameters (and states), bound once for every batch size and tier. They outlive
    /// the plans: releasing a plan keeps the weights and the optimizer's state.
    let storage = PersistentStore()

    /// How many plans of each purpose are kept; beyond it the least recently used is released.
    var capacity: Int {
        get { state.withLock { $0.capacity } }
        set {
            state.withLock { state in
                state.capacity = max(1, newValue)
                for family in 0..<Purpose.familyCount { Self.evict(family: family, in: &state) }
            }
        }
    }

    /// How many plans are kept now.
    var count: Int { state.withLock { $0.entries.count } }

    /// The cached model, or the one `make` compiles (outside the lock; a race compiles twice and
    /// keeps the first).
    func model(batchSize: Int, tier: CompilationTier, purpose: Purpose = .prediction,
               make: () throws -> CompiledModel) throws -> CompiledModel {
        let key = Key(batchSize: batchSize, tier: tier, purpose: purpose)
        if let cached = state.withLock({ state -> CompiledModel? in
            guard state.entries[key] != nil else { return nil }
            state.clock += 1
            state.entries[key]!.lastUse = state.clock
            return state.entries[key]!.model
        }) { return cached }
        let compiled = try make()
        return state.withLock { state in
            state.clock += 1
            if let existing = state.entries[key] { return existing.model }
            state.entries[key] = Entry(model: compiled, lastUse: state.clock)
            Self.evict(family: purpose.family, in: &state)
            return compiled
        }
    }

    /// Releases the least recently used plans of a purpose family beyond the capacity (a caller
    /// still holding one keeps it alive until it lets go).
    private static func evict(family: Int, in state: inout State) {
        let keys = state.entries.filter { $0.key.purpose.family == family }
            .sorted { $0.value.lastUse < $1.value.lastUse }.map(\.key)
        for key in keys.dropLast(state.capacity) { state.entries[key] = nil }
    }

    /// Forgets the train and test steps (their configuration changed); the weights stay.
    func removeTrainingPlans() {
        state.withLock { state in
            state.entries = state.entries.filter { ![Purpose.trainStep, .testStep].contains($0.key.purpose) }
        }
    }

    /// Releases every plan; the weights and states stay in ``storage``.
    func removePlans() {
        state.withLock { $0.entries.removeAll() }
    }

    func removeAll() {
        state.withLock { $0.entries.removeAll() }
        storage.removeAll()
    }
}
