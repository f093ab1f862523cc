import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Collects the layers written in a ``Sequential`` block.
@resultBuilder
public enum LayerBuilder {
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    public static func buildBlock(_ components: [any Layer]...) -> [any Layer] { components.flatMap { $0 } }
    public static func buildOptional(_ component: [any Layer]?) -> [any Layer] { component ?? [] }
    public static func buildEither(first component: [any Layer]) -> [any Layer] { component }
    public static func buildEither(second component: [any Layer]) -> [any Layer] { component }
    public static func buildArray(_ components: [[any Layer]]) -> [any Layer] { components.flatMap { $0 } }
}
