import GraphJITIR

/// What a model keeps between training calls besides its weights: the reference engine's
/// optimizer states, and the names of the optimizer states the JIT's train steps bound.
final class TrainingState {
    var referenceStates: [String: Tensor] = [:]
    var stateNames: Set<String> = []
}
