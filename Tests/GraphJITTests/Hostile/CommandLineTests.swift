import Foundation
import Testing

/// The `graphjit` executable against the command lines a hostile-input run tried: each fails with
/// a one-line error that says what is wrong, never a trap, a raw Foundation error or 98 GB.
@Suite("Hostile inputs: the command line")
struct CommandLineTests {
    @Test("command lines and the one-line error each gives", arguments: [
        (["check", "--model", "cnn", "--batch-size", "-5"], "--batch-size must be at least 1, got -5"),
        (["check", "--model", "cnn", "--batch-size", "2000000"], "more than the memory budget"),
        (["dump", "--model", "cnn", "--batch-size", "4611686018427387904"], "beyond any machine's memory"),
        (["run", "--model", "cnn", "--input", "/nonexistent.npy", "--output", "/tmp/x.npy"],
         "cannot read /nonexistent.npy: No such file or directory"),
        (["run", "--model", "cnn", "--input", "/dev/zero", "--output", "/tmp/x.npy"], "endless device"),
    ])
    func errors(_ arguments: [String], _ expected: String) throws {
        let (status, _, error) = try GraphJITExecutable.run(arguments)
        #expect(status != 0)
        #expect(status < 128, "killed by a signal")
        #expect(error.contains(expected), "\(error)")
        #expect(!error.contains("NSCocoaErrorDomain"))
    }
}
