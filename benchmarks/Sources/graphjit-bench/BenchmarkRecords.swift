/// The JSON written for the peer scripts and the report (see benchmarks/peers/report.py).
struct BenchmarkFile: Codable {
    var machine: MachineRecord
    var results: [ResultRecord] = []
    var floors: [FloorRecord] = []
    var compile: [CompileRecord] = []
    var memory: [MemoryRecord] = []
    var kernels: [KernelRecord] = []
    var quantization: [QuantizationRecord] = []
    /// Compression beyond Keras's (Conv2D and LSTM kernels too): accuracy, and latency per batch
    /// (`results` keeps to the variants the peer report compares).
    var beyond_keras: [QuantizationRecord] = []
    var beyond_keras_latency: [BeyondKerasLatency] = []
}

/// One beyond-Keras variant's latency at one batch size (optimizing tier).
struct BeyondKerasLatency: Codable {
    let model: String
    let mode: String
    let batch: Int
    let median_ms: Double
    let max_abs_diff_vs_fp32: Double
}

struct MachineRecord: Codable {
    let cpu: String
    let cpu_path: String
    let threads: Int
    let peak_gflops_1core: Double
    let peak_gflops_2cores: Double?
    let l3_bandwidth_gbs_1thread: Double
    let l3_bandwidth_gbs_2threads: Double
}

struct ResultRecord: Codable {
    let model: String
    let batch: Int
    let engine: String
    let variant: String
    let median_ms: Double
    let p10_ms: Double
    let p90_ms: Double
    let samples_per_s: Double
    let gflops: Double
    let flops_per_sample: Double
    let notes: String
}

struct FloorRecord: Codable {
    let model: String
    let batch: Int
    let weight_bytes: Int
    let floor_ms_1thread: Double
    let floor_ms_2threads: Double
}

struct CompileRecord: Codable {
    let model: String
    let instant_ms: Double
    let optimized_cold_ms: Double
    let optimized_cached_ms: Double
    let kernels: Int
}

struct MemoryRecord: Codable {
    let model: String
    let peak_rss_bytes: Int
    let weight_bytes: Int
    let largest_live_activation_bytes: Int
    let budget_bytes: Int
}

struct KernelRecord: Codable {
    let model: String
    let batch: Int
    let kernel: String
    let layers: String
    let backend: String
    let threads: Int
    let median_ms: Double
    let gflops: Double
    let share_of_peak: Double
}

/// A compressed variant's accuracy against the float32 model on seeded inputs, and its weight bytes.
struct QuantizationRecord: Codable {
    let model: String
    let mode: String
    let weight_bytes_fp32: Int
    let weight_bytes: Int
    let max_abs_diff_vs_fp32: Double
    /// One fraction per model output: rows whose largest value is in the same place.
    let top1_agreement: [Double]
    let samples: Int
}
