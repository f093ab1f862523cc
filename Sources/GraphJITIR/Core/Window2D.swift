/// The geometry of a 2-D sliding window (a convolution kernel or a pooling window) over an NHWC
/// input, fully resolved: input and output sizes and the padding before the first row and column.
///
/// Resolving the geometry once, during shape inference, means the reference interpreter and the
/// code generator can never disagree about padding.
public struct Window2D: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Window extent `[height, width]`.
    public let size: [Int]
    /// Step between windows `[height, width]`.
    public let strides: [Int]
    /// Padding rule the geometry was resolved from.
    public let padding: Padding
    /// Input spatial extent `[height, width]`.
    public let inputSize: [Int]
    /// Output spatial extent `[height, width]`.
    public let outputSize: [Int]
    /// Implicit padding before the first row (`[0]`) and column (`[1]`).
    public let padBefore: [Int]

    /// Resolves a window over an input, or returns `nil` when the window does not fit
    /// (a `valid` window larger than the input), an extent or stride is not positive, or the
    /// padding it would need does not fit in an `Int`. No arithmetic here can overflow.
    public init?(size: [Int], strides: [Int], padding: Padding, inputSize: [Int]) {
        guard size.count == 2, strides.count == 2, inputSize.count == 2,
              (size + strides + inputSize).allSatisfy({ $0 >= 1 }) else { return nil }
        var output = [0, 0]
        var before = [0, 0]
        // A stride beyond the input gives the same geometry as one equal to it (a single window):
        // clamped, so that no absurd stride reaches the kernels' 32-bit arguments.
        let strides = zip(strides, inputSize).map { min($0, $1) }
        for axis in 0..<2 {
            let (n, k, s) = (inputSize[axis], size[axis], strides[axis])
            switch padding {
            case .valid:
                guard n >= k else { return nil }
                output[axis] = (n - k) / s + 1
            case .same:
                output[axis] = n / s + (n % s == 0 ? 0 : 1)  // ceil(n / s)
                // (output - 1) * s <= n - 1, so only adding k can overflow.
                let (span, overflow) = ((output[axis] - 1) * s).addingReportingOverflow(k)
                guard !overflow else { return nil }
                before[axis] = max(span - n, 0) / 2
            }
        }
        self.size = size
        self.strides = strides
        self.padding = padding
        self.inputSize = inputSize
        self.outputSize = output
        self.padBefore = before
    }

    /// Calls `body(ky, kx, iy, ix)` for each tap `(ky, kx)` of the window at output position
    /// `(oy, ox)` that falls inside the input at `(iy, ix)`, in row-major window order; padded taps
    /// are skipped. The one definition of which input pixel a tap reads, for every reference
    /// implementation (convolutions, pooling and their gradients).
    @inline(__always)
    public func forEachTap(outputRow oy: Int, column ox: Int, _ body: (_ ky: Int, _ kx: Int, _ iy: Int, _ ix: Int) -> Void) {
        for ky in 0..<size[0] {
            let iy = oy * strides[0] - padBefore[0] + ky
            guard iy >= 0 && iy < inputSize[0] else { continue }
            for kx in 0..<size[1] {
                let ix = ox * strides[1] - padBefore[1] + kx
                guard ix >= 0 && ix < inputSize[1] else { continue }
                body(ky, kx, iy, ix)
            }
        }
    }

    public var description: String {
        "\(size[0])x\(size[1]) stride \(strides[0])x\(strides[1]) \(padding)"
            + (padBefore == [0, 0] ? "" : " pad \(padBefore[0]),\(padBefore[1])")
    }
}
