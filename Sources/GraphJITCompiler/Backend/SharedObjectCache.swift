import Crypto
import Foundation

/// A folder of compiled shared objects that verifies every file before `dlopen` runs any of it.
///
/// `dlopen` maps a file and runs its constructors: a truncated file crashes the process (SIGBUS), a
/// patched one computes wrong answers, a foreign one runs its code. So each object is stored with a
/// record beside it (`<name>.so.sha256`: the entry's key and the SHA-256 of the object's bytes,
/// written before the object is renamed into place), and a lookup loads an object only when
/// - it is a regular file (not a symlink, FIFO or device), owned by this user and writable by no
///   one else, of a plausible size;
/// - its record names the key asked for (an object of another module under this name fails), and
///   the SHA-256 of its bytes, read through one open descriptor, matches the record;
/// - and, just before loading, the path still names the file that was hashed (same device and inode).
///
/// The object is loaded by its own path, not `/proc/self/fd/N`: glibc recognizes already loaded
/// objects by name, and descriptor numbers are reused. A path embeds the key (a hash of the
/// source), so one path always names the same code.
///
/// An entry that fails any check is unlinked (files only, never a directory) and reported as a
/// miss, so the caller recompiles and the cache heals.
struct SharedObjectCache: Sendable {
    /// The cache folder.
    let directory: URL
    /// Objects larger than this are not loaded (the JIT's are kilobytes; the runtime's under 1 MB).
    static let maximumObjectBytes = 256 << 20

    /// What a lookup found.
    enum Lookup {
        /// A verified object, open for reading: load it through ``VerifiedObject/loadPath``.
        case hit(VerifiedObject)
        /// Nothing usable (and any bad entry removed); `reason` says why, `nil` when there was no entry.
        case miss(reason: String?)
    }

    /// An object whose bytes matched its record, held open while it is loaded.
    final class VerifiedObject {
        let descriptor: Int32
        let url: URL
        init(descriptor: Int32, url: URL) {
            self.descriptor = descriptor
            self.url = url
        }

        /// The path to load, or `nil` if the file at the path is no longer the one that was hashed.
        var loadPath: String? {
            var opened = stat(), current = stat()
            guard fstat(descriptor, &opened) == 0, lstat(url.path, &current) == 0,
                  opened.st_dev == current.st_dev, opened.st_ino == current.st_ino else { return nil }
            return url.path
        }

        deinit { close(descriptor) }
    }

    func objectURL(stem: String, key: String) -> URL { directory.appending(path: "\(stem)-\(key).so") }

    /// Linker arguments that name an object by its final cache file name.
    ///
    /// Without them the linker writes the output path it was given (a unique temporary name) into
    /// the object, so two concurrent builds of one source differ in a few bytes, and each build finds
    /// the other's record beside its object: a mismatch, removed as corrupt, failing both. With the
    /// final name recorded instead, the same source always links to the same bytes.
    static func linkerArguments(naming url: URL) -> [String] { ["-Wl,-soname,\(url.lastPathComponent)"] }

    private static func recordURL(for object: URL) -> URL {
        object.deletingLastPathComponent().appending(path: object.lastPathComponent + ".sha256")
    }

    /// Whether `url` is a folder the cache may use: a real directory (not a symlink), owned by
    /// this user and writable by no one else, so that no other user can swap a file in it.
    static func isTrustworthyFolder(_ url: URL) -> Bool {
        var status = stat()
        return lstat(url.path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
            && status.st_uid == geteuid() && status.st_mode & 0o022 == 0
    }

    /// Looks up the object for `key` at `url`, verifying it as the type describes. Every check is
    /// made on the descriptor that is hashed (`fstat`), never on the path again.
    func lookUp(_ url: URL, key: String) -> Lookup {
        // O_NONBLOCK: a FIFO planted under the name must not hang the open.
        let descriptor = open(url.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            if errno == ENOENT { return .miss(reason: nil) }
            if errno == ELOOP { return reject(url, "a symbolic link") }
            if errno == EISDIR { return .miss(reason: "\(url.path) is not a regular file; not used") }
            return reject(url, "cannot be opened: \(String(cString: strerror(errno)))")
        }
        let object = VerifiedObject(descriptor: descriptor, url: url)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return reject(url, "cannot be examined") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            // Not ours to delete: a directory, device or FIFO is reported, never removed.
            return .miss(reason: "\(url.path) is not a regular file; not used")
        }
        guard status.st_uid == geteuid() else { return reject(url, "owned by another user") }
        guard status.st_mode & 0o022 == 0 else { return reject(url, "writable by other users") }
        guard status.st_size > 0, status.st_size <= Self.maximumObjectBytes else {
            return reject(url, "size \(status.st_size) bytes is not plausible")
        }
        guard let record = Self.readRecord(Self.recordURL(for: url)) else { return reject(url, "no integrity record") }
        guard let digest = Self.sha256(ofDescriptor: descriptor) else { return reject(url, "cannot be read") }
        guard record == Self.record(key: key, digest: digest) else {
            return reject(url, "its bytes or key do not match the integrity record")
        }
        return .hit(object)
    }

    private func reject(_ url: URL, _ reason: String) -> Lookup {
        remove(url)
        return .miss(reason: "\(url.lastPathComponent): \(reason); removed, recompiling")
    }

    /// An integrity record: a small regular file, read without following links or blocking.
    private static func readRecord(_ url: URL) -> String? {
        let descriptor = open(url.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size < 512 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }

    /// Moves a freshly built object at `temporary` to `url`, recording its key and digest first.
    /// Throws a message when the folder cannot take it.
    func store(_ temporary: URL, at url: URL, key: String) throws(CacheStoreError) {
        let descriptor = open(temporary.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CacheStoreError(message: "cannot read the compiled object") }
        let digest = Self.sha256(ofDescriptor: descriptor)
        close(descriptor)
        guard let digest else { throw CacheStoreError(message: "cannot read the compiled object") }
        let record = Self.recordURL(for: url)
        let temporaryRecord = directory.appending(path: ".\(record.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(Self.record(key: key, digest: digest).utf8).write(to: temporaryRecord)
        } catch {
            throw CacheStoreError(message: "cannot write to the cache folder \(directory.path): \(error.localizedDescription)")
        }
        // The record lands first: an object in place always has its record.
        guard rename(temporaryRecord.path, record.path) == 0, rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryRecord.path)
            throw CacheStoreError(message: "cannot move the compiled object into the cache at \(url.path): \(reason)")
        }
    }

    /// Unlinks an entry's object and record (regular files and links only; `unlink` never removes a directory).
    func remove(_ url: URL) {
        unlink(url.path)
        unlink(Self.recordURL(for: url).path)
    }

    /// The integrity record of an object with this key and SHA-256 (hex).
    static func record(key: String, digest: String) -> String { "graphjit-object-v1 \(key) \(digest)\n" }

    /// The SHA-256 (hex) of `data`, as records hold it.
    static func sha256(of data: Data) -> String { Crypto.SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    private static func sha256(ofDescriptor descriptor: Int32) -> String? {
        var hasher = Crypto.SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var total = 0
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 { break }
            total += count
            if total > maximumObjectBytes { return nil }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a compiled object could not be put into the cache.
struct CacheStoreError: Error {
    let message: String
}
