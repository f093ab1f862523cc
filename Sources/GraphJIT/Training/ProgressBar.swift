import Foundation

/// How much `fit` and `evaluate` print, as Keras's `verbose`.
public enum Verbosity: Sendable, Equatable {
    /// A progress bar when standard output is a terminal, nothing otherwise.
    case auto
    /// Nothing.
    case silent
    /// A progress bar redrawn in place (Keras `verbose=1`).
    case progressBar
    /// One line per epoch (Keras `verbose=2`).
    case oneLinePerEpoch

    var showsBar: Bool {
        switch self {
        case .auto: isatty(STDOUT_FILENO) == 1
        case .progressBar: true
        case .silent, .oneLinePerEpoch: false
        }
    }
}

/// Keras's progress line: `25/25 ━━━━━━━━━━━━━━━━━━━━ 2s 41ms/step - accuracy: 0.1050 - loss: 2.3312`.
struct ProgressBar {
    let target: Int
    let redraws: Bool
    private let start = Date()
    private var firstStepEnd: Date?
    private var lastDraw = Date.distantPast

    init(target: Int, redraws: Bool) {
        self.target = target
        self.redraws = redraws
    }

    /// Step `current` (from 1) is done; draws at most every 0.05 s, and always the last step.
    mutating func update(_ current: Int, logs: [String: Double], final: Bool = false) {
        let now = Date()
        if current == 1 { firstStepEnd = now }
        guard redraws || final else { return }
        guard final || current == target || now.timeIntervalSince(lastDraw) >= 0.05 else { return }
        lastDraw = now
        let line = Self.render(current: current, target: target, elapsed: now.timeIntervalSince(start),
                               perStep: perStep(current, now: now), logs: logs, final: final || current == target)
        FileHandle.standardOutput.write(Data(((redraws ? "\r" : "") + line + (final || current == target ? "\n" : "")).utf8))
    }

    private func perStep(_ current: Int, now: Date) -> Double {
        guard current > 1, let first = firstStepEnd else { return now.timeIntervalSince(start) }
        return now.timeIntervalSince(first) / Double(current - 1)
    }

    static func render(current: Int, target: Int, elapsed: Double, perStep: Double, logs: [String: Double],
                       final: Bool) -> String {
        let width = String(target).count
        let filled = target > 0 ? min(20, 20 * current / target) : 20
        var line = "\u{1b}[1m" + String(repeating: " ", count: max(0, width - String(current).count)) + "\(current)/\(target)\u{1b}[0m "
        line += "\u{1b}[32m" + String(repeating: "━", count: filled) + "\u{1b}[0m"
        line += "\u{1b}[37m" + String(repeating: "━", count: 20 - filled) + "\u{1b}[0m "
        line += final ? "\(Int(elapsed.rounded()))s" : duration(perStep * Double(target - current))
        line += " " + stepTime(perStep)
        for key in logs.keys.sorted() { line += " - \(key): " + value(logs[key]!) }
        return line
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%d:%02d", total / 60, total % 60) }
        return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }

    static func stepTime(_ seconds: Double) -> String {
        if seconds >= 1 { return "\(Int(seconds.rounded()))s/step" }
        if seconds >= 1e-3 { return "\(Int((seconds * 1e3).rounded()))ms/step" }
        return "\(Int((seconds * 1e6).rounded()))us/step"
    }

    static func value(_ value: Double) -> String {
        abs(value) > 1e-3 ? String(format: "%.4f", value) : String(format: "%.4e", value)
    }
}
