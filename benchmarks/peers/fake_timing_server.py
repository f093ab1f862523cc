#!/usr/bin/env python3
"""Dev aid: a stand-in for ``graphjit-bench --timing-server`` (standard library only).

Speaks the timing server's protocol (see ``benchmarks/Sources/graphjit-bench/TimingServer.swift``)
with made-up timings, so that run_peers.py's interleaved rounds can be tested without Swift::

    python benchmarks/peers/make_fake_graphjit_dir.py /tmp/fake
    python benchmarks/peers/run_peers.py /tmp/fake --quick --bench benchmarks/peers/fake_timing_server.py
    python benchmarks/peers/report.py /tmp/fake

* ``fake_timing_server.py --timing-server [--models cnn lstm ...]``: "compiles" (sleeps a moment per
  model) every model at every batch (cnn, lstm, attention at 1 and 64; multitask at 1, 64 and 256) for
  the variants instant, optimized, int8 and bf16; progress on stderr; then ONE line on stdout,
  ``{"ready":true,"variants":[{"model":"cnn","batch":1,"variant":"optimized"},...],"fake":true}``.
* Then one JSON request per line on stdin, ``{"model":"cnn","batch":1,"variant":"optimized","runs":20,
  "warmup":2}`` (optional ``"min_seconds"``: keep running past ``runs`` until that long has passed,
  at most 5000 runs), each answered with ``{"model":...,"batch":...,"variant":...,"times_ms":[...]}``
  or ``{"error":"..."}``. A "run" sleeps for a made-up time (the FLOPs of the model at a made-up
  efficiency, as make_fake_graphjit_dir.py's fake graphjit.json, times a little noise), so a slice
  takes about as long as a real one would.
* End of input: exit status 0.

``--help`` lists ``--timing-server``; ``--no-timing-server`` makes this behave like a graphjit-bench
built before the server (``--help`` without it, ``--timing-server`` an error, exit 64), and
``--fail-after N`` exits with status 3 in the middle of the N+1-th request -- both to test
run_peers.py's fallbacks. (Put them in a wrapper script: run_peers.py passes only
``--timing-server --models ...``; or set ``FAKE_TIMING_SERVER_ARGS``.)
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

BATCHES = {"cnn": (1, 64), "lstm": (1, 64), "attention": (1, 64), "multitask": (1, 64, 256)}
FLOPS_PER_SAMPLE = {"cnn": 14517504, "lstm": 3281000, "attention": 1082624, "multitask": 20224}  # models.SPECS
VARIANTS = ("instant", "optimized", "int8", "bf16")
# Made-up efficiencies (fraction of a 83 GFLOP/s core) and fixed costs, as make_fake_graphjit_dir.py's.
EFFICIENCY = {"instant": (0.12, 0.004), "optimized": (0.35, 0.002)}
QUANTIZED_FACTOR = {"int8": {"cnn": 0.3, "default": 0.7}, "bf16": {"cnn": 0.55, "default": 0.9}}
MAX_RUNS = 5000
USAGE = """USAGE: fake_timing_server.py [--models <models> ...] [--timing-server]

OPTIONS:
  --models <models>       Models to serve (default: all).
  --timing-server         Serve (fake) timings for benchmarks/peers/run_peers.py on stdin/stdout.
  -h, --help              Show help information.
"""


def fake_ms(model: str, batch: int, variant: str) -> float:
    peak = 2.6 * 32
    base = variant if variant in EFFICIENCY else "optimized"
    efficiency, overhead = EFFICIENCY[base]
    ms = overhead + FLOPS_PER_SAMPLE[model] * batch / (peak * efficiency * 1e9) * 1e3
    if variant in QUANTIZED_FACTOR:
        ms *= QUANTIZED_FACTOR[variant].get(model, QUANTIZED_FACTOR[variant]["default"])
    return ms


def send(obj) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def answer(line: str, keys: set, rng: random.Random, requests: int, fail_after: int | None) -> dict:
    request = json.loads(line)
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    key = (request.get("model"), request.get("batch"), request.get("variant"))
    if key not in keys:
        raise ValueError(f"no compiled plan for model '{key[0]}', batch {key[1]}, variant '{key[2]}'")
    runs, warmup = request.get("runs"), request.get("warmup", 0) or 0
    if not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS or not isinstance(warmup, int) or not 0 <= warmup <= MAX_RUNS:
        raise ValueError(f"runs must be in 1...{MAX_RUNS} and warmup in 0...{MAX_RUNS}")
    min_seconds = float(request.get("min_seconds") or 0.0)
    base = fake_ms(*key)
    for _ in range(warmup):
        time.sleep(base * 1e-3)
    times, start = [], time.perf_counter()
    while len(times) < MAX_RUNS and (len(times) < runs or time.perf_counter() - start < min_seconds):
        ms = base * rng.lognormvariate(0.0, 0.05)
        time.sleep(ms * 1e-3)  # sleep's own overhead makes fast variants' slices short in runs: fine here
        times.append(ms)
        if fail_after is not None and requests >= fail_after:
            sys.stderr.write("fake timing server: failing on purpose (--fail-after)\n")
            sys.stderr.flush()
            os._exit(3)
    return {"model": key[0], "batch": key[1], "variant": key[2], "times_ms": times}


def main(argv: list[str]) -> int:
    argv = argv + os.environ.get("FAKE_TIMING_SERVER_ARGS", "").split()
    legacy = "--no-timing-server" in argv
    usage = USAGE
    if legacy:  # a graphjit-bench from before the server: no --timing-server in its usage
        usage = "".join(line + "\n" for line in USAGE.replace(" [--timing-server]", "").splitlines()
                        if not line.lstrip().startswith("--timing-server"))
    if "-h" in argv or "--help" in argv:
        sys.stdout.write(usage)
        return 0
    if legacy or "--timing-server" not in argv:
        sys.stderr.write("Error: Unknown option '--timing-server'\n" if legacy else "fake: only --timing-server\n")
        sys.stderr.write(usage)
        return 64
    models = list(BATCHES)
    fail_after = None
    i = 0
    while i < len(argv):
        if argv[i] == "--models":
            chosen = []
            while i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                i += 1
                chosen.append(argv[i])
            unknown = [m for m in chosen if m not in BATCHES]
            if unknown:
                sys.stderr.write(f"Error: unknown model(s) {unknown}\n")
                return 64
            models = chosen or models
        elif argv[i] == "--fail-after":
            i += 1
            fail_after = int(argv[i])
        i += 1
    order = []
    for model in models:
        for batch in BATCHES[model]:
            sys.stderr.write(f"... fake timing server: compiling {model} at batch {batch} ...\n")
            sys.stderr.flush()
            time.sleep(0.05)
            order += [{"model": model, "batch": batch, "variant": v} for v in VARIANTS]
    keys = {(k["model"], k["batch"], k["variant"]) for k in order}
    send({"ready": True, "variants": order, "fake": True})
    rng = random.Random(1234)
    requests = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            send(answer(line, keys, rng, requests, fail_after))
        except Exception as error:  # noqa: BLE001 -- the protocol's error answer
            send({"error": f"{type(error).__name__}: {error}"})
        requests += 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
