import CGraphJITFiles
import Foundation

/// An 8-bit RGB image that encodes itself as a PNG file (RFC 2083: signature, `IHDR`, one zlib
/// `IDAT` with filter type 0 per row, `IEND`, each chunk with its CRC-32).
public struct PNGImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Row-major RGB bytes, `3 · width · height` of them.
    public private(set) var pixels: [UInt8]

    /// The largest side accepted (larger pictures are a mistake, not a heat map).
    public static let maximumSide = 16_384
    /// The most pixels accepted (2²⁶, 192 MiB of RGB), whatever the sides.
    public static let maximumPixels = 1 << 26

    /// A `width × height` image filled with `color`.
    /// - Throws: ``ExplanationError/picture(reason:)`` for a side that is not in `1...maximumSide`,
    ///   or more than ``maximumPixels`` pixels.
    public init(width: Int, height: Int, color: RGB = RGB(255, 255, 255)) throws {
        guard (1 ... Self.maximumSide).contains(width), (1 ... Self.maximumSide).contains(height),
              width * height <= Self.maximumPixels else {
            throw ExplanationError.picture(reason: "a PNG of \(width)×\(height) pixels: each side must be 1 to "
                                           + "\(Self.maximumSide), and at most \(Self.maximumPixels) pixels in all")
        }
        self.width = width
        self.height = height
        pixels = Array(repeating: 0, count: 3 * width * height)
        fill(x: 0, y: 0, width: width, height: height, color: color)
    }

    /// Sets the pixel at column `x`, row `y` (ignored outside the image).
    public mutating func set(x: Int, y: Int, _ color: RGB) {
        guard (0 ..< width).contains(x), (0 ..< height).contains(y) else { return }
        let offset = 3 * (y * width + x)
        pixels[offset] = color.red
        pixels[offset + 1] = color.green
        pixels[offset + 2] = color.blue
    }

    /// Fills a rectangle (clipped to the image; an empty or negative one fills nothing).
    public mutating func fill(x: Int, y: Int, width: Int, height: Int, color: RGB) {
        let left = max(x, 0), right = min(x.addingReportingOverflow(max(width, 0)).partialValue, self.width)
        let top = max(y, 0), bottom = min(y.addingReportingOverflow(max(height, 0)).partialValue, self.height)
        guard left < right, top < bottom else { return }
        for row in top ..< bottom {
            for column in left ..< right { set(x: column, y: row, color) }
        }
    }

    /// Copies `other` into this image with its top-left corner at (`x`, `y`), clipped.
    public mutating func draw(_ other: PNGImage, x: Int, y: Int) {
        for row in 0 ..< other.height {
            for column in 0 ..< other.width {
                let offset = 3 * (row * other.width + column)
                set(x: x + column, y: y + row, RGB(other.pixels[offset], other.pixels[offset + 1], other.pixels[offset + 2]))
            }
        }
    }

    /// The PNG file's bytes.
    public func pngData() throws -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + 3 * width))
        for row in 0 ..< height {
            raw.append(0)  // filter type 0 (none)
            raw += pixels[3 * row * width ..< 3 * (row + 1) * width]
        }
        var compressed = [UInt8](repeating: 0, count: gj_zlib_bound(raw.count))
        var length = compressed.count
        let status = raw.withUnsafeBytes { input in
            compressed.withUnsafeMutableBytes { gj_deflate_zlib(input.baseAddress, input.count, $0.baseAddress, &length) }
        }
        guard status == 0 else { throw ExplanationError.picture(reason: "zlib could not compress a \(width)×\(height) PNG") }
        var file = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = [UInt8]()
        header += Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // 8 bits per sample, truecolour RGB, deflate, adaptive filtering, no interlace
        Self.appendChunk("IHDR", header, to: &file)
        Self.appendChunk("IDAT", Array(compressed[..<length]), to: &file)
        Self.appendChunk("IEND", [], to: &file)
        return file
    }

    /// Writes the PNG file to `url` (atomically; see `FileIO`).
    public func write(to url: URL) throws {
        try FileIO.write(pngData(), to: url)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func appendChunk(_ type: String, _ body: [UInt8], to file: inout Data) {
        let typed = Array(type.utf8) + body
        file.append(contentsOf: bigEndian(UInt32(body.count)))
        file.append(contentsOf: typed)
        file.append(contentsOf: bigEndian(typed.withUnsafeBytes { gj_crc32($0.baseAddress, $0.count) }))
    }
}
