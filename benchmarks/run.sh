#!/usr/bin/env bash
# The main job: the seed-model benchmark on built-in seeded weights (no downloads).
# Installs libtcc-dev when missing, builds in release mode, runs every model on every engine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/include/libtcc.h ]; then
    echo "installing libtcc-dev (Debian) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libtcc-dev || { apt-get update -q && apt-get install -y -q libtcc-dev; }
fi

swift build -c release --product graphjit-bench
exec .build/release/graphjit-bench "$@"
