import Foundation

/// Hooks into `fit`, as Keras callbacks: called at the start and end of training and after each
/// epoch with that epoch's logs (validation included). A callback stops training by setting
/// ``Model/stopTraining``.
public protocol Callback: AnyObject {
    func onTrainBegin(model: Model) throws
    func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws
    func onTrainEnd(model: Model) throws
}

extension Callback {
    public func onTrainBegin(model: Model) throws {}
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {}
    public func onTrainEnd(model: Model) throws {}
}

/// Whether a larger or a smaller monitored value is better.
public enum MonitorMode: Sendable {
    /// `max` for keys containing `acc`, `min` otherwise (Keras's `auto`).
    case auto
    case min
    case max

    func improves(_ value: Double, on best: Double, key: String, minDelta: Double) -> Bool {
        let larger = self == .max || (self == .auto && key.contains("acc"))
        return larger ? value - minDelta > best : value + minDelta < best
    }

    func initial(key: String) -> Double {
        (self == .max || (self == .auto && key.contains("acc"))) ? -.infinity : .infinity
    }
}

/// Stops training when the monitored value stops improving, as `keras.callbacks.EarlyStopping`.
public final class EarlyStopping: Callback {
    public let monitor: String
    public let minDelta: Double
    public let patience: Int
    public let mode: MonitorMode
    public let restoreBestWeights: Bool
    /// The epoch training stopped after, if it did.
    public private(set) var stoppedEpoch: Int?
    private var best = Double.infinity
    private var wait = 0
    private var bestWeights: [String: GraphJITIR.Tensor]?

    public init(monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, mode: MonitorMode = .auto,
                restoreBestWeights: Bool = false) {
        self.monitor = monitor
        self.minDelta = abs(minDelta)
        self.patience = patience
        self.mode = mode
        self.restoreBestWeights = restoreBestWeights
    }

    public func onTrainBegin(model: Model) throws {
        best = mode.initial(key: monitor)
        wait = 0
        stoppedEpoch = nil
        bestWeights = nil
    }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        guard let value = logs[monitor] else {
            throw TrainingError.invalidConfiguration("EarlyStopping monitors '\(monitor)', which the logs lack (they have "
                                                     + "\(logs.keys.sorted().joined(separator: ", ")))")
        }
        wait += 1
        if mode.improves(value, on: best, key: monitor, minDelta: minDelta) {
            best = value
            wait = 0
            if restoreBestWeights { bestWeights = model.parameters.dictionary }
            return
        }
        if wait >= patience && epoch > 0 {
            stoppedEpoch = epoch
            model.stopTraining = true
            if restoreBestWeights, let bestWeights { try model.setParameters(bestWeights, source: "EarlyStopping's best weights") }
        }
    }
}

/// Saves the weights after each epoch (or only when the monitored value improves), as
/// `keras.callbacks.ModelCheckpoint(save_weights_only=True)`, to a safetensors file. `{epoch}` in
/// the file name becomes the epoch number from 1, zero-padded to two digits.
public final class ModelCheckpoint: Callback {
    public let url: URL
    public let monitor: String
    public let saveBestOnly: Bool
    public let mode: MonitorMode
    private var best = Double.infinity

    public init(url: URL, monitor: String = "val_loss", saveBestOnly: Bool = false, mode: MonitorMode = .auto) {
        self.url = url
        self.monitor = monitor
        self.saveBestOnly = saveBestOnly
        self.mode = mode
    }

    public func onTrainBegin(model: Model) throws { best = mode.initial(key: monitor) }

    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {
        if saveBestOnly {
            guard let value = logs[monitor] else {
                throw TrainingError.invalidConfiguration("ModelCheckpoint monitors '\(monitor)', which the logs lack")
            }
            guard mode.improves(value, on: best, key: monitor, minDelta: 0) else { return }
            best = value
        }
        let name = url.lastPathComponent.replacingOccurrences(of: "{epoch}", with: String(format: "%02d", epoch + 1))
        try model.saveWeights(to: url.deletingLastPathComponent().appendingPathComponent(name))
    }
}
