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
    /// Called once before the first epoch.
    public func onTrainBegin(model: Model) throws {}
    /// Called after each epoch with its logs (validation included).
    public func onEpochEnd(_ epoch: Int, logs: [String: Double], model: Model) throws {}
    /// Called once after the last epoch.
    public func onTrainEnd(model: Model) throws {}
}

/// Whether a larger or a smaller monitored value is better.
public enum MonitorMode: Sendable {
    /// `max` for keys containing `acc`, `min` otherwise (Keras's `auto`).
    case auto
    /// A smaller value is better (a loss).
    case min
    /// A larger value is better (an accuracy).
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
    /// The log key watched (`val_loss`, `accuracy`, ...).
    public let monitor: String
    /// The least change that counts as an improvement.
    public let minDelta: Double
    /// Epochs without improvement before training stops.
    public let patience: Int
    /// Whether smaller or larger values of the monitored key are better.
    public let mode: MonitorMode
    /// Whether the best epoch's weights are restored when training stops.
    public let restoreBestWeights: Bool
    /// The epoch training stopped after, if it did.
    public private(set) var stoppedEpoch: Int?
    private var best = Double.infinity
    private var wait = 0
    private var bestWeights: [String: GraphJITIR.Tensor]?

    /// Stops training when `monitor` has not improved by `minDelta` for `patience` epochs, as Keras's `EarlyStopping`.
    public init(monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, mode: MonitorMode = .auto,
                restoreBestWeights: Bool = false) {
        self.monitor = monitor
        self.minDelta = abs(minDelta)
        self.patience = patience
        self.mode = mode
        self.restoreBestWeights = restoreBestWeights
    }

    /// Called once before the first epoch.
    public func onTrainBegin(model: Model) throws {
        best = mode.initial(key: monitor)
        wait = 0
        stoppedEpoch = nil
        bestWeights = nil
    }

    /// Called after each epoch with its logs (validation included).
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
    /// Where the weights are saved.
    public let url: URL
    /// The log key watched (`val_loss`, `accuracy`, ...).
    public let monitor: String
    /// Whether only an epoch that improves on the best is saved.
    public let saveBestOnly: Bool
    /// Whether smaller or larger values of the monitored key are better.
    public let mode: MonitorMode
    private var best = Double.infinity

    /// Saves the weights after epochs, as Keras's `ModelCheckpoint`.
    public init(url: URL, monitor: String = "val_loss", saveBestOnly: Bool = false, mode: MonitorMode = .auto) {
        self.url = url
        self.monitor = monitor
        self.saveBestOnly = saveBestOnly
        self.mode = mode
    }

    /// Called once before the first epoch.
    public func onTrainBegin(model: Model) throws { best = mode.initial(key: monitor) }

    /// Called after each epoch with its logs (validation included).
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
