import GraphJITIR

extension GraphBuilder {
    /// `x[..., K]` times the layer's `kernel` parameter, stored as `quantization` says: a float
    /// matmul, Keras's int8 matmul (with the layer's `kernel_scale` parameter, one per output
    /// channel) or the bf16 one. The one place a layer's compressed kernel is declared, for every
    /// layer that can be quantized.
    mutating func kernelProduct(_ x: ValueID, kernel: ValueID, quantization: QuantizationMode?) throws -> ValueID {
        switch quantization {
        case nil:
            return try apply(.matmul, [x, kernel])
        case .int8:
            let scale = try parameter("kernel_scale", shape: [shape(of: kernel).last!], initializer: .ones)
            return try apply(Operation(Int8MatMulOp()), [x, kernel, scale])
        case .bf16:
            return try apply(Operation(Bf16MatMulOp()), [x, kernel])
        }
    }
}
