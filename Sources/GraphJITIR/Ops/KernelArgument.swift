/// One entry of a kernel's `buffers` array, resolved to an address when the execution plan is built.
public enum KernelArgument: Equatable, Hashable, Sendable {
    /// A graph value: an input or an activation (read, or written when it is the kernel's output).
    case value(ValueID)
    /// A parameter in one of its derived formats.
    case weight(WeightFormat)
    /// Scratch memory for this kernel only (`floats` floats, 64-byte aligned), reused after it.
    case scratch(floats: Int, label: String)
}

/// How a kernel reads a parameter: a format derived from the stored tensors, recomputed when they
/// change (see `WeightStorage`).
public enum WeightFormat: Equatable, Hashable, Sendable {
    /// The parameter as stored.
    case raw(ValueID)
    /// `[K, N]` parameters (several concatenated along N for sibling GEMMs), packed once for
    /// `rt->sgemm_packed` (layout private to the runtime).
    case packed([ValueID])
    /// Rank-1 parameters (biases) end to end.
    case concatenated([ValueID])
    /// A `[K, N]` kernel of integers in [-127, 127] (a Keras int8 kernel) as int8 bytes, packed
    /// once for `rt->dense_int8` (`rt->pack_int8_kernel`'s layout).
    case int8(ValueID)
    /// A `[K, N]` kernel of bfloat16 values (kept as floats) as 16-bit words, packed once for
    /// `rt->dense_bf16` (`rt->pack_bf16_kernel`'s layout).
    case bf16(ValueID)

    /// The parameters the format is derived from.
    public var sources: [ValueID] {
        switch self {
        case let .raw(id), let .int8(id), let .bf16(id): [id]
        case let .packed(ids), let .concatenated(ids): ids
        }
    }
}
