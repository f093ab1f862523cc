/// What an inspection plan computes: values to return, and optionally the gradient of one value
/// with respect to others. Plans are cached per request (and batch size, and tier).
struct InspectionRequest: Hashable, Sendable {
    var outputs: [InspectedValue]
    var target: InspectedValue?
    var withRespectTo: [InspectedValue] = []
}
