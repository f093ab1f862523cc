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
let found = Set(files.map { String($0.prefix { $0 != "." && $0 != "@" }) })
guard found == Set(modules) else {
    print("doc coverage: no symbol graph for \(Set(modules).subtracting(found).sorted().joined(separator: ", "))")
    exit(1)
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
        let path = (symbol["pathComponents"] as? [String] ?? []).joined(separator: ".")
        // A declaration is its place and its path: extensions seen from two modules count once.
        guard seen.insert("\(place) \(path)").inserted else { continue }
        total += 1
        if symbol["docComment"] == nil {
            missing.append("\(place): \(path) has no doc comment")
        }
    }
}
missing.sort()
missing.forEach { print($0) }
print("doc coverage: \(total - missing.count) of \(total) public declarations documented")
exit(missing.isEmpty ? 0 : 1)
