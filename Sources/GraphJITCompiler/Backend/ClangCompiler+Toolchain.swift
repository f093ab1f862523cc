import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import Foundation
import Synchronization

// MARK: - Locating clang

extension ClangCompiler {
    /// Finds a clang executable, in this order:
    /// 1. `$GRAPHJIT_CLANG` (used as given, even if it does not exist, so a wrong setting is reported);
    /// 2. the `bin` directory of the Swift toolchain this process runs on (where `libswiftCore.so`
    ///    was loaded from);
    /// 3. next to `swift` on `PATH`, then `clang` on `PATH`;
    /// 4. `/opt/swift/usr/bin/clang`.
    public static func locateClang(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let configured = environment["GRAPHJIT_CLANG"], !configured.isEmpty {
            return configured
        }
        var candidates: [String] = []
        if let toolchainBin = runningToolchainBinDirectory() {
            candidates.append(toolchainBin + "/clang")
        }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        candidates += path.filter { isExecutable($0 + "/swift") }.map { $0 + "/clang" }
        candidates += path.map { $0 + "/clang" }
        candidates.append("/opt/swift/usr/bin/clang")
        return candidates.first(where: isExecutable)
    }

    /// `usr/bin` of the toolchain whose `libswiftCore.so` is mapped into this process, if any
    /// (`.../usr/lib/swift/linux/libswiftCore.so` -> `.../usr/bin`).
    private static func runningToolchainBinDirectory() -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") where line.hasSuffix("/libswiftCore.so") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let library = URL(filePath: String(line[slash...]))
            // libswiftCore.so -> linux -> swift -> lib -> usr
            let usr = library.deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            return usr.appending(path: "bin").path
        }
        return nil
    }

    private static func isExecutable(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }

    // MARK: - Version

    /// `clang --version` per executable path, read once per process.
    private static let versions = Mutex<[String: String]>([:])

    /// The output of `clang --version` for the clang at `path` (cached for the process).
    static func version(ofClangAt path: String) throws -> String {
        if let known = versions.withLock({ $0[path] }) { return known }
        let result: ProcessResult
        do {
            result = try run(path, ["--version"])
        } catch {
            throw CompileError(
                backend: .clang, moduleName: "(none)", stage: .toolchain,
                diagnostics: "cannot run \(path) --version: \(error)", source: ""
            )
        }
        guard result.status == 0, !result.output.isEmpty else {
            throw CompileError(
                backend: .clang, moduleName: "(none)", stage: .toolchain,
                diagnostics: "\(path) --version exited with status \(result.status):\n\(result.output)",
                source: ""
            )
        }
        versions.withLock { $0[path] = result.output }
        return result.output
    }

    // MARK: - Running processes

    /// Exit status and combined standard output and error of a finished process.
    struct ProcessResult: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments` to completion, capturing stdout and stderr together
    /// (one pipe, so the child can never block on a full pipe we are not reading).
    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(filePath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
