import CGraphJITRuntime
import GraphJITIR
import Foundation

/// An owned, 64-byte-aligned, zero-initialized block of floats, freed on deinit.
///
/// The generated kernels and the runtime's vector routines assume nothing about alignment for
/// correctness, but aligned buffers keep AVX-512 loads within one cache line.
package final class AlignedBuffer: @unchecked Sendable {  // The pointer is fixed after init; contents are
                                                  // synchronized by the callers (one context per call).
    package let pointer: UnsafeMutablePointer<Float>
    package let count: Int

    package init(count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        // 64-byte alignment: a cache line and one AVX-512 register.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
