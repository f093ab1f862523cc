// Lists every public declaration of GraphJIT's library modules that has no doc comment, from the
// symbol graphs `swift package dump-symbol-graph --minimum-access-level public` wrote; exits 1 if
// there is any. Run by .ci/check-docs.sh:   swift .ci/doc-coverage.swift SYMBOLGRAPH_DIR
import Foundation

let modules = ["GraphJIT", "GraphJITIR", "GraphJITRuntime", "GraphJITCompiler"]
guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: swift .ci/doc-coverage.swift SYMBOLGRAPH_DIR\n".utf8))
    exit(2)
}
let folder = URL(filePath: CommandLine.arguments[1], directoryHint: .isDirectory)
let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { name in
    modules.contains { name == "\($0).symbols.json" || name.hasPrefix("\($0)@") }
}
var seen = Set<String>(), missing: [String] = [], total = 0
for file in files.sorted() {
    let graph = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appending(path: file))) as! [String: Any]
    for case let symbol as [String: Any] in graph["symbols"] as? [Any] ?? [] {
        guard ["public", "open"].contains(symbol["accessLevel"] as? String),
              let location = symbol["location"] as? [String: Any], let uri = location["uri"] as? String,
              let range = uri.range(of: "/Sources/"), !uri.contains("/.build") else { continue }
        let line = ((location["position"] as? [String: Any])?["line"] as? Int ?? 0) + 1
        let place = "\(uri[range.upperBound...]):\(line)"
        guard seen.insert(place).inserted else { continue }
        total += 1
        if symbol["docComment"] == nil {
            let path = (symbol["pathComponents"] as? [String] ?? []).joined(separator: ".")
            missing.append("\(place): \(path) has no doc comment")
        }
    }
}
missing.sort()
missing.forEach { print($0) }
print("doc coverage: \(total - missing.count) of \(total) public declarations documented")
exit(missing.isEmpty ? 0 : 1)
