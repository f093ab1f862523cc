// Uses GraphJIT as a dependent package would: builds a tiny model, predicts, checks the result.
// Exits 0 when every check holds, 1 otherwise.
import Foundation
import GraphJIT

var failures = 0

@MainActor
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        failures += 1
        FileHandle.standardError.write(Data("FAIL: \(message())\n".utf8))
    }
}

/// Checks that `output` is a batch of 2 probability rows of 3 and prints it.
@MainActor
func checkSoftmaxRows(_ output: Tensor, _ label: String) {
    check(output.shape == [2, 3], "\(label): output shape \(output.shape), expected [2, 3]")
    guard output.shape == [2, 3] else { return }
    for row in 0..<2 {
        let values = output.scalars[(row * 3)..<(row * 3 + 3)]
        let sum = values.reduce(0, +)
        check(values.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 },
              "\(label): row \(row) is not a probability vector: \(Array(values))")
        check(abs(sum - 1) <= 1e-5, "\(label): row \(row) sums to \(sum), expected 1")
    }
    print("\(label): \(output.scalars)")
}

let model = Sequential(inputShape: [4]) {
    Dense(units: 3, activation: .softmax)
}
let batch = try Tensor(shape: [2, 4], scalars: [
    0.5, -1.0, 2.0, 0.25,
    -0.75, 1.5, 0.0, -2.0,
])

do {
    // The pure-Swift reference interpreter is the oracle.
    let reference = try model.predict(batch, engine: .reference)
    checkSoftmaxRows(reference, "reference")

    // The instant tier: libtcc, linked into this binary, calling the C runtime.
    let instant = try model.predict(batch, engine: .jit(tier: .instant))
    checkSoftmaxRows(instant, "jit(instant)")
    if instant.shape == reference.shape {
        let worst = zip(instant.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
        check(worst <= 1e-5, "jit(instant) and reference differ by \(worst)")
    }

    // The default engine, as `model.predict(x)` runs it: instant kernels first, clang's in the
    // background. Wait for those (so that nothing runs on after exit) and predict with them too.
    checkSoftmaxRows(try model.predict(batch), "jit (default)")
    let compiled = try model.compiled(batchSize: 2)
    let backend = compiled.waitForOptimizedTier()
    checkSoftmaxRows(try compiled.predict([batch])[0], "jit (default, \(backend) kernels)")
    if let error = compiled.compileReport.optimizationError {
        print("note: the optimizing tier did not run (\(error)); the instant tier's kernels were used")
    }
} catch {
    failures += 1
    FileHandle.standardError.write(Data("FAIL: predict threw: \(error)\n".utf8))
}

if failures == 0 {
    print("DependentCheck: OK (GraphJIT runtime path \(RuntimeSettings.cpuPath))")
    exit(0)
} else {
    print("DependentCheck: \(failures) check(s) failed")
    exit(1)
}
