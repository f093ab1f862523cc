import CGraphJITFiles
import Foundation
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// The PNG encoder, read back by an independent path (the chunk layout by hand, CRC-32 and the
/// pixels through zlib's inflate), and the explanation pictures built on it.
@Suite("Pictures: PNG encoding and explanation heat maps")
struct PNGImageTests {
    /// The chunks of a PNG file: type, body, and whether its CRC-32 is right.
    static func chunks(_ data: Data) throws -> [(type: String, body: [UInt8], crcMatches: Bool)] {
        let bytes = [UInt8](data)
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var chunks: [(String, [UInt8], Bool)] = []
        var offset = 8
        func word(_ at: Int) -> Int { bytes[at ..< at + 4].reduce(0) { $0 << 8 | Int($1) } }
        while offset + 12 <= bytes.count {
            let length = word(offset)
            let typed = Array(bytes[offset + 4 ..< offset + 8 + length])
            let crc = UInt32(word(offset + 8 + length))
            chunks.append((String(decoding: typed.prefix(4), as: UTF8.self), Array(typed.dropFirst(4)),
                           typed.withUnsafeBytes { gj_crc32($0.baseAddress, $0.count) } == crc))
            offset += 12 + length
        }
        #expect(offset == bytes.count)
        return chunks
    }

    @Test("a PNG reads back: IHDR, one zlib IDAT whose rows (filter 0) are the pixels, IEND, every CRC right")
    func roundTrip() throws {
        var image = try PNGImage(width: 5, height: 3, color: RGB(10, 20, 30))
        image.set(x: 4, y: 2, RGB(255, 0, 128))
        image.fill(x: 1, y: 0, width: 2, height: 2, color: .heat(1))
        let chunks = try Self.chunks(try image.pngData())
        #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        #expect(chunks.allSatisfy { $0.crcMatches })
        #expect(chunks[0].body == [0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0])
        // zlib stream = 2-byte header, raw deflate, Adler-32; inflate the raw part.
        let stream = chunks[1].body
        #expect(stream[0] & 0x0F == 8 && (Int(stream[0]) << 8 | Int(stream[1])) % 31 == 0)
        var rows = [UInt8](repeating: 0, count: 3 * (1 + 3 * 5))
        let status = Array(stream[2 ..< stream.count - 4]).withUnsafeBytes { input in
            rows.withUnsafeMutableBytes { gj_inflate_raw(input.baseAddress, input.count, $0.baseAddress, $0.count) }
        }
        #expect(status == 0)
        for row in 0 ..< 3 {
            #expect(rows[row * 16] == 0)
            #expect(Array(rows[row * 16 + 1 ..< row * 16 + 16]) == Array(image.pixels[row * 15 ..< row * 15 + 15]))
        }
        #expect(Array(image.pixels[3 * (2 * 5 + 4) ..< 3 * (2 * 5 + 4) + 3]) == [255, 0, 128])
        #expect(throws: ExplanationError.self) { try PNGImage(width: 0, height: 3) }
        #expect(throws: ExplanationError.self) { try PNGImage(width: 3, height: PNGImage.maximumSide + 1) }
        #expect(throws: ExplanationError.self) { try PNGImage(width: PNGImage.maximumSide, height: PNGImage.maximumSide) }
        // Rectangles off the image, empty or negative fill nothing and never trap.
        var clipped = try PNGImage(width: 4, height: 4, color: RGB(1, 2, 3))
        let before = clipped.pixels
        for (x, y, w, h) in [(10, 0, 2, 2), (0, 10, 2, 2), (1, 1, -3, 2), (1, 1, 2, -5), (-9, -9, 3, 3), (Int.max, 0, Int.max, 1)] {
            clipped.fill(x: x, y: y, width: w, height: h, color: RGB(9, 9, 9))
        }
        #expect(clipped.pixels == before)
        clipped.fill(x: -1, y: 3, width: 3, height: 9, color: RGB(9, 9, 9))
        #expect(Array(clipped.pixels[3 * 12 ..< 3 * 14]) == [9, 9, 9, 9, 9, 9])
    }

    @Test("the heat scale runs from black to pale yellow, monotonically brighter")
    func heatScale() {
        #expect(RGB.heat(0) == RGB(0, 0, 4))
        #expect(RGB.heat(1) == RGB(252, 255, 164))
        #expect(RGB.heat(.nan) == RGB.heat(0))
        let brightness = stride(from: Float(0), through: 1, by: 0.05).map { value -> Int in
            let color = RGB.heat(value)
            return Int(color.red) + Int(color.green) + Int(color.blue)
        }
        #expect(brightness == brightness.sorted())
    }

    @Test("a sequence picture: the most salient cell is the brightest, the attention strip's tallest bar at its step")
    func sequencePicture() throws {
        var attribution = [Float](repeating: 0.01, count: 2 * 10 * 3)
        attribution[7 * 3 + 1] = -2  // sample 0, step 7, feature 1: the largest magnitude
        let inputs = [Tensor.seededNormal([2, 10, 3], seed: 1)]
        var weights = [Float](repeating: 0.05, count: 20)
        weights[4] = 0.5
        let picture = try ExplanationPicture.render(inputs: inputs, attributions: [Tensor(shape: [2, 10, 3], scalars: attribution)],
                                                    attentionWeights: Tensor(shape: [2, 10, 1], scalars: weights))
        // 10 steps of 16 px, 3 features of 16 px, a strip of 64 px, 8 px margins.
        #expect(picture.width == 10 * 16 + 16)
        #expect(picture.height == 3 * 16 + 8 + 64 + 16)
        func pixel(_ x: Int, _ y: Int) -> RGB {
            let offset = 3 * (y * picture.width + x)
            return RGB(picture.pixels[offset], picture.pixels[offset + 1], picture.pixels[offset + 2])
        }
        #expect(pixel(8 + 7 * 16 + 8, 8 + 16 + 8) == .heat(1))
        #expect(pixel(8 + 2 * 16 + 8, 8 + 8) == .heat(0.005))
        let stripBottom = 8 + 3 * 16 + 8 + 63
        let stripTop = 8 + 3 * 16 + 8
        #expect(pixel(8 + 4 * 16 + 4, stripTop) == RGB(249, 142, 9))      // the tallest bar fills the strip
        #expect(pixel(8 + 5 * 16 + 4, stripTop) == RGB(240, 240, 240))    // a short one does not
        #expect(pixel(8 + 5 * 16 + 4, stripBottom) == RGB(249, 142, 9))
        #expect(throws: ExplanationError.self) {
            try ExplanationPicture.render(inputs: inputs, attributions: [Tensor.zeros([2, 10, 4])])
        }
        // Weights that are not a softmax's (negative, huge, NaN) are clamped into the strip.
        let odd = try Tensor(shape: [2, 10, 1], scalars: [-1e30, 1e-30, .nan, .infinity, -3] + Array(repeating: 0.1, count: 15))
        _ = try ExplanationPicture.render(inputs: inputs, attributions: inputs, attentionWeights: odd)
        // An empty input is refused, not divided by.
        let empty = Tensor.zeros([1, 0, 3])
        #expect(throws: ExplanationError.self) { try ExplanationPicture.render(inputs: [empty], attributions: [empty]) }
    }

    @Test("an image picture: the original beside a grey overlay whose hottest pixel is where the saliency peaks")
    func imagePicture() throws {
        var saliency = [Float](repeating: 0, count: 1 * 8 * 8 * 3)
        saliency[(2 * 8 + 5) * 3 + 2] = 3
        let image = Tensor.seededNormal([1, 8, 8, 3], seed: 4)
        let picture = try ExplanationPicture.render(inputs: [image], attributions: [Tensor(shape: [1, 8, 8, 3], scalars: saliency)])
        let scale = 16  // pixels per image pixel: 256 / 8, at most 16
        #expect(picture.width == 2 * 8 * scale + 8 + 16)
        #expect(picture.height == 8 * scale + 16)
        func overlay(_ column: Int, _ row: Int) -> RGB {
            let x = 8 + (8 + column) * scale + 8 + scale / 2, y = 8 + row * scale + scale / 2
            let offset = 3 * (y * picture.width + x)
            return RGB(picture.pixels[offset], picture.pixels[offset + 1], picture.pixels[offset + 2])
        }
        // The peak: 90% of the hottest colour (252, 255, 164) over the grey; elsewhere the grey
        // darkened by a quarter toward black.
        let hot = overlay(5, 2)
        #expect(hot.red >= 226 && hot.green >= 229, "\(hot)")
        for (column, row) in [(0, 0), (7, 7), (4, 2)] { #expect(overlay(column, row).red <= 192) }
        #expect(throws: ExplanationError.self) {
            try ExplanationPicture.render(inputs: [Tensor.zeros([1, 2, 2, 2, 2])], attributions: [Tensor.zeros([1, 2, 2, 2, 2])])
        }
    }
}
