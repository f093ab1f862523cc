import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Making and reading tensors as a Keras user would, every size mismatch a thrown error.
@Suite("Tensor: construction and reading")
struct TensorErgonomicsTests {
    @Test("literals, rows and shapes; a mismatch throws instead of trapping")
    func construction() throws {
        let vector: Tensor = [0.1, 0.7, 0.2]
        #expect(vector.shape == [3])
        let matrix = try Tensor([[1, 2, 3], [4, 5, 6]])
        #expect(matrix.shape == [2, 3] && matrix.scalars == [1, 2, 3, 4, 5, 6])
        #expect(throws: TensorError.raggedRows(row: 1, count: 2, expected: 3)) { try Tensor([[1, 2, 3], [4, 5]]) }
        #expect(throws: TensorError.elementCountMismatch(shape: [2, 3], count: 5)) {
            try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
        }
        #expect(throws: TensorError.self) { try Tensor(shape: [-1, 3], scalars: []) }
        #expect(throws: TensorError.self) { try Tensor(shape: [1 << 40, 1 << 40], scalars: []) }
        #expect(try matrix[1] == [4, 5, 6])
        #expect(throws: TensorError.self) { try matrix[2] }
    }

    @Test("one-hot labels, argmax per row (first on ties), and short descriptions")
    func labelsAndPredictions() throws {
        let labels = try Tensor.oneHot([2, 0], classes: 3)
        #expect(labels == (try Tensor([[0, 0, 1], [1, 0, 0]])))
        #expect(throws: TensorError.labelOutOfRange(label: 3, classes: 3)) { try Tensor.oneHot([3], classes: 3) }
        #expect(try Tensor([[0.1, 0.7, 0.7], [0.9, 0.05, 0.05]]).argmax() == [1, 0])
        #expect(try Tensor([[1, .nan, 2]]).argmax() == [1])
        let long = Tensor.zeros([100, 100])
        #expect(long.description == "Tensor([100, 100]: 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, … (10000 values))")
        let model = TutorialModel.cnn.make()
        #expect("\(model.parameters)".count < 400)
        #expect("\(model.parameters)".contains("dense.kernel [30752, 128]"))
    }

    @Test("Tensor(npy:) reads what NPY.write wrote")
    func npy() throws {
        let url = FileManager.default.temporaryDirectory.appending(path: "graphjit-tensor-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensor = try Tensor([[1, 2], [3, 4]])
        try NPY.write(tensor, to: url)
        #expect(try Tensor(npy: url) == tensor)
    }
}
