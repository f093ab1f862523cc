import Foundation

/// Medians and percentiles of repeated wall-clock measurements.
struct TimingSummary: Codable {
    let medianMilliseconds: Double
    let p10Milliseconds: Double
    let p90Milliseconds: Double
    let runs: Int

    /// Calls `body` after `warmUp` untimed calls until both `minimumRuns` samples and `minimumSeconds`
    /// have accumulated (at most `maximumRuns`).
    static func measure(warmUp: Int = 3, minimumRuns: Int = 10, minimumSeconds: Double = 0.5,
                        maximumRuns: Int = 5000, _ body: () throws -> Void) rethrows -> TimingSummary {
        for _ in 0..<warmUp { try body() }
        var samples: [Double] = []
        let clock = ContinuousClock()
        let start = clock.now
        while samples.count < maximumRuns
            && (samples.count < minimumRuns || (clock.now - start).seconds < minimumSeconds) {
            let before = clock.now
            try body()
            samples.append((clock.now - before).seconds * 1000)
        }
        samples.sort()
        func percentile(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
        return TimingSummary(medianMilliseconds: percentile(0.5), p10Milliseconds: percentile(0.1),
                             p90Milliseconds: percentile(0.9), runs: samples.count)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// A time in milliseconds for the tables: four decimals below 0.1 ms, three above.
func millisecondsText(_ milliseconds: Double) -> String {
    milliseconds < 0.1 ? String(format: "%.4f", milliseconds) : String(format: "%.3f", milliseconds)
}
