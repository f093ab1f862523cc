import CGraphJITRuntime
import GraphJITIR
/// Where every activation and scratch buffer lives in one arena, by liveness.
///
/// Each buffer is live from the kernel that writes it to the last kernel that reads it (inputs
/// from the start, outputs to the end; scratch only during its kernel). Buffers whose lifetimes
/// do not overlap share memory: greedy first-fit, largest first, every offset 64-byte aligned.
package struct MemoryPlan: Sendable {
    /// A buffer to place: `floats` floats live over kernel steps `first...last`.
    package struct Request: Sendable {
        let floats: Int
        let first: Int
        let last: Int
    }

    /// Offset in floats of each request, in request order.
    package let offsets: [Int]
    /// Total arena size in floats.
    package let arenaFloats: Int
    /// Sum of every request's size: what the arena would take without reuse.
    package let unsharedFloats: Int

    /// 64 bytes: a cache line and an AVX-512 register.
    package static let alignmentFloats = 16

    package init(requests: [Request]) {
        var offsets = Array(repeating: 0, count: requests.count)
        var ends = Array(repeating: 0, count: requests.count)
        // Placed requests by the steps they are live at, so that finding the ones whose lifetimes
        // overlap a new request costs its lifetime's length, not the number placed.
        let steps = (requests.map(\.last).max() ?? -1) + 1
        var liveAt = Array(repeating: [Int](), count: max(steps, 0))
        var seenBy = Array(repeating: -1, count: requests.count)
        let order = requests.indices.sorted { requests[$0].floats > requests[$1].floats }
        for index in order {
            let request = requests[index]
            // Saturating: a plan too large for Int fails the memory budget, it does not trap here.
            let size = Self.aligned(request.floats)
            var conflicts: [Int] = []
            for step in max(request.first, 0)...max(request.last, request.first, 0) where step < steps {
                for other in liveAt[step] where seenBy[other] != index {
                    seenBy[other] = index
                    conflicts.append(other)
                }
            }
            conflicts.sort { offsets[$0] < offsets[$1] }
            var offset = 0
            for other in conflicts {
                if Int.saturatingSum(offset, size) <= offsets[other] { break }
                offset = max(offset, ends[other])
            }
            offsets[index] = offset
            ends[index] = Int.saturatingSum(offset, size)
            for step in max(request.first, 0)...max(request.last, request.first, 0) where step < steps {
                liveAt[step].append(index)
            }
        }
        self.offsets = offsets
        self.arenaFloats = ends.max() ?? 0
        self.unsharedFloats = requests.reduce(0) { Int.saturatingSum($0, Self.aligned($1.floats)) }
    }

    /// `floats` rounded up to the alignment, saturating.
    private static func aligned(_ floats: Int) -> Int {
        Int.saturatingSum(floats, alignmentFloats - 1) / alignmentFloats * alignmentFloats
    }
}
