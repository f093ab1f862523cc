import Foundation

/// A small, fast, seedable random number generator (SplitMix64), so that default weights and test
/// inputs are reproducible across runs and machines.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is determined by `seed` alone.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform `Float` in `[low, high)`.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        Float(Double.random(in: Double(low)..<Double(high), using: &self))
    }

    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// A tensor of standard normal samples.
    public mutating func normalTensor(shape: [Int]) -> Tensor {
        Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { _ in Float(normal()) })
    }
}
