import Foundation
import GraphJIT

/// The bodies of `FuzzNPY` and `FuzzSafetensors`: decode arbitrary bytes; a thrown error is fine,
/// a trap is a finding. What decodes must survive a round trip through the writer bit for bit.
public enum ReaderFuzzers {
    public static func npy(_ bytes: [UInt8]) {
        guard let tensor = try? NPY.decode(Data(bytes)) else { return }
        check(tensor.scalars.count == tensor.shape.elementCount, "NPY: \(tensor.shape) with \(tensor.scalars.count) scalars")
        let encoded = NPY.encode(tensor)
        let again: Tensor
        do {
            again = try NPY.decode(encoded)
        } catch {
            fatalError("NPY: a decoded \(tensor.shape) tensor does not decode after encoding: \(error)")
        }
        check(sameBits(tensor, again), "NPY: round trip changed a \(tensor.shape) tensor")
    }

    public static func safetensors(_ bytes: [UInt8]) {
        guard let file = try? Safetensors.decode(Data(bytes)) else { return }
        check(file.names.count == file.tensors.count && Set(file.names) == Set(file.tensors.keys),
              "safetensors: names \(file.names) and tensors \(file.tensors.keys.sorted()) differ")
        for (name, tensor) in file.orderedTensors {
            check(tensor.scalars.count == tensor.shape.elementCount,
                  "safetensors: '\(name)' has shape \(tensor.shape) and \(tensor.scalars.count) scalars")
        }
        let encoded: Data
        do {
            encoded = try Safetensors.encode(file.tensors, metadata: file.metadata)
        } catch {
            fatalError("safetensors: decoded tensors \(file.names) do not encode: \(error)")
        }
        let again: SafetensorsFile
        do {
            again = try Safetensors.decode(encoded)
        } catch {
            fatalError("safetensors: re-encoded tensors \(file.names) do not decode: \(error)")
        }
        check(again.metadata == file.metadata, "safetensors: metadata changed in a round trip")
        check(Set(again.names) == Set(file.names), "safetensors: names changed in a round trip")
        for name in file.names {
            check(sameBits(file.tensors[name]!, again.tensors[name]!), "safetensors: '\(name)' changed in a round trip")
        }
    }

    static func sameBits(_ a: Tensor, _ b: Tensor) -> Bool {
        a.shape == b.shape && a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern)
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError(message()) }
    }
}
