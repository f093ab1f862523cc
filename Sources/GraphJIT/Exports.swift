// The umbrella: `import GraphJIT` gives the model API and everything it is built on.
@_exported import GraphJITCompiler
@_exported import GraphJITIR
@_exported import GraphJITRuntime
