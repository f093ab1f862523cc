import GraphJITIR
import CGraphJITRuntime

/// Process-wide settings and measurements of the C runtime that generated kernels call.
public enum RuntimeSettings {
    /// Worker threads large GEMMs split over (1 = the calling thread only).
    public static var threads: Int {
        get { Int(gj_runtime_threads()) }
        set { gj_runtime_set_threads(Int32(newValue)) }
    }

    /// The most workers a parallel kernel can use (online CPUs at start-up); per-worker scratch is
    /// sized for this many.
    public static var maxWorkers: Int { Int(gj_runtime_get()!.pointee.max_workers()) }

    /// The GEMM path chosen for this CPU: `avx512`, `avx2` or `portable`.
    public static var cpuPath: String { String(cString: gj_runtime_cpu_path()) }

    /// Forces a GEMM path (for tests); returns `false` when this CPU lacks it. Compile models again
    /// afterwards: packed weights depend on the path.
    @discardableResult
    public static func forcePath(_ name: String) -> Bool { gj_runtime_force_path(name) != 0 }

    /// One core's FP32 FMA peak in GFLOP/s, measured by an unrolled FMA loop (about 50 ms).
    public static func measurePeakGFLOPS() -> Double { gj_measure_peak_gflops() }

    /// Read bandwidth in GB/s streaming `bytes` bytes with `threads` threads.
    public static func measureReadBandwidth(bytes: Int, threads: Int) -> Double {
        gj_measure_read_bandwidth(bytes, Int32(threads))
    }
}
