import Foundation
import Synchronization

/// The most memory GraphJIT allocates for one model's weights, one compiled plan, or one reference
/// run: a request beyond it throws ``GraphError/memoryBudgetExceeded(what:bytes:budget:)`` before
/// anything is allocated, instead of the process running out of memory.
///
/// The default is `GRAPHJIT_MEMORY_BUDGET` (bytes, or with a `K`, `M`, `G` or `T` suffix, powers
/// of 1024) when set, else three quarters of the machine's physical memory. Set ``bytes`` to change it.
public enum MemoryBudget {
    private static let storage = Mutex<Int>(defaultBytes(environment: ProcessInfo.processInfo.environment))

    /// The budget in bytes.
    public static var bytes: Int {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = max(newValue, 0) } }
    }

    /// Throws unless `bytes` fit in the budget; `what` names the request in the error.
    public static func check(_ bytes: Int, for what: @autoclosure () -> String) throws {
        let budget = self.bytes
        guard bytes <= budget else {
            throw GraphError.memoryBudgetExceeded(what: what(), bytes: bytes, budget: budget)
        }
    }

    /// The bytes of `floats` 32-bit floats, saturating.
    public static func bytes(ofFloats floats: Int) -> Int { Int.saturatingProduct(floats, MemoryLayout<Float>.stride) }

    /// The default budget for an environment (see the type's documentation).
    static func defaultBytes(environment: [String: String]) -> Int {
        if let text = environment["GRAPHJIT_MEMORY_BUDGET"], let parsed = parse(text) { return parsed }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory / 4 * 3)
    }

    /// `123`, `64M`, `8G`, `1.5T` → bytes; `nil` for anything else.
    static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024,
                                          "T": 1024 * 1024 * 1024 * 1024]
        var number = Substring(trimmed)
        var scale = 1.0
        if let last = number.last, let unit = units[last] {
            scale = unit
            number = number.dropLast()
        }
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        let total = value * scale
        return total < Double(Int.max) ? Int(total) : Int.max
    }
}
