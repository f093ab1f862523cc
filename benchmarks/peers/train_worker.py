#!/usr/bin/env python3
"""One Keras training measurement in a process of its own (train_peers.py runs one per engine x model).

Usage::

    python benchmarks/peers/train_worker.py ENGINE MODEL DATA_DIR [--batch-size 32 64] [--quick]
                                            [--samples N]

ENGINE is ``keras-tf`` (TensorFlow backend, train step in ``tf.function``, ``jit_compile=False``),
``keras-xla`` (TensorFlow backend, ``jit_compile=True``) or ``keras-jax`` (``KERAS_BACKEND=jax``,
jitted train step, CPU). The backend is fixed at import, hence one process per engine.

DATA_DIR is what ``graphjit-bench --train-export DATA_DIR`` wrote: per model ``weights.safetensors``
(the initial weights), ``x.npy`` and ``y.<k>.npy`` (one-hot targets; multitask has two).

The model is built from those weights (``models.build_keras``) and compiled as the tutorial does:
Adam (Keras defaults), categorical cross-entropy, accuracy (one per output). Then, mirroring
``graphjit-bench --train-time``:

1. the loss curve: ``train_on_batch`` over the first N samples (all by default) in batches of 32, in
   order, from the initial weights -- the steps ``fit(batch_size=32, shuffle=False)`` takes; one loss
   per step (Keras's ``train_on_batch`` resets the metrics, so each is that batch's loss, computed
   before the update). The first step traces/compiles;
2. one ``fit`` epoch on those N samples, batch 32, ``shuffle=False``, ``verbose=0``, timed warm
   (after the curve pass and a 256-sample fit that warms fit's own path);
3. per batch size: ``train_on_batch`` on consecutive batches, warm-up (the first call of a new batch
   size retraces/recompiles), then timed steps; median, p10, p90 of the wall time per step.

Prints one JSON line on standard output (the last line); progress goes to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

ENGINES = {
    # engine: (KERAS_BACKEND, jit_compile, description)
    "keras-tf": ("tensorflow", False, "Keras train step in tf.function (jit_compile=False)"),
    "keras-xla": ("tensorflow", True, "Keras train step in tf.function with XLA (jit_compile=True)"),
    "keras-jax": ("jax", True, "Keras on JAX, jitted train step (CPU)"),
}
CURVE_BATCH = 32


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("model")
    parser.add_argument("data", type=Path)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--samples", type=int, default=None,
                        help="samples the curve and the fit epoch use (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer timed steps")
    args = parser.parse_args(argv)

    backend, jit_compile, description = ENGINES[args.engine]
    os.environ["KERAS_BACKEND"] = backend  # before Keras is imported anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import models as M

    t0 = time.perf_counter()
    tf, keras, _ = M.keras_modules(backend)
    import_s = time.perf_counter() - t0

    folder = args.data / args.model
    weights = M.read_safetensors(folder / "weights.safetensors")
    x = np.ascontiguousarray(np.load(folder / "x.npy"), dtype=np.float32)
    outputs = len(M.SPECS[args.model].output_sizes)
    ys = [np.ascontiguousarray(np.load(folder / f"y.{k}.npy"), dtype=np.float32) for k in range(outputs)]
    total = x.shape[0]
    samples = min(args.samples or total, total)
    if samples % CURVE_BATCH:
        parser.error(f"--samples must be a multiple of {CURVE_BATCH}")

    model = M.build_keras(args.model, weights)
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy",
                  metrics=["accuracy"] * outputs, jit_compile=jit_compile)

    def targets(start, size):
        parts = [y[start:start + size] for y in ys]
        return parts[0] if outputs == 1 else parts

    def accuracy(logs):
        if "accuracy" in logs:
            return float(logs["accuracy"])
        values = [float(logs[k]) for k in sorted(logs) if k.endswith("accuracy")]  # multitask: dense_1's
        return values[0] if values else float("nan")

    # 1. The loss curve from the initial weights.
    losses, accuracies = [], []
    first_step_s = 0.0
    start = time.perf_counter()
    with M.quiet_stderr() if jit_compile else contextlib.nullcontext():  # XLA's start-up chatter
        for index in range(samples // CURVE_BATCH):
            before = time.perf_counter()
            logs = model.train_on_batch(x[index * CURVE_BATCH:(index + 1) * CURVE_BATCH],
                                        targets(index * CURVE_BATCH, CURVE_BATCH), return_dict=True)
            if index == 0:
                first_step_s = time.perf_counter() - before
            losses.append(float(logs["loss"]))
            accuracies.append(accuracy(logs))
    curve_s = time.perf_counter() - start
    log(f"  {args.engine} {args.model}: curve {len(losses)} steps in {curve_s:.2f} s "
        f"(first step {first_step_s:.2f} s), loss {losses[0]:.4f} -> {losses[-1]:.4f}")

    # 2. One warm fit epoch.
    warm = min(samples, 8 * CURVE_BATCH)
    model.fit(x[:warm], targets(0, warm), batch_size=CURVE_BATCH, epochs=1, shuffle=False, verbose=0)
    gc.collect()
    start = time.perf_counter()
    history = model.fit(x[:samples], targets(0, samples), batch_size=CURVE_BATCH, epochs=1, shuffle=False,
                        verbose=0)
    fit_s = time.perf_counter() - start

    # 3. Train steps on consecutive batches.
    if args.quick:
        warmup, min_steps, min_s, max_s = 2, 5, 0.2, 1.5
    else:
        warmup, min_steps, min_s, max_s = 5, 20, 1.0, 8.0
    steps = {}
    for size in args.batch_size:
        count = total // size
        batches = [(x[k * size:(k + 1) * size], targets(k * size, size)) for k in range(count)]
        state = {"next": 0}

        def step():
            xb, yb = batches[state["next"] % count]
            state["next"] += 1
            model.train_on_batch(xb, yb)

        before = time.perf_counter()
        with M.quiet_stderr() if jit_compile else contextlib.nullcontext():
            step()
        first = time.perf_counter() - before
        for _ in range(warmup - 1):
            step()
        times = []
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            start = time.perf_counter()
            while True:
                t_before = time.perf_counter()
                step()
                t_after = time.perf_counter()
                times.append(t_after - t_before)
                elapsed = t_after - start
                if (len(times) >= min_steps and elapsed >= min_s) or (elapsed >= max_s and len(times) >= 3) \
                        or len(times) >= 2000:
                    break
        finally:
            if gc_enabled:
                gc.enable()
        arr = np.asarray(times)
        median = float(np.median(arr))
        steps[str(size)] = {"median_s": median, "p10_s": float(np.percentile(arr, 10)),
                            "p90_s": float(np.percentile(arr, 90)), "min_s": float(arr.min()),
                            "steps": len(times), "samples_per_s": size / median, "first_step_s": first}
        log(f"  {args.engine} {args.model} b{size}: median {median * 1e3:.3f} ms/step "
            f"({len(times)} steps, first {first:.2f} s)")

    from importlib import metadata
    versions = {"python": platform.python_version(), "keras": keras.__version__,
                "numpy": np.__version__}
    if tf is not None:
        versions["tensorflow"] = tf.__version__
    else:
        import jax
        versions["jax"] = jax.__version__
        versions["jaxlib"] = metadata.version("jaxlib")
    record = {
        "engine": args.engine, "variant": description, "model": args.model, "backend": backend,
        "jit_compile": jit_compile, "quick": args.quick, "import_s": import_s, "versions": versions,
        "steps": steps,
        "fit": {"seconds": fit_s, "samples": samples, "batch_size": CURVE_BATCH, "shuffle": False,
                "loss": float(history.history["loss"][0]),
                "note": f"warm: after the curve pass and a {warm}-sample fit"},
        "curve": {"loss": losses, "accuracy": accuracies, "batch_size": CURVE_BATCH, "samples": samples,
                  "seconds": curve_s, "first_step_s": first_step_s,
                  "source": "train_on_batch over the batches of 32 in order from the initial weights "
                            "(the steps of fit with shuffle off); loss of each batch before its update"},
    }
    print(json.dumps(record, allow_nan=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
