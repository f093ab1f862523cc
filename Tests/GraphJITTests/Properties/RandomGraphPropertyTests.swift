import Foundation
import PropertyBased
import Synchronization
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Random small models of every supported layer: the JIT (instant tier) must agree with the
/// reference interpreter, and shape inference with an independent computation of the shapes.
@Suite("Random graphs: JIT agrees with the reference")
struct RandomGraphPropertyTests {
    /// `|jit - reference| / max(1, |reference|)`: absolute for small values, relative for large.
    static let tolerance: Float = 1e-5
    /// Random models per run (`GRAPHJIT_PROPERTY_CASES` overrides, for longer hunts).
    static let caseCount = ProcessInfo.processInfo.environment["GRAPHJIT_PROPERTY_CASES"].flatMap(Int.init) ?? 40

    @Test("random image and sequence models: JIT (instant) within 1e-5 of the reference")
    func jitMatchesReference() async throws {
        let tally = Mutex((valid: 0, invalid: 0))
        await propertyCheck(count: Self.caseCount, input: RandomModelSpec.generator) { spec in
            let model = spec.makeModel()
            let x = Tensor.seededNormal([spec.batch] + spec.inputShape, seed: spec.inputSeed)

            guard let expectedShape = spec.expectedOutputShape else {
                // A window that does not fit: a GraphError from every entry point, never a crash.
                #expect(throws: GraphError.self, "\(spec)") { try model.makeGraph(batchSize: spec.batch) }
                #expect(throws: GraphError.self, "\(spec)") { try model.predict(x, engine: .reference) }
                #expect(throws: GraphError.self, "\(spec)") { try model.predict(x, engine: .jit(tier: .instant)) }
                tally.withLock { $0.invalid += 1 }
                return
            }
            tally.withLock { $0.valid += 1 }

            // Keras's default kernels (glorot, orthogonal), but non-zero biases so that bias bugs show.
            var weights = model.parameters.dictionary
            for (offset, name) in model.parameters.names.enumerated() where name.hasSuffix("bias") {
                weights[name] = .seededNormal(weights[name]!.shape, seed: spec.weightSeed &+ UInt64(offset), scale: 0.5)
            }
            try model.setParameters(weights)

            let graph = try model.makeGraph(batchSize: spec.batch)
            try graph.verify()
            #expect(graph.outputs.map { graph[$0].shape } == [[spec.batch] + expectedShape], "\(spec)")

            let reference = try model.predict(x, engine: .reference)
            let jit = try model.predict(x, engine: .jit(tier: .instant))
            #expect(jit.shape == reference.shape)
            #expect(reference.scalars.allSatisfy { $0.isFinite }, "\(spec)")
            let difference = maxMixedDifference([jit], [reference])
            #expect(difference <= Self.tolerance, "\(spec): max difference \(difference)")
        }
        let counts = tally.withLock { $0 }
        #expect(counts.valid + counts.invalid > 0)
        #expect(counts.valid >= counts.invalid, "too few valid models: \(counts)")
    }

    @Test("random two-input models joined by Concatenate on a random axis: JIT within 1e-5 of the reference")
    func concatenationMatchesReference() async throws {
        await propertyCheck(count: Self.caseCount / 2, input: RandomConcatSpec.generator) { spec in
            let model = spec.makeModel()
            try model.setParameters(randomParameters(for: model, seed: spec.seed, scale: 0.4))
            let inputs = [spec.shapeA, spec.shapeB].enumerated().map { index, shape in
                Tensor.seededNormal([spec.batch] + shape, seed: spec.seed &+ UInt64(index) &+ 1)
            }
            let reference = try model.predict(inputs, engine: .reference)
            let jit = try model.predict(inputs, engine: .jit(tier: .instant))
            let difference = maxMixedDifference(jit, reference)
            #expect(difference <= Self.tolerance, "\(spec): max difference \(difference)")
        }
    }

    @Test("random models built twice from one spec give the same graph and weights")
    func deterministicConstruction() async {
        await propertyCheck(count: 10, input: RandomModelSpec.generator) { spec in
            let first = spec.makeModel(), second = spec.makeModel()
            #expect(first.parameters == second.parameters)
            if spec.expectedOutputShape != nil {
                let graphs = try [first, second].map { try $0.makeGraph(batchSize: spec.batch) }
                #expect(graphs[0] == graphs[1])
            }
        }
    }
}

// MARK: - Random model specifications

/// One layer of a random model, with every Keras argument explicit.
enum RandomLayer: Sendable, CustomStringConvertible {
    case conv(filters: Int, kernel: [Int], strides: [Int], padding: Padding, activation: ActivationFunction, useBias: Bool)
    case pool(size: [Int], strides: [Int]?, padding: Padding)
    case flatten
    case dense(units: Int, activation: ActivationFunction, useBias: Bool)
    case lstm(units: Int, activation: ActivationFunction, recurrent: ActivationFunction, returnSequences: Bool, useBias: Bool)
    case attention(units: Int)
    case activation(ActivationFunction)
    case softmax(axis: Int)

    func makeLayer() -> any Layer {
        switch self {
        case let .conv(filters, kernel, strides, padding, activation, useBias):
            Conv2D(filters: filters, kernelSize: kernel, strides: strides, padding: padding,
                   activation: activation, useBias: useBias)
        case let .pool(size, strides, padding): MaxPooling2D(poolSize: size, strides: strides, padding: padding)
        case .flatten: Flatten()
        case let .dense(units, activation, useBias): Dense(units: units, activation: activation, useBias: useBias)
        case let .lstm(units, activation, recurrent, returnSequences, useBias):
            LSTM(units: units, activation: activation, recurrentActivation: recurrent,
                 returnSequences: returnSequences, useBias: useBias)
        case let .attention(units): AttentionLayer(units: units)
        case let .activation(function): Activation(function)
        case let .softmax(axis): Softmax(axis: axis)
        }
    }

    /// The per-sample output shape for a per-sample input shape, or `nil` if the layer cannot apply
    /// (computed independently of GraphJIT's shape inference).
    func outputShape(for shape: [Int]) -> [Int]? {
        func window(_ n: Int, _ k: Int, _ s: Int, _ padding: Padding) -> Int? {
            switch padding {
            case .valid: n >= k ? (n - k) / s + 1 : nil
            case .same: (n + s - 1) / s
            }
        }
        switch self {
        case let .conv(filters, kernel, strides, padding, _, _):
            guard shape.count == 3,
                  let h = window(shape[0], kernel[0], strides[0], padding),
                  let w = window(shape[1], kernel[1], strides[1], padding) else { return nil }
            return [h, w, filters]
        case let .pool(size, strides, padding):
            let steps = strides ?? size
            guard shape.count == 3,
                  let h = window(shape[0], size[0], steps[0], padding),
                  let w = window(shape[1], size[1], steps[1], padding) else { return nil }
            return [h, w, shape[2]]
        case .flatten:
            return [shape.elementCount]
        case let .dense(units, _, _):
            guard !shape.isEmpty else { return nil }
            return shape.dropLast() + [units]
        case let .lstm(units, _, _, returnSequences, _):
            guard shape.count == 2 else { return nil }
            return returnSequences ? [shape[0], units] : [units]
        case .attention:
            guard shape.count == 2 else { return nil }
            return [shape[1]]
        case .activation:
            return shape
        case let .softmax(axis):
            let rank = shape.count + 1
            let resolved = axis < 0 ? axis + rank : axis
            return resolved >= 1 && resolved < rank ? shape : nil
        }
    }

    var description: String {
        switch self {
        case let .conv(filters, kernel, strides, padding, activation, useBias):
            "Conv2D(\(filters), \(kernel), strides \(strides), \(padding), \(activation)\(useBias ? "" : ", no bias"))"
        case let .pool(size, strides, padding):
            "MaxPooling2D(\(size), strides \(strides.map { "\($0)" } ?? "default"), \(padding))"
        case .flatten: "Flatten"
        case let .dense(units, activation, useBias): "Dense(\(units), \(activation)\(useBias ? "" : ", no bias"))"
        case let .lstm(units, activation, recurrent, returnSequences, useBias):
            "LSTM(\(units), \(activation)/\(recurrent)\(returnSequences ? ", sequences" : "")\(useBias ? "" : ", no bias"))"
        case let .attention(units): "AttentionLayer(\(units))"
        case let .activation(function): "Activation(\(function))"
        case let .softmax(axis): "Softmax(axis: \(axis))"
        }
    }
}

/// A random small Sequential model, its batch size and the seeds of its weights and input.
struct RandomModelSpec: Sendable, CustomStringConvertible {
    var batch: Int
    var inputShape: [Int]
    var layers: [RandomLayer]
    var weightSeed: UInt64
    var inputSeed: UInt64

    /// Draws a spec from a seed taken from the property checker's generator (so that its fixed-seed
    /// replay reproduces a failing model).
    static let generator = Generator<RandomModelSpec, Shrink.None<RandomModelSpec>> { rng in
        var draw = RandomModelDraw(seed: rng.next())
        return draw.spec()
    }

    func makeModel() -> Model {
        Sequential(inputShape: inputShape, seed: weightSeed) {
            for layer in layers { layer.makeLayer() }
        }
    }

    /// The per-sample output shape, or `nil` when some window does not fit.
    var expectedOutputShape: [Int]? {
        var shape: [Int]? = inputShape
        for layer in layers { shape = shape.flatMap(layer.outputShape) }
        return shape
    }

    var description: String {
        "batch \(batch), input \(inputShape): " + layers.map(\.description).joined(separator: " -> ")
            + " (weights seed \(weightSeed), input seed \(inputSeed))"
    }
}

/// Draws the pieces of a random spec.
struct RandomModelDraw {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }
    mutating func padding() -> Padding { chance(0.5) ? .same : .valid }
    mutating func activation() -> ActivationFunction { pick([.linear, .relu, .sigmoid, .tanh, .softmax]) }
    mutating func elementwise() -> ActivationFunction { pick([.linear, .relu, .sigmoid, .tanh]) }

    mutating func spec() -> RandomModelSpec {
        let batch = int(1...3)
        let (inputShape, layers) = chance(0.6) ? image() : sequence()
        return RandomModelSpec(batch: batch, inputShape: inputShape, layers: layers,
                               weightSeed: generator.next(), inputSeed: generator.next())
    }

    /// Conv2D (1 or 2), each optionally followed by an activation and/or a max pool; sometimes a
    /// Dense on the 4-D tensor; then Flatten and one or two Dense layers.
    mutating func image() -> ([Int], [RandomLayer]) {
        let shape = [int(3...9), int(3...9), int(1...3)]
        var layers: [RandomLayer] = []
        for _ in 0..<int(1...2) {
            layers.append(.conv(filters: int(1...4), kernel: [int(1...4), int(1...4)],
                                strides: [int(1...3), int(1...3)], padding: padding(),
                                activation: activation(), useBias: chance(0.75)))
            if chance(0.2) { layers.append(.activation(elementwise())) }
            if chance(0.6) {
                layers.append(.pool(size: [int(1...3), int(1...3)],
                                    strides: chance(0.5) ? nil : [int(1...3), int(1...3)], padding: padding()))
            }
            if chance(0.15) { layers.append(.activation(pick([.relu, .tanh, .softmax]))) }
            if chance(0.15) { layers.append(.softmax(axis: pick([1, 2, 3, -1, -2]))) }
        }
        if chance(0.2) { layers.append(.dense(units: int(1...4), activation: activation(), useBias: chance(0.8))) }
        layers.append(.flatten)
        for _ in 0..<int(1...2) {
            layers.append(.dense(units: int(1...6), activation: activation(), useBias: chance(0.8)))
        }
        if chance(0.15) { layers.append(.softmax(axis: -1)) }
        return (shape, layers)
    }

    /// One or two of LSTM / AttentionLayer / Dense-on-3-D over (timesteps, features), then a Dense
    /// head on whatever rank is left.
    mutating func sequence() -> ([Int], [RandomLayer]) {
        let shape = [int(1...6), int(1...5)]
        var layers: [RandomLayer] = []
        var isSequence = true
        for _ in 0..<int(1...2) where isSequence {
            switch int(0...2) {
            case 0:
                let returnSequences = chance(0.5)
                layers.append(.lstm(units: int(1...5), activation: pick([.tanh, .tanh, .relu, .sigmoid, .linear]),
                                    recurrent: pick([.sigmoid, .sigmoid, .tanh, .relu]),
                                    returnSequences: returnSequences, useBias: chance(0.8)))
                isSequence = returnSequences
            case 1:
                layers.append(.attention(units: int(1...5)))
                isSequence = false
            default:
                layers.append(.dense(units: int(1...5), activation: activation(), useBias: chance(0.8)))
            }
        }
        if chance(0.2) { layers.append(.activation(elementwise())) }
        if isSequence && chance(0.3) { layers.append(.softmax(axis: pick([1, 2, -2]))) }
        layers.append(.dense(units: int(1...5), activation: activation(), useBias: chance(0.8)))
        return (shape, layers)
    }
}

/// A random functional model: two inputs, an optional layer on each branch, a Concatenate on a
/// random non-batch axis, then a head that fits the concatenated rank.
struct RandomConcatSpec: Sendable, CustomStringConvertible {
    var batch: Int
    var shapeA: [Int]
    var shapeB: [Int]
    /// Keras axis on the full shape (may be negative).
    var axis: Int
    var branchA: RandomLayer?
    var branchB: RandomLayer?
    var head: [RandomLayer]
    var seed: UInt64

    static let generator = Generator<RandomConcatSpec, Shrink.None<RandomConcatSpec>> { rng in
        var draw = RandomModelDraw(seed: rng.next())
        return draw.concatSpec()
    }

    func makeModel() -> Model {
        let a = Input(shape: shapeA), b = Input(shape: shapeB)
        var ha = a, hb = b
        if let branchA {
            let layer = branchA.makeLayer()
            ha = layer.callAsFunction(a)
        }
        if let branchB {
            let layer = branchB.makeLayer()
            hb = layer.callAsFunction(b)
        }
        var output = Concatenate(axis: axis).callAsFunction([ha, hb])
        for spec in head {
            let layer = spec.makeLayer()
            output = layer.callAsFunction(output)
        }
        return Model(inputs: [a, b], outputs: [output], seed: seed)
    }

    var description: String {
        "batch \(batch), inputs \(shapeA) and \(shapeB)"
            + " [\(branchA?.description ?? "-") | \(branchB?.description ?? "-")] -> Concatenate(axis: \(axis)) -> "
            + head.map(\.description).joined(separator: " -> ") + " (seed \(seed))"
    }
}

extension RandomModelDraw {
    mutating func concatSpec() -> RandomConcatSpec {
        let rank = int(1...2)                     // per sample
        let resolved = int(1...rank)              // on the full shape
        let axis = chance(0.3) ? resolved - (rank + 1) : resolved
        let base = (0..<rank).map { _ in int(1...5) }
        var shapeA = base, shapeB = base
        shapeA[resolved - 1] = int(1...4)
        shapeB[resolved - 1] = int(1...4)

        var branchA: RandomLayer?, branchB: RandomLayer?
        if resolved == rank {
            // Concatenating on the last axis: each branch may change its own width.
            if chance(0.6) { branchA = .dense(units: int(1...4), activation: activation(), useBias: chance(0.8)) }
            if chance(0.6) { branchB = chance(0.5) ? .activation(elementwise())
                                                   : .dense(units: int(1...4), activation: activation(), useBias: true) }
        } else if chance(0.5) {
            let units = int(1...4)
            branchA = .dense(units: units, activation: activation(), useBias: chance(0.8))
            branchB = .dense(units: units, activation: activation(), useBias: chance(0.8))
        } else {
            if chance(0.5) { branchA = .activation(elementwise()) }
        }

        var head: [RandomLayer] = []
        if chance(0.3) { head.append(.activation(elementwise())) }
        if rank == 2 {
            switch int(0...2) {
            case 0: head.append(.lstm(units: int(1...4), activation: .tanh, recurrent: .sigmoid,
                                      returnSequences: chance(0.4), useBias: true))
            case 1: head.append(.attention(units: int(1...4)))
            default: break
            }
        }
        head.append(.dense(units: int(1...4), activation: activation(), useBias: chance(0.8)))
        return RandomConcatSpec(batch: int(1...3), shapeA: shapeA, shapeB: shapeB, axis: axis,
                                branchA: branchA, branchB: branchB, head: head, seed: generator.next())
    }
}
