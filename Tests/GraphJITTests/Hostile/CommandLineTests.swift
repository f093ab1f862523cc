import Foundation
import Testing

/// The `graphjit` executable against the command lines a hostile-input run tried: each fails with
/// a one-line error that says what is wrong, never a trap, a raw Foundation error or 98 GB.
@Suite("Hostile inputs: the command line")
struct CommandLineTests {
    /// The `graphjit` built beside the test bundle, run with `arguments`: exit status and stderr.
    private static func run(_ arguments: [String]) throws -> (status: Int32, error: String) {
        let folder = URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appending(path: "graphjit") }
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            Issue.record("graphjit is not built next to the tests (\(folder.path))")
            return (0, "")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("command lines and the one-line error each gives", arguments: [
        (["check", "--model", "cnn", "--batch-size", "-5"], "--batch-size must be at least 1, got -5"),
        (["check", "--model", "cnn", "--batch-size", "2000000"], "more than the memory budget"),
        (["dump", "--model", "cnn", "--batch-size", "4611686018427387904"], "beyond any machine's memory"),
        (["run", "--model", "cnn", "--input", "/nonexistent.npy", "--output", "/tmp/x.npy"],
         "cannot read /nonexistent.npy: No such file or directory"),
        (["run", "--model", "cnn", "--input", "/dev/zero", "--output", "/tmp/x.npy"], "endless device"),
    ])
    func errors(_ arguments: [String], _ expected: String) throws {
        let (status, error) = try Self.run(arguments)
        #expect(status != 0)
        #expect(status < 128, "killed by a signal")
        #expect(error.contains(expected), "\(error)")
        #expect(!error.contains("NSCocoaErrorDomain"))
    }
}
