import Dispatch
import Foundation
import Synchronization
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

@Suite("CompiledModel: concurrency, compile errors, tiers, memory plan")
struct CompiledModelTests {
    /// A tiny CNN with random (non-zero-bias) weights.
    private static func tinyCNN() throws -> Model {
        let model = TutorialModel.cnn(inputShape: [10, 10, 3], seed: 1)
        try model.setParameters(randomParameters(for: model, seed: 2, scale: 0.2))
        return model
    }

    // MARK: Thread safety

    @Test("one CompiledModel called from 8 threads at once gives each caller its own input's result")
    func concurrentPerform() throws {
        let model = try Self.tinyCNN()
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        let inputs = (0..<8).map { Tensor.seededNormal([2, 10, 10, 3], seed: 100 + UInt64($0)) }
        let expected = try inputs.map { try compiled.predict([$0]) }
        // Distinct inputs give distinct outputs, so a mix-up would show.
        #expect(Set(expected.map { $0[0].scalars.map(\.bitPattern) }).count == 8)

        let calls = 8 * 12
        let results = Mutex<[[Tensor]?]>(Array(repeating: nil, count: calls))
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: calls) { call in
            do {
                let output = try compiled.predict([inputs[call % 8]])
                results.withLock { $0[call] = output }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let collected = results.withLock { $0 }
        for call in 0..<calls {
            #expect(collected[call] == expected[call % 8], "call \(call) got another input's result")
        }
    }

    @Test("concurrent callers of a model whose GEMMs are big enough to use the runtime's thread pool")
    func concurrentWithThreadedGEMM() throws {
        // 16 x 384 x 384 = 2.4M multiply-adds per Dense: over the runtime's threading threshold.
        let model = Sequential(inputShape: [384], seed: 1) {
            Dense(units: 384, activation: .relu)
            Dense(units: 384, activation: .tanh)
        }
        let compiled = try model.compiled(batchSize: 16, tier: .instant)
        let inputs = (0..<4).map { Tensor.seededNormal([16, 384], seed: 500 + UInt64($0)) }
        let expected = try inputs.map { try compiled.predict([$0]) }
        let reference = try model.predict(inputs[0], engine: .reference)
        #expect(maxAbsoluteDifference(expected[0], [reference]) <= 1e-5)

        let worst = Mutex<Float>(0)
        DispatchQueue.concurrentPerform(iterations: 24) { call in
            let difference = (try? compiled.predict([inputs[call % 4]]))
                .map { maxAbsoluteDifference($0, expected[call % 4]) } ?? .infinity
            worst.withLock { $0 = max($0, difference) }
        }
        // Threaded and inline GEMMs split the work differently but sum each element in one order.
        #expect(worst.withLock { $0 } <= 1e-6)
    }

    @Test("8 concurrent tasks, each looping over its own input, through run(inputs:outputs:)")
    func taskGroup() async throws {
        let model = try Self.tinyCNN()
        let compiled = try model.compiled(batchSize: 1, tier: .instant)
        let inputs = (0..<8).map { Tensor.seededNormal([1, 10, 10, 3], seed: 200 + UInt64($0)) }
        let expected = try inputs.map { try compiled.predict([$0])[0].scalars }

        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var wrong = 0
                    var output = [Float](repeating: .nan, count: 10)
                    for _ in 0..<10 {
                        try inputs[task].scalars.withUnsafeBufferPointer { x in
                            try output.withUnsafeMutableBufferPointer { y in
                                try compiled.run(inputs: [x], outputs: [y])
                            }
                        }
                        if output != expected[task] { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("calls keep working and stay correct while the automatic tier swaps kernels underneath")
    func concurrentDuringTierSwap() throws {
        let model = TutorialModel.lstm(timesteps: 6, features: 4, units: 5, seed: 3)
        try model.setParameters(randomParameters(for: model, seed: 4))
        let inputs = (0..<4).map { Tensor.seededNormal([3, 6, 4], seed: 300 + UInt64($0)) }
        let references = try inputs.map { try model.predict($0, engine: .reference) }
        let compiled = try CompiledModel(graph: model.makeGraph(batchSize: 3), parameters: model.parameters,
                                         tier: .automatic)
        let worst = Mutex<Float>(0)
        DispatchQueue.concurrentPerform(iterations: 64) { call in
            let difference: Float
            if let output = try? compiled.predict([inputs[call % 4]]) {
                difference = maxAbsoluteDifference(output, [references[call % 4]])
            } else {
                difference = .infinity
            }
            worst.withLock { $0 = max($0, difference) }
        }
        #expect(worst.withLock { $0 } <= 1e-5)
        #expect(compiled.waitForOptimizedTier() == .clang)
    }

    // MARK: Compile errors

    @Test("a broken kernel makes TCCCompiler throw a CompileError with the name, tcc's message and the line")
    func brokenKernelSource() throws {
        let source = """
            void k_broken(float *const *buffers, const void *rt) {
                const float *x = buffers[0];
                float *y = buffers[1];
                y[0] = x[0] * undeclared_scale;
            }
            """
        let error = #expect(throws: CompileError.self) { try TCCCompiler().compile(source, moduleName: "k_broken") }
        let compileError = try #require(error)
        #expect(compileError.backend == .tcc)
        #expect(compileError.stage == .compile)
        #expect(compileError.moduleName == "k_broken")
        #expect(compileError.errorLine == 4)
        #expect(compileError.diagnostics.contains("undeclared_scale"))
        #expect(compileError.source == source)
        let description = compileError.description
        #expect(description.contains("k_broken"))
        #expect(description.contains("k_broken.c:4"))
        #expect(description.contains(compileError.diagnostics.trimmingCharacters(in: .newlines)))
        #expect(description.contains("> 4 |     y[0] = x[0] * undeclared_scale;"), "\(description)")
        #expect(compileError.debugDescription.contains("Full source of k_broken.c"))
    }

    @Test("a corrupted generated kernel's error names that kernel and quotes the bad line")
    func corruptedGeneratedKernel() throws {
        let model = try Self.tinyCNN()
        let graph = try model.makeGraph(batchSize: 1)
        let kernel = ModelCompiler().generate(FusionPass().run(on: graph)[1], in: graph)
        #expect(kernel.name == "k1_dense")
        let badLine = try #require(kernel.source.split(separator: "\n").first { $0.contains("rt->sgemm_packed(") })
        let corrupted = kernel.source.replacingOccurrences(of: "rt->sgemm_packed(", with: "rt->sgemm_packd(")
        let source = RuntimePrelude.source + "\n" + corrupted
        // The uncorrupted kernel compiles.
        _ = try TCCCompiler().compile(RuntimePrelude.source + "\n" + kernel.source, moduleName: kernel.name)

        let error = #expect(throws: CompileError.self) { try TCCCompiler().compile(source, moduleName: kernel.name) }
        let description = error?.description ?? ""
        #expect(description.contains("k1_dense"))
        #expect(description.contains("sgemm_packd"))
        if let diagnostics = error?.diagnostics { #expect(description.contains(diagnostics.trimmingCharacters(in: .newlines))) }
        let offending = badLine.replacingOccurrences(of: "rt->sgemm_packed(", with: "rt->sgemm_packd(")
            .trimmingCharacters(in: .whitespaces)
        #expect(description.contains(offending), "\(description)")
        let lineNumber = try #require(error?.errorLine)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[lineNumber - 1].contains("sgemm_packd"))
    }

    @Test("an undefined function fails at link time and the error points at the call")
    func undefinedSymbol() throws {
        let source = """
            float mystery_function(float);
            void k_link(float *const *buffers, const void *rt) {
                buffers[1][0] = mystery_function(buffers[0][0]);
            }
            """
        let error = #expect(throws: CompileError.self) { try TCCCompiler().compile(source, moduleName: "k_link") }
        #expect(error?.stage == .link)
        #expect(error?.diagnostics.contains("mystery_function") == true)
        #expect(error?.errorLine == 3)
        #expect(error?.description.contains("k_link") == true)
        #expect(error?.description.contains("> 3 |") == true)
    }

    // MARK: Tiers

    @Test("automatic tier: waitForOptimizedTier() returns .clang, and results still match the reference")
    func automaticTier() throws {
        let model = TutorialModel.attention(timesteps: 7, features: 5, units: 4, seed: 5)
        try model.setParameters(randomParameters(for: model, seed: 6))
        let x = Tensor.seededNormal([2, 7, 5], seed: 7)
        let reference = try model.predict(x, engine: .reference)

        let compiled = try model.compiled(batchSize: 2, tier: .automatic)
        #expect(compiled.tier == .automatic)
        let early = try compiled.predict([x])  // on whichever tier is active now
        #expect(maxAbsoluteDifference(early, [reference]) <= 1e-5)

        #expect(compiled.waitForOptimizedTier() == .clang)
        #expect(compiled.activeBackend == .clang)
        let report = compiled.compileReport
        #expect(report.optimizationError == nil)
        #expect(report.instantCompileTime != nil)
        #expect(report.optimizedCompileTime != nil)
        #expect(report.optimizedCacheHit != nil)

        let late = try compiled.predict([x])
        #expect(maxAbsoluteDifference(late, [reference]) <= 1e-5)
        // The default engine is the automatic JIT, and it reuses the same compiled model.
        #expect(try model.compiled(batchSize: 2) === compiled)
        let viaModel = try model.predict(x)
        #expect(maxAbsoluteDifference([viaModel], [reference]) <= 1e-5)
    }

    @Test("automatic tier: one call never starts clang; the second call does")
    func automaticTierStartsAtSecondCall() throws {
        let model = TutorialModel.multitask(inputSize: 5, hidden: 6, seed: 9)
        let x = Tensor.seededNormal([3, 5], seed: 8)
        let compiled = try CompiledModel(graph: model.makeGraph(batchSize: 3), parameters: model.parameters, tier: .automatic)
        _ = try compiled.predict([x])
        CompiledModel.waitForBackgroundOptimizations()  // returns at once: nothing was started by this plan
        #expect(compiled.activeBackend == .tcc)
        #expect(compiled.compileReport.optimizedCompileTime == nil)
        let first = try compiled.predict([x])
        #expect(compiled.waitForOptimizedTier() == .clang)
        #expect(compiled.compileReport.optimizedCompileTime != nil)
        #expect(try compiled.predict([x]) == first || maxAbsoluteDifference(try compiled.predict([x]), first) <= 1e-6)
    }

    @Test("instant and optimized tiers report their own compiler")
    func explicitTiers() throws {
        let model = try Self.tinyCNN()
        let instant = try model.compiled(batchSize: 1, tier: .instant)
        #expect(instant.activeBackend == .tcc)
        #expect(instant.waitForOptimizedTier() == .tcc)
        #expect(instant.compileReport.instantCompileTime != nil)
        #expect(instant.compileReport.optimizedCompileTime == nil)
        let optimized = try model.compiled(batchSize: 1, tier: .optimized)
        #expect(optimized.activeBackend == .clang)
        #expect(optimized.compileReport.instantCompileTime == nil)
        #expect(optimized !== instant)
        let x = Tensor.seededNormal([1, 10, 10, 3], seed: 9)
        #expect(maxAbsoluteDifference(try instant.predict([x]), try optimized.predict([x])) <= 1e-5)
    }

    @Test("plans for several batch sizes and tiers bind each weight once, and new weights are written into them all")
    func weightsSharedAcrossPlans() throws {
        let model = TutorialModel.attention(timesteps: 5, features: 4, units: 3, seed: 1)
        try model.setParameters(randomParameters(for: model, seed: 2))
        let one = try model.compiled(batchSize: 1, tier: .instant)
        let four = try model.compiled(batchSize: 4, tier: .instant)
        let optimized = try model.compiled(batchSize: 4, tier: .optimized)
        #expect(one !== four)
        #expect(one.weights.buffers.count == four.weights.buffers.count)
        for (a, b) in zip(one.weights.buffers, four.weights.buffers) { #expect(a === b) }
        for (a, b) in zip(four.weights.buffers, optimized.weights.buffers) { #expect(a === b) }

        func check(_ seed: UInt64) throws {
            for batch in [1, 4] {
                let x = Tensor.seededNormal([batch, 5, 4], seed: seed &+ UInt64(batch))
                let reference = try model.predict(x, engine: .reference)
                for tier in [CompilationTier.instant, .optimized] {
                    let jit = try model.predict(x, engine: .jit(tier: tier))
                    #expect(Difference(jit, reference).maxAbsolute <= 1e-5, "batch \(batch), \(tier)")
                }
            }
        }
        try check(10)
        try model.setParameters(randomParameters(for: model, seed: 3))
        // The compiled plans stay; their buffers now hold the new weights (packed copies remade).
        let again = try model.compiled(batchSize: 1, tier: .instant)
        #expect(again === one)
        try check(20)
    }

    // MARK: Memory plan

    @Test("the memory plan reuses buffers: arena < unshared arena at batch 2",
          arguments: [TutorialModel.cnn, .lstm, .attention])
    func memoryReuse(_ tutorial: TutorialModel) throws {
        let model = tutorial.make()
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        let report = compiled.compileReport
        // Inputs are read in place from the caller's memory: live, but not in the arena.
        let inputBytes = compiled.graph.inputs.reduce(0) { $0 + compiled.graph[$1].shape.elementCount } * 4
        #expect(report.arenaBytes < report.unsharedArenaBytes, "\(report)")
        #expect(report.arenaBytes + inputBytes >= report.peakLiveActivationBytes, "\(report)")
        #expect(report.arenaBytes % 64 == 0)
        #expect(report.peakLiveActivationBytes > 0)
        #expect(report.weightBytes >= model.parameters.scalarCount * MemoryLayout<Float>.stride)
        #expect(report.kernelCount == FusionPass().run(on: try model.makeGraph(batchSize: 2)).count)
    }

    @Test("with shared buffers, results at batch 2 still match the reference",
          arguments: [TutorialModel.lstm, .attention, .multitask])
    func reuseStaysCorrect(_ tutorial: TutorialModel) throws {
        let model = tutorial.make(seed: 4)
        try model.setParameters(randomParameters(for: model, seed: 5, scale: 0.1))
        let inputs = try model.inputSignature().enumerated().map { index, input in
            Tensor.seededNormal([2] + input.shape, seed: 40 + UInt64(index))
        }
        let jit = try model.predict(inputs, engine: .jit(tier: .instant))
        let reference = try model.predict(inputs, engine: .reference)
        #expect(maxAbsoluteDifference(jit, reference) <= 1e-5)
    }

    @Test("the CNN plan at batch 2 on a smaller image: reused buffers, correct results")
    func cnnReuseCorrect() throws {
        let model = TutorialModel.cnn(inputShape: [20, 20, 3], seed: 3)
        try model.setParameters(randomParameters(for: model, seed: 4, scale: 0.1))
        let x = Tensor.seededNormal([2, 20, 20, 3], seed: 5)
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        #expect(compiled.compileReport.arenaBytes < compiled.compileReport.unsharedArenaBytes)
        let jit = try compiled.predict([x])
        let reference = try model.predict([x], engine: .reference)
        #expect(maxAbsoluteDifference(jit, reference) <= 1e-5)
    }

    @Test("run(inputs:outputs:) writes the same values predict returns, for every output")
    func runIntoCallerBuffers() throws {
        let model = TutorialModel.multitask(inputSize: 6, seed: 2)
        try model.setParameters(randomParameters(for: model, seed: 3))
        let compiled = try model.compiled(batchSize: 2, tier: .instant)
        let x = Tensor.seededNormal([2, 6], seed: 4)
        let predicted = try compiled.predict([x])
        var first = [Float](repeating: .nan, count: 20)
        var second = [Float](repeating: .nan, count: 10)
        try x.scalars.withUnsafeBufferPointer { input in
            try first.withUnsafeMutableBufferPointer { a in
                try second.withUnsafeMutableBufferPointer { b in
                    try compiled.run(inputs: [input], outputs: [a, b])
                }
            }
        }
        #expect(first == predicted[0].scalars)
        #expect(second == predicted[1].scalars)
    }
}
