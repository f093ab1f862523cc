import Foundation
import Synchronization
import Testing
@testable import GraphJIT
@testable import GraphJITIR

/// Files users name, handled as a shell user expects: special files are written through, never
/// replaced; pipes and devices are read with a bound; errors name the path and the reason.
@Suite("Hostile inputs: files")
struct FileHandlingTests {
    private static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "graphjit-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    private static let tensor = Tensor(shape: [2, 3], uncheckedScalars: [1, 2, 3, 4, 5, 6])

    /// Runs `body` on its own thread (not the concurrency pool: opening a FIFO blocks until the
    /// other end opens, and blocked pool threads would starve the other end) and returns its result.
    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> () throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            result.withLock { $0 = Result(catching: body) }
            done.signal()
        }
        thread.start()
        return {
            done.wait()
            return try result.withLock { $0! }.get()
        }
    }

    @Test("a FIFO output is written through and stays a FIFO")
    func fifoOutput() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appending(path: "out.npy")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // A reader on another thread, as `graphjit run --output fifo | consumer` has.
        let reader = Self.onThread { try FileIO.read(fifo) }
        try NPY.write(Self.tensor, to: fifo)
        let bytes = try reader()
        #expect(try NPY.decode(bytes) == Self.tensor)
        var status = stat()
        #expect(lstat(fifo.path, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    }

    @Test("/dev/null is written through, /dev/full reports no space; neither becomes a regular file")
    func devices() throws {
        try NPY.write(Self.tensor, to: URL(filePath: "/dev/null"))
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        if FileManager.default.fileExists(atPath: "/dev/full") {
            let error = try #require(throws: FileError.self) { try NPY.write(Self.tensor, to: URL(filePath: "/dev/full")) }
            #expect(error.reason.contains("No space"))
            #expect(stat("/dev/full", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR)
        }
    }

    @Test("a symlink to a regular file: the target is replaced, the link kept")
    func symlinkOutput() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appending(path: "real.npy")
        let link = folder.appending(path: "link.npy")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        try NPY.write(Self.tensor, to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try NPY.read(contentsOf: target) == Self.tensor)
    }

    @Test("reading: a missing file, a directory and an endless device are clear errors")
    func readErrors() throws {
        let missing = try #require(throws: FileError.self) { try NPY.read(contentsOf: URL(filePath: "/nonexistent/x.npy")) }
        #expect(missing.description == "cannot read /nonexistent/x.npy: No such file or directory")
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = try #require(throws: FileError.self) { try NPY.read(contentsOf: folder) }
        #expect(directory.reason == "it is a directory")
        let endless = try #require(throws: FileError.self) { try NPY.read(contentsOf: URL(filePath: "/dev/zero")) }
        #expect(endless.reason.contains("endless device"))
    }

    @Test("a FIFO input is read to its end")
    func fifoInput() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appending(path: "in.npy")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let writer = Self.onThread { try FileIO.write(NPY.encode(Self.tensor), to: fifo) }
        #expect(try NPY.read(contentsOf: fifo) == Self.tensor)
        try writer()
    }
}
