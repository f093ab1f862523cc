import Foundation
import ZIPFoundation

/// The zip container of a Keras 3 `.keras` file: `metadata.json`, `config.json` and
/// `model.weights.h5`, stored uncompressed (Keras writes them with `zipfile.ZIP_STORED`).
///
/// Reading (``ZipReader``) never touches the file system and never trusts the archive's own
/// sizes: entry names that could escape a folder (`../x`, `/etc/x`, `C:\x`) are refused, and so
/// is an entry whose inflated size passes ``maximumEntryBytes`` or is far larger than its
/// compressed size (a zip bomb); inflation stops at the declared size. Writing uses ZIPFoundation.
struct KerasArchive {
    static let configName = "config.json"
    static let metadataName = "metadata.json"
    static let weightsName = "model.weights.h5"

    /// The most entries a `.keras` file may hold (Keras writes three, plus assets).
    static let maximumEntries = 4096
    /// The most bytes one entry may inflate to: the memory budget.
    static var maximumEntryBytes: Int { MemoryBudget.bytes }
    /// A compressed entry inflating more than this many times its compressed size is refused.
    static let maximumCompressionRatio = 1000

    /// The entries GraphJIT reads, by name.
    let entries: [String: Data]

    /// Reads the archive in `data` (the file `source`).
    init(reading data: Data, source: String) throws {
        guard data.starts(with: [0x50, 0x4B]) else {
            throw ModelFileError(.container, file: source, reason: "not a .keras file: it is not a zip archive")
        }
        let archive = try ZipReader(data, source: source, maximumEntries: Self.maximumEntries)
        var entries: [String: Data] = [:]
        for entry in archive.entries {
            try Self.checkName(entry.name, source: source)
            guard !entry.isDirectory, [Self.configName, Self.metadataName, Self.weightsName].contains(entry.name) else {
                continue  // assets and folders are not needed to run the model
            }
            guard entries[entry.name] == nil else {
                throw ModelFileError(.container, file: source, location: entry.name, reason: "the entry appears twice")
            }
            entries[entry.name] = try archive.contents(of: entry, limit: Self.maximumEntryBytes)
        }
        for required in [Self.configName, Self.weightsName] where entries[required] == nil {
            throw ModelFileError(.container, file: source, location: required,
                                 reason: "missing entry (a .keras file holds config.json and model.weights.h5)")
        }
        self.entries = entries
    }

    /// A zip of `entries` in order, stored uncompressed as Keras writes them.
    static func write(_ entries: [(name: String, data: Data)], source: String) throws -> Data {
        do {
            let archive = try Archive(accessMode: .create)
            for (name, data) in entries {
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count),
                                     modificationDate: Date(), compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position) ..< Int(position) + size)
                }
            }
            guard let data = archive.data else {
                throw ModelFileError(.container, file: source, reason: "the zip writer produced no data")
            }
            return data
        } catch let error as ModelFileError {
            throw error
        } catch {
            throw ModelFileError(.container, file: source, reason: "cannot write the zip archive (\(error))")
        }
    }

    /// Refuses names that are absolute, climb out of the archive, or carry separators of other systems.
    private static func checkName(_ path: String, source: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        let unsafe = path.isEmpty || path.hasPrefix("/") || path.contains("\\") || path.utf8.contains(0)
            || components.contains("..") || (path.count >= 2 && path.dropFirst().first == ":")
        if unsafe {
            throw ModelFileError(.container, file: source, location: path,
                                 reason: "unsafe entry name (absolute, or with '..', '\\' or a drive letter)")
        }
    }
}
