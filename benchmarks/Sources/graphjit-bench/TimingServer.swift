import ArgumentParser
import Foundation
import GraphJIT

/// `graphjit-bench --timing-server`: GraphJIT's half of the interleaved peer benchmark.
///
/// `benchmarks/peers/run_peers.py` times GraphJIT and the peer engines in rounds, taking turns, so
/// that a change of load on the machine hits every engine alike. This server holds every model
/// compiled at every batch size and times one of them on request.
///
/// Protocol, one JSON object per line:
/// - when everything is compiled, stdout gets `{"ready":true,"variants":[{"model":…,"batch":…,"variant":…},…]}`;
/// - each request on stdin, `{"model":"cnn","batch":1,"variant":"optimized","runs":20,"warmup":2}`
///   (optionally `"min_seconds":0.2`: keep running past `runs` until that long has passed, at most
///   5000 runs), is answered with `{"model":…,"batch":…,"variant":…,"times_ms":[…]}`, one wall-clock
///   time per timed run, or with `{"error":"…"}`;
/// - end of input ends the server.
///
/// Variants: `instant` (tcc), `optimized` (clang), and `int8` and `bf16` (`model.quantized(mode)` on
/// the optimizing tier). The inputs are the seeded ones `--peers-dir` exports.
struct TimingServer {
    /// One timing request.
    struct Request: Decodable {
        let model: String
        let batch: Int
        let variant: String
        let runs: Int
        let warmup: Int?
        let min_seconds: Double?
    }

    /// What a compiled plan is known by in requests.
    struct Key: Hashable, Codable {
        let model: String
        let batch: Int
        let variant: String
    }

    private struct Ready: Encodable {
        let ready = true
        let variants: [Key]
    }

    private struct Times: Encodable {
        let model: String
        let batch: Int
        let variant: String
        let times_ms: [Double]
    }

    private struct Failure: Encodable {
        let error: String
    }

    static let maximumRuns = 5000

    let models: [TutorialModel]

    func run() throws {
        var calls: [Key: PreparedCall] = [:]
        var order: [Key] = []
        for tutorial in models {
            let model = tutorial.make(seed: 0)
            let variants: [(String, Model, CompilationTier)] =
                [("instant", model, .instant), ("optimized", model, .optimized)]
                + (try QuantizationMode.allCases.map { ($0.rawValue, try model.quantized($0), .optimized) })
            for batch in batchSizes(for: tutorial) {
                progress("timing server: compiling \(tutorial.rawValue) at batch \(batch) ...")
                let inputs = try seededInputs(for: model, batchSize: batch)
                for (variant, model, tier) in variants {
                    let key = Key(model: tutorial.rawValue, batch: batch, variant: variant)
                    calls[key] = PreparedCall(try model.compiled(batchSize: batch, tier: tier), inputs: inputs)
                    order.append(key)
                }
            }
        }
        try send(Ready(variants: order))
        while let line = readLine() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do {
                try send(try answer(line, calls))
            } catch {
                try send(Failure(error: "\(error)"))
            }
        }
    }

    private func answer(_ line: String, _ calls: [Key: PreparedCall]) throws -> Times {
        let request = try JSONDecoder().decode(Request.self, from: Data(line.utf8))
        let key = Key(model: request.model, batch: request.batch, variant: request.variant)
        guard let call = calls[key] else {
            throw ValidationError("no compiled plan for model '\(key.model)', batch \(key.batch), variant '\(key.variant)'")
        }
        guard (1...Self.maximumRuns).contains(request.runs), (0...Self.maximumRuns).contains(request.warmup ?? 0) else {
            throw ValidationError("runs must be in 1...\(Self.maximumRuns) and warmup in 0...\(Self.maximumRuns)")
        }
        for _ in 0..<(request.warmup ?? 0) { try call() }
        let clock = ContinuousClock()
        let start = clock.now
        var times: [Double] = []
        times.reserveCapacity(request.runs)
        while times.count < Self.maximumRuns
            && (times.count < request.runs || (clock.now - start).seconds < (request.min_seconds ?? 0)) {
            let before = clock.now
            try call()
            times.append((clock.now - before).seconds * 1000)
        }
        return Times(model: key.model, batch: key.batch, variant: key.variant, times_ms: times)
    }

    private func send(_ value: some Encodable) throws {
        var data = try JSONEncoder().encode(value)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }
}
