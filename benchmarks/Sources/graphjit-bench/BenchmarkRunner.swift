import Foundation
import GraphJIT

/// Runs every measurement, prints the tables and writes the JSON.
struct BenchmarkRunner {
    let quick: Bool
    let peersDirectory: URL?
    private var file: BenchmarkFile

    init(quick: Bool, peersDirectory: URL?) {
        self.quick = quick
        self.peersDirectory = peersDirectory
        self.file = BenchmarkFile(machine: Self.calibrate())
    }

    // MARK: Machine

    /// The machine's FMA peak and read bandwidth, each the best of several tries: on a shared VM
    /// one try can lose its core for a while (a two-thread try then reads like one core and a half).
    static func calibrate(tries: Int = 5) -> MachineRecord {
        progress("calibrating: FMA peak and L3 bandwidth (best of \(tries) tries each) ...")
        func best(_ measure: () -> Double) -> Double { (0..<tries).map { _ in measure() }.max() ?? 0 }
        let single = best { RuntimeSettings.measurePeakGFLOPS() }
        // Two cores: both threads run the calibration loop at once; their rates add.
        let double = best {
            let rates = RunningSum()
            DispatchQueue.concurrentPerform(iterations: 2) { _ in rates.add(RuntimeSettings.measurePeakGFLOPS()) }
            return rates.total
        }
        let cnnWeights = 30752 * 128 * 4  // the tutorial CNN's Dense kernel, the array batch 1 streams
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        return MachineRecord(cpu: cpu, cpu_path: RuntimeSettings.cpuPath, threads: RuntimeSettings.threads,
                             peak_gflops_1core: single, peak_gflops_2cores: double,
                             l3_bandwidth_gbs_1thread: best { RuntimeSettings.measureReadBandwidth(bytes: cnnWeights, threads: 1) },
                             l3_bandwidth_gbs_2threads: best { RuntimeSettings.measureReadBandwidth(bytes: cnnWeights, threads: 2) })
    }

    // MARK: Run

    mutating func run(models: [TutorialModel]) throws {
        let machine = file.machine
        print("GraphJIT seed-model benchmark  (\(machine.cpu), GEMM path \(machine.cpu_path), \(machine.threads) threads)")
        print(String(format: "machine: FP32 FMA peak %.1f GFLOP/s on 1 core, %.1f on 2; read bandwidth of a 15.7 MB array %.1f GB/s (1 thread), %.1f GB/s (2)",
                     machine.peak_gflops_1core, machine.peak_gflops_2cores ?? 0,
                     machine.l3_bandwidth_gbs_1thread, machine.l3_bandwidth_gbs_2threads))
        for model in models { try measure(model) }
        printTables()
        try writeJSON()
    }

    private mutating func measure(_ tutorial: TutorialModel) throws {
        let model = tutorial.make(seed: 0)
        let name = tutorial.rawValue
        let compressed = try QuantizedVariants(model, name: name)
        try measureCompile(tutorial, model)
        for batch in batchSizes(for: tutorial) {
            progress("\(name) batch \(batch): compiling and checking ...")
            let inputs = try seededInputs(for: model, batchSize: batch)
            let instant = try model.compiled(batchSize: batch, tier: .instant)
            let optimized = try model.compiled(batchSize: batch, tier: .optimized)
            let reference = try model.predict(inputs, engine: .reference)
            let flopsPerSample = 2 * Double(instant.module.kernels.reduce(0) { $0 + $1.multiplyAdds }) / Double(batch)
            var differences: [String: Float] = [:]
            for (variant, compiled) in [("instant", instant), ("optimized", optimized)] {
                let outputs = try compiled.predict(inputs)
                differences[variant] = zip(outputs, reference).map { Difference($0, $1).maxAbsolute }.max() ?? 0
            }

            progress("\(name) batch \(batch): timing reference, tcc and clang kernels ...")
            let referenceTiming = TimingSummary.measure(warmUp: 1, minimumRuns: quick ? 1 : 3,
                                                        minimumSeconds: quick ? 0 : 0.5, maximumRuns: 50) {
                _ = try? model.predict(inputs, engine: .reference)
            }
            record(name, batch, "reference", referenceTiming, flopsPerSample, notes: "pure Swift, Double accumulation")
            for (variant, compiled) in [("instant", instant), ("optimized", optimized)] {
                let timing = try time(compiled, inputs)
                record(name, batch, variant, timing, flopsPerSample,
                       notes: "max abs diff vs reference \(differences[variant]!)")
            }
            if batch == batchSizes(for: tutorial).last || batch == 1 {
                file.kernels += try KernelProfile(machine: file.machine, repetitions: quick ? 3 : 15)
                    .profile(name, batch, [instant, optimized], inputs)
            }
            if let peersDirectory { try export(model, name, batch, inputs, optimized, to: peersDirectory) }
            try measureCompressed(compressed, batch, inputs, against: try optimized.predict(inputs), flopsPerSample)
            if tutorial == .cnn && batch == 1 {
                // Batch 1 streams the Dense kernel once per call: its bytes over the bandwidth.
                recordFloor(name, batch, weightBytes: model.parameters["dense.kernel"]!.elementCount * 4)
            }
        }
        progress("\(name): accuracy of the compressed variants on \(quick ? 200 : 1000) seeded inputs ...")
        file.quantization += try compressed.accuracy(samples: quick ? 200 : 1000, exportingTo: peersDirectory)
        file.beyond_keras += try compressed.accuracy(of: compressed.beyondKeras, samples: quick ? 200 : 1000, exportingTo: nil)
        try probeMemory(tutorial)
    }

    /// Each compressed variant at one batch size, on the optimizing tier: timed like the float32
    /// plans, its outputs compared with the float32 plan's and exported for the peers.
    private mutating func measureCompressed(_ compressed: QuantizedVariants, _ batch: Int, _ inputs: [Tensor],
                                            against float32: [Tensor], _ flopsPerSample: Double) throws {
        for (mode, model) in compressed.variants {
            progress("\(compressed.name) batch \(batch): timing \(mode.rawValue) ...")
            let compiled = try model.compiled(batchSize: batch, tier: .optimized)
            let outputs = try compiled.predict(inputs)
            let difference = Swift.zip(outputs, float32).map { Difference($0, $1).maxAbsolute }.max() ?? 0
            record(compressed.name, batch, mode.rawValue, try time(compiled, inputs), flopsPerSample,
                   notes: "max abs diff vs float32 \(difference)")
            guard let peersDirectory else { continue }
            let io = peersDirectory.appendingPathComponent("io")
            for (index, output) in outputs.enumerated() {
                try NPY.write(output, to: io.appendingPathComponent("\(compressed.name).b\(batch).\(mode.rawValue).output.\(index).npy"))
            }
        }
        for (mode, model) in compressed.beyondKeras {
            progress("\(compressed.name) batch \(batch): timing \(mode.rawValue), all layers ...")
            let compiled = try model.compiled(batchSize: batch, tier: .optimized)
            let difference = Swift.zip(try compiled.predict(inputs), float32).map { Difference($0, $1).maxAbsolute }.max() ?? 0
            file.beyond_keras_latency.append(BeyondKerasLatency(
                model: compressed.name, mode: mode.rawValue, batch: batch,
                median_ms: try time(compiled, inputs).medianMilliseconds, max_abs_diff_vs_fp32: Double(difference)))
        }
    }

    private func time(_ compiled: CompiledModel, _ inputs: [Tensor]) throws -> TimingSummary {
        let call = PreparedCall(compiled, inputs: inputs)
        return try TimingSummary.measure(minimumRuns: quick ? 3 : 20, minimumSeconds: quick ? 0.02 : 0.5) { try call() }
    }

    private mutating func record(_ model: String, _ batch: Int, _ variant: String, _ timing: TimingSummary,
                                 _ flopsPerSample: Double, notes: String) {
        let seconds = timing.medianMilliseconds / 1000
        file.results.append(ResultRecord(
            model: model, batch: batch, engine: "graphjit", variant: variant,
            median_ms: timing.medianMilliseconds, p10_ms: timing.p10Milliseconds, p90_ms: timing.p90Milliseconds,
            samples_per_s: Double(batch) / seconds, gflops: flopsPerSample * Double(batch) / seconds / 1e9,
            flops_per_sample: flopsPerSample, notes: notes))
    }

    private mutating func recordFloor(_ model: String, _ batch: Int, weightBytes bytes: Int) {
        file.floors.append(FloorRecord(
            model: model, batch: batch, weight_bytes: bytes,
            floor_ms_1thread: Double(bytes) / (file.machine.l3_bandwidth_gbs_1thread * 1e9) * 1000,
            floor_ms_2threads: Double(bytes) / (file.machine.l3_bandwidth_gbs_2threads * 1e9) * 1000))
    }

    // MARK: Compile times

    private mutating func measureCompile(_ tutorial: TutorialModel, _ model: Model) throws {
        progress("\(tutorial.rawValue): compile times (tcc, clang cold in a fresh cache, clang cached) ...")
        var instantTimes: [Double] = []
        var module: GeneratedModule?
        for _ in 0..<5 {
            let compiled = try CompiledModel(graph: model.makeGraph(batchSize: 1), parameters: model.parameters, tier: .instant)
            instantTimes.append(compiled.compileReport.instantCompileTime!.seconds * 1000)
            module = compiled.module
        }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("graphjit-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let clang = try ClangCompiler(cacheDirectory: cache)
        let start = ContinuousClock.now
        let cold = try clang.compile(module!.source, moduleName: module!.name)
        let coldTime = (ContinuousClock.now - start).seconds * 1000
        _ = cold
        let cachedStart = ContinuousClock.now
        _ = try clang.compile(module!.source, moduleName: module!.name)
        let cachedTime = (ContinuousClock.now - cachedStart).seconds * 1000
        instantTimes.sort()
        file.compile.append(CompileRecord(model: tutorial.rawValue, instant_ms: instantTimes[instantTimes.count / 2],
                                          optimized_cold_ms: coldTime, optimized_cached_ms: cachedTime,
                                          kernels: module!.kernels.count))
    }

    // MARK: Memory

    private mutating func probeMemory(_ tutorial: TutorialModel) throws {
        progress("\(tutorial.rawValue): peak RSS in a fresh process ...")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["--memory-probe", tutorial.rawValue]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
           let record = try? JSONDecoder().decode(MemoryRecord.self, from: Data(line.utf8)) {
            file.memory.append(record)
        }
    }

    // MARK: Peers

    private func export(_ model: Model, _ name: String, _ batch: Int, _ inputs: [Tensor],
                        _ compiled: CompiledModel, to directory: URL) throws {
        let manager = FileManager.default
        let weights = directory.appendingPathComponent("weights")
        let io = directory.appendingPathComponent("io")
        try manager.createDirectory(at: weights, withIntermediateDirectories: true)
        try manager.createDirectory(at: io, withIntermediateDirectories: true)
        try model.saveWeights(to: weights.appendingPathComponent("\(name).safetensors"))
        try NPY.write(inputs[0], to: io.appendingPathComponent("\(name).b\(batch).input.npy"))
        for (index, output) in try compiled.predict(inputs).enumerated() {
            try NPY.write(output, to: io.appendingPathComponent("\(name).b\(batch).output.\(index).npy"))
        }
    }

    private func writeJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(file)
        let directory = peersDirectory ?? URL(fileURLWithPath: "benchmarks/results/latest")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("graphjit.json")
        try data.write(to: url)
        print("\nwrote \(url.path)")
    }

    // MARK: Tables

    private func printTables() {
        print("\nLatency (median of repeated calls; speedup = reference / engine, measured in this run)")
        print(row(["model", "batch", "engine", "median ms", "p10-p90 ms", "samples/s", "GFLOP/s", "vs reference", "check"]))
        for result in file.results {
            let reference = file.results.first { $0.model == result.model && $0.batch == result.batch && $0.variant == "reference" }
            let speedup = reference.map { String(format: "%.1fx", $0.median_ms / result.median_ms) } ?? "-"
            let engine = switch result.variant {
            case "reference": "reference"
            case "instant": "jit tcc"
            case "optimized": "jit clang"
            default: "jit clang \(result.variant)"
            }
            let check = result.notes.hasPrefix("max abs diff vs reference ")
                ? result.notes.replacingOccurrences(of: "max abs diff vs reference ", with: "Δ ")
                : result.notes.replacingOccurrences(of: "max abs diff vs float32 ", with: "Δ fp32 ")
            print(row([result.model, "\(result.batch)", engine, millisecondsText(result.median_ms), "\(millisecondsText(result.p10_ms))-\(millisecondsText(result.p90_ms))",
                       String(format: "%.0f", result.samples_per_s), String(format: "%.2f", result.gflops), speedup, check]))
        }
        for floor in file.floors {
            print(String(format: "%@ batch %d memory floor: %.2f MB of Dense weights / measured bandwidth = %.3f ms (1 thread), %.3f ms (2 threads)",
                         floor.model, floor.batch, Double(floor.weight_bytes) / 1e6, floor.floor_ms_1thread, floor.floor_ms_2threads))
        }
        print("\nCompile time per model (whole module; tcc median of 5; clang cold = fresh cache)")
        print(row(["model", "kernels", "tcc ms", "clang cold ms", "clang cached ms"]))
        for compile in file.compile {
            print(row([compile.model, "\(compile.kernels)", millisecondsText(compile.instant_ms), millisecondsText(compile.optimized_cold_ms), millisecondsText(compile.optimized_cached_ms)]))
        }
        KernelProfile.printTable(file.kernels)
        for (title, records) in [("Compressed weights (each variant against the float32 model on seeded inputs)", file.quantization),
                                 ("Beyond Keras: every layer compressed (Conv2D, LSTM input kernels too), against the float32 model",
                                  file.beyond_keras)] {
            print("\n" + title)
            print(row(["model", "mode", "samples", "fp32 MB", "stored MB", "max abs diff", "top-1 agreement"]))
            for record in records {
                let agreement = record.top1_agreement.map { String(format: "%.1f%%", $0 * 100) }.joined(separator: ", ")
                print(row([record.model, record.mode, "\(record.samples)", String(format: "%.2f", Double(record.weight_bytes_fp32) / 1e6),
                           String(format: "%.2f", Double(record.weight_bytes) / 1e6),
                           String(format: "%.2e", record.max_abs_diff_vs_fp32), agreement]))
            }
        }
        print(row(["model", "mode", "batch", "median ms", "max abs diff"]))
        for latency in file.beyond_keras_latency {
            print(row([latency.model, latency.mode, "\(latency.batch)", millisecondsText(latency.median_ms),
                       String(format: "%.2e", latency.max_abs_diff_vs_fp32)]))
        }
        print("\nMemory (peak RSS of a process running the model at all its batch sizes, optimized tier)")
        print(row(["model", "peak RSS MB", "weights MB", "largest live MB", "budget MB", "within"]))
        for memory in file.memory {
            let mb = { (bytes: Int) in String(format: "%.1f", Double(bytes) / 1048576) }
            print(row([memory.model, mb(memory.peak_rss_bytes), mb(memory.weight_bytes), mb(memory.largest_live_activation_bytes),
                       mb(memory.budget_bytes), memory.peak_rss_bytes <= memory.budget_bytes ? "yes" : "NO"]))
        }
    }

    private func row(_ cells: [String]) -> String {
        cells.enumerated().map { index, cell in
            index < 3 ? cell.padding(toLength: max(cell.count, index == 2 ? 16 : 10), withPad: " ", startingAt: 0)
                : String(repeating: " ", count: max(0, 14 - cell.count)) + cell
        }.joined(separator: " ")
    }

}

/// Prints a progress line to standard error.
func progress(_ message: String) {
    FileHandle.standardError.write(Data(("... " + message + "\n").utf8))
}

/// A lock-protected running sum.
final class RunningSum: @unchecked Sendable {
    private let lock = NSLock()
    private var sum = 0.0
    func add(_ value: Double) { lock.lock(); sum += value; lock.unlock() }
    var total: Double { lock.lock(); defer { lock.unlock() }; return sum }
}
