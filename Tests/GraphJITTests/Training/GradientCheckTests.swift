import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Every operation's gradient rule against central finite differences of its reference, and every
/// backward kernel the JIT generates against the reference backward pass.
///
/// The objective is `L = Σ w ⊙ op(inputs)` with fixed random `w` (fed in as the seed). Finite
/// differences perturb each input element by `±h` (`h = 1e-2`, inputs of order 1) and evaluate the
/// forward op with `Double` accumulation; the difference quotient's truncation error is `O(h²)` and
/// its float32 rounding `O(ε/h)`, so analytic and numeric gradients agree to about 1e-3 of the
/// gradient's scale, which is the tolerance. JIT and reference gradients agree within 2e-5 of scale.
@Suite("Gradients: finite differences and backward kernels")
struct GradientCheckTests {
    /// An op applied to graph inputs of these shapes; the inputs marked differentiable get gradients.
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let shapes: [[Int]]
        var differentiable: [Bool]
        /// Builds the node(s) from the inputs; returns the value the objective reads.
        let build: @Sendable ([ValueID], inout GraphBuilder) throws -> ValueID
        /// Values an input must avoid (a class-label input holds integers).
        var makeInput: (@Sendable (Int, [Int], inout SeededGenerator) -> Tensor)? = nil
        var description: String { name }
    }

    static func single(_ name: String, _ operation: GraphJITIR.Operation, _ shapes: [[Int]], differentiable: [Bool]? = nil) -> Case {
        Case(name: name, shapes: shapes, differentiable: differentiable ?? shapes.map { _ in true }) { inputs, builder in
            try builder.apply(operation, inputs)
        }
    }

    static let lstmAttributes = LSTMAttributes(units: 3, activation: .tanh, recurrentActivation: .sigmoid,
                                               returnSequences: false)

    static let cases: [Case] = {
        var cases: [Case] = [
            single("matmul", .matmul, [[2, 3, 4], [4, 5]]),
            single("bias_add", .biasAdd, [[3, 4], [4]]),
            single("softmax last axis", .softmax(axis: 1), [[3, 5]]),
            single("softmax over time", .softmax(axis: 1), [[2, 4, 1]]),
            single("reshape", .reshape([2, 6]), [[2, 3, 2]]),
            single("concatenate", .concatenate(axis: 1), [[2, 3], [2, 2]]),
            single("weighted_sum", .weightedSum(axis: 1), [[2, 4, 1], [2, 4, 3]]),
            single("max_pool2d valid", .maxPool2d(Window2D(size: [2, 2], strides: [2, 2], padding: .valid, inputSize: [4, 5])!), [[2, 4, 5, 2]]),
            single("max_pool2d same", .maxPool2d(Window2D(size: [2, 2], strides: [2, 2], padding: .same, inputSize: [5, 5])!), [[1, 5, 5, 2]]),
            single("conv2d valid", .conv2d(Window2D(size: [3, 3], strides: [1, 1], padding: .valid, inputSize: [5, 4])!), [[2, 5, 4, 2], [3, 3, 2, 3]]),
            single("conv2d same strided", .conv2d(Window2D(size: [3, 3], strides: [2, 2], padding: .same, inputSize: [5, 5])!), [[1, 5, 5, 2], [3, 3, 2, 2]]),
            single("lstm last state", .lstm(lstmAttributes), [[2, 4, 12], [3, 12]]),
            single("add", GraphJITIR.Operation(AddOp()), [[2, 3], [2, 3]]),
        ]
        var sequences = lstmAttributes
        sequences.returnSequences = true
        cases.append(single("lstm sequences", .lstm(sequences), [[2, 3, 12], [3, 12]]))
        var relu = lstmAttributes
        relu.activation = .relu
        cases.append(single("lstm relu", .lstm(relu), [[1, 3, 12], [3, 12]]))
        for function in ElementwiseActivation.allCases {
            cases.append(single("activation \(function)", .activation(function), [[3, 4]]))
        }
        for function in LossFunction.allCases {
            let sparse = function.hasSparseTarget
            let probabilities = function == .categoricalCrossentropy || function == .sparseCategoricalCrossentropy
            cases.append(Case(name: "loss \(function)", shapes: [[3, 4], sparse ? [3] : [3, 4]], differentiable: [true, false],
                              build: { inputs, builder in try builder.apply(GraphJITIR.Operation(LossOp(function: function)), inputs) },
                              makeInput: { index, shape, generator in
                                  if index == 1 && sparse { return Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { Float($0 % 4) }) }
                                  if index == 1 { return Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { $0 % 4 == $0 / 4 % 4 ? 1 : 0 }) }
                                  // Probabilities: positive and away from the clip.
                                  let scalars = (0..<shape.elementCount).map { _ in
                                      probabilities ? Float.random(in: 0.2...1, using: &generator) : Float.random(in: -1.5...1.5, using: &generator)
                                  }
                                  return Tensor(shape: shape, uncheckedScalars: scalars)
                              }))
        }
        return cases
    }()

    /// The forward graph of a case (inputs then the op), and its backward graph (seed input added,
    /// outputs the gradients of the differentiable inputs).
    static func graphs(_ testCase: Case) throws -> (forward: Graph, backward: Graph) {
        var builder = GraphBuilder()
        builder.scope = "op"
        let inputs = try testCase.shapes.enumerated().map { try builder.addInput(named: "x\($0.offset)", shape: $0.element) }
        let output = try testCase.build(inputs, &builder)
        let forward = try builder.finish(outputs: [output])
        var backward = GraphBuilder(continuing: forward)
        let seed = try backward.addInput(named: "seed", shape: forward[output].shape)
        let targets = zip(inputs, testCase.differentiable).filter(\.1).map(\.0)
        let gradients = try Autodiff.gradients(of: [(output, seed)], withRespectTo: targets, in: &backward)
        return (forward, try backward.finish(outputs: targets.map { gradients[$0]! }))
    }

    static func inputs(_ testCase: Case, seed: UInt64) -> [Tensor] {
        var generator = SeededGenerator(seed: seed)
        return testCase.shapes.enumerated().map { index, shape in
            testCase.makeInput?(index, shape, &generator)
                ?? Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { _ in Float.random(in: -1...1, using: &generator) })
        }
    }

    static let noParameters = ParameterStore(order: [], tensors: [:])

    /// A tensor of uniform(-1, 1) draws.
    static func uniform(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor(shape: shape, uncheckedScalars: (0..<shape.elementCount).map { _ in Float.random(in: -1...1, using: &generator) })
    }

    @Test("the reference gradient matches central finite differences", arguments: cases)
    func finiteDifferences(_ testCase: Case) throws {
        let (forward, backward) = try Self.graphs(testCase)
        let inputs = Self.inputs(testCase, seed: 7)
        let weights = Self.uniform(forward[forward.outputs[0]].shape, seed: 99)
        let reference = ReferenceInterpreter()
        let analytic = try reference.run(backward, inputs: inputs + [weights], parameters: Self.noParameters)
        func objective(_ perturbed: [Tensor]) throws -> Double {
            let out = try reference.run(forward, inputs: perturbed, parameters: Self.noParameters)[0]
            return zip(out.scalars, weights.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let h: Float = 1e-2
        var gradientIndex = 0
        for (index, isDifferentiable) in testCase.differentiable.enumerated() where isDifferentiable {
            let gradient = analytic[gradientIndex]
            gradientIndex += 1
            let scale = max(gradient.scalars.map { abs($0) }.max() ?? 0, 1e-3)
            for element in 0..<inputs[index].elementCount {
                var plus = inputs, minus = inputs
                plus[index].scalars[element] += h
                minus[index].scalars[element] -= h
                let numeric = (try objective(plus) - objective(minus)) / (Double(plus[index].scalars[element]) - Double(minus[index].scalars[element]))
                #expect(abs(numeric - Double(gradient.scalars[element])) <= 2e-3 * Double(scale),
                        "\(testCase.name): d/dx\(index)[\(element)] numeric \(numeric), analytic \(gradient.scalars[element])")
            }
        }
    }

    @Test("the JIT's backward kernels match the reference, on both tiers", arguments: cases)
    func jitMatchesReference(_ testCase: Case) throws {
        let (forward, backward) = try Self.graphs(testCase)
        let inputs = Self.inputs(testCase, seed: 11)
        let seed = Self.uniform(forward[forward.outputs[0]].shape, seed: 5)
        let expected = try ReferenceInterpreter().run(backward, inputs: inputs + [seed], parameters: Self.noParameters)
        for tier in [CompilationTier.instant, .optimized] {
            let compiled = try CompiledModel(graph: backward, parameters: Self.noParameters, tier: tier)
            let actual = try compiled.predict(inputs + [seed])
            for (a, e) in zip(actual, expected) {
                let scale = max(e.scalars.map { abs($0) }.max() ?? 0, 1e-3)
                let worst = zip(a.scalars, e.scalars).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 2e-5 * scale, "\(testCase.name) on \(tier): max difference \(worst), scale \(scale)")
            }
        }
    }
}
