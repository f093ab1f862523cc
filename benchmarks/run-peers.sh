#!/usr/bin/env bash
# GraphJIT against its peers (ONNX Runtime, OpenVINO, LiteRT, TensorFlow/Keras, Keras on JAX) on the
# four tutorial models.
#
#   bash benchmarks/run-peers.sh [--quick] [--no-training] [--skip-swift]   (from the repository root)
#
# 1. makes sure Python can create venvs and libtcc-dev is installed (apt-get, only if missing);
# 2. creates/reuses benchmarks/.venv and installs benchmarks/peers/requirements.txt into it
#    (only when that file changed since the last install);
# 3. builds and runs graphjit-bench, which exports weights, inputs and GraphJIT's outputs and
#    its own (separate-phase) timings into benchmarks/results/latest;
# 4. runs benchmarks/peers/run_peers.py --bench graphjit-bench: checks the peers agree with GraphJIT,
#    then times GraphJIT (graphjit-bench --timing-server: instant, optimized, int8, bf16) and the peers
#    (ONNX Runtime fp32 and int8, OpenVINO, LiteRT, TensorFlow tf.function/XLA) interleaved, in rounds;
# 5. runs benchmarks/peers/train_peers.py: training throughput of GraphJIT against Keras on TF
#    (tf.function, XLA) and on JAX, engines interleaved over 3 rounds, and the loss curves;
# 6. runs benchmarks/peers/report.py (the tables, report.json, report.png, training_losses.png).
#
# --quick        2 short rounds in the peers run; one round and short curves in the training run
#                (a smoke test: a few minutes in all)
# --no-training  skip step 5 (report.py then has no training table)
# --skip-swift   reuse benchmarks/results/latest as it is (re-run the peers, training and the report
#                with the graphjit-bench built last, if there is one: without it GraphJIT's figures
#                are graphjit.json's, not interleaved)
# GRAPHJIT_BENCH_ARGS="..."  extra arguments for graphjit-bench (step 3)
set -euo pipefail

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

QUICK=()
SKIP_SWIFT=0
TRAINING=1
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=(--quick) ;;
        --skip-swift) SKIP_SWIFT=1 ;;
        --no-training) TRAINING=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run-peers.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="benchmarks/.venv"
REQUIREMENTS="benchmarks/peers/requirements.txt"
RESULTS="benchmarks/results/latest"
STAMP="$VENV/.requirements.sha256"
START=$SECONDS

step() { printf '\n==> %s\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf '\nrun-peers.sh: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo); fi
APT_UPDATED=0
can_apt() { command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ ${#SUDO[@]} -gt 0 ]; }; }
apt_install() {  # apt_install PACKAGE...: install, with an 'apt-get update' first only if that fails
    local env=(env DEBIAN_FRONTEND=noninteractive)
    if "${SUDO[@]}" "${env[@]}" apt-get install -y -q "$@" >/dev/null; then return 0; fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        info "apt-get install failed; running apt-get update and retrying"
        "${SUDO[@]}" apt-get update -q >/dev/null
        APT_UPDATED=1
        "${SUDO[@]}" "${env[@]}" apt-get install -y -q "$@" >/dev/null
    else
        return 1
    fi
}

# MARK: - Python with venv support

step "Python"
command -v python3 >/dev/null 2>&1 || die "python3 not found (the pinned peers need Python 3.11-3.13)"
PY_VERSION="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
info "python3 $PY_VERSION at $(command -v python3)"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    can_apt || die "python3 cannot create venvs (no venv/ensurepip) and apt-get is not usable: install python3-venv"
    info "installing python3-venv (python3 lacks venv/ensurepip)"
    apt_install python3-venv || apt_install "python${PY_VERSION}-venv" || die "could not install python3-venv"
fi

# MARK: - The venv

step "Python venv $VENV"
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    info "existing venv is broken; recreating it"
    rm -rf "$VENV"
fi
if [ ! -d "$VENV" ]; then
    python3 -m venv "$VENV"
    info "created"
fi
WANT_STAMP="$( { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; "$VENV/bin/python" -V 2>&1; } | tr '\n' ' ')"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_STAMP" ]; then
    info "requirements unchanged since the last install; not reinstalling"
else
    info "installing $REQUIREMENTS (TensorFlow is large: this takes a few minutes the first time)"
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
    printf '%s' "$WANT_STAMP" > "$STAMP"
    info "installed"
fi

# MARK: - libtcc

step "libtcc"
if [ -f /usr/include/libtcc.h ]; then
    info "/usr/include/libtcc.h present"
else
    can_apt || die "libtcc-dev is missing and apt-get is not usable: install libtcc-dev"
    info "installing libtcc-dev"
    apt_install libtcc-dev || die "could not install libtcc-dev"
fi

# MARK: - GraphJIT's half

BIN=""
if [ "$SKIP_SWIFT" -eq 1 ]; then
    step "Skipping the Swift benchmark (--skip-swift): reusing $RESULTS"
    [ -d "$RESULTS" ] || die "$RESULTS does not exist; run without --skip-swift first"
    if command -v swift >/dev/null 2>&1; then
        BIN="$(swift build -c release --show-bin-path)/graphjit-bench"
        [ -x "$BIN" ] || BIN=""
    fi
    if [ -n "$BIN" ]; then
        info "using the graphjit-bench built last: $BIN"
    elif [ "$TRAINING" -eq 1 ]; then
        die "graphjit-bench was never built (or swift is missing): the training run needs it; run without --skip-swift, or pass --no-training"
    else
        info "no graphjit-bench built: GraphJIT's figures will be graphjit.json's (not timed interleaved)"
    fi
else
    command -v swift >/dev/null 2>&1 || die "swift not found"
    step "Building graphjit-bench (swift build -c release)"
    swift build -c release --product graphjit-bench
    BIN="$(swift build -c release --show-bin-path)/graphjit-bench"
    [ -x "$BIN" ] || die "$BIN was not built"

    step "Running graphjit-bench --peers-dir $RESULTS"
    if [ -d "$RESULTS" ]; then
        rm -rf benchmarks/results/previous
        mv "$RESULTS" benchmarks/results/previous
        info "moved the last results to benchmarks/results/previous"
    fi
    mkdir -p "$RESULTS"
    # shellcheck disable=SC2086  # GRAPHJIT_BENCH_ARGS is split on purpose
    "$BIN" --peers-dir "$RESULTS" ${GRAPHJIT_BENCH_ARGS:-}
fi

# MARK: - The peers and the report

step "Inference: GraphJIT interleaved with ONNX Runtime, OpenVINO, LiteRT and TensorFlow (run_peers.py${BIN:+ --bench}${QUICK:+ --quick})"
BENCH_ARG=()
if [ -n "$BIN" ]; then BENCH_ARG=(--bench "$BIN"); fi
PEERS_STATUS=0
PYTHONUNBUFFERED=1 "$VENV/bin/python" benchmarks/peers/run_peers.py "$RESULTS" "${BENCH_ARG[@]}" "${QUICK[@]}" \
    || PEERS_STATUS=$?

TRAIN_STATUS=0
if [ "$TRAINING" -eq 1 ]; then
    step "Training: GraphJIT vs Keras on TF (tf.function, XLA) and on JAX (train_peers.py${QUICK:+ --quick})"
    rm -f "$RESULTS/training.json" "$RESULTS/training_losses.png"
    PYTHONUNBUFFERED=1 "$VENV/bin/python" benchmarks/peers/train_peers.py "$RESULTS" --bench "$BIN" "${QUICK[@]}" \
        || TRAIN_STATUS=$?
else
    step "Skipping the training benchmark (--no-training)"
    rm -f "$RESULTS/training.json" "$RESULTS/training_losses.png"
fi

step "Report"
"$VENV/bin/python" benchmarks/peers/report.py "$RESULTS"

printf '\n' >&2
info "JSON:  $RESULTS/graphjit.json, $RESULTS/peers.json$([ "$TRAINING" -eq 1 ] && printf ', %s' "$RESULTS/training.json"), $RESULTS/report.json"
info "chart: $RESULTS/report.png$([ "$TRAINING" -eq 1 ] && printf ', %s' "$RESULTS/training_losses.png")"
info "took $((SECONDS - START)) s"
if [ "$PEERS_STATUS" -ne 0 ]; then
    die "run_peers.py failed (status $PEERS_STATUS): see the PEER OUTPUT CHECK / failures listed above"
fi
if [ "$TRAIN_STATUS" -ne 0 ]; then
    die "train_peers.py failed (status $TRAIN_STATUS): see TRAINING RUNS FAILED above"
fi
