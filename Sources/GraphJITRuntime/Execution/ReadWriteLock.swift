import Glibc

/// A readers-writer lock (`pthread_rwlock_t`): many readers at once, or one writer.
///
/// Predictions read a model's persistent values together; a call that updates them (a training
/// step), a weight load, or the refresh of a derived weight format writes alone.
package final class ReadWriteLock: @unchecked Sendable {  // pthread_rwlock_t is thread-safe by contract.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// Writers are preferred (glibc's default prefers readers, so a steady stream of predictions
    /// could keep a training step or a weight load waiting forever). Never take it recursively.
    package init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Takes the lock shared; pair with ``unlock()``.
    package func lockRead() { pthread_rwlock_rdlock(lock) }

    /// Takes the lock exclusively; pair with ``unlock()``.
    package func lockWrite() { pthread_rwlock_wrlock(lock) }

    /// Releases the lock taken by ``lockRead()`` or ``lockWrite()``.
    package func unlock() { pthread_rwlock_unlock(lock) }

    /// Runs `body` while holding the lock shared.
    package func withReadLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` while holding the lock exclusively.
    package func withWriteLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
