/// A model's forward graph turned into one that explains its predictions: chosen values of the
/// forward pass as outputs (an attention layer's weights, a convolution's activations) and,
/// optionally, the gradient of one value with respect to others (saliency: of a class
/// probability with respect to the inputs; Grad-CAM: of a logit with respect to a convolution's
/// output).
///
/// The graph's inputs are the forward graph's, then, when it differentiates, one more: the
/// *cotangent* of the differentiated value, the same shape as it (a one-hot row per sample picks
/// `∂p[c]/∂x`). Its outputs are the requested values, then one gradient per value in
/// `withRespectTo`, each the shape of that value. Nothing else of the forward graph is computed
/// unless an output needs it, and the requested values are materialized (fusion writes them to
/// their own buffers instead of fusing them away).
public struct InspectionGraph: Sendable {
    /// The extended graph: inputs the forward graph's (then the cotangent); outputs the
    /// requested values, then the gradients.
    public let graph: Graph
    /// The name of the cotangent input when the graph differentiates, else `nil`.
    public let cotangentInput: String?

    /// The name of the cotangent input of a graph that differentiates a value of `layer`.
    public static func cotangentName(for layer: String) -> String { "\(layer)_cotangent" }

    /// Extends `forward`.
    /// - Parameters:
    ///   - forward: a model's forward graph (no updates).
    ///   - outputs: values of `forward` to return, in order (repeats allowed).
    ///   - target: the value to differentiate, or `nil` for none; its cotangent input is named
    ///     after the layer that computes it (``cotangentName(for:)``).
    ///   - withRespectTo: the values (inputs or computed values of `forward`) whose gradients are
    ///     returned after `outputs`.
    /// - Throws: ``GraphError/invalidModel(reason:)`` for a value not in `forward`, or a gradient
    ///   the target does not depend on; ``GraphError/notDifferentiable(layer:operation:)`` for an
    ///   operation without a gradient rule on the path.
    public init(forward: Graph, outputs: [ValueID], differentiating target: ValueID? = nil,
                withRespectTo: [ValueID] = []) throws {
        for value in outputs + withRespectTo + (target.map { [$0] } ?? []) where value.index >= forward.values.count {
            throw GraphError.invalidModel(reason: "value \(value) is not in the model's graph")
        }
        guard target != nil || withRespectTo.isEmpty else {
            throw GraphError.invalidModel(reason: "gradients need a value to differentiate")
        }
        var builder = GraphBuilder(continuing: forward)
        var gradients: [ValueID] = []
        var cotangentName: String?
        if let target {
            let layer = forward.producer(of: target)?.layer ?? forward[target].name
            let name = Self.cotangentName(for: layer)
            builder.scope = name
            let cotangent = try builder.addInput(named: name, shape: forward[target].shape)
            let found = try Autodiff.gradients(of: [(target, cotangent)], withRespectTo: withRespectTo, in: &builder)
            gradients = try withRespectTo.map { value in
                guard let gradient = found[value] else {
                    throw GraphError.invalidModel(reason: "'\(forward[target].name)' does not depend on "
                                                  + "'\(forward[value].name)', so it has no gradient with respect to it")
                }
                return gradient
            }
            cotangentName = name
        }
        self.graph = try builder.finish(outputs: outputs + gradients)
        self.cotangentInput = cotangentName
    }
}
