import Foundation
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime
import CGraphJITRuntime
import Synchronization
import Testing

@Suite("TCC backend")
struct TCCCompilerTests {
    // MARK: - Smoke

    @Test("compiles a kernel that adds two buffers and calls it")
    func addsBuffers() throws {
        let source = """
            void add(float *const *buffers, const void *rt) {
                const float *a = buffers[0];
                const float *b = buffers[1];
                float *out = buffers[2];
                for (int i = 0; i < 5; i++) out[i] = a[i] + b[i];
            }
            """
        let module = try TCCCompiler().compile(source, moduleName: "add")
        #expect(module.backend == .tcc)
        #expect(module.diagnostics.isEmpty)
        var buffers: [[Float]] = [[1, 2, 3, 4, 5], [10, 20, 30, 40, 50], [0, 0, 0, 0, 0]]
        KernelHarness.call(try module.function(named: "add"), on: &buffers)
        #expect(buffers[2] == [11, 22, 33, 44, 55])
    }

    @Test("binds libm and libc functions under -nostdlib")
    func callsStandardSymbols() throws {
        let source = """
            float expf(float); float tanhf(float); float sqrtf(float); float fmaxf(float, float);
            double exp(double); void *memset(void *, int, unsigned long);
            void math(float *const *buffers, const void *rt) {
                float *x = buffers[0];
                float scratch[300] = {0};               /* tcc emits memset for this */
                memset(x + 4, 0, sizeof(float));
                x[0] = expf(x[0]);
                x[1] = tanhf(x[1]);
                x[2] = sqrtf(x[2]) + scratch[299];
                x[3] = fmaxf(x[3], (float)exp(0.0));
                x[5] = (float)(unsigned long long)x[5] + (float)(double)(unsigned long long)1.0;
            }
            """
        let module = try TCCCompiler().compile(source, moduleName: "math")
        var buffers: [[Float]] = [[1, 0.5, 16, -3, 7, 41.75]]
        KernelHarness.call(try module.function(named: "math"), on: &buffers)
        #expect(buffers[0] == [expf(1), tanhf(0.5), 4, 1, 0, 42])
        #expect(TCCCompiler.standardSymbolNames.contains("memcpy"))
    }

    @Test("calls rt->activate through the runtime table")
    func callsRuntimeTable() throws {
        let source = KernelHarness.runtimeStructSource + """

            void relu_in_place(float *const *buffers, const gj_runtime *rt) {
                if (rt->abi_version != \(RuntimePrelude.abiVersion)) { buffers[0][0] = -1000.0f; return; }
                rt->activate(buffers[0], 6, 1 /* GJ_ACT_RELU */);
                buffers[1][0] = rt->expf(0.0f);
            }
            """
        let module = try TCCCompiler().compile(source, moduleName: "relu_in_place")
        var buffers: [[Float]] = [[-2, -0.5, 0, 0.5, 2, -7], [0]]
        KernelHarness.call(try module.function(named: "relu_in_place"), on: &buffers, runtime: gj_runtime_get())
        #expect(buffers[0] == [0, 0, 0, 0.5, 2, 0])
        #expect(abs(buffers[1][0] - 1) <= 1e-6)
    }

    // MARK: - Errors

    @Test("a syntax error reports the kernel name, tcc's message and the offending line")
    func reportsSyntaxError() throws {
        let source = """
            void broken_kernel(float *const *buffers, const void *rt) {
                float *out = buffers[0];
                for (int i = 0; i < 4; i++)
                    out[i] = out[i] * 2.0f
            }
            """
        let error = try #require(throws: CompileError.self) {
            try TCCCompiler().compile(source, moduleName: "broken_kernel")
        }
        #expect(error.backend == .tcc)
        #expect(error.stage == .compile)
        #expect(error.moduleName == "broken_kernel")
        #expect(error.diagnostics.contains("broken_kernel.c:5: error:"))
        #expect(error.errorLine == 5)
        #expect(error.excerpt.contains("> 5 | }"))
        #expect(error.excerpt.contains("  4 |         out[i] = out[i] * 2.0f"))
        #expect(error.source == source)
        #expect(error.description.contains("tcc failed to compile module 'broken_kernel'"))
        #expect(error.description.contains("error:"))
        #expect(String(reflecting: error).contains("Full source of broken_kernel.c"))
    }

    @Test("an undefined symbol fails at relocation with a link error")
    func reportsUndefinedSymbol() throws {
        let source = """
            float gj_missing_function(float);
            void uses_missing(float *const *buffers, const void *rt) {
                buffers[0][0] = gj_missing_function(buffers[0][0]);
            }
            """
        let error = try #require(throws: CompileError.self) {
            try TCCCompiler().compile(source, moduleName: "uses_missing")
        }
        #expect(error.stage == .link)
        #expect(error.diagnostics.contains("undefined symbol 'gj_missing_function'"))
        #expect(error.errorLine == 3)
        #expect(error.excerpt.contains("> 3 |     buffers[0][0] = gj_missing_function(buffers[0][0]);"))
        #expect(error.description.contains("uses_missing"))
    }

    @Test("looking up a missing function throws a lookup error")
    func reportsMissingFunction() throws {
        let module = try TCCCompiler().compile("void present(float *const *b, const void *rt) {}", moduleName: "m")
        _ = try module.function(named: "present")
        let error = try #require(throws: CompileError.self) { try module.function(named: "absent") }
        #expect(error.stage == .lookup)
        #expect(error.diagnostics.contains("absent"))
    }

    @Test("extra symbols can be bound by the caller")
    func bindsExtraSymbols() throws {
        let table = gj_runtime_get()!
        let symbol = TCCCompiler.Symbol(name: "gj_table", address: UnsafeRawPointer(table))
        let source = """
            extern int gj_table;   /* first field of gj_runtime: abi_version */
            void read_table(float *const *buffers, const void *rt) { buffers[0][0] = (float)gj_table; }
            """
        let module = try TCCCompiler(symbols: [symbol]).compile(source, moduleName: "read_table")
        var buffers: [[Float]] = [[0]]
        KernelHarness.call(try module.function(named: "read_table"), on: &buffers)
        #expect(buffers[0] == [Float(table.pointee.abi_version)])
    }

    // MARK: - Concurrency

    @Test("compiles from 8 threads at once; every module works")
    func compilesConcurrently() throws {
        let results = ConcurrentResults()
        let group = DispatchGroup()
        for thread in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                for round in 0..<4 { results.record(Self.compileAndRun(index: thread * 4 + round)) }
            }.start()
        }
        group.wait()
        #expect(results.failures == [])
        #expect(results.successes == 32)
    }

    /// Compiles and runs a kernel unique to `index`; returns a failure message, or nil on success.
    private static func compileAndRun(index: Int) -> String? {
        let source = """
            void scale_\(index)(float *const *buffers, const void *rt) {
                for (int i = 0; i < 3; i++) buffers[0][i] = buffers[0][i] * \(index).0f + 1.0f;
            }
            """
        do {
            let module = try TCCCompiler().compile(source, moduleName: "scale_\(index)")
            var buffers: [[Float]] = [[1, 2, 3]]
            KernelHarness.call(try module.function(named: "scale_\(index)"), on: &buffers)
            let expected: [Float] = [1, 2, 3].map { $0 * Float(index) + 1 }
            return buffers[0] == expected ? nil : "scale_\(index): got \(buffers[0])"
        } catch {
            return "scale_\(index): \(error)"
        }
    }

    @Test("compile time of a small kernel is a few milliseconds")
    func compileTimeIsSmall() throws {
        let source = """
            void small(float *const *buffers, const void *rt) {
                for (int i = 0; i < 64; i++) buffers[1][i] = buffers[0][i] > 0 ? buffers[0][i] : 0;
            }
            """
        var times: [Duration] = []
        for _ in 0..<20 { times.append(try TCCCompiler().compile(source, moduleName: "small").compileTime) }
        let median = times.sorted()[times.count / 2]
        print("tcc compile time of a small kernel (median of 20): \(median)")
        #expect(median < .milliseconds(50))
    }
}

/// Outcomes collected from several threads.
private final class ConcurrentResults: Sendable {
    private let state = Mutex<(failures: [String], successes: Int)>(([], 0))

    func record(_ failure: String?) {
        state.withLock { state in
            if let failure { state.failures.append(failure) } else { state.successes += 1 }
        }
    }

    var failures: [String] { state.withLock { $0.failures } }
    var successes: Int { state.withLock { $0.successes } }
}
