import CGraphJITRuntime
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// `rt->sgemm_t` (AᵀB, ABᵀ, AᵀBᵀ) through the runtime table, on the path this process uses (every path:
/// runtime-c/tests, run by CI), against a Double reference. Tolerance: 1e-5 · Σ|a||b| + 1e-6 per element.
@Suite("Transposed GEMM through the runtime table")
struct TransposedGEMMTests {
    @Test("all four transpose combinations, odd shapes, bias and accumulate", )
    func transposed() throws {
        let path = RuntimeSettings.cpuPath  // the path this process uses; every path: runtime-c/tests (run by CI)
        let runtime = gj_runtime_get()!.pointee
        var generator = SeededGenerator(seed: 21)
        for (m, n, k) in [(1, 1, 1), (17, 33, 65), (64, 5, 300), (3, 128, 7)] {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = (0..<(m * k)).map { _ in generator.uniform(-1, 1) }
                let b = (0..<(k * n)).map { _ in generator.uniform(-1, 1) }
                let bias = (0..<n).map { Float($0) * 0.01 }
                var c = [Float](repeating: 0.5, count: m * n)
                let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in bias.withUnsafeBufferPointer { bias in
                    c.withUnsafeMutableBufferPointer { c in
                        runtime.sgemm_t(transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k),
                                        a.baseAddress, Int32(lda), b.baseAddress, Int32(ldb), c.baseAddress, Int32(n),
                                        bias.baseAddress, Int32(GJ_ACT_LINEAR), 1)
                    }
                } } }
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.5 + Double(bias[j]), magnitude = 0.0
                        for p in 0..<k {
                            let x = Double(transposeA ? a[p * m + i] : a[i * k + p])
                            let y = Double(transposeB ? b[j * k + p] : b[p * n + j])
                            sum += x * y
                            magnitude += abs(x * y)
                        }
                        #expect(abs(Double(c[i * n + j]) - sum) <= 1e-5 * magnitude + 1e-6,
                                "\(path) \(m)x\(n)x\(k) tA=\(transposeA) tB=\(transposeB) at (\(i), \(j))")
                    }
                }
            }
        }
    }
}
