import GraphJITCompiler
import GraphJITRuntime
import GraphJITIR
/// Collects the layers written in a ``Sequential`` block.
@resultBuilder
public enum LayerBuilder {
    /// A layer on its own line.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// The layers of a block, in order.
    public static func buildBlock(_ components: [any Layer]...) -> [any Layer] { components.flatMap { $0 } }
    /// The layers of an `if` without `else`, when its condition holds.
    public static func buildOptional(_ component: [any Layer]?) -> [any Layer] { component ?? [] }
    /// The layers of an `if` branch.
    public static func buildEither(first component: [any Layer]) -> [any Layer] { component }
    /// The layers of an `else` branch.
    public static func buildEither(second component: [any Layer]) -> [any Layer] { component }
    /// The layers of a `for` loop, in order.
    public static func buildArray(_ components: [[any Layer]]) -> [any Layer] { components.flatMap { $0 } }
}
