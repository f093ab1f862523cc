@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime
import CGraphJITRuntime

/// Helpers shared by the backend tests.
enum KernelHarness {
    /// Calls `kernel` on copies of `buffers` (one C buffer per array, in order) and copies the
    /// results back, so tests can work with plain `[Float]`s.
    static func call(
        _ kernel: KernelFunction,
        on buffers: inout [[Float]],
        runtime: UnsafePointer<gj_runtime>? = nil
    ) {
        let pointers = buffers.map { buffer in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(buffer.count, 1))
            pointer.initialize(from: buffer, count: buffer.count)
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        let table: [UnsafeMutablePointer<Float>?] = pointers
        table.withUnsafeBufferPointer { kernel($0.baseAddress, runtime) }
        for index in buffers.indices {
            buffers[index] = Array(UnsafeBufferPointer(start: pointers[index], count: buffers[index].count))
        }
    }

    /// The declarations generated kernels start with (the `gj_runtime` table, the same layout as
    /// graphjit_runtime.h); kernels compiled with `-nostdlib` include no headers.
    static let runtimeStructSource = RuntimePrelude.source
}
