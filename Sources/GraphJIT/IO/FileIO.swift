import Foundation
import GraphJITIR

/// Reading and writing the files users name, as a shell user expects of them.
///
/// - Reading: a regular file is read whole (its size checked against the `MemoryBudget` first);
///   a pipe, FIFO or character device (`<(cat x.npy)`, `/dev/stdin`) is read to its end in chunks,
///   up to ``streamLimit`` (or the budget, if lower), so `/dev/zero` is an error, not a hang or an
///   out-of-memory.
/// - Writing: a regular file (or a missing one) is replaced atomically: a temporary file in the
///   same folder, renamed over it. A symlink is followed and its target replaced, the link kept.
///   Anything else that exists (a FIFO, a character device such as `/dev/stdout` or `/dev/null`,
///   a `/proc/self/fd` link to one) is written through, as `> path` in a shell would: it is never
///   replaced by a regular file. A write error (`/dev/full`: no space) is thrown.
///
/// Errors are ``FileError``s naming the path and the system's reason.
public enum FileIO {
    /// The most bytes read from a pipe or device, whose size is not known up front (1 GiB).
    public static let streamLimit = 1 << 30

    /// The bytes of the file at `url`.
    public static func read(_ url: URL) throws(FileError) -> Data {
        let path = url.path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path, action: "read", errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FileError(path: path, action: "read", errno: errno) }
        if status.st_mode & S_IFMT == S_IFDIR {
            throw FileError(path: path, action: "read", reason: "it is a directory")
        }
        let isRegular = status.st_mode & S_IFMT == S_IFREG
        let limit = isRegular ? MemoryBudget.bytes : min(MemoryBudget.bytes, streamLimit)
        if isRegular, Int(status.st_size) > limit {
            throw FileError(path: path, action: "read", reason: "its \(GraphError.readable(Int(status.st_size))) "
                                + "exceed the memory budget of \(GraphError.readable(limit))")
        }
        var data = Data()
        if isRegular { data.reserveCapacity(Int(status.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, action: "read", errno: errno)
            }
            if count == 0 { break }
            guard data.count + count <= limit else {
                throw FileError(path: path, action: "read", reason: "it is not a regular file and streams more than "
                                    + "\(GraphError.readable(limit)) (an endless device?)")
            }
            data.append(contentsOf: chunk[..<count])
        }
        return data
    }

    /// Writes `data` to `url` as the type describes.
    public static func write(_ data: Data, to url: URL) throws(FileError) {
        let path = url.path
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            guard status.st_mode & S_IFMT != S_IFDIR else {
                throw FileError(path: path, action: "write", reason: "it is a directory")
            }
            try writeThrough(data, path: path)
            return
        }
        // A symlink to a regular file (or to nothing yet): replace its target, keep the link.
        let target = URL(filePath: path).resolvingSymlinksInPath()
        let temporary = target.deletingLastPathComponent()
            .appending(path: ".\(target.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try data.write(to: temporary, options: .withoutOverwriting)
            // A replaced file keeps its permissions (a 0600 weights file stays 0600).
            var existing = stat()
            if stat(target.path, &existing) == 0 { chmod(temporary.path, existing.st_mode & 0o7777) }
        } catch {
            unlink(temporary.path)
            throw FileError(path: path, action: "write", reason: (error as NSError).localizedFailureReason
                                ?? "cannot create a file in \(target.deletingLastPathComponent().path)")
        }
        guard rename(temporary.path, target.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw FileError(path: path, action: "write", errno: code)
        }
    }

    private static func writeThrough(_ data: Data, path: String) throws(FileError) {
        let descriptor = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path, action: "write", errno: errno) }
        defer { close(descriptor) }
        var failure: Int32?
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if let failure { throw FileError(path: path, action: "write", errno: failure) }
    }
}

/// A file that could not be read or written: the path, what was tried and why.
public struct FileError: Error, Equatable, CustomStringConvertible {
    /// The path as the user gave it.
    public let path: String
    /// `read` or `write`.
    public let action: String
    /// What is wrong, in words.
    public let reason: String

    init(path: String, action: String, reason: String) {
        self.path = path
        self.action = action
        self.reason = reason
    }

    init(path: String, action: String, errno code: Int32) {
        self.init(path: path, action: action, reason: String(cString: strerror(code)))
    }

    /// A one-line message.
    public var description: String { "cannot \(action) \(path): \(reason)" }
}
