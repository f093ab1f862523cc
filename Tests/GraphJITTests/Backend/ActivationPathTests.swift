import CGraphJITRuntime
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// Every activation of the one table, computed by the runtime on the path this process uses (its
/// vector routine, or the scalar fallback where a path has none) and by GEMM epilogues, against
/// the Swift reference formula. Tolerance: 2e-6 absolute + 2e-6 relative (the vector exp/tanh
/// approximations are accurate to a few ulps).
@Suite("Activations on the runtime path in use")
struct ActivationPathTests {
    @Test("rt->activate and the sgemm epilogue agree with the reference table")
    func everyActivation() {
        let path = RuntimeSettings.cpuPath  // the path this process uses; every path: runtime-c/tests (run by CI)
        let runtime = gj_runtime_get()!.pointee
        let inputs = (0..<203).map { Float($0 - 101) * 0.06 }  // -6.06 ... 6.06, odd length for the tails
        for function in ElementwiseActivation.allCases {
            var values = inputs
            values.withUnsafeMutableBufferPointer { runtime.activate($0.baseAddress, $0.count, function.definition.runtimeValue) }
            // The same activation as a GEMM epilogue: C[203 x 1] = x[203 x 1] · [1].
            var product = [Float](repeating: 0, count: inputs.count)
            let one: [Float] = [1]
            inputs.withUnsafeBufferPointer { a in one.withUnsafeBufferPointer { b in product.withUnsafeMutableBufferPointer { c in
                runtime.sgemm(Int32(inputs.count), 1, 1, a.baseAddress, 1, b.baseAddress, 1, c.baseAddress, 1, nil,
                              function.definition.runtimeValue, 0)
            } } }
            for (index, x) in inputs.enumerated() {
                let expected = function(x)
                let bound = 2e-6 + 2e-6 * abs(expected)
                #expect(abs(values[index] - expected) <= bound, "\(path) \(function)(\(x)) = \(values[index]), expected \(expected)")
                #expect(abs(product[index] - expected) <= bound, "\(path) epilogue \(function)(\(x)) = \(product[index])")
            }
        }
    }
}
