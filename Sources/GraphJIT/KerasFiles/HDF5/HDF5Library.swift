import CGraphJITFiles
import Synchronization

/// The one gate to libhdf5: every call from GraphJIT runs inside ``withLock(_:)`` (Debian's build
/// is thread-safe, but identifiers are not shared between threads and GraphJIT does not rely on it), after the library was opened and with its error printing switched off
/// for the calling thread (Debian's build keeps error stacks per thread).
enum HDF5Library {
    private static let lock = Mutex<Bool>(false)

    /// Runs `body` holding the library lock (initializing the library on first use).
    static func withLock<T>(source: String = "an HDF5 file", _ body: () throws -> T) throws -> T {
        try lock.withLock { initialized in
            if !initialized {
                guard gj_h5_init() >= 0 else {
                    throw ModelFileError(.hdf5, file: source, reason: "the HDF5 library (libhdf5) failed to initialize")
                }
                initialized = true
            }
            gj_h5_silence_thread()
            return try body()
        }
    }
}
