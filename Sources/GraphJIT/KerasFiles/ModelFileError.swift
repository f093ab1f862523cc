/// A model file (`.keras`, legacy `.h5`) that GraphJIT cannot read or write, naming the file,
/// where in it (a layer, an HDF5 path, a zip entry) and what is wrong.
public struct ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem it is.
    public enum Kind: Sendable, Equatable {
        /// The zip container: not a zip, a missing or unsafe entry, a size over the limits.
        case container
        /// The HDF5 weights: not HDF5, truncated, a missing or misshapen dataset.
        case hdf5
        /// `config.json` or `model_config`: malformed, a dangling or cyclic connection.
        case config
        /// Well-formed but not supported by GraphJIT: a layer class or an option.
        case unsupported
        /// The weights do not fit the model the config describes.
        case weights
    }

    /// What kind of problem it is.
    public let kind: Kind
    /// The file's name as the user gave it.
    public let file: String
    /// The layer (`dense_5`), HDF5 path (`/layers/dense/vars/0`) or entry the problem is in, if any.
    public let location: String?
    /// What is wrong, in words.
    public let reason: String

    /// An error of `kind` in `file`, at `location` if known.
    public init(_ kind: Kind, file: String, location: String? = nil, reason: String) {
        self.kind = kind
        self.file = file
        self.location = location
        self.reason = reason
    }

    /// A one-line message.
    public var description: String {
        if let location { "\(file): \(location): \(reason)" } else { "\(file): \(reason)" }
    }
}
