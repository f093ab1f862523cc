import CGraphJITFiles
import Synchronization

/// The one gate to libhdf5: its serial build is not thread-safe, so every call from GraphJIT runs
/// inside ``withLock(_:)``, after the library was opened and with its error printing switched off
/// for the calling thread (Debian's build keeps error stacks per thread).
enum HDF5Library {
    private static let lock = Mutex<Bool>(false)

    /// Runs `body` holding the library lock (initializing the library on first use).
    static func withLock<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock { initialized in
            if !initialized {
                guard gj_h5_init() >= 0 else {
                    throw ModelFileError(.hdf5, file: "libhdf5", reason: "the HDF5 library failed to initialize")
                }
                initialized = true
            }
            gj_h5_silence_thread()
            return try body()
        }
    }
}
