import GraphJITIR

/// How a Keras 3 config marks a layer quantized by `model.quantize(mode)`: a
/// `QuantizedDTypePolicy` (`{"mode": "int8", "source_name": "float32"}`; older Keras 3 wrote
/// `{"name": "int8_from_float32"}`) and, from Keras 3.10 on, the layer's `quantization_config`
/// (`Int8QuantizationConfig`: the kernel's quantizer, `null` for the default per-channel abs-max,
/// and the inputs' `AbsMaxQuantizer`). Reads only what GraphJIT computes exactly: Keras's
/// default int8 scheme (``Int8MatMulOp``).
enum KerasQuantization {
    /// The mode a Dense layer's config asks for, `nil` when it is float32.
    /// - Throws: ``ModelFileError`` naming the layer and the option for another mode (int4,
    ///   float8, GPTQ), another source dtype, or quantizers other than Keras's defaults.
    static func mode(of layer: KerasLayerConfig) throws -> QuantizationMode? {
        let quantizationConfig = layer.value("quantization_config")
        guard let policy = layer.value("dtype"), policy["class_name"]?.stringValue == "QuantizedDTypePolicy" else {
            if quantizationConfig != nil {
                throw layer.unsupported("quantization_config", "it is set, but the dtype policy is not a QuantizedDTypePolicy")
            }
            return nil
        }
        let settings = policy["config"]
        let name = settings?["name"]?.stringValue
        let mode = settings?["mode"]?.stringValue ?? name?.components(separatedBy: "_from_").first
        let source = settings?["source_name"]?.stringValue ?? name?.components(separatedBy: "_from_").last
        guard mode == QuantizationMode.int8.rawValue else {
            throw layer.unsupported("dtype", "GraphJIT reads Keras's int8 quantization, not mode '\(mode ?? "?")'")
        }
        guard source == "float32" else {
            throw layer.unsupported("dtype", "the quantized layer's source dtype is '\(source ?? "?")', GraphJIT computes float32")
        }
        if let quantizationConfig {
            guard quantizationConfig["class_name"]?.stringValue == "Int8QuantizationConfig",
                  quantizationConfig["config"]?["weight_quantizer"].map({ $0.isNull || isDefault($0, axis: 0) }) ?? true,
                  let inputs = quantizationConfig["config"]?["activation_quantizer"], isDefault(inputs, axis: -1)
            else {
                throw layer.unsupported("quantization_config", "GraphJIT computes Keras's default Int8QuantizationConfig "
                                        + "(abs-max kernel per output channel, inputs per row by AbsMaxQuantizer(±127, 1e-7))")
            }
        }
        return .int8
    }

    /// Whether `quantizer` is Keras's `AbsMaxQuantizer` as `model.quantize("int8")` makes it:
    /// range ±127, epsilon 1e-7, int8 output, along `axis` if it names one.
    private static func isDefault(_ quantizer: JSON, axis: Int) -> Bool {
        guard quantizer["class_name"]?.stringValue == "AbsMaxQuantizer", let config = quantizer["config"] else { return false }
        let range = config["value_range"]?.arrayValue?.compactMap(\.doubleValue)
        let axes = config["axis"].map { $0.integerValue.map { [$0] } ?? $0.arrayValue?.compactMap(\.integerValue) ?? [] }
        return range == [-127, 127] && config["epsilon"]?.doubleValue.map { Float($0) == Float(1e-7) } == true
            && (config["output_dtype"]?.stringValue ?? "int8") == "int8" && (axes == nil || axes == [axis])
    }

    /// The `dtype` Keras 3.15 writes for a layer quantized in `mode`.
    static func dtypePolicy(_ mode: QuantizationMode) -> JSON {
        .object([("module", .string("keras.dtype_policies")), ("class_name", .string("QuantizedDTypePolicy")),
                 ("config", .object([("mode", .string(mode.rawValue)), ("source_name", .string("float32"))])),
                 ("registered_name", .null)])
    }

    /// The `quantization_config` Keras 3.15 writes for a Dense layer quantized in `mode`.
    static func quantizationConfig(_ mode: QuantizationMode) -> JSON {
        let inputs: JSON = .object([
            ("module", .string("keras.quantizers")), ("class_name", .string("AbsMaxQuantizer")),
            ("config", .object([("value_range", .array([.int(-127), .int(127)])), ("epsilon", .double(1e-7)),
                                ("output_dtype", .string("int8"))])),
            ("registered_name", .null),
        ])
        return .object([("module", .string("keras.quantizers")), ("class_name", .string("Int8QuantizationConfig")),
                        ("config", .object([("weight_quantizer", .null), ("activation_quantizer", inputs)])),
                        ("registered_name", .null)])
    }
}
