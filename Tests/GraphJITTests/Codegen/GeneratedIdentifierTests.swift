import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime

/// User-chosen names (Keras allows any name without '/') reach the generated C as identifiers and
/// comments; no name may break the C or change what it computes.
///
/// These tests never run a kernel whose source looks broken (a self-referencing declaration or a
/// compiler warning could mean a wild pointer), so a regression fails the test instead of crashing
/// the test process.
@Suite("Generated C survives any user-chosen name")
struct GeneratedIdentifierTests {
    /// A small CNN whose input is named `inputName` and whose first Dense layer is named `denseName`.
    private static func model(inputName: String? = nil, denseName: String? = nil) -> Model {
        let input = Input(shape: [6, 6, 2], name: inputName)
        let features = Flatten()(MaxPooling2D()(Conv2D(filters: 3, kernelSize: [3, 3], activation: .relu)(input)))
        let output = Dense(units: 4, activation: .softmax, name: denseName)(features)
        return Model(inputs: [input], outputs: [output], seed: 1)
    }

    /// Checks the generated module compiles cleanly with tcc, then that the JIT agrees with the
    /// reference; records an issue and stops at the first problem.
    private static func checkCompilesAndRuns(_ model: Model, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try model.setParameters(randomParameters(for: model, seed: 3, scale: 0.3))
        let graph = try model.makeGraph(batchSize: 2)
        let module = ModelCompiler().generate(graph)

        // 1. No declaration initializes a variable from itself (C scopes a name from its declarator on).
        for line in module.source.split(separator: "\n") {
            if let match = line.firstMatch(of: /\*const\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\b/),
               match.1 == match.2 {
                Issue.record("self-referencing declaration in the generated C: \(line.trimmingCharacters(in: .whitespaces))",
                             sourceLocation: sourceLocation)
                return
            }
        }
        // 2. tcc compiles it without errors or warnings.
        let compiled: TCCModule
        do {
            compiled = try TCCCompiler().compile(module.source, moduleName: module.name)
        } catch {
            Issue.record("the generated C does not compile: \(error)", sourceLocation: sourceLocation)
            return
        }
        guard compiled.diagnostics.isEmpty else {
            Issue.record("tcc warns about the generated C: \(compiled.diagnostics)", sourceLocation: sourceLocation)
            return
        }
        // 3. Only now is it safe to run: the JIT must agree with the reference.
        let x = Tensor.seededNormal([2, 6, 6, 2], seed: 4)
        let jit = try model.predict(x, engine: .jit(tier: .instant))
        let reference = try model.predict(x, engine: .reference)
        #expect(Difference(jit, reference).maxAbsolute <= 1e-5, sourceLocation: sourceLocation)
    }

    @Test("ordinary names work", arguments: ["input_layer", "pixels", "x", "result", "columns", "Ünïcode name"])
    func ordinaryInputNames(_ name: String) throws {
        try Self.checkCompilesAndRuns(Self.model(inputName: name))
    }

    /// BUG: a model input's name is used verbatim as a C identifier in every kernel that reads the
    /// input (`KernelCodeGenerator.swift`, `bind(_:)`, the `.input` role). Names that are C keywords,
    /// start with a digit, or equal an identifier the kernel already uses (`rt`, `buffers`, the shape
    /// constants `H`/`BATCH`, the loop variable `b`, the per-image pointer `image`) break the kernel:
    /// some fail to compile, and `image`/`b`/`BATCH` compile into wrong code (`image` gives NaNs).
    @Test("input names that collide with C keywords or the kernel's own identifiers",
          arguments: ["image", "b", "BATCH", "H", "rt", "buffers", "float", "int", "1st_input"])
    func collidingInputNames(_ name: String) throws {
        try Self.checkCompilesAndRuns(Self.model(inputName: name))
    }

    /// BUG: the same for a layer name that starts with a digit: its weights are declared as
    /// `<layer>_kernel_packed`, which is not a C identifier.
    @Test("a layer name starting with a digit", arguments: ["2nd_dense", "9"])
    func layerNameWithLeadingDigit(_ name: String) throws {
        try Self.checkCompilesAndRuns(Self.model(denseName: name))
    }

    @Test("layer names with spaces, dashes, dots and non-ASCII letters", arguments: ["my dense", "dense-1", "block.dense", "плотный"])
    func sanitizedLayerNames(_ name: String) throws {
        try Self.checkCompilesAndRuns(Self.model(denseName: name))
    }

    /// BUG: layer names are pasted into `/* ... */` comments (the kernel header written by
    /// `KernelEmitter.finish()`, and per-statement comments), so a name containing `*/` ends the
    /// comment early and the module fails to compile with a tcc error. Keras forbids '/' in names;
    /// GraphJIT should either reject such a name up front with a GraphError or keep it out of the
    /// comment's way.
    @Test("a layer name containing '*/' is rejected up front or compiles")
    func commentTerminatorInLayerName() throws {
        let model = Self.model(denseName: "dense*/oops")
        do {
            _ = try model.makeGraph()
        } catch is GraphError {
            return  // rejected with a clear error: fine
        }
        try Self.checkCompilesAndRuns(model)
    }

    /// Found by a hostile-input run: the '/' check worked on Characters, so "*/\u{301}" passed it
    /// while its UTF-8 holds "*/", which closed the comment and let tcc compile the rest. Names
    /// are now checked and escaped byte by byte.
    @Test("a '/' hidden in a combined character is rejected", arguments: ["*/\u{301} TOKEN", "a/\u{308}b"])
    func slashInCombinedCharacter(_ name: String) throws {
        #expect(throws: GraphError.self) { try Self.model(denseName: name).makeGraph() }
        #expect(throws: GraphError.self) { try Self.model(inputName: name).makeGraph() }
    }

    @Test("bytes that could end a comment, a line or the source are escaped in the C",
          arguments: ["a\u{0}b", "star*", "back\\slash\\", "line\nbreak #include <x>", "tab\tand\rreturn", "é\u{301}*"])
    func escapedBytes(_ name: String) throws {
        let model = Self.model(denseName: name)
        let module = ModelCompiler().generate(try model.makeGraph())
        #expect(CText.isPlainSource(module.source))
        // The name's text stays inside comments: no line of the source starts with it.
        #expect(!module.source.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("#include <x>") })
        try Self.checkCompilesAndRuns(model)
    }

    @Test("a long name whose 40th byte falls inside a character (kernel names are cut there)")
    func longNonASCIIName() throws {
        try Self.checkCompilesAndRuns(Self.model(denseName: String(repeating: "x", count: 39) + "é" + "ü"))
    }

    @Test("CText: identifiers and comments are built from bytes")
    func cTextBytes() {
        #expect(CText.identifier("*/\u{301} T") == "_____T")  // '*', '/', two bytes of U+0301, ' '

        #expect(CText.comment("a*/b") == "a\\x2a\\x2fb")
        #expect(CText.comment("\u{0}") == "\\x00")
        #expect(!CText.comment("x*/\u{301}").contains("*/"))
    }
}
