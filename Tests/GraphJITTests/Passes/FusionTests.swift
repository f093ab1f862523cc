import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// The fusion pass's kernel groups for the tutorial models, and the C it leads to.
@Suite("Fusion: kernel groups and their generated C")
struct FusionTests {
    private static func groups(_ tutorial: TutorialModel, batchSize: Int = 1) throws -> (Graph, [KernelGroup]) {
        let graph = try tutorial.make().makeGraph(batchSize: batchSize)
        return (graph, FusionPass().run(on: graph))
    }

    /// The operation mnemonics of a group, in order.
    private static func operations(_ group: KernelGroup) -> [String] {
        group.nodes.map(\.operation.mnemonic)
    }

    @Test("cnn: conv2d+bias+relu+max pool in one kernel, flatten in none, then two dense kernels")
    func cnnGroups() throws {
        let (graph, groups) = try Self.groups(.cnn)
        #expect(groups.count == 3)
        #expect(groups.map(\.name) == ["k0_conv2d", "k1_dense", "k2_dense_1"])
        #expect(groups.map(Self.operations) == [
            ["conv2d", "bias_add", "relu", "max_pool2d"],
            ["matmul", "bias_add", "relu"],
            ["matmul", "bias_add", "softmax"],
        ])
        #expect(groups.map(\.layers) == [["conv2d", "max_pooling2d"], ["dense"], ["dense_1"]])
        // Flatten is a view: no group contains it, and the dense kernel reads the pooled buffer's view.
        #expect(!groups.contains { $0.layers.contains("flatten") })
        let flatten = try #require(graph.nodes.first { $0.layer == "flatten" })
        #expect(flatten.operation.kind == .view)
        #expect(groups[1].externalInputs.first == flatten.output)
        #expect(groups[1].anchor.inputs[0] == flatten.output)
        #expect(groups.last?.output == graph.outputs[0])
    }

    @Test("lstm: the LSTM layer is exactly two kernels (input projection, recurrence), then the dense head")
    func lstmGroups() throws {
        let (_, groups) = try Self.groups(.lstm)
        let lstmGroups = groups.filter { $0.layers.contains("lstm") }
        #expect(lstmGroups.count == 2)
        #expect(groups.count == 3)
        #expect(groups.map(Self.operations) == [
            ["matmul", "bias_add"],
            ["lstm"],
            ["matmul", "bias_add", "softmax"],
        ])
        #expect(groups.map(\.layers) == [["lstm"], ["lstm"], ["dense"]])
        #expect(groups.map(\.name) == ["k0_lstm", "k1_lstm", "k2_dense"])
        // The recurrence reads the projection the first kernel materialized.
        #expect(groups[1].anchor.inputs[0] == groups[0].output)
    }

    @Test("attention: the attention layer takes at most two kernels, the softmax and weighted sum fused in")
    func attentionGroups() throws {
        let (_, groups) = try Self.groups(.attention)
        let attentionGroups = groups.filter { $0.layers.contains { $0.hasPrefix("attention_layer") } }
        #expect(attentionGroups.count <= 2)
        #expect(groups.count == attentionGroups.count + 1)
        let operations = attentionGroups.flatMap(Self.operations)
        #expect(operations == ["matmul", "bias_add", "tanh", "matmul", "bias_add", "softmax", "weighted_sum"])
        #expect(Self.operations(groups.last!) == ["matmul", "bias_add", "softmax"])
        #expect(groups.last?.layers == ["dense"])
        // No kernel mixes the attention layer and the classifier.
        #expect(!groups.contains { group in
            group.layers.contains("dense") && group.layers.contains { $0.hasPrefix("attention_layer") }
        })
    }

    @Test("multitask: the trunk once, then both heads side by side in one kernel sharing one GEMM")
    func multitaskGroups() throws {
        let (graph, groups) = try Self.groups(.multitask)
        #expect(groups.count == 2)
        #expect(groups.map(\.branches.count) == [1, 2])
        #expect(groups[0].branches.map { $0.map(\.operation.mnemonic) } == [["matmul", "bias_add", "relu"]])
        #expect(groups[1].branches.map { $0.map(\.operation.mnemonic) } == [
            ["matmul", "bias_add", "softmax"],
            ["matmul", "bias_add", "softmax"],
        ])
        #expect(groups.map(\.layers) == [["dense"], ["dense_1", "dense_2"]])
        let trunk = groups[0].output
        #expect(groups.filter { $0.nodes.contains { $0.layer == "dense" } }.count == 1, "trunk recomputed")
        #expect(groups[1].branches.allSatisfy { $0[0].inputs[0] == trunk })
        #expect(groups[1].outputs == graph.outputs)
    }

    @Test("every non-view node is in exactly one group; each stage reads the previous node's output",
          arguments: KerasFixture.caseNames)
    func groupInvariants(_ name: String) throws {
        let graph = try KerasFixture.makeModel(name).makeGraph(batchSize: 2)
        let groups = FusionPass().run(on: graph)
        let grouped = groups.flatMap { $0.nodes.map(\.index) }
        let expected = graph.nodes.filter { $0.operation.kind != .view }.map(\.index)
        #expect(grouped.sorted() == expected)
        #expect(Set(groups.map(\.name)).count == groups.count, "kernel names must be unique")
        let consumers = graph.consumers()
        for group in groups {
            #expect(group.name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            for branch in group.branches {
                #expect(branch[0].inputs[0] == group.anchor.inputs[0], "\(group.name): siblings share their input")
            }
            for (previous, stage) in group.branches.flatMap({ zip($0, $0.dropFirst()) }) {
                #expect(stage.inputs.first == previous.output, "\(group.name)")
                #expect(consumers[previous.output.index] == [stage.index], "\(group.name): fused value read elsewhere")
                #expect(!graph.outputs.contains(previous.output), "\(group.name): fused away a model output")
            }
        }
        // Groups run in an order where everything they read is ready.
        var ready = Set(graph.inputs).union(graph.parameters.map(\.value))
        for group in groups {
            for input in group.externalInputs {
                var source = input
                while let producer = graph.producer(of: source), producer.operation.kind == .view {
                    source = producer.inputs[0]
                }
                #expect(ready.contains(source), "\(group.name) reads \(input) before it is computed")
            }
            ready.formUnion(group.nodes.map(\.output))
        }
    }

    @Test("fixture models fuse as expected", arguments: [
        ("cnn_rect", [["conv2d", "bias_add", "relu"], ["matmul", "bias_add", "softmax"]]),
        ("cnn_no_bias", [["conv2d", "tanh", "max_pool2d"], ["matmul", "sigmoid"]]),
        ("two_input_concat", [["matmul", "bias_add", "relu"], ["matmul", "bias_add", "tanh"], ["concatenate"],
                              ["matmul", "bias_add", "softmax"]]),
        ("lstm_sequences", [["matmul", "bias_add"], ["lstm"], ["matmul", "bias_add"], ["lstm"],
                            ["matmul", "bias_add", "softmax"]]),
    ])
    func fixtureGroups(_ name: String, _ expected: [[String]]) throws {
        let graph = try KerasFixture.makeModel(name).makeGraph(batchSize: 1)
        #expect(FusionPass().run(on: graph).map(Self.operations) == expected)
    }

    @Test("a model output mid-chain is materialized, and the kernel goes on past it")
    func outputsAreMaterialized() throws {
        let input = Input(shape: [4])
        let hidden = Dense(units: 3)(input)
        let activated = Activation(.relu)(hidden)
        let model = Model(inputs: [input], outputs: [hidden, activated])
        let graph = try model.makeGraph()
        let groups = FusionPass().run(on: graph)
        #expect(groups.map(Self.operations) == [["matmul", "bias_add", "relu"]])
        #expect(groups[0].materializedInterior == [graph.outputs[0]])
        // The bias is not folded into the GEMM's epilogue: its value must reach its own buffer.
        let kernel = ModelCompiler().generate(graph).kernels[0]
        #expect(kernel.arguments.contains(.value(graph.outputs[0])))
        // And the JIT computes both outputs correctly.
        try model.setParameters(randomParameters(for: model, seed: 8))
        let x = Tensor.seededNormal([2, 4], seed: 9)
        let jit = try model.predict([x], engine: .jit(tier: .instant))
        let reference = try model.predict([x], engine: .reference)
        #expect(maxAbsoluteDifference(jit, reference) <= 1e-5)
    }

    // MARK: Generated C

    @Test("each generated kernel opens with a comment naming the layers and operations it fuses",
          arguments: TutorialModel.allCases)
    func kernelHeaderComments(_ tutorial: TutorialModel) throws {
        let (graph, groups) = try Self.groups(tutorial)
        for group in groups {
            let kernel = ModelCompiler().generate(group, in: graph)
            #expect(kernel.name == group.name)
            #expect(kernel.group == group)
            let lines = kernel.source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first == "/*")
            let fuses = "layer\(group.layers.count == 1 ? "" : "s") \(group.layers.joined(separator: ", "))"
            #expect(lines.count > 3 && lines[1] == " * \(group.name): fuses \(fuses)", "\(lines.prefix(3))")
            let chain = group.branches.map { branch in
                branch.map { "\($0.layer): \($0.operation.mnemonic)" }.joined(separator: " -> ")
            }.joined(separator: " | ")
            #expect(lines.count > 3 && lines[2] == " *   \(chain)")
            #expect(kernel.source.contains("void \(group.name)(float *const *buffers, const gj_runtime *rt)"))
        }
    }

    @Test("the compiled module's source has one function per kernel, each with its header")
    func compiledModuleSource() throws {
        let model = TutorialModel.cnn(inputShape: [10, 10, 3])
        let compiled = try model.compiled(batchSize: 1, tier: .instant)
        let source = compiled.module.source
        #expect(compiled.module.kernels.map(\.name) == ["k0_conv2d", "k1_dense", "k2_dense_1"])
        #expect(source.contains(" * k0_conv2d: fuses layers conv2d, max_pooling2d\n"))
        #expect(source.contains(" *   conv2d: conv2d -> conv2d: bias_add -> conv2d: relu -> max_pooling2d: max_pool2d\n"))
        #expect(source.contains(" * k1_dense: fuses layer dense\n"))
        #expect(source.contains(" * k2_dense_1: fuses layer dense_1\n"))
        #expect(source.contains(" *   dense_1: matmul -> dense_1: bias_add -> dense_1: softmax\n"))
        for kernel in compiled.module.kernels {
            #expect(source.contains(kernel.source))
            #expect(source.components(separatedBy: "void \(kernel.name)(").count == 2)
        }
        // Shapes are named constants.
        let convolution = compiled.module.kernels[0].source
        #expect(convolution.contains("enum { "))
        for constant in ["BATCH = 1", "H = 10", "W = 10", "C = 3", "KH = 3", "KW = 3", "OH = 8", "OW = 8", "F = 32"] {
            #expect(convolution.contains(constant), "\(constant) missing from\n\(convolution)")
        }
        #expect(compiled.compileReport.kernelCount == 3)
    }

    @Test("the attention module names its layer scopes in the kernel headers")
    func attentionHeaders() throws {
        let model = TutorialModel.attention(timesteps: 5, features: 4, units: 3)
        let source = try model.compiled(batchSize: 2, tier: .instant).module.source
        #expect(source.contains("fuses layer attention_layer.W\n"))
        #expect(source.contains("fuses layers attention_layer.V, attention_layer\n"))
        #expect(source.contains("attention_layer: softmax -> attention_layer: weighted_sum"))
    }
}
