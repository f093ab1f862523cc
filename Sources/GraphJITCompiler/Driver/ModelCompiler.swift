import CGraphJITRuntime
import GraphJITRuntime
import GraphJITIR
/// The compile pipeline, in order: fusion, scheduling, planning, C, then the backend.
///
///     graph ──FusionPass──> groups ──UpdatePlanner──> in-place updates
///           ──KernelScheduler──> typed kernels ──KernelPlanner──> plans
///           ──KernelRenderer──> C module ──ExecutionPlan──> memory ──tcc | clang──> machine code
///
/// Every stage is a value-to-value function of the graph and the ``TargetOptions``; only the
/// last one touches a compiler.
public struct ModelCompiler: Sendable {
    /// What the generated C may assume about the machine.
    public var target: TargetOptions

    /// Creates a compiler that generates C for `target` (this machine by default).
    public init(target: TargetOptions = .current) { self.target = target }

    /// The generated kernels and the runtime index with 32-bit `int`s (the ABI's `M`, `N`, `K`,
    /// leading dimensions): throws unless every value of `graph` has at most `Int32.max` elements.
    public static func checkIndexRange(of graph: Graph) throws {
        for value in graph.values where value.shape.elementCount > Int(Int32.max) {
            throw GraphError.invalidConfiguration(
                layer: value.name, reason: "\(value.name) has shape \(value.shape): \(value.shape.elementCount) elements, "
                    + "more than the JIT's 32-bit indices reach (\(Int32.max)); the reference engine can run it")
        }
        for node in graph.nodes {
            let window = node.operation.as(Conv2DOp.self)?.window ?? node.operation.as(MaxPool2DOp.self)?.window
            guard let window else { continue }
            let extents = window.size + window.strides + window.padBefore
            if let large = extents.first(where: { $0 > Int(Int32.max) }) {
                throw GraphError.invalidConfiguration(
                    layer: node.layer, reason: "window \(window) has an extent of \(large), more than the JIT's "
                        + "32-bit arguments reach (\(Int32.max)); the reference engine can run it")
            }
        }
    }

    /// The generated C for `graph`: deterministic for a given graph and target.
    public func generate(_ graph: Graph) -> GeneratedModule {
        let groups = FusionPass().run(on: graph)
        let inPlace = UpdatePlanner(graph: graph).inPlaceUpdates(in: groups)
        let planner = KernelPlanner(graph: graph, target: target, inPlaceUpdates: inPlace)
        let kernels = groups.map { KernelRenderer(graph: graph).render(planner.plan(KernelScheduler(graph: graph).schedule($0))) }
        return GeneratedModule(name: "graphjit_model", kernels: kernels, target: target, inPlaceUpdates: inPlace)
    }

    /// The C function of one fused group of `graph` (with every update of a state copied, none in place).
    public func generate(_ group: KernelGroup, in graph: Graph) -> GeneratedKernel {
        let kernel = KernelScheduler(graph: graph).schedule(group)
        return KernelRenderer(graph: graph).render(KernelPlanner(graph: graph, target: target).plan(kernel))
    }

    /// Compiles `module` on one backend into a table of kernel functions in plan order.
    package func compile(_ module: GeneratedModule, on backend: CompilerBackend) throws -> KernelTable {
        let names = module.kernels.map(\.name)
        // User text reaches the source only through CText; anything else is a bug, caught here.
        guard CText.isPlainSource(module.source) else {
            throw CompileError(backend: backend, moduleName: module.name, stage: .compile,
                               diagnostics: "the generated source holds a byte outside printable ASCII", source: "")
        }
        switch backend {
        case .tcc:
            return try KernelTable(module: TCCCompiler().compile(module.source, moduleName: module.name), kernelNames: names)
        case .clang:
            return try KernelTable(module: ClangCompiler().compile(module.source, moduleName: module.name),
                                   kernelNames: names)
        }
    }
}
