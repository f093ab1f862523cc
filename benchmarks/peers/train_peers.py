#!/usr/bin/env python3
"""Training throughput: GraphJIT against Keras on TensorFlow (tf.function, XLA) and on JAX.

Usage::

    python benchmarks/peers/train_peers.py DIR --bench PATH/graphjit-bench [--quick] [--rounds R]
        [--models cnn,lstm] [--engines graphjit,keras-tf,keras-xla,keras-jax] [--samples N]

1. ``graphjit-bench --train-export DIR/train-data`` writes, per model, the initial weights (the
   tutorial model at seed 0), 2,048 seeded samples and one-hot targets (``--no-export``: reuse them).
2. For R rounds (default 3; ``--quick``: 1), for each model, every engine runs once in a process of
   its own, in an order rotated each round so that load changes hit every engine alike:

   * ``graphjit``   ``graphjit-bench --train-time MODEL`` (optimized clang tier);
   * ``keras-tf``   ``train_worker.py``: Keras 3, TensorFlow backend, train step in ``tf.function``;
   * ``keras-xla``  the same with ``jit_compile=True``;
   * ``keras-jax``  Keras 3 with ``KERAS_BACKEND=jax`` (jitted train step, CPU).

   Each loads the same weights and data and compiles Adam / categorical cross-entropy / accuracy;
   records the loss of every step of one pass over the samples in batches of 32 from the initial
   weights (the steps of ``fit(batch_size=32, shuffle=False)``), times one warm ``fit`` epoch on
   them, and times train steps (``trainOnBatch`` / ``train_on_batch`` on consecutive batches after a
   warm-up) at batch 32 and 64. ``--quick``: fewer timed steps, and 512 samples for the curve and
   the fit epoch.
3. Writes ``DIR/training.json``: per engine x model the medians over rounds (step seconds, samples/s,
   fit epoch seconds), every run's record, the loss curves (round 1) and how far each Keras curve is
   from GraphJIT's. ``report.py DIR`` turns it into the training table, its part of the chart and
   ``training_losses.png``.

Exits 1 (after writing the JSON) if a run failed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_peers import versions  # noqa: E402  (the same metadata reader as the inference peers)

HERE = Path(__file__).resolve().parent
MODEL_NAMES = ("cnn", "lstm", "attention", "multitask")
ENGINES = ("graphjit", "keras-tf", "keras-xla", "keras-jax")
PEERS = ENGINES[1:]
BATCH_SIZES = (32, 64)
GOAL_RATIO = 0.5  # a GraphJIT train step at most half the time of the best peer's


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cpu_info() -> dict:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"cpu": name, "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "isa": {f: f in flags for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni")}}


TRAINING_DISTRIBUTIONS = (("numpy", ["numpy"]), ("tensorflow", ["tensorflow-cpu", "tensorflow"]),
                          ("keras", ["keras"]), ("jax", ["jax"]), ("jaxlib", ["jaxlib"]))


def sanitize(obj):
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    return obj


# MARK: - Running one engine


def command(engine: str, model: str, args, data: Path) -> list[str]:
    extra = (["--quick"] if args.quick else []) + (["--samples" if engine != "graphjit" else "--train-samples",
                                                     str(args.samples)] if args.samples else [])
    sizes = [str(b) for b in BATCH_SIZES]
    if engine == "graphjit":
        return [str(args.bench), "--train-time", model, "--train-dir", str(data), "--batch-size", *sizes, *extra]
    return [sys.executable, str(HERE / "train_worker.py"), engine, model, str(data), "--batch-size", *sizes, *extra]


def run_one(engine: str, model: str, args, data: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    env.pop("KERAS_BACKEND", None)  # the worker sets its own
    cmd = command(engine, model, args, data)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired as error:
        return {"error": f"timed out after {args.timeout} s", "stderr": (error.stderr or "")[-4000:]
                if isinstance(error.stderr, str) else "", "wall_s": time.perf_counter() - start}
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit status {done.returncode}" + ("" if lines else ", no JSON line"),
                "stderr": done.stderr[-4000:], "stdout": done.stdout[-2000:], "wall_s": wall}
    try:
        record = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        return {"error": f"bad JSON: {error}", "stdout": lines[-1][:2000], "wall_s": wall}
    record.update(wall_s=wall, load_avg_1min=load)
    return record


def describe(record: dict) -> str:
    if "error" in record:
        return f"FAILED ({record['error']})"
    steps = record.get("steps", {})
    parts = [f"b{b} {steps[str(b)]['median_s'] * 1e3:.3f} ms" for b in BATCH_SIZES if str(b) in steps]
    fit = record.get("fit", {}).get("seconds")
    if fit is not None:
        parts.append(f"fit {fit:.2f} s")
    return ", ".join(parts) + f"  ({record['wall_s']:.0f} s)"


# MARK: - Aggregating


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def aggregate(runs: list[dict], models: list[str], engines: list[str]) -> tuple[list[dict], dict, list[dict]]:
    results, curves, agreement = [], {}, []
    for model in models:
        curves[model] = {}
        for engine in engines:
            ok = [r for r in runs if r["model"] == model and r["engine"] == engine and "error" not in r["record"]]
            if not ok:
                continue
            records = [r["record"] for r in ok]
            entry = {"model": model, "engine": engine, "variant": records[0].get("variant", ""),
                     "rounds": len(records), "steps": {}}
            for size in BATCH_SIZES:
                per_round = [rec["steps"][str(size)]["median_s"] for rec in records if str(size) in rec.get("steps", {})]
                if per_round:
                    m = median(per_round)
                    entry["steps"][str(size)] = {
                        "median_s": m, "samples_per_s": size / m, "per_round_median_s": per_round,
                        "p10_s": median([rec["steps"][str(size)]["p10_s"] for rec in records]),
                        "p90_s": median([rec["steps"][str(size)]["p90_s"] for rec in records]),
                        "steps_per_round": [rec["steps"][str(size)]["steps"] for rec in records],
                        "first_step_s": median([rec["steps"][str(size)].get("first_step_s") for rec in records])}
            fits = [rec["fit"]["seconds"] for rec in records if "fit" in rec]
            entry["fit"] = {"seconds": median(fits), "per_round_s": fits,
                            "samples": records[0]["fit"]["samples"], "batch_size": records[0]["fit"]["batch_size"],
                            "samples_per_s": records[0]["fit"]["samples"] / median(fits) if fits else None}
            entry["curve_pass_s"] = median([rec["curve"]["seconds"] for rec in records])
            entry["first_step_s"] = median([rec["curve"]["first_step_s"] for rec in records])
            first = records[0]["curve"]["loss"]
            entry["curve_rounds_max_abs_diff"] = max(
                (max(abs(a - b) for a, b in zip(first, rec["curve"]["loss"])) for rec in records[1:]), default=0.0)
            for key in ("threads", "cpu_path", "versions", "backend", "jit_compile"):
                if key in records[0]:
                    entry[key] = records[0][key]
            results.append(entry)
            curves[model][engine] = {"loss": first, "accuracy": records[0]["curve"].get("accuracy"),
                                     "source": records[0]["curve"]["source"]}
        reference = curves[model].get("graphjit")
        for engine, curve in curves[model].items():
            if engine == "graphjit" or reference is None:
                continue
            diffs = [abs(a - b) for a, b in zip(curve["loss"], reference["loss"])]
            rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(curve["loss"], reference["loss"])]
            agreement.append({"model": model, "engine": engine, "steps": len(diffs),
                              "first_step_abs_diff": diffs[0] if diffs else None,
                              "max_abs_diff": max(diffs) if diffs else None,
                              "mean_abs_diff": sum(diffs) / len(diffs) if diffs else None,
                              "max_rel_diff": max(rel) if rel else None,
                              "graphjit_final_loss": reference["loss"][-1], "final_loss": curve["loss"][-1]})
    return results, curves, agreement


# MARK: - Main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, help="the results directory (training.json goes here)")
    parser.add_argument("--bench", type=Path, required=True, help="the graphjit-bench executable (release)")
    parser.add_argument("--quick", action="store_true", help="1 round, fewer timed steps, 512 samples per curve")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; --quick: 1)")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--samples", type=int, default=None,
                        help="samples the curve and the fit epoch use (default 2048; --quick: 512)")
    parser.add_argument("--no-export", action="store_true", help="reuse DIR/train-data")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one engine run may take")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    if args.samples is None and args.quick:
        args.samples = 512
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(models) - set(MODEL_NAMES):
        parser.error(f"unknown model(s) {sorted(set(models) - set(MODEL_NAMES))}")
    if set(engines) - set(ENGINES):
        parser.error(f"unknown engine(s) {sorted(set(engines) - set(ENGINES))}")
    if not args.bench.exists():
        parser.error(f"{args.bench} does not exist (swift build -c release --product graphjit-bench)")

    wall_start = time.perf_counter()
    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / "train-data"
    if not args.no_export or not (data / models[0] / "weights.safetensors").exists():
        log(f"training: exporting weights, samples and targets to {data} ...")
        subprocess.run([str(args.bench), "--train-export", str(data), "--models", *models], check=True,
                       stdout=subprocess.DEVNULL)

    load_start = list(os.getloadavg())
    runs, total, index = [], rounds * len(models) * len(engines), 0
    log(f"training: {rounds} round(s) x {len(models)} models x {len(engines)} engines "
        f"({'quick' if args.quick else 'full'}; batch sizes {', '.join(map(str, BATCH_SIZES))}; "
        f"curve and fit on {args.samples or 2048} samples)")
    for round_index in range(rounds):
        for model_index, model in enumerate(models):
            shift = (round_index + model_index) % len(engines)
            order = engines[shift:] + engines[:shift]
            for position, engine in enumerate(order):
                index += 1
                record = run_one(engine, model, args, data)
                log(f"  [{index:2}/{total}] round {round_index + 1} {model:9} {engine:9} {describe(record)}")
                if "error" in record:
                    for line in (record.get("stderr") or "").strip().splitlines()[-15:]:
                        log(f"      | {line}")
                runs.append({"round": round_index + 1, "position": position, "model": model, "engine": engine,
                             "record": record})

    results, curves, agreement = aggregate(runs, models, engines)
    failures = [f"round {r['round']} {r['model']} {r['engine']}: {r['record']['error']}"
                for r in runs if "error" in r["record"]]
    output = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick, "rounds": rounds, "batch_sizes": list(BATCH_SIZES), "goal_ratio": GOAL_RATIO,
        "goal": "a GraphJIT train step takes at most half the time of the best of Keras/TF tf.function, "
                "Keras/TF XLA and Keras/JAX (per model and batch size)",
        "versions": versions(TRAINING_DISTRIBUTIONS), "machine": {**cpu_info(), "load_avg_start": load_start,
                                            "load_avg_end": list(os.getloadavg())},
        "settings": {
            "engines": {"graphjit": "graphjit-bench --train-time (jit, optimized clang tier)",
                        "keras-tf": "Keras train step in tf.function (jit_compile=False), TF default thread pools",
                        "keras-xla": "Keras train step in tf.function with XLA (jit_compile=True)",
                        "keras-jax": "Keras on JAX (KERAS_BACKEND=jax, jitted train step, JAX_PLATFORMS=cpu)"},
            "training": "Adam (Keras defaults: lr 0.001, beta 0.9/0.999, eps 1e-7), categorical cross-entropy, "
                        "accuracy per output; same initial weights and data for every engine",
            "steps": "median wall time of one trainOnBatch/train_on_batch on consecutive batches after a warm-up; "
                     + ("quick: >= 5 steps and 0.2 s" if args.quick else ">= 20 steps and 1 s (stop at 8 s)")
                     + "; per engine x model x batch the median over rounds of each round's median",
            "fit": "one fit epoch, batch 32, shuffle off, verbose 0, warm; median over rounds",
            "curve": "loss per step of one pass in batches of 32 in order from the initial weights (round 1)",
            "order": "each round, per model, the engines in an order rotated by one per round and model",
            "samples": args.samples or 2048,
        },
        "results": results, "curves": curves, "curve_agreement": agreement,
        "runs": [{**r, "record": {k: v for k, v in r["record"].items() if k != "curve"}} for r in runs],
        "failures": failures, "ok": not failures, "elapsed_s": time.perf_counter() - wall_start,
    }
    path = args.dir / "training.json"
    path.write_text(json.dumps(sanitize(output), indent=2, allow_nan=False) + "\n")
    log(f"training: wrote {path} ({time.perf_counter() - wall_start:.0f} s)")
    if failures:
        log(f"training: FAILED -- {len(failures)} run(s):")
        for failure in failures:
            log(f"  {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
