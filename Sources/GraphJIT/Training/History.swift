import Foundation

/// What `fit` returns, as Keras's `History` callback records it: one value per epoch for each
/// log key (`loss`, `accuracy`, `val_loss`, `dense_1_loss`, ...).
public struct History: Equatable, Sendable {
    /// Key → one value per epoch (Keras's `history.history`).
    public internal(set) var history: [String: [Double]] = [:]
    /// The epochs that ran, from 0.
    public internal(set) var epoch: [Int] = []
    /// `verbose`, `epochs` and `steps` (per epoch), as Keras's `history.params`.
    public let params: [String: Int]

    /// The history as Keras writes `json.dumps(history.history)`: keys sorted.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(history)
    }

    mutating func append(_ logs: [String: Double], epoch number: Int) {
        epoch.append(number)
        for (key, value) in logs { history[key, default: []].append(value) }
    }
}
