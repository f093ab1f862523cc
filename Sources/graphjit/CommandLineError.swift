import Foundation

/// An error as the command line prints it: one line, naming the file when there is one.
///
/// GraphJIT's own errors already read that way. A Foundation error that reaches the top (a
/// `CocoaError` from a file operation) would print as `Error Domain=NSCocoaErrorDomain Code=260
/// … UserInfo={…}`; it becomes "cannot read PATH: REASON" instead.
struct CommandLineError: Error, CustomStringConvertible {
    let description: String

    /// `error` itself when it already prints as one line, else its one-line form.
    static func presentable(_ error: any Error) -> any Error {
        guard error is CocoaError || error is POSIXError || type(of: error) is NSError.Type else { return error }
        return CommandLineError(description: oneLine(error as NSError))
    }

    private static func oneLine(_ error: NSError) -> String {
        let reason = error.localizedFailureReason ?? error.localizedDescription
        guard let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        else { return reason }
        // Foundation's file reading errors are codes 256-511, writing errors 512-767.
        guard error.domain == NSCocoaErrorDomain else { return "\(path): \(reason)" }
        return "cannot \(error.code < NSFileWriteUnknownError ? "read" : "write") \(path): \(reason)"
    }
}
