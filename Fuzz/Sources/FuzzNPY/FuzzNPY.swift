// libFuzzer target: bytes -> `NPY.decode` (Sources/GraphJIT/IO/NPY.swift); what decodes must round-trip.
// Build and run: .ci/fuzz.sh (see Fuzz/README.md).
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    FuzzEntry.initialize(fuzzer: "FuzzNPY")
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafeRawPointer?, _ count: Int) -> Int32 {
    ReaderFuzzers.npy(FuzzEntry.bytes(data, count))
    return 0
}
