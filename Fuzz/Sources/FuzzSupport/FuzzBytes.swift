import Foundation

/// Choices read from the fuzzer's bytes, and the same choices written back as bytes.
///
/// Every choice has a reader (`FuzzBytes`) and a writer (`FuzzBytesWriter`) that agree, so that seed
/// inputs can be written from a spec and decode to that spec. Past the end, every byte reads as 0,
/// which decodes to small, ordinary values.
public struct FuzzBytes {
    /// `GRAPHJIT_FUZZ_NO_ABSURD=1`: extents and axes decode to small values only (absurd and
    /// non-positive ones become 1...16), so that the time goes to models that build and run, JIT
    /// against reference, rather than to the overflow traps.
    static let noAbsurd = ProcessInfo.processInfo.environment["GRAPHJIT_FUZZ_NO_ABSURD"] == "1"

    private let bytes: [UInt8]
    private var position = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether bytes remain.
    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// One of `count` alternatives.
    public mutating func choice(_ count: Int) -> Int { Int(byte()) % count }

    public mutating func uint64() -> UInt64 {
        (0..<8).reduce(0) { value, index in value | UInt64(byte()) << (8 * UInt64(index)) }
    }

    /// An extent, a unit count, a stride, a batch size: mostly small and positive, sometimes large,
    /// absurd (`Int.max`, `1 << 62`, `2^32`), zero or negative.
    ///
    /// - `0x00...0x9F`: `1 + (b & 15)` (1...16)
    /// - `0xA0...0xAF`: `17 + next byte` (17...272)
    /// - `0xB0...0xBF`: `273 + next two bytes, little-endian` (273...65808)
    /// - `0xC0...0xDF`: ``interestingExtents```[b - 0xC0]`
    /// - `0xE0...0xFF`: `-(b - 0xE0)` (0...-31)
    public mutating func extent() -> Int {
        let b = byte()
        switch b {
        case 0x00 ... 0x9F: return 1 + Int(b & 0x0F)
        case 0xA0 ... 0xAF: return 17 + Int(byte())
        case 0xB0 ... 0xBF: return 273 + Int(byte()) + Int(byte()) << 8
        case _ where Self.noAbsurd: return 1 + Int(b & 0x0F)
        case 0xC0 ... 0xDF: return interestingExtents[Int(b - 0xC0)]
        default: return -Int(b - 0xE0)
        }
    }

    /// An axis: mostly -5...5, sometimes absurd.
    ///
    /// - `0x00...0xEF`: `b % 11 - 5`
    /// - `0xF0...0xFF`: ``interestingExtents``` [b - 0xF0]`
    public mutating func axis() -> Int {
        let b = byte()
        return b < 0xF0 || Self.noAbsurd ? Int(b % 11) - 5 : interestingExtents[Int(b - 0xF0)]
    }

    /// A list of extents (a kernel size, strides): usually two, sometimes none, one or three.
    public mutating func extents() -> [Int] {
        let count = [2, 2, 2, 2, 2, 0, 1, 3][choice(8)]
        return (0..<count).map { _ in extent() }
    }
}

/// Values that break arithmetic: the limits of `Int`, powers of two whose products overflow, and
/// values around 32-bit boundaries.
public let interestingExtents: [Int] = [
    Int.max, Int.min, 1 << 62, 1 << 32, (1 << 32) + 1, 1 << 31, Int(Int32.max), Int(UInt32.max),
    Int.max / 2, Int.max / 4 + 1, 3_037_000_500, 1 << 40, 1 << 20, 65_536, 65_535, 1 << 24,
    Int.max - 1, Int.min + 1, -(1 << 62), -(1 << 32), -(1 << 31), 4_611_686_018_427_387_903, 1 << 48, 1 << 16 + 1,
    4097, 1025, 257, 129, 1 << 33, Int.max / 3, Int.max / 7, 46_341,
]

/// Writes bytes that ``FuzzBytes`` reads back as the given choices.
public struct FuzzBytesWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func choice(_ index: Int) { bytes.append(UInt8(index)) }
    public mutating func uint64(_ value: UInt64) {
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    public mutating func extent(_ value: Int) {
        switch value {
        case 1 ... 16: bytes.append(UInt8(value - 1))
        case 17 ... 272: bytes += [0xA0, UInt8(value - 17)]
        case 273 ... 65808: bytes += [0xB0, UInt8((value - 273) & 0xFF), UInt8((value - 273) >> 8)]
        case -31 ... 0: bytes.append(UInt8(0xE0 - value))
        default:
            guard let index = interestingExtents.firstIndex(of: value) else {
                fatalError("extent \(value) has no encoding")
            }
            bytes.append(UInt8(0xC0 + index))
        }
    }

    public mutating func axis(_ value: Int) {
        if (-5 ... 5).contains(value) {
            bytes.append(UInt8(value + 5))
        } else if let index = interestingExtents.prefix(16).firstIndex(of: value) {
            bytes.append(UInt8(0xF0 + index))
        } else {
            fatalError("axis \(value) has no encoding")
        }
    }

    public mutating func extents(_ values: [Int]) {
        let counts = [2: 0, 0: 5, 1: 6, 3: 7]
        guard let index = counts[values.count] else { fatalError("\(values.count) extents have no encoding") }
        bytes.append(UInt8(index))
        for value in values { extent(value) }
    }
}
