import GraphJITIR

/// Keras's `compile_config` (and a legacy `.h5`'s `training_config`) as GraphJIT's
/// ``TrainingConfiguration``, both ways: the optimizer with its hyperparameters, the losses,
/// loss weights and metrics. Options GraphJIT does not train with are refused, naming them.
enum KerasCompileConfig {
    /// The training configuration a compile config describes, for a model with `outputNames`.
    static func configuration(from json: JSON, outputNames: [String], file: String) throws -> TrainingConfiguration {
        func unsupported(_ reason: String) -> ModelFileError {
            ModelFileError(.unsupported, file: file, location: "compile_config", reason: reason)
        }
        guard let optimizerValue = json["optimizer"] ?? json["optimizer_config"] else {
            throw ModelFileError(.config, file: file, location: "compile_config", reason: "no optimizer")
        }
        let optimizer = try self.optimizer(optimizerValue, file: file)
        let lossValue = json["loss"] ?? .null
        let weightsValue = json["loss_weights"] ?? .null
        let metricsValue = json["metrics"] ?? .null
        if let weighted = json["weighted_metrics"], !weighted.isNull, weighted.arrayValue?.isEmpty != true {
            throw unsupported("weighted_metrics are not supported")
        }

        // The dict form: keyed by output name.
        if let members = lossValue.members {
            let losses = try Dictionary(members.map { ($0.key, try loss($0.value, file: file)) }, uniquingKeysWith: { a, _ in a })
            let metrics = try Dictionary((metricsValue.members ?? []).map { ($0.key, try metricList($0.value, file: file)) },
                                         uniquingKeysWith: { a, _ in a })
            let weights = try weightsValue.members.map { members in
                try Dictionary(members.map { member -> (String, Double) in
                    guard let weight = member.value.doubleValue else { throw unsupported("loss weight \(member.value.summary)") }
                    return (member.key, weight)
                }, uniquingKeysWith: { a, _ in a })
            }
            return TrainingConfiguration(optimizer: optimizer, losses: losses, metrics: metrics, lossWeights: weights)
        }
        let losses: [Loss] = try lossValue.arrayValue.map { try $0.map { try loss($0, file: file) } }
            ?? [try loss(lossValue, file: file)]
        let lossWeights: [Double]? = try weightsValue.isNull ? nil : weightsValue.arrayValue.map { elements in
            try elements.map { element in
                guard let weight = element.doubleValue else { throw unsupported("loss weight \(element.summary)") }
                return weight
            }
        } ?? { throw unsupported("loss_weights \(weightsValue.summary): expected a list or a dict") }()
        var metrics: [Metric] = []
        if let elements = metricsValue.arrayValue {
            if outputNames.count > 1 {
                // One entry per output: a metric, a list of one metric, or null.
                metrics = try elements.map { element in
                    let list = try metricList(element, file: file)
                    guard list.count == 1 else {
                        throw unsupported("metrics \(metricsValue.summary): GraphJIT takes one metric per output")
                    }
                    return list[0]
                }
            } else {
                metrics = try elements.flatMap { try metricList($0, file: file) }
            }
        } else if !metricsValue.isNull {
            metrics = try metricList(metricsValue, file: file)
        }
        return TrainingConfiguration(optimizer: optimizer, losses: losses, lossWeights: lossWeights, metrics: metrics)
    }

    // MARK: Pieces

    static func optimizer(_ value: JSON, file: String) throws -> Optimizer {
        func unsupported(_ reason: String) -> ModelFileError {
            ModelFileError(.unsupported, file: file, location: "compile_config optimizer", reason: reason)
        }
        if let name = value.stringValue {
            switch name.lowercased() {
            case "adam": return .adam()
            case "sgd": return .sgd()
            case "rmsprop": return .rmsprop()
            default: throw unsupported("optimizer '\(name)' (GraphJIT trains with Adam, SGD and RMSprop)")
            }
        }
        // Keras 2 (tf_keras) registers its optimizers as `Custom>Adam`.
        guard let className = value["class_name"]?.stringValue.map({ $0.hasPrefix("Custom>") ? String($0.dropFirst(7)) : $0 }),
              let config = value["config"] else {
            throw ModelFileError(.config, file: file, location: "compile_config optimizer",
                                 reason: "\(value.summary) is not a serialized optimizer")
        }
        let options = KerasLayerConfig(file: file, className: className, name: "optimizer", config: config)
        for key in ["weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor", "gradient_accumulation_steps"] {
            try options.requireNull([key], "GraphJIT's optimizers have no weight decay, clipping, loss scaling or accumulation")
        }
        try options.require("use_ema", isOneOf: [.bool(false)], "GraphJIT's optimizers keep no moving average")
        if let rate = options.value("learning_rate"), rate.doubleValue == nil {
            throw unsupported("learning_rate \(rate.summary): a schedule (GraphJIT takes a constant learning rate)")
        }
        switch className {
        case "Adam":
            try options.require("amsgrad", isOneOf: [.bool(false)], "GraphJIT's Adam has no AMSGrad")
            return .adam(learningRate: try options.double("learning_rate", default: 0.001),
                         beta1: try options.double("beta_1", default: 0.9), beta2: try options.double("beta_2", default: 0.999),
                         epsilon: try options.double("epsilon", default: 1e-7))
        case "SGD":
            return .sgd(learningRate: try options.double("learning_rate", default: 0.01),
                        momentum: try options.double("momentum", default: 0), nesterov: try options.bool("nesterov", default: false))
        case "RMSprop":
            return .rmsprop(learningRate: try options.double("learning_rate", default: 0.001),
                            rho: try options.double("rho", default: 0.9), momentum: try options.double("momentum", default: 0),
                            epsilon: try options.double("epsilon", default: 1e-7), centered: try options.bool("centered", default: false))
        default:
            throw unsupported("optimizer class '\(className)' (GraphJIT trains with Adam, SGD and RMSprop)")
        }
    }

    private static let lossClasses: [String: Loss] = [
        "CategoricalCrossentropy": .categoricalCrossentropy,
        "SparseCategoricalCrossentropy": .sparseCategoricalCrossentropy,
        "MeanSquaredError": .meanSquaredError,
    ]

    static func loss(_ value: JSON, file: String) throws -> Loss {
        func unsupported(_ reason: String) -> ModelFileError {
            ModelFileError(.unsupported, file: file, location: "compile_config loss", reason: reason)
        }
        let supported = Loss.allCases.map(\.rawValue).joined(separator: ", ")
        if let name = value.stringValue {
            guard let loss = Loss(kerasName: name) else { throw unsupported("loss '\(name)' (GraphJIT trains with \(supported))") }
            return loss
        }
        guard let className = value["class_name"]?.stringValue, let config = value["config"] else {
            throw unsupported("loss \(value.summary) (GraphJIT trains with \(supported))")
        }
        guard let loss = lossClasses[className] ?? Loss(kerasName: className) else {
            throw unsupported("loss class '\(className)' (GraphJIT trains with \(supported))")
        }
        let options = KerasLayerConfig(file: file, className: className, name: "loss", config: config)
        try options.require("from_logits", isOneOf: [.bool(false)], "GraphJIT's losses take probabilities")
        try options.require("label_smoothing", isOneOf: [.int(0), .number("0.0")], "GraphJIT's losses have no label smoothing")
        try options.require("reduction", isOneOf: [.string("sum_over_batch_size")], "GraphJIT averages over the batch")
        try options.require("axis", isOneOf: [.int(-1)], "GraphJIT's losses reduce the last axis")
        return loss
    }

    /// A metric entry: a name, a serialized metric, a list of them, or null (none).
    static func metricList(_ value: JSON, file: String) throws -> [Metric] {
        if value.isNull { return [] }
        if let elements = value.arrayValue { return try elements.flatMap { try metricList($0, file: file) } }
        let name = value.stringValue ?? value["config"]?["name"]?.stringValue ?? value["class_name"]?.stringValue ?? ""
        switch name {
        case "accuracy", "acc", "categorical_accuracy", "CategoricalAccuracy": return [.accuracy]
        default:
            throw ModelFileError(.unsupported, file: file, location: "compile_config metrics",
                                 reason: "metric \(value.summary) (GraphJIT reports accuracy)")
        }
    }

    // MARK: Writing

    /// The `compile_config` Keras's `model.compile` would record for `configuration`.
    static func json(for configuration: TrainingConfiguration) -> JSON {
        let optimizer: JSON
        switch configuration.optimizer {
        case let .adam(lr, b1, b2, eps):
            optimizer = serializedOptimizer("Adam", "adam", lr, [("beta_1", .double(b1)), ("beta_2", .double(b2)),
                                                                  ("epsilon", .double(eps)), ("amsgrad", .bool(false))])
        case let .sgd(lr, momentum, nesterov):
            optimizer = serializedOptimizer("SGD", "SGD", lr, [("momentum", .double(momentum)), ("nesterov", .bool(nesterov))])
        case let .rmsprop(lr, rho, momentum, eps, centered):
            optimizer = serializedOptimizer("RMSprop", "rmsprop", lr, [("rho", .double(rho)), ("momentum", .double(momentum)),
                                                                       ("epsilon", .double(eps)), ("centered", .bool(centered))])
        }
        let loss, metrics, lossWeights: JSON
        if let byOutput = configuration.byOutput {
            let names = byOutput.losses.keys.sorted()
            loss = .object(names.map { ($0, .string(byOutput.losses[$0]!.rawValue)) })
            metrics = .object(byOutput.metrics.keys.sorted().map { ($0, .strings(byOutput.metrics[$0]!.map(\.rawValue))) })
            lossWeights = byOutput.lossWeights.map { weights in .object(weights.keys.sorted().map { ($0, .double(weights[$0]!)) }) } ?? .null
        } else {
            loss = configuration.losses.count == 1 ? .string(configuration.losses[0].rawValue)
                : .strings(configuration.losses.map(\.rawValue))
            metrics = configuration.metrics.isEmpty ? .null : .strings(configuration.metrics.map(\.rawValue))
            lossWeights = configuration.lossWeights.map { .array($0.map(JSON.double)) } ?? .null
        }
        return .object([
            ("optimizer", optimizer), ("loss", loss), ("loss_weights", lossWeights), ("metrics", metrics),
            ("weighted_metrics", .null), ("run_eagerly", .bool(false)), ("steps_per_execution", .int(1)),
            ("jit_compile", .bool(false)),
        ])
    }

    private static func serializedOptimizer(_ className: String, _ name: String, _ learningRate: Double,
                                            _ options: [(key: String, value: JSON)]) -> JSON {
        let common: [(key: String, value: JSON)] = [
            ("name", .string(name)), ("learning_rate", .double(learningRate)), ("weight_decay", .null),
            ("clipnorm", .null), ("global_clipnorm", .null), ("clipvalue", .null), ("use_ema", .bool(false)),
            ("ema_momentum", .double(0.99)), ("ema_overwrite_frequency", .null), ("loss_scale_factor", .null),
            ("gradient_accumulation_steps", .null),
        ]
        return .object([("module", .string("keras.optimizers")), ("class_name", .string(className)),
                        ("config", .object(common + options)), ("registered_name", .null)])
    }
}
