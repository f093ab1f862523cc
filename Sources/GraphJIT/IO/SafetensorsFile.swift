import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// The contents of a safetensors file: named tensors plus the header's free-form string metadata.
///
/// Tensors stored as `F16`, `BF16` or `F64` have already been converted to `Float`.
public struct SafetensorsFile: Equatable, Sendable {
    /// The tensor names in the order their data appears in the file.
    public let names: [String]
    /// The tensors by name.
    public let tensors: [String: Tensor]
    /// The header's `__metadata__` entry (empty when the file has none).
    public let metadata: [String: String]

    // MARK: - Creating

    /// Creates file contents from tensors and metadata, ordering names as ``Safetensors`` writes them
    /// (by UTF-8 bytes).
    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.init(names: Safetensors.sortedNames(tensors.keys), tensors: tensors, metadata: metadata)
    }

    /// Creates file contents with names in a given order.
    /// - Precondition: `names` lists each key of `tensors` exactly once.
    init(names: [String], tensors: [String: Tensor], metadata: [String: String]) {
        precondition(names.count == tensors.count && names.allSatisfy { tensors[$0] != nil },
                     "names \(names) do not match the tensors")
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: - Accessing

    /// The tensor named `name`, or `nil`.
    public subscript(name: String) -> Tensor? { tensors[name] }

    /// The tensors in file order, paired with their names.
    public var orderedTensors: [(name: String, tensor: Tensor)] {
        names.map { ($0, tensors[$0]!) }
    }
}
