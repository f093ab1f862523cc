/// An 8-bit RGB colour.
public struct RGB: Sendable, Equatable {
    /// Red, 0-255.
    public let red: UInt8
    /// Green, 0-255.
    public let green: UInt8
    /// Blue, 0-255.
    public let blue: UInt8

    /// A colour from its three channels.
    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// `self` blended toward `other` by `fraction` (0 keeps `self`, 1 gives `other`).
    public func mixed(with other: RGB, _ fraction: Float) -> RGB {
        let t = min(max(fraction.isNaN ? 0 : fraction, 0), 1)
        func channel(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Float(a) + (Float(b) - Float(a)) * t).rounded()) }
        return RGB(channel(red, other.red), channel(green, other.green), channel(blue, other.blue))
    }

    /// The "inferno"-like heat colour of `value` in [0, 1]: black, purple, red, orange, pale yellow.
    public static func heat(_ value: Float) -> RGB {
        let stops = [RGB(0, 0, 4), RGB(87, 16, 110), RGB(188, 55, 84), RGB(249, 142, 9), RGB(252, 255, 164)]
        let t = min(max(value.isNaN ? 0 : value, 0), 1) * Float(stops.count - 1)
        let low = min(Int(t), stops.count - 2)
        return stops[low].mixed(with: stops[low + 1], t - Float(low))
    }
}
