// libFuzzer target: bytes -> a model spec -> `Sequential`/`Model`, `summary()`, `makeGraph`, and for small models `predict` on the reference and the JIT (tcc), which must agree.
// Build and run: .ci/fuzz.sh (see Fuzz/README.md).
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    FuzzEntry.initialize(fuzzer: "FuzzModelSpec")
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafeRawPointer?, _ count: Int) -> Int32 {
    ModelSpecFuzzer.run(FuzzEntry.bytes(data, count))
    return 0
}
