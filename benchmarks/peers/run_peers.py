#!/usr/bin/env python3
"""Times the peer engines on the models GraphJIT exported, after checking they agree with GraphJIT.

Usage::

    python benchmarks/peers/run_peers.py DIR [--quick] [--models cnn,lstm] [--tolerance 1e-4]

Reads (written by ``graphjit-bench --peers-dir DIR``):

    DIR/weights/<model>.safetensors          the weights (F32, Keras layouts, GraphJIT's names)
    DIR/io/<model>.b<batch>.input.npy        the input batch
    DIR/io/<model>.b<batch>.output.<k>.npy   GraphJIT's outputs for it
    DIR/graphjit.json                        optional here: flops_per_sample per model

For every model x batch it builds the same model (``models.py``) and times

* ONNX Runtime: an InferenceSession (graph optimizations ALL, static batch) with 1 and with 2
  intra-op threads (and, for attention, two formulations of the weighted sum); the best is reported
  as engine "onnxruntime", variant "1 thread" / "2 threads". Timed through an IOBinding with the
  input and output buffers bound once (the lowest-overhead way to call ORT from Python).
* TensorFlow/Keras: ``model(x)`` inside ``tf.function`` with ``jit_compile=False`` and ``True``;
  the better is reported as engine "tensorflow", variant "tf.function" / "xla". TensorFlow uses its
  default thread pools (all cores).

Every candidate's outputs are compared with GraphJIT's (max |diff|, recorded in the JSON). Any
difference above the tolerance (default 1e-4) makes the script exit with status 1 -- after writing
DIR/peers.json, so the report can still show it.

Timing: warm-up, then timed runs until at least 20 runs and 1 s (``--quick``: 10 runs and 0.15 s);
median, p10, p90 of the per-call wall times.
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


def ort_candidate(name, weights, batch, x, expected, timing, graph_kwargs, threads) -> dict:
    import onnxruntime as ort
    t0 = time.perf_counter()
    model = M.build_onnx(name, weights, batch, **graph_kwargs)
    build_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    session = M.ort_session(model, threads)
    session_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    got = session.run(None, {"input": x})
    first_ms = (time.perf_counter() - t0) * 1e3
    diff, per, problem = max_abs_diff(got, expected)

    # Timed through an IOBinding: input and output buffers bound once, as a C caller would.
    binding = session.io_binding()
    binding.bind_cpu_input("input", x)
    buffers = [np.empty_like(g) for g in got]
    for k, buf in enumerate(buffers):
        binding.bind_ortvalue_output(f"output_{k}", ort.OrtValue.ortvalue_from_numpy(buf))
    session.run_with_iobinding(binding)
    bound_diff, _, bound_problem = max_abs_diff(buffers, expected)

    stats = timing.measure(lambda: session.run_with_iobinding(binding))
    del binding, session
    gc.collect()
    return {"engine": "onnxruntime", "threads": threads, **stats, "max_abs_diff": max(diff, bound_diff),
            "max_abs_diff_per_output": per, "problem": problem or bound_problem, "outputs": got,
            "setup": {"onnx_build_ms": build_ms, "session_create_ms": session_ms, "first_run_ms": first_ms}}


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
    tf = None
    if "tensorflow" in engines:
        log("peers: importing TensorFlow ...")
        with quiet_stderr():
            tf, _, _ = M.keras_modules()
    import onnxruntime  # noqa: F401  (import errors surface here, before any work)

    load_start = os.getloadavg()
    records, compile_rows, failures = [], [], []
    total_candidates = sum(
        (len(ORT_GRAPHS.get(n, [{}])) * len(ORT_THREADS) if "onnxruntime" in engines else 0)
        + (len(TF_VARIANTS) if "tensorflow" in engines else 0) for n, _ in configs)
    done = 0

    def progress(c):
        nonlocal done
        done += 1
        graph = f" [{c['graph']}]" if c.get("graph", "default") != "default" else ""
        status = "ok" if c["ok"] else "MISMATCH"
        log(f"  [{done:2}/{total_candidates}] {current[0]:9} b{current[1]:<3} {c['engine']:11} "
            f"{c['variant']:11}{graph}: median {c['median_ms']:9.4f} ms "
            f"(p10 {c['p10_ms']:.4f}, p90 {c['p90_ms']:.4f}, {c['runs']} runs)  "
            f"max|diff| {c['max_abs_diff']:.2e} {status}")

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
                                    "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")}},
        "results": records,
        "compile": compile_rows,
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
