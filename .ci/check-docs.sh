#!/usr/bin/env bash
# Builds the DocC documentation of the library's four targets (swift-docc-plugin) and fails on any warning
# from GraphJIT's sources or catalog: broken symbol links, undocumented parameters of a documented
# function, stale signatures. SwiftPM's note about a dependency's resource file is not ours.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/ensure-system-packages.sh
log=$(mktemp -t graphjit-docs.XXXXXX)
trap 'rm -f "$log"' EXIT
swift package --disable-sandbox generate-documentation --target GraphJIT --target GraphJITIR --target GraphJITRuntime \
    --target GraphJITCompiler >"$log" 2>&1 || { tail -40 "$log" >&2; echo "docs: generate-documentation failed" >&2; exit 1; }
if grep "warning:" "$log" | grep -v "'zipfoundation': found 1 file(s) which are unhandled" | grep -q .; then
    grep "warning:" "$log" | grep -v "'zipfoundation'" >&2
    echo "docs: FAILED: documentation warnings (above)" >&2
    exit 1
fi
echo "docs: generate-documentation built the documentation of GraphJIT, GraphJITIR, GraphJITRuntime and GraphJITCompiler with no warnings"
# Every public declaration of the library's modules (GraphJIT, GraphJITIR, GraphJITRuntime,
# GraphJITCompiler) has a doc comment.
swift package dump-symbol-graph --minimum-access-level public >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
graphs=$(sed -n 's/^Files written to //p' "$log" | tail -1)
swift .ci/doc-coverage.swift "$graphs"
