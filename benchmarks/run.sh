#!/usr/bin/env bash
# The main job: the seed-model benchmark on built-in seeded weights (no downloads).
# Installs libtcc-dev when missing, builds in release mode, runs every model on every engine.
set -euo pipefail
cd "$(dirname "$0")/.."

source .ci/ensure-system-packages.sh

swift build -c release --product graphjit-bench
exec .build/release/graphjit-bench "$@"
