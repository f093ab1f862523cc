import Foundation
import GraphJIT

/// The body of `FuzzModelSpec`: build the model a spec describes through the public API, ask it for
/// its graph and summary, and, when it is small, run it on the reference interpreter and on the JIT
/// (tcc tier) and require the two to agree.
///
/// Thrown errors are fine (a malformed model must throw); a trap, a crash or a disagreement is a
/// finding. Disagreements stop the process with `fatalError`, so that libFuzzer keeps the input.
public enum ModelSpecFuzzer {
    /// Limits, overridable through the environment for local runs.
    public struct Limits: Sendable {
        /// Models whose weights (counted before the model is made) exceed this many floats are not
        /// built: `Model.init` draws every weight, so a legal but huge model is an out-of-memory,
        /// not a finding. A model with a weight whose byte size overflows `Int` is always built: the
        /// library must throw for it.
        public var constructionParameters = 1 << 20
        /// Models whose orthogonal initializers (Gram–Schmidt, `min(r, c)² · max(r, c)` multiply-adds
        /// for an `r x c` weight) would take more than this many multiply-adds are not built either:
        /// that is a timeout, not a crash. (An LSTM of 282 units takes 10 s in a debug ASan build.)
        public var constructionOrthogonalWork = 20_000_000
        /// Prediction runs when parameters, values (batch included) and multiply-adds are under these.
        public var predictParameters = 1_000_000
        public var predictActivations = 1_000_000
        public var predictMultiplyAdds = 20_000_000
        /// Largest batch that `predict` uses (larger spec batch sizes predict at batch 1).
        public var predictBatch = 4
        /// Relative tolerance of JIT against reference.
        public var tolerance: Float = 1e-3

        public static let fromEnvironment: Limits = {
            var limits = Limits()
            let environment = ProcessInfo.processInfo.environment
            func read(_ key: String, _ value: inout Int) {
                if let text = environment[key], let number = Int(text) { value = number }
            }
            read("GRAPHJIT_FUZZ_MAX_PARAMETERS", &limits.constructionParameters)
            read("GRAPHJIT_FUZZ_MAX_ORTHOGONAL_WORK", &limits.constructionOrthogonalWork)
            read("GRAPHJIT_FUZZ_PREDICT_PARAMETERS", &limits.predictParameters)
            read("GRAPHJIT_FUZZ_PREDICT_ACTIVATIONS", &limits.predictActivations)
            read("GRAPHJIT_FUZZ_PREDICT_MACS", &limits.predictMultiplyAdds)
            return limits
        }()
    }

    /// Set `GRAPHJIT_FUZZ_VERBOSE=1` to print each spec (as Swift) and what happened to it.
    static let verbose = ProcessInfo.processInfo.environment["GRAPHJIT_FUZZ_VERBOSE"] == "1"

    static func log(_ message: @autoclosure () -> String) {
        if verbose { FileHandle.standardError.write(Data((message() + "\n").utf8)) }
    }

    public static func run(_ data: [UInt8], limits: Limits = .fromEnvironment) {
        var bytes = FuzzBytes(data)
        let spec = ModelSpec(decoding: &bytes)
        run(spec, limits: limits)
    }

    public static func run(_ spec: ModelSpec, limits: Limits = .fromEnvironment) {
        log("---- spec\n\(spec)")
        let layers = spec.makeLayers()

        // 1. Lower the layers the model would use into a graph ourselves (no weights are drawn), to
        //    tell a legal but huge model from one whose sizes overflow.
        if let estimate = try? lowerWithoutWeights(spec, layers: layers, batchSize: 1), !estimate.parameterOverflow {
            let parameters = estimate.parameters
            if parameters.overflowed || parameters.value > limits.constructionParameters {
                log("skipped: \(parameters) parameters")
                return
            }
            if estimate.orthogonalWork.overflowed || estimate.orthogonalWork.value > limits.constructionOrthogonalWork {
                log("skipped: orthogonal initialization of \(estimate.orthogonalWork) multiply-adds")
                return
            }
        }

        // 2. The public API, as a user would call it.
        let clock = ContinuousClock()
        let start = clock.now
        let model = spec.makeModel(layers: layers)
        log("model made in \(clock.now - start)")
        _ = try? model.summary()
        _ = try? model.parameterCount()
        _ = try? model.layerNames()
        _ = try? model.inputSignature()
        _ = try? model.makeGraph(batchSize: spec.batchSize)
        guard let graph = try? model.makeGraph(batchSize: 1) else {
            log("no graph: \(String(describing: Result { try model.makeGraph(batchSize: 1) }))")
            return
        }
        let batch1 = GraphSize(graph)
        if batch1.hasOverflow {
            // The graph holds a value whose size does not fit in Int: compiling must throw, not trap.
            log("a value's size overflows; compiling")
            _ = try? model.compiled(batchSize: 1, tier: .instant)
            return
        }

        // 3. Small enough to run: reference against JIT.
        var batch = (1...limits.predictBatch).contains(spec.batchSize) ? spec.batchSize : 1
        var size = batch == 1 ? batch1 : GraphSize((try? model.makeGraph(batchSize: batch)) ?? graph)
        if !size.fits(limits) { (batch, size) = (1, batch1) }
        guard size.fits(limits) else {
            log("not predicted: \(size)")
            return
        }
        var generator = SeededGenerator(seed: spec.seed &+ 0x5EED)
        var inputs: [Tensor] = []
        for shape in spec.inputShapes {
            let full = [batch] + shape
            guard let tensor = try? Tensor(shape: full, scalars: (0 ..< full.elementCount).map { _ in generator.uniform(-1, 1) })
            else { return }
            inputs.append(tensor)
        }
        let predictStart = clock.now
        let reference = Result { try model.predict(inputs, engine: .reference) }
        let referenceTime = clock.now - predictStart
        let jit = Result { try model.predict(inputs, engine: .jit(tier: .instant)) }
        log("\(size), batch \(batch)\nreference: \(reference.map { $0.map(\.shape) }) in \(referenceTime), "
            + "jit: \(jit.map { $0.map(\.shape) }) in \(clock.now - predictStart - referenceTime)")
        switch (reference, jit) {
        case let (.success(expected), .success(actual)):
            guard let mismatch = difference(expected, actual, tolerance: limits.tolerance) else { break }
            // A model whose float reference already strays that far from the double one is
            // ill-conditioned (a linear LSTM over thousands of steps): rounding, not a JIT bug.
            if let floatReference = try? model.predict(inputs, engine: .reference(accumulation: .float)),
               let drift = difference(expected, floatReference, tolerance: limits.tolerance / 2) {
                log("ill-conditioned, not compared: the float reference differs too: \(drift)")
                break
            }
            fatalError("JIT against reference: \(mismatch)\n\(spec)")
        case let (.success, .failure(error)):
            fatalError("the JIT threw where the reference interpreter succeeded: \(error)\n\(spec)")
        case let (.failure(error), .success):
            fatalError("the reference interpreter threw where the JIT succeeded: \(error)\n\(spec)")
        case (.failure, .failure):
            break
        }
    }

    /// The first difference beyond `tolerance` relative (to at least 1) of `actual` from
    /// `expected`, non-finite values matching only non-finite ones, or `nil`.
    static func difference(_ expected: [Tensor], _ actual: [Tensor], tolerance: Float) -> String? {
        guard expected.count == actual.count else { return "\(expected.count) outputs against \(actual.count)" }
        for (index, (e, a)) in zip(expected, actual).enumerated() {
            guard e.shape == a.shape else { return "output \(index): shape \(e.shape) against \(a.shape)" }
            for (position, (x, y)) in zip(e.scalars, a.scalars).enumerated() {
                if !x.isFinite || !y.isFinite {
                    if x.isFinite != y.isFinite { return "output \(index)[\(position)]: \(x) against \(y) (one is not finite)" }
                    continue
                }
                if abs(x - y) > tolerance * max(1, abs(x), abs(y)) {
                    return "output \(index)[\(position)]: \(x) against \(y), beyond \(tolerance) relative"
                }
            }
        }
        return nil
    }

    // MARK: - Lowering without weights

    /// Lowers the layers reachable from the outputs, in the model's order, with one scope per layer
    /// object, and returns the graph's sizes.
    static func lowerWithoutWeights(_ spec: ModelSpec, layers: [any Layer], batchSize: Int) throws -> GraphSize {
        struct InvalidInput: Error {}
        guard spec.inputShapes.allSatisfy({ $0.allSatisfy { $0 > 0 } }) else { throw InvalidInput() }
        let inputCount = spec.inputShapes.count
        var reachable = Set(spec.outputs)
        for (index, node) in spec.nodes.enumerated().reversed() where reachable.contains(inputCount + index) {
            reachable.formUnion(node.inputs)
        }
        var builder = GraphBuilder()
        var values: [Int: ValueID] = [:]
        for (index, shape) in spec.inputShapes.enumerated() {
            values[index] = try builder.addInput(named: "input_\(index)", shape: [batchSize] + shape)
        }
        var scopes: [ObjectIdentifier: String] = [:]
        for (index, (node, layer)) in zip(spec.nodes, layers).enumerated() where reachable.contains(inputCount + index) {
            let key = ObjectIdentifier(layer)
            builder.scope = scopes[key] ?? "layer\(scopes.count)"
            scopes[key] = builder.scope
            values[inputCount + index] = try layer.lower(node.inputs.map { values[$0]! }, into: &builder)
        }
        return GraphSize(try builder.finish(outputs: spec.outputs.map { values[$0]! }))
    }
}

/// Sizes of a graph in floats and multiply-adds, saturating instead of overflowing.
struct GraphSize: CustomStringConvertible {
    struct Count: CustomStringConvertible {
        var value = 0
        var overflowed = false

        mutating func add(_ other: Count) {
            let (sum, overflow) = value.addingReportingOverflow(other.value)
            (value, overflowed) = overflow ? (.max, true) : (sum, overflowed || other.overflowed)
        }

        static func product(_ factors: [Int]) -> Count {
            var count = Count(value: 1)
            for factor in factors {
                let (product, overflow) = count.value.multipliedReportingOverflow(by: factor)
                if overflow { return Count(value: .max, overflowed: true) }
                count.value = product
            }
            return count
        }

        var description: String { overflowed ? "overflow" : String(value) }
    }

    var parameters = Count()
    var activations = Count()
    var multiplyAdds = Count()
    /// The work of drawing the orthogonal weights (Gram–Schmidt).
    var orthogonalWork = Count()
    /// Whether some value's byte size does not fit in Int.
    var hasOverflow = false
    /// Whether some parameter's byte size does not fit in Int.
    var parameterOverflow = false

    init(_ graph: Graph) {
        for value in graph.values {
            let count = Count.product(value.shape + [MemoryLayout<Float>.size])
            if count.overflowed { hasOverflow = true }
            if count.overflowed, case .parameter = value.role { parameterOverflow = true }
            if case .parameter = value.role { parameters.add(Count.product(value.shape)) } else { activations.add(Count.product(value.shape)) }
        }
        for parameter in graph.parameters where parameter.initializer == .orthogonal {
            let columns = parameter.shape.last ?? 1
            let rows = Count.product(parameter.shape).value / max(columns, 1)
            orthogonalWork.add(Count.product([min(rows, columns), min(rows, columns), max(rows, columns)]))
        }
        for node in graph.nodes {
            let output = Count.product(graph.values[node.output.index].shape)
            let inputShapes = node.inputs.map { graph.values[$0.index].shape }
            // Multiply-adds per output element: the contraction length for matmul and convolution,
            // the window for pooling, the recurrence for an LSTM, else the inputs' sizes.
            var work: Count
            if node.operation.is(MatMulOp.self), let k = inputShapes.last?.first {
                work = Count.product([output.value, k])
            } else if node.operation.is(Conv2DOp.self), inputShapes.count > 1, let filters = inputShapes[1].last, filters > 0 {
                work = Count.product([output.value, Count.product(inputShapes[1]).value / filters])
            } else if node.operation.is(MaxPool2DOp.self), let window = node.operation.as(MaxPool2DOp.self)?.window {
                work = Count.product([output.value] + window.size)
            } else if node.operation.is(LSTMOp.self), inputShapes.count > 1 {
                work = Count.product([Count.product(inputShapes[0]).value, max(inputShapes[1].first ?? 1, 1)])
            } else {
                work = output
                for shape in inputShapes { work.add(Count.product(shape)) }
            }
            if output.overflowed { work.overflowed = true }
            multiplyAdds.add(work)
        }
    }

    func fits(_ limits: ModelSpecFuzzer.Limits) -> Bool {
        !parameters.overflowed && !activations.overflowed && !multiplyAdds.overflowed && !hasOverflow
            && parameters.value <= limits.predictParameters && activations.value <= limits.predictActivations
            && multiplyAdds.value <= limits.predictMultiplyAdds
    }

    var description: String { "parameters \(parameters), activations \(activations), multiply-adds \(multiplyAdds)" }
}
