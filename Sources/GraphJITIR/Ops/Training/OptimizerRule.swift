import Foundation

/// How an optimizer moves each parameter, as Keras 3 defines it (keras/src/optimizers), in float32.
///
/// The hyperparameters are held as Keras holds them, as doubles (Python floats), and become float32
/// where Keras's update step converts them: `β1` itself (whose powers are float32), but `1 − β1`
/// computed in double first (`Float(1 − β1)` is not `1 − Float(β1)`: for β2 = 0.999 the two differ
/// by 1.3e-5 relative, which shows in every Adam step). Each rule keeps per-parameter *slots*
/// (Adam's moments, a momentum), states that start at zero. Every step also adds one to the
/// optimizer's `iterations`.
public enum OptimizerRule: Hashable, Sendable, CustomStringConvertible {
    /// `t = iterations + 1; α = lr·√(1−β2ᵗ)/(1−β1ᵗ); m += (g−m)(1−β1); v += (g²−v)(1−β2);
    /// θ −= α·m/(√v + ε)` (ε added to the uncorrected √v).
    case adam(learningRate: Double, beta1: Double, beta2: Double, epsilon: Double)
    /// Without momentum `θ −= lr·g`; with it `m = μm − lr·g`, then `θ += m`, or with Nesterov
    /// `θ += μm − lr·g`.
    case sgd(learningRate: Double, momentum: Double, nesterov: Bool)
    /// `v = ρv + (1−ρ)g²`; centered: `a = ρa + (1−ρ)g`, `d = v − a² + ε`, else `d = v + ε`;
    /// `δ = lr·g/√d`; with momentum `m = μm + δ`, `θ −= m`, else `θ −= δ`.
    case rmsprop(learningRate: Double, rho: Double, momentum: Double, epsilon: Double, centered: Bool)

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

    /// The float32 scalars a step uses, in the order the runtime routine takes them after its
    /// buffers: Adam `lr, β1, β2, ε, 1−β1, 1−β2`; SGD `lr, momentum`; RMSprop `lr, ρ, momentum, ε, 1−ρ`.
    public var scalars: [Float] {
        switch self {
        case let .adam(lr, b1, b2, eps): [Float(lr), Float(b1), Float(b2), Float(eps), Float(1 - b1), Float(1 - b2)]
        case let .sgd(lr, momentum, _): [Float(lr), Float(momentum)]
        case let .rmsprop(lr, rho, momentum, eps, _): [Float(lr), Float(rho), Float(momentum), Float(eps), Float(1 - rho)]
        }
    }

    /// One step for one parameter in float32, Keras's order of operations: returns the new
    /// parameter and slots. `iterations` is the count of steps taken before this one.
    public func step(parameter: [Float], gradient: [Float], slots: [[Float]], iterations: Float) -> (parameter: [Float], slots: [[Float]]) {
        var theta = parameter
        var slots = slots
        let k = scalars
        switch self {
        case .adam:
            let (lr, b1, b2, eps, oneMinusB1, oneMinusB2) = (k[0], k[1], k[2], k[3], k[4], k[5])
            let t = iterations + 1
            let alpha = lr * (1 - powf(b2, t)).squareRoot() / (1 - powf(b1, t))
            for i in theta.indices {
                let g = gradient[i]
                slots[0][i] += (g - slots[0][i]) * oneMinusB1
                slots[1][i] += (g * g - slots[1][i]) * oneMinusB2
                theta[i] -= (slots[0][i] * alpha) / (slots[1][i].squareRoot() + eps)
            }
        case let .sgd(_, momentumValue, nesterov):
            let (lr, momentum) = (k[0], k[1])
            for i in theta.indices {
                let g = gradient[i]
                if momentumValue != 0 {
                    slots[0][i] = slots[0][i] * momentum - g * lr
                    theta[i] += nesterov ? slots[0][i] * momentum - g * lr : slots[0][i]
                } else {
                    theta[i] -= g * lr
                }
            }
        case let .rmsprop(_, _, momentumValue, _, centered):
            let (lr, rho, momentum, eps, oneMinusRho) = (k[0], k[1], k[2], k[3], k[4])
            let averageSlot = momentumValue > 0 ? 2 : 1
            for i in theta.indices {
                let g = gradient[i]
                slots[0][i] = rho * slots[0][i] + oneMinusRho * (g * g)
                var denominator = slots[0][i] + eps
                if centered {
                    slots[averageSlot][i] = rho * slots[averageSlot][i] + oneMinusRho * g
                    denominator = slots[0][i] - slots[averageSlot][i] * slots[averageSlot][i] + eps
                }
                let increment = (lr * g) / denominator.squareRoot()
                if momentumValue > 0 {
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
