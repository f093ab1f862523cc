import Foundation
import GraphJITIR

extension Tensor {
    /// The array in a NumPy `.npy` file (float32, C order; see ``NPY``).
    public init(npy url: URL) throws {
        self = try NPY.read(contentsOf: url)
    }
}
