import GraphJITIR

/// Decides which updates of persistent values (``Graph/updates``) the kernel computing the new
/// value writes straight into the target's storage, as XLA aliases a donated input with an output.
///
/// An update `target ← value` is in place when:
/// - a kernel materializes `value` (not a view, not an input or another persistent value), and
///   no other update already claimed it;
/// - `target` is not a graph output (outputs report the contents a call started with), nor the
///   value of another update (that one is copied from it when the call ends), also through a view;
/// - no kernel after that one reads `target` (directly or through a view), and the kernel itself either does not read it,
///   is a chain of elementwise stages starting from it (each element read before it is written), or
///   is a routine whose outputs may alias its inputs (``RoutineLowering/aliasesElementwise``: an optimizer step).
///
/// Every other update is copied into the target when the call ends.
struct UpdatePlanner {
    let graph: Graph

    func inPlaceUpdates(in groups: [KernelGroup]) -> [StateUpdate] {
        let writer = Dictionary(groups.enumerated().flatMap { index, group in group.outputs.map { ($0, index) } },
                                uniquingKeysWith: { first, _ in first })
        // A view of a value is the value's storage: reads through views count as reads of it.
        func storage(_ id: ValueID) -> ValueID {
            if let node = graph.producer(of: id), node.operation.kind == .view { return storage(node.inputs[0]) }
            return id
        }
        let readers: [ValueID: [Int]] = groups.enumerated().reduce(into: [:]) { readers, entry in
            for input in entry.element.externalInputs { readers[storage(input), default: []].append(entry.offset) }
        }
        var claimed = Set<ValueID>()
        let readWhenCallEnds = Set((graph.outputs + graph.updates.map(\.value)).map(storage))
        return graph.updates.filter { update in
            guard let kernel = writer[update.value], !readWhenCallEnds.contains(update.target),
                  !claimed.contains(update.value) else { return false }
            for reader in readers[update.target] ?? [] where reader >= kernel {
                guard reader == kernel,
                      Self.updatesElementwise(groups[kernel], source: update.target, graph: graph)
                        || Self.aliasesElementwise(groups[kernel], graph: graph),
                  !groups[kernel].externalInputs.contains(where: { $0 != update.target && storage($0) == update.target })
                else { return false }
            }
            claimed.insert(update.value)
            return true
        }
    }

    /// Whether `group` is one routine whose outputs may alias its inputs element by element.
    private static func aliasesElementwise(_ group: KernelGroup, graph: Graph) -> Bool {
        guard group.nodes.count == 1,
              case let .anchor(.routine(routine)) = group.anchor.operation.definition.lowering(of: group.anchor, in: graph)
        else { return false }
        return routine.aliasesElementwise
    }

    /// Whether `group` is one chain of elementwise stages that starts from `source` and reads it nowhere else.
    private static func updatesElementwise(_ group: KernelGroup, source: ValueID, graph: Graph) -> Bool {
        guard group.branches.count == 1, group.materializedInterior.isEmpty,
              group.anchor.inputs.first == source,
              case .stage = group.anchor.operation.definition.lowering(of: group.anchor, in: graph) else { return false }
        return group.nodes.allSatisfy { $0.operation.kind == .elementwise }
            && group.nodes.flatMap { $0.inputs.dropFirst() }.allSatisfy { $0 != source }
    }
}
