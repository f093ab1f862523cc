/// A primitive operation of the static graph: one ``OperationDefinition`` behind a value type.
///
/// Layers lower to these. The set is small on purpose; each operation is defined in one file
/// under `Ops/`, with its shape inference, kind, reference implementation, lowering and gradient.
/// Build them with the static factories (`.matmul`, `.softmax(axis:)`), which validate attributes.
public struct Operation: Hashable, Sendable, CustomStringConvertible {
    /// The definition: ask it anything about the operation.
    public let definition: any OperationDefinition

    public init(_ definition: some OperationDefinition) { self.definition = definition }

    /// The definition as `T`, if this operation is one.
    public func `as`<T: OperationDefinition>(_ type: T.Type) -> T? { definition as? T }

    /// Whether this operation is a `T`.
    public func `is`<T: OperationDefinition>(_ type: T.Type) -> Bool { definition is T }

    public var mnemonic: String { definition.mnemonic }
    public var kind: OperationKind { definition.kind }
    public var attributeDescription: String { definition.attributeDescription }
    public var description: String {
        attributeDescription.isEmpty ? mnemonic : "\(mnemonic) {\(attributeDescription)}"
    }

    /// The single output shape for the given input shapes, or a thrown ``GraphError/shapeMismatch``
    /// naming `layer`.
    public func outputShape(for shapes: [[Int]], layer: String) throws -> [Int] {
        try outputShapes(for: shapes, layer: layer)[0]
    }

    /// Every output's shape, or a thrown ``GraphError/shapeMismatch`` naming `layer`.
    public func outputShapes(for shapes: [[Int]], layer: String) throws -> [[Int]] {
        do {
            return try definition.outputShapes(for: shapes)
        } catch {
            throw GraphError.shapeMismatch(layer: layer, operation: mnemonic, inputShapes: shapes,
                                           expected: error.expected)
        }
    }

    public static func == (lhs: Operation, rhs: Operation) -> Bool {
        AnyHashable(lhs.definition) == AnyHashable(rhs.definition)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(AnyHashable(definition)) }
}

// MARK: - Factories

extension Operation {
    public static var matmul: Operation { Operation(MatMulOp()) }
    public static func conv2d(_ window: Window2D) -> Operation { Operation(Conv2DOp(window: window)) }
    public static var biasAdd: Operation { Operation(BiasAddOp()) }
    public static func activation(_ function: ElementwiseActivation) -> Operation {
        Operation(ActivationOp(function: function))
    }
    public static func softmax(axis: Int) -> Operation { Operation(SoftmaxOp(axis: axis)) }
    public static func maxPool2d(_ window: Window2D) -> Operation { Operation(MaxPool2DOp(window: window)) }
    public static func reshape(_ shape: [Int]) -> Operation { Operation(ReshapeOp(shape: shape)) }
    public static func concatenate(axis: Int) -> Operation { Operation(ConcatenateOp(axis: axis)) }
    public static func lstm(_ attributes: LSTMAttributes) -> Operation { Operation(LSTMOp(attributes: attributes)) }
    public static func weightedSum(axis: Int) -> Operation { Operation(WeightedSumOp(axis: axis)) }
}
