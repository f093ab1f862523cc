#!/usr/bin/env python3
"""Dev aid: writes a results directory shaped like ``graphjit-bench --peers-dir DIR`` writes it.

Random weights (Glorot-uniform kernels, non-zero biases) for the four models, random inputs for
every batch, "GraphJIT outputs" computed by the Keras models of ``models.py``, and a graphjit.json
whose timings, floors, compile and memory figures are made up (notes say FAKE). Lets run_peers.py
and report.py be tested end to end before (or without) the Swift benchmark::

    python benchmarks/peers/make_fake_graphjit_dir.py /tmp/fake
    python benchmarks/peers/run_peers.py /tmp/fake --quick
    python benchmarks/peers/report.py /tmp/fake

``--corrupt EPS`` adds EPS to one GraphJIT output element, to see run_peers.py fail loudly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402


def fake_graphjit_json(rng: np.random.Generator, weight_bytes: dict[str, int]) -> dict:
    peak1 = 2.6 * 32  # GHz x FLOP/cycle: made up but plausible for one AVX-512 core
    l3_1, l3_2 = 60.0, 100.0
    results, floors, compile_rows, memory = [], [], [], []
    for name in M.MODEL_NAMES:
        spec = M.SPECS[name]
        flops = spec.flops_per_sample
        for batch in spec.batches:
            for variant, efficiency, overhead_ms in (("optimized", 0.35, 0.002), ("instant", 0.12, 0.004),
                                                     ("reference", 0.02, 0.02)):
                median = overhead_ms + flops * batch / (peak1 * efficiency * 1e9) * 1e3
                median *= rng.uniform(0.9, 1.1)
                results.append({
                    "model": name, "batch": batch, "engine": "graphjit", "variant": variant,
                    "median_ms": median, "p10_ms": median * 0.97, "p90_ms": median * 1.06,
                    "samples_per_s": batch / (median * 1e-3), "gflops": flops * batch / (median * 1e6),
                    "flops_per_sample": flops, "notes": "FAKE timing from make_fake_graphjit_dir.py",
                    "threads": 1})
            floors.append({"model": name, "batch": batch, "weight_bytes": weight_bytes[name],
                           "floor_ms_1thread": weight_bytes[name] / (l3_1 * 1e9) * 1e3,
                           "floor_ms_2threads": weight_bytes[name] / (l3_2 * 1e9) * 1e3})
            memory.append({"model": name, "batch": batch, "weight_bytes": weight_bytes[name],
                           "arena_bytes": int(4 * batch * np.prod(spec.input_shape) * 3),
                           "peak_rss_mb": round(float(rng.uniform(30, 90)), 1)})
        compile_rows.append({"model": name, "instant_ms": float(rng.uniform(2, 10)),
                             "optimized_cold_ms": float(rng.uniform(200, 900)),
                             "optimized_cached_ms": float(rng.uniform(1, 5))})
    return {"machine": {"cpu": "FAKE " + os.uname().machine, "peak_gflops_1core": peak1,
                        "peak_gflops_2cores": 2 * peak1, "l3_bandwidth_gbs_1thread": l3_1,
                        "l3_bandwidth_gbs_2threads": l3_2},
            "results": results, "floors": floors, "compile": compile_rows, "memory": memory,
            "fake": True, "some_future_key": {"ignored": True}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--corrupt", type=float, default=0.0,
                        help="add this to one element of lstm b1's GraphJIT output (tests the check)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    (args.dir / "weights").mkdir(parents=True, exist_ok=True)
    (args.dir / "io").mkdir(parents=True, exist_ok=True)
    weight_bytes = {}
    for name in M.MODEL_NAMES:
        weights = M.random_weights(name, rng)
        weight_bytes[name] = int(sum(w.nbytes for w in weights.values()))
        M.write_safetensors(args.dir / "weights" / f"{name}.safetensors", weights,
                            {"model": name, "fake": "true"})
        model = M.build_keras(name, weights)
        for batch in M.SPECS[name].batches:
            x = M.random_input(name, batch, rng)
            np.save(args.dir / "io" / f"{name}.b{batch}.input.npy", x)
            for k, y in enumerate(M.keras_outputs(model, x)):
                if args.corrupt and name == "lstm" and batch == 1 and k == 0:
                    y = y.copy()
                    y.flat[0] += args.corrupt
                np.save(args.dir / "io" / f"{name}.b{batch}.output.{k}.npy", y.astype(np.float32))
        print(f"{name}: weights {weight_bytes[name] / 1e6:.2f} MB, batches {M.SPECS[name].batches}", flush=True)
    (args.dir / "graphjit.json").write_text(json.dumps(fake_graphjit_json(rng, weight_bytes), indent=2) + "\n")
    print(f"wrote {args.dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
