/// A primitive operation of the static graph: one ``OperationDefinition`` behind a value type.
///
/// Layers lower to these. The set is small on purpose; each operation is defined in one file
/// under `Ops/`, with its shape inference, kind, reference implementation, lowering and gradient.
/// Build them with the static factories (`.matmul`, `.softmax(axis:)`), which wrap a definition;
/// illegal attributes (an axis out of range) are reported by ``outputShapes(for:layer:)``.
public struct Operation: Hashable, Sendable, CustomStringConvertible {
    /// The definition: ask it anything about the operation.
    public let definition: any OperationDefinition

    /// Wraps an operation's definition.
    public init(_ definition: some OperationDefinition) { self.definition = definition }

    /// The definition as `T`, if this operation is one.
    public func `as`<T: OperationDefinition>(_ type: T.Type) -> T? { definition as? T }

    /// Whether this operation is a `T`.
    public func `is`<T: OperationDefinition>(_ type: T.Type) -> Bool { definition is T }

    /// The definition's short name, as dumps and generated C comments show it (`matmul`).
    public var mnemonic: String { definition.mnemonic }
    /// What the operation does to memory, which is what fusion decides by.
    public var kind: OperationKind { definition.kind }
    /// The definition's attributes for dumps (`axis=1`), empty when there are none.
    public var attributeDescription: String { definition.attributeDescription }
    public var description: String {
        attributeDescription.isEmpty ? mnemonic : "\(mnemonic) {\(attributeDescription)}"
    }

    /// The single output shape for the given input shapes, or a thrown ``GraphError/shapeMismatch(layer:operation:inputShapes:expected:)``
    /// naming `layer`.
    public func outputShape(for shapes: [[Int]], layer: String) throws -> [Int] {
        try outputShapes(for: shapes, layer: layer)[0]
    }

    /// Every output's shape, or a thrown ``GraphError/shapeMismatch(layer:operation:inputShapes:expected:)``
    /// naming `layer`.
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
    /// `x[..., K] · w[K, N]` (``MatMulOp``).
    public static var matmul: Operation { Operation(MatMulOp()) }
    /// An NHWC convolution over `window` (``Conv2DOp``).
    public static func conv2d(_ window: Window2D) -> Operation { Operation(Conv2DOp(window: window)) }
    /// `x[..., N] + b[N]` (``BiasAddOp``).
    public static var biasAdd: Operation { Operation(BiasAddOp()) }
    /// An elementwise activation (``ActivationOp``).
    public static func activation(_ function: ElementwiseActivation) -> Operation {
        Operation(ActivationOp(function: function))
    }
    /// Softmax over `axis`, a non-negative index (``SoftmaxOp``).
    public static func softmax(axis: Int) -> Operation { Operation(SoftmaxOp(axis: axis)) }
    /// NHWC max pooling over `window` (``MaxPool2DOp``).
    public static func maxPool2d(_ window: Window2D) -> Operation { Operation(MaxPool2DOp(window: window)) }
    /// The input's elements under `shape`, a view (``ReshapeOp``).
    public static func reshape(_ shape: [Int]) -> Operation { Operation(ReshapeOp(shape: shape)) }
    /// The inputs joined along `axis`, a non-negative index (``ConcatenateOp``).
    public static func concatenate(axis: Int) -> Operation { Operation(ConcatenateOp(axis: axis)) }
    /// The recurrent part of an LSTM layer (``LSTMOp``).
    public static func lstm(_ attributes: LSTMAttributes) -> Operation { Operation(LSTMOp(attributes: attributes)) }
    /// The sum of weights times values over `axis` (``WeightedSumOp``).
    public static func weightedSum(axis: Int) -> Operation { Operation(WeightedSumOp(axis: axis)) }
}
