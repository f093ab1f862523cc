import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// The catalogue of hostile inputs a hostile-input run found, one row each: a model spec, a call,
/// a file or a command line, and the error it must give. Nothing here may crash, trap or allocate
/// beyond the memory budget; each row once did.
@Suite("Hostile inputs: the catalogue")
struct HostileInputCatalogue {
    /// A model spec and the text its error must contain.
    struct SpecRow: Sendable, CustomTestStringConvertible {
        let name: String
        let make: @Sendable () -> Model
        let expected: String
        var testDescription: String { name }
    }

    static let specs: [SpecRow] = [
        SpecRow(name: "Dense(units: Int.max)", make: { Sequential(inputShape: [64]) { Dense(units: .max) } },
                expected: "more than 1099511627776 elements"),
        SpecRow(name: "Dense(units: 1 << 40)", make: { Sequential(inputShape: [64]) { Dense(units: 1 << 40) } },
                expected: "more than 1099511627776 elements"),
        SpecRow(name: "Dense(units: 1 << 31): 512 GiB of weights", make: {
            Sequential(inputShape: [64]) { Dense(units: 1 << 31) }
        }, expected: "more than the memory budget"),
        SpecRow(name: "LSTM(units: 1 << 62)", make: { Sequential(inputShape: [5, 4]) { LSTM(units: 1 << 62) } },
                expected: "too large"),
        SpecRow(name: "Conv2D kernel Int.max, same", make: {
            Sequential(inputShape: [8, 8, 3]) { Conv2D(filters: 2, kernelSize: [.max, 3], padding: .same) }
        }, expected: "whose padding fits in Int"),
        SpecRow(name: "Input [2^32, 2^32, 4] + Flatten", make: {
            Sequential(inputShape: [1 << 32, 1 << 32, 4]) { Flatten() }
        }, expected: "beyond any machine's memory"),
        SpecRow(name: "Input with a zero extent", make: { Sequential(inputShape: [0, 3]) { Flatten() } },
                expected: "non-positive extent"),
    ]

    @Test("absurd model specs are errors naming the layer, before any allocation", arguments: specs)
    func absurdSpecs(_ row: SpecRow) throws {
        let model = row.make()
        let error = try #require(throws: GraphError.self) { try model.makeGraph() }
        #expect(error.description.contains(row.expected), "\(error)")
        #expect(model.parameters.scalarCount == 0)
        #expect(throws: GraphError.self) { try model.predict(Tensor.zeros([1, 1])) }
    }

    @Test("Conv2D strides Int.max with same padding is a valid (1x1) model, not a trap")
    func hugeStridesAreFine() throws {
        let model = Sequential(inputShape: [8, 8, 3], seed: 1) {
            Conv2D(filters: 2, kernelSize: [3, 3], strides: [.max, .max], padding: .same)
        }
        let x = Tensor.seededNormal([2, 8, 8, 3], seed: 2)
        let reference = try model.predict(x, engine: .reference)
        #expect(reference.shape == [2, 1, 1, 2])
        #expect(maxAbsoluteDifference([try model.predict(x, engine: .jit(tier: .instant))], [reference]) <= 1e-5)
    }

    @Test("absurd batch sizes: overflow is an error, a plan beyond the budget is refused before allocating")
    func absurdBatchSizes() throws {
        let model = TutorialModel.cnn.make()
        let overflow = try #require(throws: GraphError.self) { try model.compiled(batchSize: 1 << 62) }
        #expect(overflow.description.contains("input_layer"))
        let tooBig = try #require(throws: GraphError.self) { try model.compiled(batchSize: 2_000_000) }
        #expect(tooBig.description.contains("the compiled plan for batch size 2000000"))
        #expect(tooBig.description.contains("more than the memory budget"))
    }

    @Test("the memory budget is configurable and parsed from GRAPHJIT_MEMORY_BUDGET")
    func budgetParsing() {
        #expect(MemoryBudget.parse("1024") == 1024)
        #expect(MemoryBudget.parse("64M") == 64 << 20)
        #expect(MemoryBudget.parse("1.5g") == 3 << 29)
        #expect(MemoryBudget.parse("lots") == nil)
        #expect(MemoryBudget.parse("-1") == nil)
        #expect(MemoryBudget.defaultBytes(environment: ["GRAPHJIT_MEMORY_BUDGET": "2G"]) == 2 << 30)
        #expect(MemoryBudget.defaultBytes(environment: [:]) > 0)
    }

    @Test("an error listing 200,000 unexpected weight names stays short")
    func longNameLists() throws {
        let model = Sequential(inputShape: [4]) { Dense(units: 2) }
        var tensors = model.parameters.dictionary
        for index in 0..<200_000 { tensors["extra_\(index)"] = Tensor.zeros([1]) }
        let error = try #require(throws: WeightsError.self) { try model.setParameters(tensors) }
        #expect(error.description.count < 1_000)
        #expect(error.description.contains("and 199990 more"))
    }
}
