import ArgumentParser
import Foundation
import GraphJIT

// The training half of the peer benchmark (benchmarks/peers/train_peers.py drives it):
//
//   graphjit-bench --train-export DIR
//       writes, per model, DIR/<model>/weights.safetensors (the initial weights, TutorialModel
//       seed 0), x.npy (2,048 seeded samples), y.0.npy [y.1.npy] (one-hot targets: multitask has
//       two) and meta.json;
//   graphjit-bench --train-time MODEL --train-dir DIR [--batch-size 32 64] [--quick]
//       trains that model from those weights on the optimized (clang) tier and prints one JSON line.

/// Where the training data for one model lives in a `--train-export` directory.
struct TrainingFiles {
    let directory: URL
    let model: TutorialModel

    var folder: URL { directory.appendingPathComponent(model.rawValue) }
    var weights: URL { folder.appendingPathComponent("weights.safetensors") }
    var inputs: URL { folder.appendingPathComponent("x.npy") }
    func targets(_ output: Int) -> URL { folder.appendingPathComponent("y.\(output).npy") }
    var meta: URL { folder.appendingPathComponent("meta.json") }
}

// MARK: - Export

/// Writes the initial weights, the samples and the targets every engine trains on.
///
/// Inputs are standard normal (seeded per model). Labels come from a fixed random linear
/// "teacher" (argmax of a seeded Gaussian projection of the flattened sample -- for the sequence
/// models of its mean over time), so the classes are learnable and the loss falls over an epoch.
struct TrainingExport {
    let directory: URL
    let samples: Int

    func run(models: [TutorialModel]) throws {
        for model in models { try export(model) }
        print("wrote training data for \(models.map(\.rawValue).joined(separator: ", ")) to \(directory.path)")
    }

    private func export(_ tutorial: TutorialModel) throws {
        let files = TrainingFiles(directory: directory, model: tutorial)
        try FileManager.default.createDirectory(at: files.folder, withIntermediateDirectories: true)
        let model = tutorial.make(seed: 0)
        try model.saveWeights(to: files.weights)

        let inputShape = try model.inputSignature()[0].shape
        let graph = try model.makeGraph(batchSize: 1)
        let classes = graph.outputs.map { graph[$0].shape.last! }
        let seed = 1000 + UInt64(TutorialModel.allCases.firstIndex(of: tutorial)!)
        var generator = SeededGenerator(seed: seed)
        let x = generator.normalTensor(shape: [samples] + inputShape)
        try NPY.write(x, to: files.inputs)

        // The teacher sees the flattened sample, or for (time, features) inputs its mean over time.
        let overTime = tutorial == .lstm || tutorial == .attention
        let rowSize = inputShape.reduce(1, *)
        let featureCount = overTime ? inputShape.last! : rowSize
        var features = [Float](repeating: 0, count: samples * featureCount)
        for sample in 0..<samples {
            let row = x.scalars[(sample * rowSize)..<((sample + 1) * rowSize)]
            if overTime {
                let steps = inputShape[0]
                for (index, value) in row.enumerated() { features[sample * featureCount + index % featureCount] += value }
                for feature in 0..<featureCount { features[sample * featureCount + feature] /= Float(steps) }
            } else {
                features.replaceSubrange((sample * featureCount)..<((sample + 1) * featureCount), with: row)
            }
        }
        var classCounts: [[Int]] = []
        for (output, count) in classes.enumerated() {
            let projection = generator.normalTensor(shape: [featureCount, count]).scalars
            var onehot = [Float](repeating: 0, count: samples * count)
            var counts = [Int](repeating: 0, count: count)
            for sample in 0..<samples {
                var scores = [Float](repeating: 0, count: count)
                for feature in 0..<featureCount {
                    let value = features[sample * featureCount + feature]
                    for label in 0..<count { scores[label] += value * projection[feature * count + label] }
                }
                let label = scores.indices.max { scores[$0] < scores[$1] }!
                onehot[sample * count + label] = 1
                counts[label] += 1
            }
            classCounts.append(counts)
            try NPY.write(Tensor(shape: [samples, count], uncheckedScalars: onehot), to: files.targets(output))
        }
        let meta: [String: Any] = [
            "model": tutorial.rawValue, "samples": samples, "input_shape": inputShape, "classes": classes,
            "class_counts": classCounts, "seed": seed, "weights_seed": 0,
            "inputs": "standard normal",
            "targets": "one-hot argmax of a seeded Gaussian projection of the "
                + (overTime ? "sample's mean over time" : "flattened sample"),
            "files": ["weights.safetensors", "x.npy"] + classes.indices.map { "y.\($0).npy" },
        ]
        try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]).write(to: files.meta)
    }
}

// MARK: - Timing

/// Trains one model from the exported weights and prints one JSON line (see `--help`).
struct TrainingTimer {
    let tutorial: TutorialModel
    let directory: URL
    let batchSizes: [Int]
    let quick: Bool
    /// Samples the loss curve and the timed `fit` epoch use (the first ones; all of them by default).
    let curveSamples: Int?

    private let engine = Engine.jit(tier: .optimized)

    func run() throws {
        let files = TrainingFiles(directory: directory, model: tutorial)
        let model = tutorial.make(seed: 0)
        try model.loadWeights(from: files.weights)
        let x = try NPY.read(contentsOf: files.inputs)
        let outputCount = try model.outputNames().count
        let ys = try (0..<outputCount).map { try NPY.read(contentsOf: files.targets($0)) }
        let total = x.shape[0]
        let samples = min(curveSamples ?? total, total)
        let curveBatch = 32
        guard samples % curveBatch == 0 else {
            throw ValidationError("--train-samples must be a multiple of \(curveBatch), got \(samples)")
        }
        let clock = ContinuousClock()

        // 1. The loss curve: trainOnBatch over the first `samples` samples in batches of 32, in order,
        //    from the initial weights -- exactly the steps fit(batchSize: 32, shuffle: false) takes.
        //    The first step compiles the batch-32 train step (clang, blocking).
        let curveBatches = (0..<(samples / curveBatch)).map { batch(x, ys, start: $0 * curveBatch, size: curveBatch) }
        var losses: [Double] = []
        var accuracies: [Double] = []
        var firstStep = 0.0
        let curveStart = clock.now
        for (index, (inputs, targets)) in curveBatches.enumerated() {
            let before = clock.now
            let logs = try model.trainOnBatch(inputs, targets, engine: engine)
            if index == 0 { firstStep = (clock.now - before).seconds }
            losses.append(logs["loss"]!)
            // Multitask: the first output's accuracy (dense_1_accuracy).
            accuracies.append(logs["accuracy"] ?? logs.keys.sorted().first { $0.hasSuffix("accuracy") }.flatMap { logs[$0] } ?? .nan)
        }
        let curveSeconds = (clock.now - curveStart).seconds

        // 2. One fit epoch at batch 32, shuffle off, warm (a short fit first warms fit's own path).
        let prefix = { (tensor: Tensor, count: Int) in slice(tensor, start: 0, count: count) }
        let warmCount = min(samples, 8 * curveBatch)
        _ = try model.fit([prefix(x, warmCount)], ys.map { prefix($0, warmCount) }, batchSize: curveBatch, epochs: 1,
                          shuffle: false, verbose: .silent, engine: engine)
        let fitInputs = [prefix(x, samples)]
        let fitTargets = ys.map { prefix($0, samples) }
        let fitStart = clock.now
        let history = try model.fit(fitInputs, fitTargets, batchSize: curveBatch, epochs: 1, shuffle: false,
                                    verbose: .silent, engine: engine)
        let fitSeconds = (clock.now - fitStart).seconds

        // 3. Train steps on consecutive batches, after a warm-up (which compiles other batch sizes).
        var steps: [String: Any] = [:]
        for size in batchSizes {
            let count = total / size
            guard count > 0 else { throw ValidationError("batch size \(size) exceeds the \(total) samples") }
            let batches = (0..<count).map { batch(x, ys, start: $0 * size, size: size) }
            var next = 0
            func step() throws {
                let (inputs, targets) = batches[next % batches.count]
                next += 1
                try model.trainOnBatch(inputs, targets, engine: engine)
            }
            let warmStart = clock.now
            try step()
            let compileSeconds = (clock.now - warmStart).seconds
            for _ in 1..<(quick ? 2 : 5) { try step() }
            let (minimumSteps, minimumSeconds, maximumSeconds) = quick ? (5, 0.2, 1.5) : (20, 1.0, 8.0)
            var times: [Double] = []
            let start = clock.now
            while true {
                let before = clock.now
                try step()
                let now = clock.now
                times.append((now - before).seconds)
                let elapsed = (now - start).seconds
                if (times.count >= minimumSteps && elapsed >= minimumSeconds) || (elapsed >= maximumSeconds && times.count >= 3)
                    || times.count >= 2000 { break }
            }
            times.sort()
            func percentile(_ p: Double) -> Double { times[min(times.count - 1, Int(Double(times.count) * p))] }
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            steps["\(size)"] = [
                "median_s": median, "p10_s": percentile(0.1), "p90_s": percentile(0.9), "min_s": times[0],
                "steps": times.count, "samples_per_s": Double(size) / median, "first_step_s": compileSeconds,
            ] as [String: Any]
        }

        let record: [String: Any] = [
            "engine": "graphjit", "variant": "jit optimized (clang)", "model": tutorial.rawValue,
            "threads": RuntimeSettings.threads, "cpu_path": RuntimeSettings.cpuPath, "quick": quick,
            "steps": steps,
            "fit": ["seconds": fitSeconds, "samples": samples, "batch_size": curveBatch, "shuffle": false,
                    "loss": history.history["loss"]?.first ?? .nan,
                    "note": "warm: after the curve pass and a \(warmCount)-sample fit"] as [String: Any],
            "curve": ["loss": losses, "accuracy": accuracies, "batch_size": curveBatch, "samples": samples,
                      "seconds": curveSeconds, "first_step_s": firstStep,
                      "source": "trainOnBatch over the batches of 32 in order from the initial weights "
                          + "(the steps of fit with shuffle off); loss of each batch before its update"] as [String: Any],
        ]
        let data = try JSONSerialization.data(withJSONObject: sanitized(record), options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// `size` consecutive samples from `start` of the inputs and of every target.
    private func batch(_ x: Tensor, _ ys: [Tensor], start: Int, size: Int) -> ([Tensor], [Tensor]) {
        ([slice(x, start: start, count: size)], ys.map { slice($0, start: start, count: size) })
    }

    private func slice(_ tensor: Tensor, start: Int, count: Int) -> Tensor {
        let row = tensor.shape.dropFirst().reduce(1, *)
        return Tensor(shape: [count] + tensor.shape.dropFirst(),
                      uncheckedScalars: Array(tensor.scalars[(start * row)..<((start + count) * row)]))
    }
}

/// NaN and infinities as JSON nulls (JSONSerialization refuses them).
private func sanitized(_ value: Any) -> Any {
    switch value {
    case let number as Double: return number.isFinite ? number : NSNull()
    case let array as [Double]: return array.map { $0.isFinite ? $0 as Any : NSNull() }
    case let dictionary as [String: Any]: return dictionary.mapValues(sanitized)
    case let array as [Any]: return array.map(sanitized)
    default: return value
    }
}
