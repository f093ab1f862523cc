import CGraphJITFiles
import Foundation

/// A defensive reader of a zip archive held in memory: the end-of-central-directory record, the
/// central directory and each local header are parsed with every offset and size checked against
/// the archive before it is used, so a hostile archive is an error, never a trap or a read out of
/// bounds. (ZIPFoundation's reader traps on some hostile archives, and its inflate can read past
/// its input: the fuzzer found both.) Entries are stored or deflated; zip64, encryption, and
/// archives split over disks are refused.
struct ZipReader {
    /// One file of the archive, as its central directory describes it.
    struct Entry {
        let name: String
        let method: UInt16
        let crc: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        /// Where its data starts, after its local header.
        let dataOffset: Int
        let isDirectory: Bool
    }

    let source: String
    let bytes: [UInt8]
    let entries: [Entry]

    /// Parses the archive's directory, refusing one of more than `maximumEntries` entries before
    /// reading them.
    init(_ data: Data, source: String, maximumEntries: Int) throws {
        self.source = source
        bytes = Array(data)
        entries = try Self.centralDirectory(of: bytes, source: source, maximumEntries: maximumEntries)
    }

    /// The bytes of `entry`, at most `limit` of them, checked against its CRC-32.
    func contents(of entry: Entry, limit: Int) throws -> Data {
        func error(_ reason: String) -> ModelFileError {
            ModelFileError(.container, file: source, location: entry.name, reason: reason)
        }
        guard entry.uncompressedSize <= limit else {
            throw error("declares \(entry.uncompressedSize) bytes, more than the limit of \(limit)")
        }
        let compressed = bytes[entry.dataOffset ..< entry.dataOffset + entry.compressedSize]
        var output: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw error("is stored uncompressed but declares \(entry.compressedSize) bytes stored and "
                            + "\(entry.uncompressedSize) bytes long")
            }
            output = Array(compressed)
        case 8:
            guard entry.uncompressedSize <= max(entry.compressedSize, 1) * KerasArchive.maximumCompressionRatio else {
                throw error("inflates \(entry.compressedSize) bytes to \(entry.uncompressedSize), more than "
                            + "\(KerasArchive.maximumCompressionRatio) times (a zip bomb?)")
            }
            output = [UInt8](repeating: 0, count: entry.uncompressedSize)
            let status = compressed.withUnsafeBytes { input in
                output.withUnsafeMutableBytes { gj_inflate_raw(input.baseAddress, input.count, $0.baseAddress, $0.count) }
            }
            switch status {
            case 0: break
            case -2: throw error("inflates to more than the \(entry.uncompressedSize) bytes it declares")
            default: throw error("cannot be inflated: truncated or corrupt deflate data")
            }
        default:
            throw error("uses compression method \(entry.method); only stored (0) and deflate (8) are read")
        }
        let crc = output.withUnsafeBytes { gj_crc32($0.baseAddress, $0.count) }
        guard crc == entry.crc else { throw error("its CRC-32 does not match the archive's (corrupt)") }
        return Data(output)
    }

    // MARK: Parsing

    private static func centralDirectory(of bytes: [UInt8], source: String, maximumEntries: Int) throws -> [Entry] {
        func error(_ reason: String) -> ModelFileError {
            ModelFileError(.container, file: source, reason: "not a readable zip archive: \(reason)")
        }
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> Int { u16(offset) | u16(offset + 2) << 16 }

        // The end-of-central-directory record: 22 bytes plus a comment of up to 65,535 bytes.
        guard bytes.count >= 22 else { throw error("shorter than an empty archive") }
        var end = -1
        for offset in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1)
            where u32(offset) == 0x0605_4B50 && offset + 22 + u16(offset + 20) == bytes.count {
            end = offset
            break
        }
        guard end >= 0 else { throw error("no end-of-central-directory record (truncated?)") }
        let (disk, directoryDisk) = (u16(end + 4), u16(end + 6))
        let (entriesHere, entryCount) = (u16(end + 8), u16(end + 10))
        let (directorySize, directoryOffset) = (u32(end + 12), u32(end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw error("a zip64 archive (over 4 GiB or 65,535 entries), which GraphJIT does not read")
        }
        guard disk == 0, directoryDisk == 0, entriesHere == entryCount else { throw error("split over several disks") }
        guard entryCount <= maximumEntries else {
            throw ModelFileError(.container, file: source, reason: "\(entryCount) entries, more than the \(maximumEntries) allowed")
        }
        guard directoryOffset <= end, directorySize <= end - directoryOffset else {
            throw error("its central directory lies outside the archive")
        }

        var entries: [Entry] = []
        var offset = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for index in 0 ..< entryCount {
            guard offset + 46 <= directoryEnd, u32(offset) == 0x0201_4B50 else {
                throw error("central directory entry \(index) is malformed")
            }
            let flags = u16(offset + 8), method = u16(offset + 10)
            let crc = UInt32(u32(offset + 16))
            let compressedSize = u32(offset + 20), uncompressedSize = u32(offset + 24)
            let nameLength = u16(offset + 28), extraLength = u16(offset + 30), commentLength = u16(offset + 32)
            let localOffset = u32(offset + 42)
            let next = offset + 46 + nameLength + extraLength + commentLength
            guard next <= directoryEnd else { throw error("central directory entry \(index) runs past the directory") }
            let nameBytes = Array(bytes[offset + 46 ..< offset + 46 + nameLength])
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard name.utf8.elementsEqual(nameBytes) else {
                throw ModelFileError(.container, file: source, location: "entry \(index)", reason: "its name is not UTF-8")
            }
            guard flags & 1 == 0 else {
                throw ModelFileError(.container, file: source, location: name, reason: "is encrypted")
            }
            guard compressedSize != 0xFFFF_FFFF, uncompressedSize != 0xFFFF_FFFF, localOffset != 0xFFFF_FFFF else {
                throw ModelFileError(.container, file: source, location: name, reason: "uses zip64 sizes, which GraphJIT does not read")
            }
            // The local header, then the data, both before the central directory.
            guard localOffset + 30 <= directoryOffset, u32(localOffset) == 0x0403_4B50 else {
                throw ModelFileError(.container, file: source, location: name, reason: "its local header is missing or malformed")
            }
            let dataOffset = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard dataOffset <= directoryOffset, compressedSize <= directoryOffset - dataOffset else {
                throw ModelFileError(.container, file: source, location: name,
                                     reason: "its \(compressedSize) bytes of data run past the archive (truncated?)")
            }
            entries.append(Entry(name: name, method: UInt16(method), crc: crc, compressedSize: compressedSize,
                                 uncompressedSize: uncompressedSize, dataOffset: dataOffset, isDirectory: name.hasSuffix("/")))
            offset = next
        }
        return entries
    }
}
