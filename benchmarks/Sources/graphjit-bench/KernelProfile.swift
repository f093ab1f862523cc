import Foundation
import GraphJIT

/// Each kernel of a model timed on its own, on both tiers (tcc and clang) and at one thread and at
/// the default thread count, with GFLOP/s against the machine's measured peak for that many cores.
/// The table says where the optimizing tier earns its compile time and where the kernels are only
/// runtime calls, which tcc reaches as fast.
struct KernelProfile {
    let machine: MachineRecord
    let repetitions: Int

    /// The records of every kernel of `plans` (one per tier, the same model and batch).
    func profile(_ model: String, _ batch: Int, _ plans: [CompiledModel], _ inputs: [Tensor]) throws -> [KernelRecord] {
        let defaultThreads = RuntimeSettings.threads
        defer { RuntimeSettings.threads = defaultThreads }
        var records: [KernelRecord] = []
        for threads in Set([1, defaultThreads]).sorted() {
            RuntimeSettings.threads = threads
            let peak = threads == 1 ? machine.peak_gflops_1core : (machine.peak_gflops_2cores ?? machine.peak_gflops_1core)
            for plan in plans {
                for timing in try plan.profileKernels(inputs, repetitions: repetitions) {
                    records.append(KernelRecord(
                        model: model, batch: batch, kernel: timing.name, layers: timing.layers.joined(separator: "+"),
                        backend: timing.backend.rawValue, threads: threads, median_ms: timing.medianSeconds * 1000,
                        gflops: timing.gflops, share_of_peak: timing.gflops / peak))
                }
            }
        }
        return records
    }

    /// Prints one row per kernel and thread count: tcc and clang side by side.
    static func printTable(_ records: [KernelRecord]) {
        print("\nKernels, tcc against clang (each kernel timed alone; GFLOP/s and share of the measured FMA peak for that many cores are clang's)")
        print(["model", "batch", "kernel (layers)", "threads", "tcc ms", "clang ms", "tcc/clang", "GFLOP/s", "of peak"]
            .enumerated().map { cell($1, $0) }.joined(separator: " "))
        let clang = records.filter { $0.backend == CompilerBackend.clang.rawValue }
        for record in clang {
            let tcc = records.first {
                $0.backend == CompilerBackend.tcc.rawValue && $0.model == record.model && $0.batch == record.batch
                    && $0.kernel == record.kernel && $0.threads == record.threads
            }
            let cells = [record.model, "\(record.batch)", "\(record.kernel) (\(record.layers))", "\(record.threads)",
                         tcc.map { millisecondsText($0.median_ms) } ?? "-", millisecondsText(record.median_ms),
                         tcc.map { String(format: "%.2fx", $0.median_ms / record.median_ms) } ?? "-",
                         record.gflops > 0 ? String(format: "%.1f", record.gflops) : "-",
                         record.gflops > 0 ? String(format: "%.0f%%", record.share_of_peak * 100) : "-"]
            print(cells.enumerated().map { cell($1, $0) }.joined(separator: " "))
        }
    }

    private static func cell(_ text: String, _ column: Int) -> String {
        switch column {
        case 0, 1: text.padding(toLength: max(text.count, 10), withPad: " ", startingAt: 0)
        case 2: text.padding(toLength: max(text.count, 44), withPad: " ", startingAt: 0)
        default: String(repeating: " ", count: max(0, 10 - text.count)) + text
        }
    }
}
