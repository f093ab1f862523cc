import Foundation
import GraphJIT

/// Compile time against model size (`--compile-scaling`): chains of Activation layers fused into
/// one kernel, and of Dense layers (one kernel each), from graph building to callable kernels on
/// tcc. Each size is timed three times; the median is printed with the time per layer, which stays
/// flat when compile time is linear.
struct CompileScaling {
    static let activationCounts = [1_000, 10_000, 40_000, 100_000]
    static let denseCounts = [100, 1_000, 10_000]

    func run() throws {
        print("compile scaling (tcc tier: graph, fusion, planning, C, tcc), median of 3")
        print("layers              count    seconds   µs/layer")
        for count in Self.activationCounts {
            try report("Activation chain", count) {
                Sequential(inputShape: [8]) {
                    Dense(units: 8)
                    for _ in 0..<count { Activation(.relu) }
                }
            }
        }
        for count in Self.denseCounts {
            try report("Dense chain", count) {
                Sequential(inputShape: [8]) { for _ in 0..<count { Dense(units: 8, activation: .tanh) } }
            }
        }
    }

    private func report(_ label: String, _ count: Int, _ make: () -> Model) throws {
        var samples: [Double] = []
        for _ in 0..<3 {
            let model = make()
            let start = ContinuousClock.now
            _ = try model.compiled(batchSize: 1, tier: .instant)
            samples.append((ContinuousClock.now - start).seconds)
        }
        let median = samples.sorted()[1]
        print(label.padding(toLength: 18, withPad: " ", startingAt: 0)
              + String(format: "%8d %10.3f %10.2f", count, median, median / Double(count) * 1e6))
    }
}
