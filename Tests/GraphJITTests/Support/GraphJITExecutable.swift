import Foundation
import Synchronization
import Testing

/// The `graphjit` executable built beside the test bundle, run as a user runs it.
enum GraphJITExecutable {
    /// Runs `graphjit arguments` (with `environment` added to the test's): its exit status,
    /// standard output and standard error.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, output: String, error: String) {
        let folder = URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appending(path: "graphjit") }
        let executable = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                                      "graphjit is not built next to the tests (\(folder.path))")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Drain both pipes at once: a child blocked on a full pipe would never exit.
        let errorData = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            done.signal()
        }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData.withLock { $0 }, as: UTF8.self))
    }
}
