// Placeholder until the benchmark lands in the next commit.
print("graphjit-bench: not implemented yet")
