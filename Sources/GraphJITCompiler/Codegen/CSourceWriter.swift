import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// Accumulates indented C source lines.
struct CSourceWriter {
    var lines: [String] = []
    private var depth = 0

    /// Appends one line at the current indentation.
    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// Appends `header {`, the body one level deeper, and `}`.
    mutating func block(_ header: String, _ body: (inout CSourceWriter) -> Void) {
        line(header + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }

    /// Appends every line of `other`, one level of indentation per level of this writer's depth.
    mutating func append(_ other: CSourceWriter) {
        for text in other.lines { line(text) }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}
