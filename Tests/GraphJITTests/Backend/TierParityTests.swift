import Foundation
import GraphJIT
import Testing

@Suite("tcc and clang tiers agree")
struct TierParityTests {
    /// A small dense layer with a sigmoid (a dot-product loop: FMA contraction may differ by an ulp)
    /// and an elementwise ReLU-and-scale (no rounding differences possible: compared bit for bit).
    private static let source = """
        float expf(float);
        enum { IN = 16, OUT = 8 };

        void dense_sigmoid(float *const *buffers, const void *rt) {
            const float *x = buffers[0], *w = buffers[1], *bias = buffers[2];
            float *y = buffers[3];
            for (int o = 0; o < OUT; o++) {
                float acc = bias[o];
                for (int i = 0; i < IN; i++) acc += x[i] * w[i * OUT + o];
                y[o] = 1.0f / (1.0f + expf(-acc));
            }
        }

        void relu_scale(float *const *buffers, const void *rt) {
            const float *x = buffers[0];
            float *y = buffers[1];
            for (int i = 0; i < IN; i++) y[i] = (x[i] > 0.0f ? x[i] : 0.0f) * 0.5f;
        }
        """

    private static func dense(_ module: any CompiledCModule, _ x: [Float], _ w: [Float], _ b: [Float]) throws -> [Float] {
        var buffers = [x, w, b, [Float](repeating: 0, count: 8)]
        KernelHarness.call(try module.function(named: "dense_sigmoid"), on: &buffers)
        return buffers[3]
    }

    @Test("same source, same results within tolerance (bit-equal where no rounding differs)")
    func tiersAgree() throws {
        // Deterministic, irregular inputs in [-1, 1].
        let x = (0..<16).map { Float(Foundation.sin(Double($0) * 1.37 + 0.2)) }
        let w = (0..<128).map { Float(Foundation.cos(Double($0) * 0.71 - 0.4)) }
        let b = (0..<8).map { Float(Foundation.sin(Double($0) * 2.3)) * 0.5 }

        let cache = FileManager.default.temporaryDirectory.appending(path: "graphjit-parity-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let tcc = try TCCCompiler().compile(Self.source, moduleName: "parity")
        let clang = try ClangCompiler(cacheDirectory: cache).compile(Self.source, moduleName: "parity")

        // Double-precision reference.
        let reference: [Double] = (0..<8).map { o in
            let acc = (0..<16).reduce(Double(b[o])) { $0 + Double(x[$1]) * Double(w[$1 * 8 + o]) }
            return 1 / (1 + Foundation.exp(-acc))
        }
        let fromTCC = try Self.dense(tcc, x, w, b)
        let fromClang = try Self.dense(clang, x, w, b)
        for o in 0..<8 {
            #expect(abs(fromTCC[o] - fromClang[o]) <= 1e-5 + 1e-4 * abs(fromClang[o]))
            #expect(abs(Double(fromTCC[o]) - reference[o]) <= 1e-5)
            #expect(abs(Double(fromClang[o]) - reference[o]) <= 1e-5)
        }

        var tccBuffers = [x, [Float](repeating: 0, count: 16)]
        var clangBuffers = tccBuffers
        KernelHarness.call(try tcc.function(named: "relu_scale"), on: &tccBuffers)
        KernelHarness.call(try clang.function(named: "relu_scale"), on: &clangBuffers)
        #expect(tccBuffers[1] == clangBuffers[1])
        #expect(tccBuffers[1] == x.map { max($0, 0) * 0.5 })
    }
}
