import Foundation

/// What every fuzzer's `LLVMFuzzerInitialize` does.
public enum FuzzEntry {
    /// With `GRAPHJIT_FUZZ_WRITE_SEEDS=<dir>` in the environment, writes the fuzzer's seed corpus
    /// to `<dir>` and exits; otherwise returns and fuzzing starts.
    /// With `GRAPHJIT_FUZZ_WRITE_CRASHES=<dir>` (FuzzModelSpec), writes the crash reproducers of
    /// ``CrashReproducers`` to `<dir>` and exits.
    public static func initialize(fuzzer: String) {
        if fuzzer == "FuzzModelSpec", let directory = ProcessInfo.processInfo.environment["GRAPHJIT_FUZZ_WRITE_CRASHES"],
           !directory.isEmpty {
            do {
                try CrashReproducers.write(to: URL(fileURLWithPath: directory))
                exit(0)
            } catch {
                FileHandle.standardError.write(Data("cannot write the crash reproducers: \(error)\n".utf8))
                exit(1)
            }
        }
        guard let directory = ProcessInfo.processInfo.environment["GRAPHJIT_FUZZ_WRITE_SEEDS"], !directory.isEmpty else {
            return
        }
        do {
            try SeedCorpus.write(fuzzer: fuzzer, to: URL(fileURLWithPath: directory))
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write the seeds of \(fuzzer): \(error)\n".utf8))
            exit(1)
        }
    }

    /// The fuzzer's input as an array (empty for a null pointer).
    public static func bytes(_ data: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
        guard let data, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: count))
    }
}
