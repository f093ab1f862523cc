import GraphJIT
import GraphJITRuntime

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

    /// The `gj_runtime` struct as generated kernels declare it (the same layout as
    /// graphjit_runtime.h); kernels compiled with `-nostdlib` include no headers.
    static let runtimeStructSource = """
        typedef struct gj_runtime {
            int abi_version;
            void (*sgemm)(int, int, int, const float *, int, const float *, int, float *, int,
                          const float *, int, int);
            unsigned long (*packed_b_floats)(int, int);
            void (*pack_b)(int, int, const float *, int, float *);
            void (*sgemm_packed)(int, int, int, const float *, int, const float *, float *, int,
                                 const float *, int, int);
            void (*im2col_nhwc)(const float *, int, int, int, int, int, int, int, int, int, int, int,
                                float *);
            void (*maxpool_nhwc)(const float *, int, int, int, int, int, int, int, int, int, int, int,
                                 float *);
            void (*activate)(float *x, long n, int activation);
            void (*softmax_rows)(float *x, long rows, int n);
            void (*lstm_cell)(int, int, const float *, int, float *, int, float *, int, int, int);
            float (*expf)(float);
            float (*tanhf)(float);
        } gj_runtime;
        """
}
