// libFuzzer target: bytes -> `Model.load(data:)` (Sources/GraphJIT/KerasFiles/): a whole `.keras`
// zip, or a mutated config.json or model.weights.h5 inside an otherwise valid zip.
// Build and run: .ci/fuzz.sh (see Fuzz/README.md).
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    FuzzEntry.initialize(fuzzer: "FuzzKerasFile")
    KerasFileFuzzer.prepare()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafeRawPointer?, _ count: Int) -> Int32 {
    KerasFileFuzzer.load(FuzzEntry.bytes(data, count))
    return 0
}
