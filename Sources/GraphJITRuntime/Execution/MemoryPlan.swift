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
        let align = Self.alignmentFloats
        var offsets = Array(repeating: 0, count: requests.count)
        var placed: [(offset: Int, end: Int, request: Request)] = []
        let order = requests.indices.sorted { requests[$0].floats > requests[$1].floats }
        for index in order {
            let request = requests[index]
            let size = (request.floats + align - 1) / align * align
            let conflicts = placed
                .filter { $0.request.first <= request.last && request.first <= $0.request.last }
                .sorted { $0.offset < $1.offset }
            var offset = 0
            for other in conflicts {
                if offset + size <= other.offset { break }
                offset = max(offset, other.end)
            }
            offsets[index] = offset
            placed.append((offset, offset + size, request))
        }
        self.offsets = offsets
        self.arenaFloats = placed.map(\.end).max() ?? 0
        self.unsharedFloats = requests.reduce(0) { $0 + ($1.floats + align - 1) / align * align }
    }
}
