#!/usr/bin/env python3
"""Times the peer engines on the models GraphJIT exported, after checking they agree with GraphJIT.

Usage::

    python benchmarks/peers/run_peers.py DIR [--quick] [--models cnn,lstm] [--tolerance 1e-4]
                                             [--engines onnxruntime,tensorflow] [--int8 auto|on|off]

Reads (written by ``graphjit-bench --peers-dir DIR``):

    DIR/weights/<model>.safetensors          the weights (F32, Keras layouts, GraphJIT's names)
    DIR/io/<model>.b<batch>.input.npy        the input batch
    DIR/io/<model>.b<batch>.output.<k>.npy   GraphJIT's (fp32) outputs for it
    DIR/graphjit.json                        optional here: flops_per_sample per model; whether
                                             GraphJIT has int8 results (records with variant "int8",
                                             the "quantization" array) -- see --int8
    DIR/io/<model>.accuracy.input.npy        optional: the 1000 inputs GraphJIT's int8 accuracy
                                             figures used (ORT's int8 accuracy uses the same ones;
                                             without it, 1000 seeded inputs generated here)
    DIR/io/<model>.b<batch>.int8.output.<k>.npy  optional: GraphJIT's int8 outputs for the batch

For every model x batch it builds the same model (``models.py``) and times

* ONNX Runtime: an InferenceSession (graph optimizations ALL, static batch) with 1 and with 2
  intra-op threads (and, for attention, two formulations of the weighted sum); the best is reported
  as engine "onnxruntime", variant "1 thread" / "2 threads". Timed through an IOBinding with the
  input and output buffers bound once (the lowest-overhead way to call ORT from Python).
* TensorFlow/Keras: ``model(x)`` inside ``tf.function`` with ``jit_compile=False`` and ``True``;
  the better is reported as engine "tensorflow", variant "tf.function" / "xla". TensorFlow uses its
  default thread pools (all cores).
* ONNX Runtime's own dynamic int8 (``--int8``; ``auto``, the default, runs it when GraphJIT has
  int8 results: int8 records in graphjit.json, its "quantization" array or int8 outputs in DIR/io;
  ``on`` always; ``off`` never): the same graph with every Dense as MatMul + Add, through
  ``onnxruntime.quantization.quantize_dynamic`` (QInt8 weights, MatMul only -- the Dense kernels, as
  Keras's int8 -- per-tensor and per-channel; activations uint8, asymmetric, per tensor, at run time),
  verified to hold MatMulInteger / DynamicQuantizeLinear nodes (else a failure). Timed like the fp32
  ORT peer (1 and 2 threads, same helper); the fastest is engine "onnxruntime", variant
  "int8, 1 thread" / "int8, 2 threads", with "precision": "int8". Its accuracy against ORT's fp32
  (max |diff| and top-1 agreement per output over the accuracy inputs, both weight schemes) goes to
  the top-level "quantization" array; max |ORT int8 - GraphJIT int8| on the batch goes in the record
  (informational: the schemes differ, so it is NOT checked against the tolerance).

Every fp32 candidate's outputs are compared with GraphJIT's fp32 outputs (max |diff|, recorded in the
JSON). Any difference above the tolerance (default 1e-4) makes the script exit with status 1 -- after
writing DIR/peers.json, so the report can still show it. So does an ORT int8 graph that is not
quantized as expected. GraphJIT's and ORT's int8 outputs never take part in that check.

Writes DIR/peers.json: "results" (one record per model x batch x engine, plus the ORT int8 ones),
"compile" (fp32 set-up times), "quantization" (ORT int8 accuracy and weight bytes per model and
weight scheme; empty without int8), "int8" (whether and why it ran), "failures", "ok", settings.

Timing: warm-up, then timed runs until at least 20 runs and 1 s (``--quick``: 10 runs and 0.15 s,
for the int8 candidates too); median, p10, p90 of the per-call wall times. The accuracy figures use
all the accuracy inputs in both modes (a few seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("PYTHONUNBUFFERED", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402

# Alternative ONNX formulations tried for a model (the fastest is reported); kwargs for build_onnx.
ORT_GRAPHS: dict[str, list[dict[str, str]]] = {
    "attention": [{"attention_sum": "mul-reducesum"}, {"attention_sum": "matmul"}],
}
ORT_THREADS = (1, 2)
TF_VARIANTS = (("tf.function", False), ("xla", True))
ORT_INT8_PER_CHANNEL = (False, True)
ACCURACY_SAMPLES, ACCURACY_SEED, ACCURACY_CHUNK = 1000, 20240, 100
INT8_ACTIVATIONS = "uint8, asymmetric, one scale and zero point per tensor, at run time (DynamicQuantizeLinear)"


def thread_variant(threads: int, precision: str = "fp32") -> str:
    text = f"{threads} thread" + ("s" if threads > 1 else "")
    return text if precision == "fp32" else f"{precision}, {text}"


def scheme_name(per_channel: bool) -> str:
    return "per-channel" if per_channel else "per-tensor"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


quiet_stderr = M.quiet_stderr


# MARK: - Timing


class Timing:
    def __init__(self, quick: bool):
        if quick:
            self.warmup_runs, self.warmup_s = 2, 0.02
            self.min_runs, self.min_s, self.max_s = 10, 0.15, 1.5
        else:
            self.warmup_runs, self.warmup_s = 3, 0.1
            self.min_runs, self.min_s, self.max_s = 20, 1.0, 8.0

    def describe(self) -> dict:
        return {"warmup_runs": self.warmup_runs, "warmup_s": self.warmup_s, "min_runs": self.min_runs,
                "min_s": self.min_s, "max_s": self.max_s, "clock": "time.perf_counter_ns per call"}

    def measure(self, fn) -> dict:
        start = time.perf_counter()
        runs = 0
        while runs < self.warmup_runs or time.perf_counter() - start < self.warmup_s:
            fn()
            runs += 1
        times = []
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            clock = time.perf_counter_ns
            start = clock()
            while True:
                t0 = clock()
                fn()
                t1 = clock()
                times.append(t1 - t0)
                elapsed = (t1 - start) * 1e-9
                if len(times) >= self.min_runs and elapsed >= self.min_s:
                    break
                if elapsed >= self.max_s and len(times) >= 3:
                    break
        finally:
            if gc_was_enabled:
                gc.enable()
        ms = np.asarray(times, dtype=np.float64) * 1e-6
        return {"median_ms": float(np.median(ms)), "p10_ms": float(np.percentile(ms, 10)),
                "p90_ms": float(np.percentile(ms, 90)), "min_ms": float(ms.min()), "runs": len(times)}


# MARK: - Inputs


def discover(directory: Path, wanted: list[str]) -> list[tuple[str, int]]:
    """The (model, batch) pairs DIR/io has inputs for, warning about the expected ones it lacks."""
    found = []
    for name in wanted:
        batches = set()
        for path in (directory / "io").glob(f"{name}.b*.input.npy"):
            label = path.name[len(name) + 2:-len(".input.npy")]
            if label.isdigit():
                batches.add(int(label))
        for batch in M.SPECS[name].batches:
            if batch not in batches:
                log(f"warning: no input for {name} batch {batch} in {directory / 'io'}")
        found += [(name, b) for b in sorted(batches)]
    return found


def load_graphjit_json(directory: Path) -> dict:
    path = directory / "graphjit.json"
    if not path.exists():
        log(f"note: {path} not found; FLOPs are computed here")
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        log(f"warning: cannot read {path}: {error}; FLOPs are computed here")
        return {}


def flops_per_sample(graphjit: dict, name: str, batch: int) -> tuple[float, str]:
    rows = [r for r in graphjit.get("results", []) if isinstance(r, dict) and r.get("model") == name
            and isinstance(r.get("flops_per_sample"), (int, float)) and r["flops_per_sample"] > 0]
    same_batch = [r for r in rows if r.get("batch") == batch]
    for r in same_batch or rows:
        return float(r["flops_per_sample"]), "graphjit.json"
    return float(M.SPECS[name].flops_per_sample), "computed (2 x MACs)"


def max_abs_diff(got: list[np.ndarray], expected: list[np.ndarray]) -> tuple[float, list[float], str]:
    """(max over outputs, per output, problem or '') -- inf for a shape or count mismatch."""
    if len(got) != len(expected):
        return float("inf"), [], f"{len(got)} outputs, GraphJIT has {len(expected)}"
    per, problems = [], []
    for k, (g, e) in enumerate(zip(got, expected)):
        g = np.asarray(g, dtype=np.float32)
        if g.shape != e.shape:
            per.append(float("inf"))
            problems.append(f"output {k} shape {g.shape} != GraphJIT's {e.shape}")
        else:
            d = float(np.max(np.abs(g.astype(np.float64) - e.astype(np.float64)))) if g.size else 0.0
            per.append(d if np.isfinite(d) else float("inf"))
    return max(per) if per else 0.0, per, "; ".join(problems)


def json_float(value: float):
    return value if np.isfinite(value) else None


def sanitize(obj):
    """JSON-safe copy: non-finite floats become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# MARK: - Engines


def ort_candidates(name, weights, batch, x, expected, timing, tolerance, progress):
    out = []
    for graph_kwargs in ORT_GRAPHS.get(name, [{}]):
        graph_label = ", ".join(f"{k}={v}" for k, v in graph_kwargs.items()) or "default"
        for threads in ORT_THREADS:
            variant = f"{threads} thread" + ("s" if threads > 1 else "")
            try:
                cand = ort_candidate(name, weights, batch, x, expected, timing, graph_kwargs, threads)
            except Exception as error:  # noqa: BLE001 -- reported as a failure, the run goes on
                log(f"  {name} b{batch} onnxruntime {variant} [{graph_label}]: FAILED: "
                    f"{type(error).__name__}: {error}")
                out.append({"engine": "onnxruntime", "variant": variant, "graph": graph_label,
                            "error": f"{type(error).__name__}: {error}", "ok": False,
                            "max_abs_diff": float("inf"), "max_abs_diff_per_output": [],
                            "problem": "did not run", "setup": {}})
                continue
            cand.update(variant=variant, graph=graph_label,
                        ok=cand["max_abs_diff"] <= tolerance and not cand["problem"])
            progress(cand)
            out.append(cand)
    return out


def time_ort_model(model, x, timing, threads) -> tuple[dict, list, list, dict]:
    """Times an ONNX model in ONNX Runtime (``models.ort_session``: ORT_ENABLE_ALL, ``threads``
    intra-op threads) through an IOBinding -- input and output buffers bound once, as a C caller
    would. Returns (timing stats, outputs of a plain run, outputs of a bound run, set-up times)."""
    import onnxruntime as ort
    t0 = time.perf_counter()
    session = M.ort_session(model, threads)
    session_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    got = session.run(None, {"input": x})
    first_ms = (time.perf_counter() - t0) * 1e3

    binding = session.io_binding()
    binding.bind_cpu_input("input", x)
    buffers = [np.empty_like(g) for g in got]
    for k, buf in enumerate(buffers):
        binding.bind_ortvalue_output(f"output_{k}", ort.OrtValue.ortvalue_from_numpy(buf))
    session.run_with_iobinding(binding)

    stats = timing.measure(lambda: session.run_with_iobinding(binding))
    del binding, session
    gc.collect()
    return stats, got, buffers, {"session_create_ms": session_ms, "first_run_ms": first_ms}


def ort_candidate(name, weights, batch, x, expected, timing, graph_kwargs, threads) -> dict:
    t0 = time.perf_counter()
    model = M.build_onnx(name, weights, batch, **graph_kwargs)
    build_ms = (time.perf_counter() - t0) * 1e3
    stats, got, buffers, setup = time_ort_model(model, x, timing, threads)
    diff, per, problem = max_abs_diff(got, expected)
    bound_diff, _, bound_problem = max_abs_diff(buffers, expected)
    return {"engine": "onnxruntime", "threads": threads, **stats, "max_abs_diff": max(diff, bound_diff),
            "max_abs_diff_per_output": per, "problem": problem or bound_problem, "outputs": got,
            "setup": {"onnx_build_ms": build_ms, **setup}}


# MARK: - ONNX Runtime's dynamic int8


def wants_int8(mode: str, graphjit: dict, directory: Path) -> tuple[bool, str]:
    """Whether to run ORT's int8 peer (--int8 auto|on|off) and why."""
    if mode == "off":
        return False, "--int8 off"
    if mode == "on":
        return True, "--int8 on"
    rows = [r for r in graphjit.get("results", []) if isinstance(r, dict)
            and r.get("engine", "graphjit") == "graphjit" and r.get("variant") == "int8"]
    if rows:
        return True, f"auto: graphjit.json has {len(rows)} int8 record(s)"
    quantization = graphjit.get("quantization")
    if isinstance(quantization, list) and any(isinstance(q, dict) and q.get("mode") == "int8" for q in quantization):
        return True, "auto: graphjit.json has int8 quantization figures"
    if next((directory / "io").glob("*.int8.output.*.npy"), None) is not None:
        return True, f"auto: {directory / 'io'} has GraphJIT int8 outputs"
    return False, "auto: no GraphJIT int8 results (no int8 records in graphjit.json, no int8 outputs)"


def load_outputs(io: Path, stem: str, count: int) -> tuple[list[np.ndarray] | None, str]:
    """``io/<stem>.<k>.npy`` for k < count: (arrays, '') if all exist, else (None, why)."""
    paths = [io / f"{stem}.{k}.npy" for k in range(count)]
    present = [p for p in paths if p.exists()]
    if not present:
        return None, ""
    if len(present) != count:
        return None, f"only {len(present)} of {count} {stem}.<k>.npy files"
    return [np.load(p).astype(np.float32) for p in paths], ""


def ort_int8_model(name, weights, batch, graph_kwargs, per_channel) -> tuple:
    """(fp32 MatMul+Add graph, its quantized copy, verify_int8's summary, build ms, quantize ms)."""
    t0 = time.perf_counter()
    fp32 = M.build_onnx(name, weights, batch, dense_op="matmul-add", **graph_kwargs)
    build_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    int8 = M.quantize_onnx_int8(fp32, per_channel)
    quantize_ms = (time.perf_counter() - t0) * 1e3
    summary = M.verify_int8(name, fp32, int8)  # raises unless every Dense became MatMulInteger
    return fp32, int8, summary, build_ms, quantize_ms


def ort_int8_candidates(name, weights, batch, x, expected, graphjit_int8, timing, progress) -> list[dict]:
    """ORT's dynamic int8 for every graph formulation x weight scheme x thread count. ``expected``:
    GraphJIT's fp32 outputs, ``graphjit_int8``: its int8 outputs or None -- both only for
    (informational) differences; a candidate fails only if it cannot be built, verified or run."""
    out = []
    for graph_kwargs in ORT_GRAPHS.get(name, [{}]):
        graph_label = ", ".join(f"{k}={v}" for k, v in graph_kwargs.items()) or "default"
        for per_channel in ORT_INT8_PER_CHANNEL:
            scheme = scheme_name(per_channel)
            base = {"engine": "onnxruntime", "precision": "int8", "graph": graph_label,
                    "per_channel": per_channel, "quantization": scheme}
            try:
                _, int8, summary, build_ms, quantize_ms = ort_int8_model(name, weights, batch, graph_kwargs,
                                                                         per_channel)
            except Exception as error:  # noqa: BLE001 -- a failure, reported loudly at the end
                log(f"  {name} b{batch} onnxruntime int8 {scheme} [{graph_label}]: FAILED: "
                    f"{type(error).__name__}: {error}")
                out.append({**base, "variant": "int8", "ok": False, "error": f"{type(error).__name__}: {error}",
                            "problem": "not quantized"})
                continue
            for threads in ORT_THREADS:
                variant = thread_variant(threads, "int8")
                try:
                    stats, got, buffers, setup = time_ort_model(int8, x, timing, threads)
                except Exception as error:  # noqa: BLE001
                    log(f"  {name} b{batch} onnxruntime {variant} {scheme} [{graph_label}]: FAILED: "
                        f"{type(error).__name__}: {error}")
                    out.append({**base, "variant": variant, "threads": threads, "ok": False,
                                "error": f"{type(error).__name__}: {error}", "problem": "did not run"})
                    continue
                diff, per, problem = max_abs_diff(got, expected)
                bound, _, bound_problem = max_abs_diff(buffers, got)
                problem = problem or bound_problem or (f"IOBinding run differs from a plain run by {bound:.1e}"
                                                      if bound > 1e-5 else "")
                cand = {**base, "variant": variant, "threads": threads, **stats,
                        "weight_bytes": summary["weight_bytes"], "weight_bytes_fp32": summary["weight_bytes_fp32"],
                        "quantized_ops": summary["quantized_ops"], "kernels": summary["kernels"],
                        "max_abs_diff_vs_graphjit_fp32": diff, "max_abs_diff_vs_graphjit_fp32_per_output": per,
                        "max_abs_diff_vs_graphjit_int8": None, "max_abs_diff_vs_graphjit_int8_per_output": None,
                        "problem": problem, "ok": not problem, "outputs": got,
                        "setup": {"onnx_build_ms": build_ms, "quantize_ms": quantize_ms, **setup}}
                if graphjit_int8 is not None:
                    d8, per8, problem8 = max_abs_diff(got, graphjit_int8)
                    cand["max_abs_diff_vs_graphjit_int8"] = d8
                    cand["max_abs_diff_vs_graphjit_int8_per_output"] = per8
                    if problem8:
                        cand["graphjit_int8_problem"] = problem8
                progress(cand)
                out.append(cand)
    return out


def int8_failure_text(name, batch, c) -> str:
    graph = f" [{c['graph']}]" if c.get("graph", "default") != "default" else ""
    where = f"{name} b{batch} onnxruntime {c['variant']} {c.get('quantization', '')}{graph}"
    if "error" in c:
        return f"{where}: {c['problem']}: {c['error']}"
    return f"{where}: {c['problem']}"


def best_int8_record(name, batch, candidates, flops, flops_source, graphjit_int8_vs_fp32) -> dict | None:
    timed = [c for c in candidates if "median_ms" in c]
    if not timed:
        return None
    best = min(timed, key=lambda c: c["median_ms"])
    median = best["median_ms"]
    graph = f"; graph {best['graph']}" if best.get("graph", "default") != "default" else ""
    return {
        "model": name, "batch": batch, "engine": "onnxruntime", "variant": best["variant"], "precision": "int8",
        "median_ms": median, "p10_ms": best["p10_ms"], "p90_ms": best["p90_ms"],
        "samples_per_s": batch / (median * 1e-3), "gflops": flops * batch / (median * 1e-3) / 1e9,
        "flops_per_sample": flops, "runs": best["runs"], "min_ms": best["min_ms"], "threads": best["threads"],
        "per_channel": best["per_channel"], "quantization": best["quantization"],
        "weight_bytes": best["weight_bytes"], "weight_bytes_fp32": best["weight_bytes_fp32"],
        "quantized_ops": best["quantized_ops"],
        "max_abs_diff_vs_graphjit_fp32": json_float(best["max_abs_diff_vs_graphjit_fp32"]),
        "max_abs_diff_vs_graphjit_int8": best["max_abs_diff_vs_graphjit_int8"],
        "max_abs_diff_vs_graphjit_int8_per_output": best["max_abs_diff_vs_graphjit_int8_per_output"],
        "graphjit_int8_max_abs_diff_vs_graphjit_fp32": graphjit_int8_vs_fp32,
        "agreement_check": "none (int8: ORT's and GraphJIT's quantization schemes differ; differences are "
                           "informational)",
        "ok": all(c["ok"] for c in candidates),
        "notes": f"ONNX Runtime dynamic int8 (quantize_dynamic, QInt8 weights {best['quantization']}, "
                 f"activations {INT8_ACTIVATIONS}), CPU EP, ORT_ENABLE_ALL, static batch, IOBinding"
                 + graph + f"; flops_per_sample from {flops_source}",
        "alternatives": [{k: v for k, v in c.items() if k not in ("engine", "outputs")} for c in candidates],
    }


def accuracy_inputs(directory: Path, name: str) -> tuple[np.ndarray, str]:
    """GraphJIT's accuracy inputs (DIR/io/<model>.accuracy.input.npy) or, without them, seeded ones."""
    path = directory / "io" / f"{name}.accuracy.input.npy"
    shape = M.SPECS[name].input_shape
    if path.exists():
        x = np.ascontiguousarray(np.load(path), dtype=np.float32)
        if x.ndim == len(shape) + 1 and tuple(x.shape[1:]) == shape and len(x):
            return x, f"{path.parent.name}/{path.name}"
        log(f"warning: {path} has shape {x.shape}, expected (N, {', '.join(map(str, shape))}); "
            "generating accuracy inputs instead")
    x = M.random_input(name, ACCURACY_SAMPLES, np.random.default_rng(ACCURACY_SEED))
    return x, (f"generated here ({ACCURACY_SAMPLES} inputs, models.random_input, numpy default_rng"
               f"({ACCURACY_SEED})): no {path.parent.name}/{path.name}")


def run_chunked(session, x: np.ndarray) -> list[np.ndarray]:
    parts = [session.run(None, {"input": x[i:i + ACCURACY_CHUNK]}) for i in range(0, len(x), ACCURACY_CHUNK)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def ort_int8_accuracy(name, weights, directory: Path) -> list[dict]:
    """ORT int8 against ORT fp32 (the same MatMul+Add graph, dynamic batch), once per weight scheme,
    over the accuracy inputs: max |diff| and top-1 agreement per output, weight bytes."""
    x, source = accuracy_inputs(directory, name)
    graph_kwargs = ORT_GRAPHS.get(name, [{}])[0]
    graph_label = ", ".join(f"{k}={v}" for k, v in graph_kwargs.items()) or "default"
    threads = max(ORT_THREADS)
    t0 = time.perf_counter()
    fp32 = M.build_onnx(name, weights, None, dense_op="matmul-add", **graph_kwargs)
    reference = run_chunked(M.ort_session(fp32, threads), x)
    entries = []
    for per_channel in ORT_INT8_PER_CHANNEL:
        entry = {"model": name, "engine": "onnxruntime", "mode": "int8", "per_channel": per_channel,
                 "quantization": scheme_name(per_channel), "weight_type": "QInt8", "activations": INT8_ACTIVATIONS,
                 "samples": int(len(x)), "inputs": source, "graph": graph_label,
                 "reference": "ONNX Runtime fp32 on the same graph (Dense as MatMul + Add), dynamic batch"}
        try:
            int8 = M.quantize_onnx_int8(fp32, per_channel)
            summary = M.verify_int8(name, fp32, int8)
            got = run_chunked(M.ort_session(int8, threads), x)
        except Exception as error:  # noqa: BLE001 -- a failure, reported loudly at the end
            entry["error"] = f"{type(error).__name__}: {error}"
            entries.append(entry)
            continue
        per = [float(np.max(np.abs(g.astype(np.float64) - r))) for g, r in zip(got, reference)]
        entry.update({
            "weight_bytes_fp32": summary["weight_bytes_fp32"], "weight_bytes": summary["weight_bytes"],
            "max_abs_diff_vs_fp32": max(per), "max_abs_diff_vs_fp32_per_output": per,
            "mean_abs_diff_vs_fp32": [float(np.mean(np.abs(g.astype(np.float64) - r))) for g, r in zip(got, reference)],
            "top1_agreement": [float(np.mean(np.argmax(g, -1) == np.argmax(r, -1))) for g, r in zip(got, reference)],
            "quantized_ops": summary["quantized_ops"]})
        entries.append(entry)
    log(f"  {name:9} int8 accuracy ({len(x)} inputs, {time.perf_counter() - t0:.1f} s): " + "; ".join(
        f"{e['quantization']}: " + (f"max|int8 - fp32| {e['max_abs_diff_vs_fp32']:.2e}, top-1 "
                                    + "/".join(f"{a:.1%}" for a in e["top1_agreement"])
                                    + f", weights {e['weight_bytes_fp32']:,} -> {e['weight_bytes']:,} B"
                                    if "error" not in e else f"FAILED: {e['error']}")
        for e in entries))
    return entries


def tf_candidates(tf, name, functions, x, expected, timing, tolerance, progress):
    out = []
    xt = tf.constant(x)
    for variant, jit in TF_VARIANTS:
        fn = functions[variant]
        try:
            t0 = time.perf_counter()
            with quiet_stderr() if jit else contextlib.nullcontext():  # XLA's start-up chatter
                result = fn(xt)
            first_ms = (time.perf_counter() - t0) * 1e3
        except Exception as error:  # noqa: BLE001 -- an engine that cannot run is reported, not fatal
            log(f"  {name} tensorflow {variant}: FAILED to run: {type(error).__name__}: {error}")
            out.append({"engine": "tensorflow", "variant": variant, "error": f"{type(error).__name__}: {error}",
                        "ok": False, "max_abs_diff": float("inf"), "max_abs_diff_per_output": [],
                        "problem": "did not run"})
            continue
        flat = result if isinstance(result, (list, tuple)) else [result]
        got = [t.numpy() for t in flat]
        diff, per, problem = max_abs_diff(got, expected)

        def call(fn=fn):
            for t in tf.nest.flatten(fn(xt)):
                t.numpy()  # the result in host memory, as the other engines give it

        stats = timing.measure(call)
        cand = {"engine": "tensorflow", "variant": variant, "jit_compile": jit, **stats,
                "max_abs_diff": diff, "max_abs_diff_per_output": per, "problem": problem,
                "ok": diff <= tolerance and not problem, "outputs": got,
                "setup": {"first_call_ms": first_ms}}
        progress(cand)
        out.append(cand)
    return out


def failure_text(name, batch, c) -> str:
    graph = f" [{c['graph']}]" if c.get("graph", "default") != "default" else ""
    where = f"{name} b{batch} {c['engine']} {c['variant']}{graph}"
    if "error" in c:
        return f"{where}: did not run: {c['error']}"
    text = f"{where}: max|peer - GraphJIT| = {c['max_abs_diff']:.3e}"
    return text + (f" ({c['problem']})" if c["problem"] else "")


def best_record(name, batch, candidates, flops, flops_source, notes) -> dict | None:
    timed = [c for c in candidates if "median_ms" in c]
    if not timed:
        return None, None
    best = min(timed, key=lambda c: c["median_ms"])
    median = best["median_ms"]
    record = {
        "model": name, "batch": batch, "engine": best["engine"], "variant": best["variant"],
        "median_ms": median, "p10_ms": best["p10_ms"], "p90_ms": best["p90_ms"],
        "samples_per_s": batch / (median * 1e-3), "gflops": flops * batch / (median * 1e-3) / 1e9,
        "flops_per_sample": flops, "runs": best["runs"], "min_ms": best["min_ms"],
        "max_abs_diff": json_float(max(c["max_abs_diff"] for c in candidates)),
        "max_abs_diff_reported": json_float(best["max_abs_diff"]),
        "check": "ok" if all(c["ok"] for c in candidates) else "FAILED",
        "notes": notes + (f"; graph {best['graph']}" if best.get("graph", "default") != "default" else "")
                 + f"; flops_per_sample from {flops_source}",
        "alternatives": [{k: v for k, v in c.items() if k not in ("engine", "outputs")}
                         for c in candidates],
    }
    return record, best.get("outputs")


# MARK: - Main


PEER_DISTRIBUTIONS = (("numpy", ["numpy"]), ("onnxruntime", ["onnxruntime"]), ("onnx", ["onnx"]),
                      ("tensorflow", ["tensorflow-cpu", "tensorflow"]), ("keras", ["keras"]))


def versions(packages=PEER_DISTRIBUTIONS) -> dict:
    """Installed versions of (label, [distribution names]) packages, read from the package metadata
    (nothing is imported for this)."""
    from importlib import metadata
    out = {"python": platform.python_version()}
    for label, dists in packages:
        for dist in dists:
            try:
                out[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="the results directory graphjit-bench wrote")
    parser.add_argument("--quick", action="store_true", help="fewer timed runs (a smoke test)")
    parser.add_argument("--models", default=",".join(M.MODEL_NAMES),
                        help="comma-separated subset of " + ", ".join(M.MODEL_NAMES))
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="max |peer - GraphJIT| allowed (default 1e-4)")
    parser.add_argument("--engines", default="onnxruntime,tensorflow", help="comma-separated subset")
    parser.add_argument("--int8", choices=("auto", "on", "off"), default="auto",
                        help="ONNX Runtime's dynamic int8 peer: auto (default) runs it when GraphJIT has int8 "
                             "results in DIR, on always, off never")
    args = parser.parse_args(argv)

    directory: Path = args.dir
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in M.SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(M.MODEL_NAMES)}")
    engines = {e.strip() for e in args.engines.split(",") if e.strip()}
    if not engines <= {"onnxruntime", "tensorflow"}:
        parser.error(f"unknown engine(s) in {args.engines}")
    if not directory.is_dir():
        log(f"error: {directory} is not a directory (run graphjit-bench --peers-dir {directory} first)")
        return 2

    wall_start = time.perf_counter()
    timing = Timing(args.quick)
    graphjit = load_graphjit_json(directory)
    configs = discover(directory, wanted)
    if not configs:
        log(f"error: no inputs in {directory / 'io'} for {', '.join(wanted)}")
        return 2

    log(f"peers: {len(configs)} model x batch configs from {directory} "
        f"({'quick' if args.quick else 'full'} timing; tolerance {args.tolerance:g})")
    int8_on, int8_why = wants_int8(args.int8, graphjit, directory)
    if int8_on and "onnxruntime" not in engines:
        int8_on, int8_why = False, int8_why + "; but onnxruntime is not among --engines"
    log(f"peers: ONNX Runtime int8 {'on' if int8_on else 'off'} ({int8_why})")
    tf = None
    if "tensorflow" in engines:
        log("peers: importing TensorFlow ...")
        with quiet_stderr():
            tf, _, _ = M.keras_modules()
    import onnxruntime  # noqa: F401  (import errors surface here, before any work)

    load_start = os.getloadavg()
    records, compile_rows, failures, quantization = [], [], [], []
    total_candidates = sum(
        (len(ORT_GRAPHS.get(n, [{}])) * len(ORT_THREADS) if "onnxruntime" in engines else 0)
        + (len(ORT_GRAPHS.get(n, [{}])) * len(ORT_INT8_PER_CHANNEL) * len(ORT_THREADS) if int8_on else 0)
        + (len(TF_VARIANTS) if "tensorflow" in engines else 0) for n, _ in configs)
    done = 0

    def progress(c):
        nonlocal done
        done += 1
        graph = f" [{c['graph']}]" if c.get("graph", "default") != "default" else ""
        if c.get("precision") == "int8":
            graph = f" [{c['quantization']}{', ' + c['graph'] if c['graph'] != 'default' else ''}]"
            gj8 = c.get("max_abs_diff_vs_graphjit_int8")
            check = (f"|vs GraphJIT fp32| {c['max_abs_diff_vs_graphjit_fp32']:.1e}"
                     + (f", int8 {gj8:.1e}" if gj8 is not None else "") + " (not checked)"
                     + ("" if c["ok"] else f" PROBLEM: {c['problem']}"))
        else:
            check = f"max|diff| {c['max_abs_diff']:.2e} {'ok' if c['ok'] else 'MISMATCH'}"
        log(f"  [{done:2}/{total_candidates}] {current[0]:9} b{current[1]:<3} {c['engine']:11} "
            f"{c['variant']:11}{graph}: median {c['median_ms']:9.4f} ms "
            f"(p10 {c['p10_ms']:.4f}, p90 {c['p90_ms']:.4f}, {c['runs']} runs)  {check}")

    for name in wanted:
        batches = [b for n, b in configs if n == name]
        if not batches:
            continue
        weights_path = directory / "weights" / f"{name}.safetensors"
        try:
            weights = M.read_safetensors(weights_path)
            extra = M.check_weights(name, weights)
        except (OSError, ValueError) as error:
            log(f"error: {name}: {error}")
            failures.append(f"{name}: cannot load weights: {error}")
            continue
        if extra:
            log(f"note: {weights_path.name} has extra tensors {extra} (ignored)")
        if int8_on:
            try:
                entries = ort_int8_accuracy(name, weights, directory)
            except Exception as error:  # noqa: BLE001 -- a failure, reported loudly at the end
                entries = [{"model": name, "engine": "onnxruntime", "mode": "int8",
                            "error": f"{type(error).__name__}: {error}"}]
                log(f"  {name} int8 accuracy: FAILED: {entries[0]['error']}")
            quantization += entries
            failures += [f"{name}: ORT int8 accuracy ({e.get('quantization', '?')}): {e['error']}"
                         for e in entries if "error" in e]
        keras_model, functions = None, {}
        if tf is not None:
            keras_model = M.build_keras(name, weights)
            functions = {variant: tf.function(lambda t, m=keras_model: m(t, training=False), jit_compile=jit)
                         for variant, jit in TF_VARIANTS}

        for batch in batches:
            current = (name, batch)
            io = directory / "io"
            x = np.ascontiguousarray(np.load(io / f"{name}.b{batch}.input.npy"), dtype=np.float32)
            if x.shape != (batch, *M.SPECS[name].input_shape):
                failures.append(f"{name} b{batch}: input shape {x.shape}, expected "
                                f"{(batch, *M.SPECS[name].input_shape)}")
                log(f"error: {failures[-1]}")
                continue
            expected = []
            for k in range(len(M.SPECS[name].output_sizes)):
                path = io / f"{name}.b{batch}.output.{k}.npy"
                if not path.exists():
                    break
                expected.append(np.load(path).astype(np.float32))
            if len(expected) != len(M.SPECS[name].output_sizes):
                failures.append(f"{name} b{batch}: GraphJIT's outputs missing in {io}")
                log(f"error: {failures[-1]} -- cannot check agreement")
                continue
            flops, flops_source = flops_per_sample(graphjit, name, batch)

            peer_outputs, config_records = {}, []
            if "onnxruntime" in engines:
                cands = ort_candidates(name, weights, batch, x, expected, timing, args.tolerance, progress)
                rec, peer_outputs["onnxruntime"] = best_record(
                    name, batch, cands, flops, flops_source,
                    "ONNX Runtime CPU EP, ORT_ENABLE_ALL, static batch, IOBinding")
                config_records.append(rec)
                compile_rows += [{"model": name, "batch": batch, "engine": "onnxruntime",
                                  "variant": c["variant"], "graph": c["graph"], **c["setup"]} for c in cands]
                failures += [failure_text(name, batch, c) for c in cands if not c["ok"]]
            if tf is not None:
                cands = tf_candidates(tf, name, functions, x, expected, timing,
                                      args.tolerance, progress)
                rec, peer_outputs["tensorflow"] = best_record(
                    name, batch, cands, flops, flops_source,
                    f"Keras {M.keras_modules()[1].__version__} model(x) in tf.function; "
                    f"TF default thread pools ({os.cpu_count()} logical CPUs)")
                config_records.append(rec)
                compile_rows += [{"model": name, "batch": batch, "engine": "tensorflow",
                                  "variant": c["variant"], **c.get("setup", {})} for c in cands]
                failures += [failure_text(name, batch, c) for c in cands if not c["ok"]]
            config_records = [r for r in config_records if r]
            ort_out, tf_out = peer_outputs.get("onnxruntime"), peer_outputs.get("tensorflow")
            if ort_out is not None and tf_out is not None:
                agreement, _, _ = max_abs_diff(ort_out, [np.asarray(t, np.float32) for t in tf_out])
                for r in config_records:
                    r["peers_max_abs_diff"] = json_float(agreement)
                if any(r["check"] != "ok" for r in config_records) and agreement <= args.tolerance:
                    log(f"  note: ONNX Runtime and TensorFlow agree with each other ({agreement:.1e}) "
                        f"but not with GraphJIT on {name} b{batch}: GraphJIT's outputs look wrong")
            if int8_on:
                graphjit_int8, why = load_outputs(io, f"{name}.b{batch}.int8.output", len(expected))
                if why:
                    log(f"  warning: {name} b{batch}: GraphJIT int8 outputs incomplete ({why}); ignored")
                gj8_vs_fp32 = None
                if graphjit_int8 is not None:
                    d, _, problem = max_abs_diff(graphjit_int8, expected)
                    gj8_vs_fp32 = None if problem else json_float(d)
                    if problem:
                        log(f"  warning: {name} b{batch}: GraphJIT int8 outputs: {problem}")
                cands = ort_int8_candidates(name, weights, batch, x, expected, graphjit_int8, timing, progress)
                rec = best_int8_record(name, batch, cands, flops, flops_source, gj8_vs_fp32)
                if rec:
                    config_records.append(rec)
                failures += [int8_failure_text(name, batch, c) for c in cands if not c["ok"]]
            records += config_records
        del keras_model, functions
        gc.collect()

    result = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "tolerance": args.tolerance,
        "versions": versions(),
        "machine": {"cpu": cpu_name(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_start": list(load_start), "load_avg_end": list(os.getloadavg())},
        "settings": {"timing": timing.describe(),
                     "onnxruntime": {"threads_tried": list(ORT_THREADS), "graph_optimization": "ORT_ENABLE_ALL",
                                     "execution_mode": "sequential", "opset": M.OPSET,
                                     "graphs_tried": {k: [", ".join(f"{a}={b}" for a, b in g.items())
                                                          for g in v] for k, v in ORT_GRAPHS.items()}},
                     "tensorflow": {"variants": [v for v, _ in TF_VARIANTS],
                                    "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")},
                     "onnxruntime_int8": {
                         "enabled": int8_on, "tool": "onnxruntime.quantization.quantize_dynamic",
                         "weight_type": "QInt8 (symmetric)", "activations": INT8_ACTIVATIONS,
                         "op_types_to_quantize": ["MatMul"], "dense_as": "MatMul + Add",
                         "per_channel_tried": list(ORT_INT8_PER_CHANNEL), "threads_tried": list(ORT_THREADS),
                         "reduce_range": False, "accuracy_samples_default": ACCURACY_SAMPLES,
                         "accuracy_seed_when_generated": ACCURACY_SEED}},
        "int8": {"enabled": int8_on, "why": int8_why},
        "results": records,
        "compile": compile_rows,
        "quantization": quantization,
        "failures": failures,
        "ok": not failures,
        "elapsed_s": time.perf_counter() - wall_start,
    }
    out_path = directory / "peers.json"
    out_path.write_text(json.dumps(sanitize(result), indent=2, allow_nan=False) + "\n")
    log(f"peers: wrote {out_path} ({len(records)} results, {time.perf_counter() - wall_start:.0f} s)")
    if failures:
        log("")
        log(f"peers: FAILED -- {len(failures)} problem(s) (tolerance {args.tolerance:g}):")
        for failure in failures:
            log(f"  {failure}")
        return 1
    log(f"peers: every peer output agrees with GraphJIT's within {args.tolerance:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
