@testable import GraphJIT
@testable import GraphJITCompiler
@testable import GraphJITIR
@testable import GraphJITRuntime
import Testing

@Suite("CompileError")
struct CompileErrorTests {
    private static let source = (1...10).map { "line \($0);" }.joined(separator: "\n")

    @Test("finds the first error line in tcc and clang diagnostics", arguments: [
        ("k.c:7: warning: unused\nk.c:4: error: ';' expected (got \"}\")", 4),
        ("k.c:6:12: warning: unused\nk.c:3:5: error: use of undeclared identifier 'x'", 3),
        ("k.c:9:1: fatal error: 'foo.h' file not found", 9),
        ("tcc: error: undefined symbol 'nothing_here'", nil),
    ] as [(String, Int?)])
    func parsesErrorLine(diagnostics: String, line: Int?) {
        let error = CompileError(backend: .tcc, moduleName: "k", stage: .compile, diagnostics: diagnostics, source: Self.source)
        #expect(error.errorLine == line)
    }

    @Test("an undefined symbol points at its first use inside a function")
    func locatesUndefinedSymbol() {
        let source = "float gj_f2(float);\nfloat gj_f(float);\nvoid k() { gj_f(1); }"
        for diagnostics in ["tcc: error: undefined symbol 'gj_f'",
                            "ld.lld: error: undefined symbol: gj_f",
                            "k.c:(.text+0x1): undefined reference to `gj_f'",
                            "/tmp/k.o:k.c:function k: error: undefined reference to 'gj_f'"] {
            let error = CompileError(backend: .clang, moduleName: "k", stage: .link, diagnostics: diagnostics, source: source)
            #expect(error.errorLine == 3)
        }
        // Only declared, never used in a body: the declaration.
        let declarationOnly = CompileError(backend: .tcc, moduleName: "k", stage: .link,
                                           diagnostics: "tcc: error: undefined symbol 'gj_f'",
                                           source: "float gj_f(float);\nvoid k() {\n}")
        #expect(declarationOnly.errorLine == 1)
    }

    @Test("the excerpt numbers the lines around the error and marks it")
    func formatsExcerpt() {
        let error = CompileError(backend: .tcc, moduleName: "k", stage: .compile,
                                 diagnostics: "k.c:9: error: boom", source: Self.source)
        #expect(error.excerpt == """
               6 | line 6;
               7 | line 7;
               8 | line 8;
            >  9 | line 9;
              10 | line 10;
            """)
        #expect(error.description.hasPrefix("tcc failed to compile module 'k' (k.c:9):\nk.c:9: error: boom\n\n"))
        let full = String(reflecting: error)
        #expect(full.contains("Full source of k.c:\n   1 | line 1;\n"))
        #expect(full.hasSuffix(">  9 | line 9;\n  10 | line 10;"))
    }

    @Test("file names are sanitized for #line and the cache")
    func sanitizesNames() {
        #expect(CompileError.fileName(for: "dense_relu") == "dense_relu.c")
        #expect(CompileError.fileName(for: "a \"b\"/c") == "a__b__c.c")
        #expect(CompileError.fileName(for: "") == "module.c")
    }
}
