#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/ensure-system-packages.sh

# The optimizing tier caches clang's shared objects; keep the tests' cache out of the user's.
export GRAPHJIT_CACHE_DIR="${GRAPHJIT_CACHE_DIR:-$(mktemp -d -t graphjit-test-cache.XXXXXX)}"

swift build --build-tests
swift test --skip-build
