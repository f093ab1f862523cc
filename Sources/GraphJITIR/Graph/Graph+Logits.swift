extension Graph {
    /// The value before `value`'s final activation when that is a softmax over the last axis or a
    /// sigmoid: its logits, as Keras's TensorFlow backend finds them (cross-entropy from logits,
    /// Grad-CAM's "last activation set to None"); `nil` when `value` ends in neither.
    public func logits(of value: ValueID) -> ValueID? {
        guard let producer = producer(of: value) else { return nil }
        if let softmax = producer.operation.as(SoftmaxOp.self), softmax.axis == self[value].shape.count - 1 {
            return producer.inputs[0]
        }
        if producer.operation.as(ActivationOp.self)?.function == .sigmoid { return producer.inputs[0] }
        return nil
    }
}
