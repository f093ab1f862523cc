/// GraphJIT's version, as `graphjit --version` prints it.
public enum GraphJITVersion {
    /// The release this source tree is (semantic versioning; the runtime ABI has its own version,
    /// `GJ_ABI_VERSION`).
    public static let current = "0.5.0"
}
