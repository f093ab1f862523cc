import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// The hostile-input fixtures (`*_nonfinite`, written by `Tests/KerasFixtures/make_keras_fixtures.py`):
/// NaN, ±inf and ±3e38 inputs through every layer GraphJIT has, and the outputs Keras 3.15.1
/// (TensorFlow 2.21, eager, float32, CPU) computed, which hold NaN and ±inf. Every engine must give
/// - the same NaN positions, the same +inf positions and the same -inf positions as Keras. The one
///   allowed difference: TensorFlow's oneDNN softmax also writes NaN to a few entries of a row that
///   holds a NaN (which ones depends on its vector lanes and the row length), where the rule every
///   other entry follows, and GraphJIT, gives 0. The manifest counts those entries per output
///   (`softmaxLaneNaNs`) and the count must match exactly;
/// - finite values within **1e-5 relative to max(1, |keras|)**: absolute for probabilities, relative
///   for the huge values (up to ±3.4e38) the hostile inputs produce. Float32 rounding accounts for
///   about 1e-7.
///
/// The script checks that every fixture row has an order-independent float32 result (no partial
/// sum that could overflow in one summation order and not in another), so the patterns are
/// semantics, not accidents of TensorFlow's blocking.
@Suite("Non-finite parity: NaN, ±inf and ±3e38 inputs give Keras's NaN/±inf pattern")
struct NonFiniteParityTests {
    /// Max difference of finite values, relative to max(1, |keras|).
    static let tolerance: Float = 1e-5

    static let engines: [Engine] = [
        .reference,
        .reference(accumulation: .float),
        .jit(tier: .instant),
        .jit(tier: .optimized),
    ]

    @Test("model layer and parameter names equal the fixture's", arguments: KerasFixture.nonFiniteCaseNames)
    func namesMatch(_ name: String) throws {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        #expect(model.parameters.names.sorted() == fixture.entry.weights.map(\.name))
        // As sets: Keras lists a multi-output model's layers in its own graph order, not the order of
        // application (dense_nonfinite: dense_7 first), while the names come from that order in both.
        let inputNames = try model.inputSignature().map(\.name)
        #expect((inputNames + (try model.layerNames())).sorted() == fixture.entry.layers.sorted())
    }

    @Test("the fixtures hold NaN or ±inf in their inputs and in Keras's outputs", arguments: KerasFixture.nonFiniteCaseNames)
    func fixturesAreHostile(_ name: String) throws {
        let fixture = try KerasFixture.load(name)
        #expect(fixture.inputs.contains { $0.scalars.contains { !$0.isFinite } })
        #expect(fixture.outputs.contains { $0.scalars.contains { !$0.isFinite } })
        #expect(fixture.entry.softmaxLaneNaNs?.count == fixture.outputs.count)
    }

    @Test("same NaN, +inf and -inf positions as Keras; finite values within 1e-5 relative",
          arguments: KerasFixture.nonFiniteCaseNames, engines)
    func matchesKeras(_ name: String, engine: Engine) throws {
        let fixture = try KerasFixture.load(name)
        let model = KerasFixture.makeModel(name)
        try model.setParameters(fixture.weights.tensors, source: fixture.entry.weightsFile)
        let outputs = try model.predict(fixture.inputs, engine: engine)
        #expect(outputs.map(\.shape) == fixture.entry.outputShapes)
        let comparison = NonFiniteComparison(outputs, expected: fixture.outputs, tolerance: Self.tolerance)
        #expect(comparison.mismatches.isEmpty,
                "\(name) on \(engine): \(comparison.mismatchCount) entries differ from Keras, first: \(comparison.mismatches)")
        #expect(comparison.laneNaNs == fixture.entry.softmaxLaneNaNs,
                "\(name) on \(engine): 0 where Keras's softmax has a lane NaN: \(comparison.laneNaNs)")
    }

    /// The rows of `cnn_nonfinite` (see `inputs_cnn_nonfinite`), spelled out: what the issue reported.
    @Test("the tutorial CNN: a NaN pixel is dropped by max pooling, ±inf gives NaN rows, ±3e38 a finite one-hot, as in Keras",
          arguments: engines)
    func tutorialCNN(_ engine: Engine) throws {
        let fixture = try KerasFixture.load("cnn_nonfinite")
        let model = TutorialModel.cnn(inputShape: [12, 12, 3])
        try model.setParameters(fixture.weights.tensors)
        let output = try model.predict(fixture.inputs, engine: engine)[0]
        let rows = (0..<10).map { Array(output.scalars[($0 * 10)..<($0 * 10 + 10)]) }
        let keras = (0..<10).map { Array(fixture.outputs[0].scalars[($0 * 10)..<($0 * 10 + 10)]) }
        // NaN inside (rows 0, 1: one all-NaN pool window becomes -FLT_MAX), at a corner, at edges.
        for row in 0...4 {
            #expect(rows[row].allSatisfy { $0.isFinite } && keras[row].allSatisfy { $0.isFinite }, "row \(row): \(rows[row])")
            #expect(zip(rows[row], keras[row]).allSatisfy { abs($0 - $1) <= Self.tolerance }, "row \(row)")
        }
        // ±inf pixel: +inf conv outputs meet weights of both signs in the Dense: NaN everywhere.
        for row in 5...6 { #expect(rows[row].allSatisfy { $0.isNaN } && keras[row].allSatisfy { $0.isNaN }, "row \(row)") }
        // ±3e38 pixels: huge but finite logits, a confident one-hot (Keras's too).
        for row in 7...9 {
            #expect(rows[row].allSatisfy { $0.isFinite } && rows[row].max()! > 0.999, "row \(row): \(rows[row])")
            #expect(rows[row].firstIndex(of: rows[row].max()!) == keras[row].firstIndex(of: keras[row].max()!))
        }
    }

    /// The zoo's tutorial CNN at its full size (64x64x3, weights from seed 0): too large for a
    /// fixture, so the engines are compared with each other. (Keras, given these weights, also
    /// gives a finite one-hot for both images: measured once with TensorFlow 2.21.)
    @Test("the full-size zoo CNN: a NaN pixel and a 3e38 pixel give the same finite pattern on every engine")
    func zooCNN() throws {
        let model = TutorialModel.cnn.make(seed: 0)
        var images = Tensor.seededNormal([2, 64, 64, 3], seed: 3)
        images.scalars[(30 * 64 + 30) * 3 + 1] = .nan                  // image 0: NaN inside
        images.scalars[64 * 64 * 3 + (30 * 64 + 30) * 3 + 1] = 3e38     // image 1: 3e38 inside
        let reference = try model.predict([images], engine: .reference)
        #expect(reference[0].scalars.allSatisfy { $0.isFinite }, "\(reference[0].scalars)")
        for engine in [Engine.jit(tier: .instant), .jit(tier: .optimized)] {
            let outputs = try model.predict([images], engine: engine)
            let comparison = NonFiniteComparison(outputs, expected: reference, tolerance: Self.tolerance)
            #expect(comparison.mismatches.isEmpty, "\(engine): \(comparison.mismatches)")
        }
    }

    @Test("the Double reference is exactly rounded: a sum beyond the float range is ±inf, a partial-sum overflow is not modeled")
    func referenceOverflow() throws {
        let model = Sequential(inputShape: [3]) { Dense(units: 2, useBias: false) }
        try model.setParameters(["dense.kernel": Tensor(shape: [3, 2], uncheckedScalars: [1, 1, 1, 1, -1, 1])])
        let x = Tensor(shape: [1, 3], uncheckedScalars: [3e38, 3e38, 3e38])
        // Column 0: 3e38 + 3e38 - 3e38, exactly 3e38 (a float32 engine summing left to right overflows
        // first: that depends on the order). Column 1: exactly 9e38, beyond the range in any order.
        let exact = try model.predict([x], engine: .reference)[0].scalars
        #expect(exact == [3e38, .infinity])
        let sequential = try model.predict([x], engine: .reference(accumulation: .float))[0].scalars
        #expect(sequential == [.infinity, .infinity])
        for engine in [Engine.jit(tier: .instant), .jit(tier: .optimized)] {
            #expect(try model.predict([x], engine: engine)[0].scalars[1] == .infinity, "\(engine)")
        }
    }
}

extension NonFiniteParityTests {
    @Test("softmax over a middle axis (generated inline) follows the same NaN/±inf rules as the runtime's")
    func middleAxisSoftmax() throws {
        var builder = GraphBuilder()
        let x = try builder.addInput(named: "x", shape: [2, 4, 3])
        builder.scope = "softmax"
        let graph = try builder.finish(outputs: [try builder.apply(.softmax(axis: 1), [x])])
        let n = Float.nan, inf = Float.infinity
        // Columns (over axis 1): finite; with a NaN; with +inf; all -inf; finite with a -inf.
        let scalars: [Float] = [1, n, 2, 2, 0, -inf, 3, 1, -inf, 4, inf, -inf,
                                0.5, 1, -inf, 1, 2, -inf, n, inf, -inf, -1, 3, -inf]
        let input = Tensor(shape: [2, 4, 3], uncheckedScalars: scalars)
        let empty = ParameterStore(order: [], tensors: [:])
        let reference = try ReferenceInterpreter().run(graph, inputs: [input], parameters: empty)
        for tier in [CompilationTier.instant, .optimized] {
            let jit = try CompiledModel(graph: graph, parameters: empty, tier: tier).predict([input])
            let comparison = NonFiniteComparison(jit, expected: reference, tolerance: Self.tolerance)
            #expect(comparison.mismatches.isEmpty, "\(tier): \(comparison.mismatches)")
        }
    }
}

/// Element-by-element comparison of outputs that may hold NaN and ±inf (see ``NonFiniteParityTests``).
struct NonFiniteComparison {
    /// The first few mismatches, described.
    private(set) var mismatches: [String] = []
    private(set) var mismatchCount = 0
    /// Per output: entries that are 0 where `expected` is NaN, in a row (last axis) holding a NaN.
    private(set) var laneNaNs: [Int] = []

    init(_ outputs: [Tensor], expected: [Tensor], tolerance: Float) {
        guard outputs.count == expected.count else {
            note("\(outputs.count) outputs, expected \(expected.count)")
            return
        }
        for (k, (actual, wanted)) in zip(outputs, expected).enumerated() {
            guard actual.shape == wanted.shape else {
                note("output \(k): shape \(actual.shape), expected \(wanted.shape)")
                laneNaNs.append(0)
                continue
            }
            let width = max(actual.shape.last ?? 1, 1)
            var lane = 0
            for (i, (a, e)) in zip(actual.scalars, wanted.scalars).enumerated() {
                if (a.isNaN && e.isNaN) || (a.isInfinite && a == e) { continue }
                if a.isFinite && e.isFinite {
                    if abs(a - e) > tolerance * max(1, abs(e)) { note("output \(k)[\(i)] = \(a), expected \(e)") }
                    continue
                }
                let row = (i / width) * width
                if e.isNaN && a == 0 && actual.scalars[row..<(row + width)].contains(where: \.isNaN) {
                    lane += 1
                    continue
                }
                note("output \(k)[\(i)] = \(a), expected \(e)")
            }
            laneNaNs.append(lane)
        }
    }

    private mutating func note(_ mismatch: String) {
        mismatchCount += 1
        if mismatches.count < 5 { mismatches.append(mismatch) }
    }
}
