import Foundation
import GraphJITRuntime

/// The idle execution contexts of one compiled plan: a call takes one (or makes one when all are
/// busy) and returns it afterwards, so concurrent calls never share an arena.
///
/// Guarded by an `NSLock` (a pthread mutex) rather than `Synchronization.Mutex`: ThreadSanitizer
/// intercepts pthread mutexes, but on Linux it does not always see `Mutex`'s futex-based hand-off,
/// and then reports two calls returning their contexts as a race.
final class ExecutionContextPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [ExecutionContext] = []

    /// An idle context, if there is one.
    func take() -> ExecutionContext? {
        lock.lock()
        defer { lock.unlock() }
        return idle.popLast()
    }

    /// Returns a context after a call.
    func put(_ context: ExecutionContext) {
        lock.lock()
        defer { lock.unlock() }
        idle.append(context)
    }
}
