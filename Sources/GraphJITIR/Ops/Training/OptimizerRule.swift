import Foundation

/// How an optimizer moves each parameter, as Keras 3 defines it (keras/src/optimizers), in float32.
///
/// Each rule keeps per-parameter *slots* (Adam's moments, a momentum), states that start at zero.
/// Every step also adds one to the optimizer's `iterations`.
public enum OptimizerRule: Hashable, Sendable, CustomStringConvertible {
    /// `t = iterations + 1; α = lr·√(1−β2ᵗ)/(1−β1ᵗ); m += (g−m)(1−β1); v += (g²−v)(1−β2);
    /// θ −= α·m/(√v + ε)` (ε added to the uncorrected √v).
    case adam(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float)
    /// Without momentum `θ −= lr·g`; with it `m = μm − lr·g`, then `θ += m`, or with Nesterov
    /// `θ += μm − lr·g`.
    case sgd(learningRate: Float, momentum: Float, nesterov: Bool)
    /// `v = ρv + (1−ρ)g²`; centered: `a = ρa + (1−ρ)g`, `d = v − a² + ε`, else `d = v + ε`;
    /// `δ = lr·g/√d`; with momentum `m = μm + δ`, `θ −= m`, else `θ −= δ`.
    case rmsprop(learningRate: Float, rho: Float, momentum: Float, epsilon: Float, centered: Bool)

    /// The names of the per-parameter slots, in Keras's order.
    public var slotNames: [String] {
        switch self {
        case .adam: ["momentum", "velocity"]
        case let .sgd(_, momentum, _): momentum != 0 ? ["momentum"] : []
        case let .rmsprop(_, _, momentum, _, centered):
            ["velocity"] + (momentum > 0 ? ["momentum"] : []) + (centered ? ["average_gradient"] : [])
        }
    }

    public var description: String {
        switch self {
        case let .adam(lr, b1, b2, eps): "adam lr=\(lr) beta1=\(b1) beta2=\(b2) epsilon=\(eps)"
        case let .sgd(lr, momentum, nesterov): "sgd lr=\(lr) momentum=\(momentum)\(nesterov ? " nesterov" : "")"
        case let .rmsprop(lr, rho, momentum, eps, centered):
            "rmsprop lr=\(lr) rho=\(rho) momentum=\(momentum) epsilon=\(eps)\(centered ? " centered" : "")"
        }
    }

    /// One step for one parameter in float32, Keras's order of operations: returns the new
    /// parameter and slots. `iterations` is the count of steps taken before this one.
    public func step(parameter: [Float], gradient: [Float], slots: [[Float]], iterations: Float) -> (parameter: [Float], slots: [[Float]]) {
        var theta = parameter
        var slots = slots
        switch self {
        case let .adam(lr, b1, b2, eps):
            let t = iterations + 1
            let alpha = lr * (1 - powf(b2, t)).squareRoot() / (1 - powf(b1, t))
            for i in theta.indices {
                let g = gradient[i]
                slots[0][i] += (g - slots[0][i]) * (1 - b1)
                slots[1][i] += (g * g - slots[1][i]) * (1 - b2)
                theta[i] -= (slots[0][i] * alpha) / (slots[1][i].squareRoot() + eps)
            }
        case let .sgd(lr, momentum, nesterov):
            for i in theta.indices {
                let g = gradient[i]
                if momentum != 0 {
                    slots[0][i] = slots[0][i] * momentum - g * lr
                    theta[i] += nesterov ? slots[0][i] * momentum - g * lr : slots[0][i]
                } else {
                    theta[i] -= g * lr
                }
            }
        case let .rmsprop(lr, rho, momentum, eps, centered):
            let averageSlot = momentum > 0 ? 2 : 1
            for i in theta.indices {
                let g = gradient[i]
                slots[0][i] = rho * slots[0][i] + (1 - rho) * (g * g)
                var denominator = slots[0][i] + eps
                if centered {
                    slots[averageSlot][i] = rho * slots[averageSlot][i] + (1 - rho) * g
                    denominator = slots[0][i] - slots[averageSlot][i] * slots[averageSlot][i] + eps
                }
                let increment = (lr * g) / denominator.squareRoot()
                if momentum > 0 {
                    slots[1][i] = momentum * slots[1][i] + increment
                    theta[i] -= slots[1][i]
                } else {
                    theta[i] -= increment
                }
            }
        }
        return (theta, slots)
    }
}
