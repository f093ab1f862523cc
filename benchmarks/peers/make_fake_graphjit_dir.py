#!/usr/bin/env python3
"""Dev aid: writes a results directory shaped like ``graphjit-bench --peers-dir DIR`` writes it.

Random weights (Glorot-uniform kernels, non-zero biases) for the four models, random inputs for
every batch, "GraphJIT outputs" computed by the Keras models of ``models.py``, and a graphjit.json
whose timings, floors, compile and memory figures are made up (notes say FAKE). Lets run_peers.py
and report.py be tested end to end before (or without) the Swift benchmark -- with
``fake_timing_server.py`` standing in for ``graphjit-bench --timing-server``, so that GraphJIT's
(made-up) timings are interleaved with the peers' as in a real run::

    python benchmarks/peers/make_fake_graphjit_dir.py /tmp/fake
    python benchmarks/peers/run_peers.py /tmp/fake --quick --bench benchmarks/peers/fake_timing_server.py
    python benchmarks/peers/report.py /tmp/fake

(Without ``--bench`` the report uses the fake graphjit.json's timings, as a run without the timing
server does. The fake server's timings follow the same made-up formula as this file's, without its
noise.)

It also writes GraphJIT's int8 half, as graphjit-bench will (``--no-quantized``: not, the layout
from before int8): graphjit.json records with variant "int8" (made-up timings), its top-level
"quantization" array, DIR/io/<model>.accuracy.input.npy (1000 seeded inputs) and
DIR/io/<model>.b<batch>.int8.output.<k>.npy. The int8 outputs and accuracy figures are real ones of
Keras 3's own ``model.quantize("int8")`` (what GraphJIT's int8 reproduces), the weight bytes those
of its quantized weights (int8 kernels, fp32 scales, the rest fp32). ``--bf16`` adds variant "bf16"
records and figures too (kernels rounded to bfloat16, computed in fp32).

``--corrupt EPS`` adds EPS to one GraphJIT output element, to see run_peers.py fail loudly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402


ACCURACY_SAMPLES = 1000
# Made-up int8 / bf16 speed-ups over GraphJIT's optimized fp32 (the weight-bound cnn gains most).
QUANTIZED_FACTOR = {"int8": {"cnn": 0.3, "default": 0.7}, "bf16": {"cnn": 0.55, "default": 0.9}}


def bf16_round(a: np.ndarray) -> np.ndarray:
    """float32 -> nearest bfloat16 (ties to even), returned as float32."""
    bits = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def outputs_chunked(model, x: np.ndarray, chunk: int = 125) -> list[np.ndarray]:
    parts = [M.keras_outputs(model, x[i:i + chunk]) for i in range(0, len(x), chunk)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def accuracy(reference: list[np.ndarray], got: list[np.ndarray]) -> dict:
    return {"max_abs_diff_vs_fp32": max(float(np.max(np.abs(g - r))) for g, r in zip(got, reference)),
            "top1_agreement": [float(np.mean(g.argmax(-1) == r.argmax(-1))) for g, r in zip(got, reference)]}


def quantized_models(name: str, weights: dict[str, np.ndarray], bf16: bool) -> dict:
    """{mode: (Keras model computing that mode, weight bytes as GraphJIT would store it)}."""
    out = {}
    model = M.build_keras(name, weights)
    with warnings.catch_warnings():  # "Layer Conv2D does not have a `quantize` method implemented."
        warnings.simplefilter("ignore")
        model.quantize("int8")
    out["int8"] = (model, int(sum(np.asarray(v.numpy()).nbytes for v in model.weights)))
    if bf16:
        rounded = {k: bf16_round(v) if k.endswith("kernel") else v for k, v in weights.items()}
        out["bf16"] = (M.build_keras(name, rounded),
                       int(sum(v.size * (2 if k.endswith("kernel") else 4) for k, v in weights.items())))
    return out


def fake_graphjit_json(rng: np.random.Generator, weight_bytes: dict[str, int],
                       quantization: list[dict] | None = None, qrng: np.random.Generator | None = None) -> dict:
    peak1 = 2.6 * 32  # GHz x FLOP/cycle: made up but plausible for one AVX-512 core
    l3_1, l3_2 = 60.0, 100.0
    results, floors, compile_rows, memory = [], [], [], []
    for name in M.MODEL_NAMES:
        spec = M.SPECS[name]
        flops = spec.flops_per_sample
        modes = sorted({q["mode"] for q in quantization or [] if q["model"] == name})
        for batch in spec.batches:
            for variant, efficiency, overhead_ms in (("optimized", 0.35, 0.002), ("instant", 0.12, 0.004),
                                                     ("reference", 0.02, 0.02)):
                median = overhead_ms + flops * batch / (peak1 * efficiency * 1e9) * 1e3
                median *= rng.uniform(0.9, 1.1)
                if variant == "optimized":
                    optimized = median
                results.append({
                    "model": name, "batch": batch, "engine": "graphjit", "variant": variant,
                    "median_ms": median, "p10_ms": median * 0.97, "p90_ms": median * 1.06,
                    "samples_per_s": batch / (median * 1e-3), "gflops": flops * batch / (median * 1e6),
                    "flops_per_sample": flops, "notes": "FAKE timing from make_fake_graphjit_dir.py",
                    "threads": 1})
            for mode in modes:  # separate generator: the fp32 figures stay as without --no-quantized
                factor = QUANTIZED_FACTOR[mode].get(name, QUANTIZED_FACTOR[mode]["default"])
                median = optimized * factor * qrng.uniform(0.9, 1.1)
                results.append({
                    "model": name, "batch": batch, "engine": "graphjit", "variant": mode,
                    "median_ms": median, "p10_ms": median * 0.97, "p90_ms": median * 1.06,
                    "samples_per_s": batch / (median * 1e-3), "gflops": flops * batch / (median * 1e6),
                    "flops_per_sample": flops,
                    "notes": f"FAKE {mode} timing from make_fake_graphjit_dir.py (outputs: Keras's {mode})",
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
    out = {"machine": {"cpu": "FAKE " + os.uname().machine, "peak_gflops_1core": peak1,
                       "peak_gflops_2cores": 2 * peak1, "l3_bandwidth_gbs_1thread": l3_1,
                       "l3_bandwidth_gbs_2threads": l3_2},
           "results": results, "floors": floors, "compile": compile_rows, "memory": memory,
           "fake": True, "some_future_key": {"ignored": True}}
    if quantization:
        out["quantization"] = quantization
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--corrupt", type=float, default=0.0,
                        help="add this to one element of lstm b1's GraphJIT output (tests the check)")
    parser.add_argument("--no-quantized", action="store_true",
                        help="write no int8 parts (the layout graphjit-bench wrote before int8)")
    parser.add_argument("--bf16", action="store_true", help="also write bf16 records and figures")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    qrng = np.random.default_rng(args.seed + 1)  # the quantized parts: leaves rng's stream as it was
    quantization = []
    (args.dir / "weights").mkdir(parents=True, exist_ok=True)
    (args.dir / "io").mkdir(parents=True, exist_ok=True)
    weight_bytes = {}
    for name in M.MODEL_NAMES:
        weights = M.random_weights(name, rng)
        weight_bytes[name] = int(sum(w.nbytes for w in weights.values()))
        M.write_safetensors(args.dir / "weights" / f"{name}.safetensors", weights,
                            {"model": name, "fake": "true"})
        model = M.build_keras(name, weights)
        quantized = {} if args.no_quantized else quantized_models(name, weights, args.bf16)
        for batch in M.SPECS[name].batches:
            x = M.random_input(name, batch, rng)
            np.save(args.dir / "io" / f"{name}.b{batch}.input.npy", x)
            for k, y in enumerate(M.keras_outputs(model, x)):
                if args.corrupt and name == "lstm" and batch == 1 and k == 0:
                    y = y.copy()
                    y.flat[0] += args.corrupt
                np.save(args.dir / "io" / f"{name}.b{batch}.output.{k}.npy", y.astype(np.float32))
            for mode, (qmodel, _) in quantized.items():
                for k, y in enumerate(M.keras_outputs(qmodel, x)):
                    np.save(args.dir / "io" / f"{name}.b{batch}.{mode}.output.{k}.npy", y.astype(np.float32))
        line = f"{name}: weights {weight_bytes[name] / 1e6:.2f} MB, batches {M.SPECS[name].batches}"
        if quantized:
            xa = M.random_input(name, ACCURACY_SAMPLES, qrng)
            np.save(args.dir / "io" / f"{name}.accuracy.input.npy", xa)
            reference = outputs_chunked(model, xa)
            for mode, (qmodel, qbytes) in quantized.items():
                figures = accuracy(reference, outputs_chunked(qmodel, xa))
                quantization.append({"model": name, "mode": mode, "weight_bytes_fp32": weight_bytes[name],
                                     "weight_bytes": qbytes, **figures, "samples": ACCURACY_SAMPLES})
                line += (f"; {mode}: {qbytes / 1e6:.2f} MB, max|diff| {figures['max_abs_diff_vs_fp32']:.1e}, top-1 "
                         + "/".join(f"{a:.1%}" for a in figures["top1_agreement"]))
        print(line, flush=True)
    graphjit = fake_graphjit_json(rng, weight_bytes, quantization, qrng)
    (args.dir / "graphjit.json").write_text(json.dumps(graphjit, indent=2) + "\n")
    print(f"wrote {args.dir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
