import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
import Crypto
import Foundation

// MARK: - Cache location

extension ClangCompiler {
    /// The user cache folder for compiled kernels: `$GRAPHJIT_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/graphjit`, else `~/.cache/graphjit`.
    public static func defaultCacheDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        if let directory = environment["GRAPHJIT_CACHE_DIR"], !directory.isEmpty {
            return URL(filePath: directory, directoryHint: .isDirectory)
        }
        if let cacheHome = environment["XDG_CACHE_HOME"], !cacheHome.isEmpty {
            return URL(filePath: cacheHome, directoryHint: .isDirectory).appending(path: "graphjit")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.path
        return URL(filePath: home, directoryHint: .isDirectory).appending(path: ".cache/graphjit")
    }

    /// The readable part of a cache file name: the sanitized module name, at most 48 characters.
    static func cacheStem(for moduleName: String) -> String {
        String(CompileError.sanitizedStem(moduleName).prefix(48))
    }

    // MARK: - Cache key

    /// The SHA-256 (hex) of everything that determines the compiled object: a format tag, clang's
    /// version, the full command line, the CPU identity and the source as compiled. (The object's
    /// recorded name, `-soname`, is derived from this key, so it is covered by the tag.)
    func cacheKey(forPrefixedSource prefixedSource: String) -> String {
        var hasher = Crypto.SHA256()
        // Each field is length-prefixed so that no two different inputs hash the same byte stream.
        let fields = [
            "graphjit-clang-cache-v3",
            clangVersion,
            (flags + ["-ffile-prefix-map=<work>=.", "-o", "<out>", "<source>"] + Self.linkArguments).joined(separator: "\u{0}"),
            Self.cpuIdentity,
            prefixedSource,
        ]
        for field in fields {
            hasher.update(data: Array("\(field.utf8.count):".utf8))
            hasher.update(data: Array(field.utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The CPU's model name and feature flags from `/proc/cpuinfo` (first processor), which decide
    /// what `-march=native` generates; falls back to the architecture name.
    static let cpuIdentity: String = {
        #if arch(x86_64)
        let architecture = "x86_64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #else
        let architecture = "unknown"
        #endif
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return architecture
        }
        // x86: "model name", "flags"; AArch64: "CPU implementer"/"CPU part", "Features".
        let keys = ["model name", "flags", "CPU implementer", "CPU part", "Features"]
        var identity = [architecture]
        for key in keys {
            let line = cpuinfo.split(separator: "\n").first { line in
                line.split(separator: ":", maxSplits: 1).first?
                    .trimmingCharacters(in: .whitespaces) == key
            }
            if let line { identity.append(String(line)) }
        }
        return identity.joined(separator: "\n")
    }()
}
