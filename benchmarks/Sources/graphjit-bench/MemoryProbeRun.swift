import Foundation
import GraphJIT

/// Runs one model at all its batch sizes in this process and prints its peak RSS as JSON, so that
/// the parent benchmark can report memory per model (a process's peak cannot be reset).
struct MemoryProbeRun {
    let model: TutorialModel

    func run() throws {
        let built = model.make(seed: 0)
        var largestLive = 0
        var weightBytes = 0
        for batch in batchSizes(for: model) {
            let compiled = try built.compiled(batchSize: batch, tier: .optimized)
            _ = try compiled.predict(seededInputs(for: built, batchSize: batch))
            largestLive = max(largestLive, compiled.compileReport.peakLiveActivationBytes)
            weightBytes = max(weightBytes, compiled.compileReport.weightBytes)
        }
        let parameterBytes = try built.parameterCount() * MemoryLayout<Float>.stride
        let record = MemoryRecord(model: model.rawValue, peak_rss_bytes: MemoryProbe.peakResidentBytes(),
                                  weight_bytes: parameterBytes, largest_live_activation_bytes: largestLive,
                                  budget_bytes: parameterBytes + 2 * largestLive + 30 * 1024 * 1024)
        let data = try JSONEncoder().encode(record)
        print(String(decoding: data, as: UTF8.self))
    }
}
