import GraphJITRuntime
import GraphJITIR
import CGraphJITRuntime

/// The C declarations every generated module starts with: the kernel ABI, the `gj_runtime` table
/// and the activation constants.
///
/// Generated code is compiled without any headers (tcc runs `-nostdlib` and hermetic), so it
/// declares the table itself. The text is not written here: the C runtime expands it from the
/// same X-macro tables (`runtime-c/include/gj_abi.h`) that define the real struct.
enum RuntimePrelude {
    /// The runtime's ABI version (`GJ_RUNTIME_ABI_VERSION`).
    static let abiVersion = Int(GJ_RUNTIME_ABI_VERSION)

    static let source = String(cString: gj_runtime_prelude())
}
