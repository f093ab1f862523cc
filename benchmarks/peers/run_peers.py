#!/usr/bin/env python3
"""Times GraphJIT and the peer engines interleaved, in rounds, after checking the peers agree with GraphJIT.

Usage::

    python benchmarks/peers/run_peers.py DIR [--bench PATH/graphjit-bench] [--quick] [--rounds R]
        [--models cnn,lstm] [--engines onnxruntime,openvino,litert,tensorflow] [--tolerance 1e-4]
        [--int8 auto|on|off]

Reads (written by ``graphjit-bench --peers-dir DIR``):

    DIR/weights/<model>.safetensors          the weights (F32, Keras layouts, GraphJIT's names)
    DIR/io/<model>.b<batch>.input.npy        the input batch
    DIR/io/<model>.b<batch>.output.<k>.npy   GraphJIT's (fp32) outputs for it
    DIR/graphjit.json                        optional here: flops_per_sample per model, GraphJIT's
                                             separate-phase timings (recorded beside the interleaved
                                             ones), whether GraphJIT has int8 results -- see --int8
    DIR/io/<model>.accuracy.input.npy        optional: the 1000 inputs GraphJIT's int8 accuracy
                                             figures used (ORT's int8 accuracy uses the same ones;
                                             without it, 1000 seeded inputs generated here)
    DIR/io/<model>.b<batch>.int8.output.<k>.npy  optional: GraphJIT's int8 outputs for the batch

1. Set-up and checks (once, before any timing). For every model x batch it builds the candidates of
   every engine, runs each once and compares its outputs with GraphJIT's:

   * ONNX Runtime (``onnxruntime``): an InferenceSession (graph optimizations ALL, static batch) with
     1 and with 2 intra-op threads (and, for attention, two formulations of the weighted sum), called
     through an IOBinding with the input and output buffers bound once. Variants "1 thread",
     "2 threads".
   * OpenVINO (``openvino``): the same ONNX graphs read by ``openvino.Core`` and compiled for the CPU
     device with ``INFERENCE_PRECISION_HINT`` f32 (this Zen 4 has AVX512_BF16 and OpenVINO would
     otherwise be free to pick bf16; the compiled model's precision is checked to be f32) and one of
     ``PERFORMANCE_HINT`` LATENCY with ``INFERENCE_NUM_THREADS`` 1 or 2, or THROUGHPUT (its own
     stream and thread choice). One synchronous InferRequest, its input tensor set once (shared
     with the numpy array), timed by ``infer()``. Variants "latency, 1 thread", "latency, 2
     threads", "throughput".
   * LiteRT (``litert``, ``ai-edge-litert``'s TFLite interpreter with XNNPACK, its default CPU
     delegate): the Keras model of ``models.py`` with GraphJIT's weights, exported as a SavedModel
     with the batch fixed and converted by ``tf.lite.TFLiteConverter`` (float32, no optimizations,
     no quantization; ``models.build_tflite``) -- one conversion per batch, for the LSTM also with
     ``unroll=True`` -- run with ``num_threads`` 1 and 2, the input set once, timed by
     ``invoke()``. Variants "1 thread", "2 threads". A model that fails to convert or to run is a
     failure row with the reason.
   * TensorFlow/Keras (``tensorflow``): ``model(x)`` inside ``tf.function`` with ``jit_compile=False``
     and ``True`` (variants "tf.function", "xla"), default thread pools (all cores), outputs copied
     to host memory.
   * ONNX Runtime's own dynamic int8 (``--int8``; ``auto``, the default, runs it when GraphJIT has
     int8 results: int8 records in graphjit.json, its "quantization" array or int8 outputs in
     DIR/io; ``on`` always; ``off`` never): the same graph with every Dense as MatMul + Add, through
     ``onnxruntime.quantization.quantize_dynamic`` (QInt8 weights, MatMul only -- the Dense kernels,
     as Keras's int8 -- per-tensor and per-channel; activations uint8, asymmetric, per tensor, at
     run time), verified to hold MatMulInteger / DynamicQuantizeLinear nodes (else a failure), run
     like the fp32 ORT peer (variants "int8, 1 thread" / "int8, 2 threads", "precision": "int8").
     Its accuracy against ORT's fp32 (max |diff| and top-1 agreement per output over the accuracy
     inputs, both weight schemes) goes to the top-level "quantization" array; max |ORT int8 -
     GraphJIT int8| on the batch goes in the record (informational: the schemes differ, so it is NOT
     checked against the tolerance).
   * GraphJIT (``--bench PATH``): ``PATH --timing-server --models ...`` is started first (it compiles
     every model at every batch -- variants instant, optimized, int8, bf16 -- on the seeded inputs
     ``--peers-dir`` exported, while the peers are set up here), and answers timing requests on
     stdin/stdout (one JSON object per line; see ``benchmarks/Sources/graphjit-bench/
     TimingServer.swift``). Without ``--bench``, or if the binary has no ``--timing-server`` or the
     server does not come up, GraphJIT's figures are graphjit.json's only (timed in their own phase
     before this script ran): said on stderr and in peers.json ("graphjit_timing").

   Every fp32 candidate's outputs are compared with GraphJIT's fp32 outputs (max |diff|, recorded in
   the JSON). Any difference above the tolerance (default 1e-4) makes the script exit with status 1
   -- after writing DIR/peers.json, so the report can still show it. So does a candidate that cannot
   be built or run, an ORT int8 graph that is not quantized as expected, or a timing-server request
   that fails. GraphJIT's and ORT's int8 outputs never take part in the tolerance check.

2. Timing, interleaved: R rounds (default 5; ``--quick``: 2). In each round, for each model x batch,
   every candidate of every engine (GraphJIT's variants through the server, the peers here, ORT int8
   beside GraphJIT int8/bf16) takes one turn -- a slice of a few untimed warm-up calls, then timed
   calls until at least ``min_runs`` calls and ``slice_s`` seconds (at most 5000 calls) -- in an
   order that rotates from round to round (engines interleaved, each candidate moved by about
   1/R of the list per round), so a change of load hits every engine alike. Per candidate all the
   samples of all rounds are pooled: median, p10, p90, min, and the median of each round. After the
   rounds the peers' outputs are read again and must still agree (nothing was overwritten).

Writes DIR/peers.json: "results" -- per model x batch one record per peer engine (its fastest
candidate whose outputs agree, the others under "alternatives"), the ORT int8 ones, and one record
per GraphJIT variant timed through the server (engine "graphjit", "timing": "interleaved", with
graphjit.json's separate-phase median beside it) -- "compile" (set-up times), "quantization" (ORT int8
accuracy and weight bytes per model and weight scheme; empty without int8), "int8" (whether and why
it ran), "graphjit_timing" (interleaved or not, and why), "failures", "ok", settings, versions.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import json
import os
import platform
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("PYTHONUNBUFFERED", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models as M  # noqa: E402

PEER_ENGINES = ("onnxruntime", "openvino", "litert", "tensorflow")
ENGINE_ORDER = ("graphjit",) + PEER_ENGINES
# Alternative ONNX formulations tried for a model (ONNX Runtime and OpenVINO; the fastest is reported).
ORT_GRAPHS: dict[str, list[dict[str, str]]] = {
    "attention": [{"attention_sum": "mul-reducesum"}, {"attention_sum": "matmul"}],
}
ORT_THREADS = (1, 2)
OPENVINO_COMMON = {"INFERENCE_PRECISION_HINT": "f32"}
OPENVINO_CONFIGS = (("latency, 1 thread", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 1}),
                    ("latency, 2 threads", {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2}),
                    ("throughput", {"PERFORMANCE_HINT": "THROUGHPUT"}))
OPENVINO_REPORTED = ("INFERENCE_PRECISION_HINT", "PERFORMANCE_HINT", "INFERENCE_NUM_THREADS", "NUM_STREAMS",
                     "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "EXECUTION_DEVICES")
LITERT_THREADS = (1, 2)
# Alternative Keras formulations converted for LiteRT (models.build_tflite kwargs).
LITERT_GRAPHS: dict[str, list[dict[str, bool]]] = {"lstm": [{"lstm_unroll": False}, {"lstm_unroll": True}]}
TF_VARIANTS = (("tf.function", False), ("xla", True))
GRAPHJIT_VARIANTS = ("instant", "optimized", "int8", "bf16")
ORT_INT8_PER_CHANNEL = (False, True)
ACCURACY_SAMPLES, ACCURACY_SEED, ACCURACY_CHUNK = 1000, 20240, 100
INT8_ACTIVATIONS = "uint8, asymmetric, one scale and zero point per tensor, at run time (DynamicQuantizeLinear)"
MAX_SLICE_RUNS = 5000  # the timing server's cap on one request's runs; the peers' slices use it too
SERVER_READY_TIMEOUT_S = 900.0
SERVER_REQUEST_TIMEOUT_S = 120.0


def thread_variant(threads: int, precision: str = "fp32") -> str:
    text = f"{threads} thread" + ("s" if threads > 1 else "")
    return text if precision == "fp32" else f"{precision}, {text}"


def scheme_name(per_channel: bool) -> str:
    return "per-channel" if per_channel else "per-tensor"


def graph_label(kwargs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "default"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


quiet_stderr = M.quiet_stderr


def error_text(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:600]}" + ("..." if len(text) > 600 else "")


# MARK: - Timing


class Schedule:
    """How the rounds are cut: R rounds, and per candidate and round one slice of ``warmup`` untimed
    calls, then timed calls until at least ``min_runs`` calls and ``slice_s`` seconds (at most
    MAX_SLICE_RUNS calls; a peer's slice also stops after ``max_slice_s`` once it has one call)."""

    def __init__(self, quick: bool, rounds: int | None = None, slice_s: float | None = None):
        if quick:
            self.rounds, self.warmup, self.min_runs, self.slice_s = 2, 1, 3, 0.03
        else:
            self.rounds, self.warmup, self.min_runs, self.slice_s = 5, 2, 5, 0.1
        if rounds:
            self.rounds = rounds
        if slice_s:
            self.slice_s = slice_s
        self.max_slice_s = max(2.0, 10 * self.slice_s)

    def describe(self) -> dict:
        return {"rounds": self.rounds, "warmup_runs_per_slice": self.warmup, "min_runs_per_slice": self.min_runs,
                "slice_s": self.slice_s, "max_runs_per_slice": MAX_SLICE_RUNS, "max_slice_s_peers": self.max_slice_s,
                "order": "per round and model x batch, every candidate once, engines interleaved, the list rotated "
                         "by about 1/rounds of its length each round",
                "clock": "time.perf_counter_ns per call (peers); graphjit-bench's ContinuousClock per call "
                         "(GraphJIT, --timing-server)",
                "statistics": "median, p10, p90 of all samples of all rounds pooled"}

    def slice(self, fn) -> list[float]:
        """One slice of a Python-side candidate: per-call wall times in ms."""
        for _ in range(self.warmup):
            fn()
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
                if len(times) >= MAX_SLICE_RUNS:
                    break
                if len(times) >= self.min_runs and elapsed >= self.slice_s:
                    break
                if elapsed >= self.max_slice_s:
                    break
        finally:
            if gc_was_enabled:
                gc.enable()
        return [t * 1e-6 for t in times]


def stats(samples: list[float]) -> dict:
    ms = np.asarray(samples, dtype=np.float64)
    return {"median_ms": float(np.median(ms)), "p10_ms": float(np.percentile(ms, 10)),
            "p90_ms": float(np.percentile(ms, 90)), "min_ms": float(ms.min()), "runs": int(len(ms))}


# MARK: - Candidates


@dataclass
class Candidate:
    """One engine setting for one model x batch: how to call it, what its check found, its samples."""
    model: str
    batch: int
    engine: str
    variant: str
    precision: str = "fp32"
    graph: str = "default"
    call: Callable | None = None            # a peer: one inference
    server: "TimingServer | None" = None    # GraphJIT: timed by graphjit-bench --timing-server
    read_outputs: Callable | None = None    # a peer: its outputs as they stand (re-checked after timing)
    fields: dict = field(default_factory=dict)  # extra record fields (threads, settings, ops, ...)
    setup: dict = field(default_factory=dict)
    outputs: list | None = None
    max_abs_diff: float = float("inf")
    per_output: list = field(default_factory=list)
    problem: str = ""
    error: str = ""
    checked: bool = True                    # takes part in the tolerance check (the fp32 peers)
    samples: list = field(default_factory=list)
    round_medians: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if self.error or self.problem:
            return False
        return not self.checked or self.max_abs_diff <= self._tolerance

    _tolerance: float = 1e-4

    @property
    def timeable(self) -> bool:
        return not self.error and (self.call is not None or self.server is not None)

    def label(self) -> str:
        bits = [b for b in (self.fields.get("quantization"), self.graph if self.graph != "default" else None) if b]
        return f"{self.model} b{self.batch} {self.engine} {self.variant}" + (f" [{', '.join(bits)}]" if bits else "")

    def summary(self) -> dict:
        """The candidate as recorded under a record's "alternatives"."""
        out = {"variant": self.variant, "graph": self.graph, **self.fields, "ok": self.ok}
        if self.precision != "fp32":
            out["precision"] = self.precision
        if self.samples:
            out.update(stats(self.samples))
            out["rounds"] = len(self.round_medians)
            out["round_medians_ms"] = self.round_medians
        if self.checked:
            out["max_abs_diff"] = self.max_abs_diff
            out["max_abs_diff_per_output"] = self.per_output
        if self.problem:
            out["problem"] = self.problem
        if self.error:
            out["error"] = self.error
        out["setup"] = self.setup
        return out


def failed(model, batch, engine, variant, error, graph="default", precision="fp32", **fields) -> Candidate:
    c = Candidate(model, batch, engine, variant, precision=precision, graph=graph, fields=fields)
    c.error = error
    log(f"  {c.label()}: FAILED: {error}")
    return c


def check(c: Candidate, got: list, expected: list, tolerance: float) -> Candidate:
    c._tolerance = tolerance
    c.outputs = [np.array(g, dtype=np.float32, copy=True) for g in got]
    c.max_abs_diff, c.per_output, c.problem = max_abs_diff(c.outputs, expected)
    return c


def describe_check(c: Candidate) -> str:
    if c.error:
        return f"FAILED: {c.error}"
    if c.precision == "int8":
        gj8 = c.fields.get("max_abs_diff_vs_graphjit_int8")
        return (f"|vs GraphJIT fp32| {c.fields['max_abs_diff_vs_graphjit_fp32']:.1e}"
                + (f", int8 {gj8:.1e}" if gj8 is not None else "") + " (not checked)"
                + ("" if c.ok else f" PROBLEM: {c.problem}"))
    text = f"max|diff| {c.max_abs_diff:.2e} {'ok' if c.ok else 'MISMATCH'}"
    return text + (f" ({c.problem})" if c.problem else "")


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


def separate_phase_ms(graphjit: dict, name: str, batch: int, variant: str) -> float | None:
    for r in graphjit.get("results", []):
        if (isinstance(r, dict) and r.get("engine", "graphjit") == "graphjit" and r.get("model") == name
                and r.get("batch") == batch and r.get("variant") == variant
                and isinstance(r.get("median_ms"), (int, float))):
            return float(r["median_ms"])
    return None


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
    return value if value is not None and np.isfinite(value) else None


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
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


# MARK: - GraphJIT's timing server


class TimingServer:
    """``graphjit-bench --timing-server`` as a child process: one JSON request per line on its stdin,
    one answer per line on its stdout, its progress on stderr (collected, and echoed here prefixed by
    ``flush_log`` -- not as it comes: this process silences its own fd 2 at times, see quiet_stderr)."""

    def __init__(self, bench: str, models: list[str]):
        self.bench = bench
        self.command = [bench, "--timing-server", "--models", *models]
        self.lines: queue.Queue = queue.Queue()
        self.stderr_lines: list[str] = []
        self._logged = 0
        self.ready_info: dict = {}
        self.variants: set[tuple[str, int, str]] = set()
        self.dead = ""           # why it can no longer answer, once it cannot
        self.exit_status = None
        self.requests = 0
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def flush_log(self) -> None:
        lines = self.stderr_lines[self._logged:]
        self._logged += len(lines)
        for line in lines:
            log(f"    graphjit-bench: {line}")

    def _next_line(self, timeout: float) -> str | None:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer from the timing server within {timeout:.0f} s") from None
        if line is None:
            self.exit_status = self.process.wait()
            time.sleep(0.1)  # its last stderr lines
            tail = " | ".join(self.stderr_lines[-4:])
            raise EOFError(f"the timing server exited with status {self.exit_status}" + (f": {tail}" if tail else ""))
        return line

    def wait_ready(self, timeout: float = SERVER_READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_line(max(1.0, deadline - time.monotonic()))
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                log(f"    graphjit-bench (stdout, ignored): {line.rstrip()[:200]}")
                continue
            if isinstance(message, dict) and message.get("ready") is True:
                break
            log(f"    graphjit-bench (stdout, not the ready line, ignored): {line.rstrip()[:200]}")
        self.flush_log()
        variants = message.get("variants")
        if not isinstance(variants, list):
            raise ValueError("the ready line has no \"variants\" list")
        for v in variants:
            if isinstance(v, dict) and isinstance(v.get("model"), str) and isinstance(v.get("batch"), int) \
                    and isinstance(v.get("variant"), str):
                self.variants.add((v["model"], v["batch"], v["variant"]))
        self.ready_info = {k: v for k, v in message.items() if k not in ("ready", "variants")}

    def time(self, model: str, batch: int, variant: str, schedule: Schedule) -> list[float]:
        if self.dead:
            raise RuntimeError(self.dead)
        request = {"model": model, "batch": batch, "variant": variant, "runs": schedule.min_runs,
                   "warmup": schedule.warmup, "min_seconds": schedule.slice_s}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self._next_line(SERVER_REQUEST_TIMEOUT_S)
        except (OSError, EOFError, TimeoutError) as error:
            self.dead = f"timing server lost: {error_text(error)}"
            raise RuntimeError(self.dead) from None
        self.requests += 1
        try:
            answer = json.loads(line)
        except json.JSONDecodeError:
            raise RuntimeError(f"the timing server answered with something that is not JSON: {line[:200]!r}") from None
        if not isinstance(answer, dict):
            raise RuntimeError(f"the timing server answered with {line[:200]!r}")
        if "error" in answer:
            raise RuntimeError(f"the timing server answered with an error: {answer['error']}")
        for key, value in (("model", model), ("batch", batch), ("variant", variant)):
            if key in answer and answer[key] != value:
                raise RuntimeError(f"the timing server answered for {key} {answer[key]!r}, asked for {value!r}")
        times = answer.get("times_ms")
        if not isinstance(times, list) or not times or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and np.isfinite(t) and t >= 0 for t in times):
            raise RuntimeError(f"the timing server's times_ms is not a list of non-negative numbers: {line[:200]!r}")
        return [float(t) for t in times]

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.exit_status = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log("warning: the timing server did not exit 30 s after the end of its input; terminating it")
                self.process.terminate()
                try:
                    self.exit_status = self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.exit_status = self.process.wait()
        else:
            self.exit_status = self.process.returncode
        time.sleep(0.05)
        self.flush_log()


def start_server(bench: str | None, models: list[str]) -> tuple[TimingServer | None, str]:
    """(the server, '') or (None, why GraphJIT is not timed interleaved)."""
    if not bench:
        return None, "no --bench given"
    path = Path(bench)
    if not path.is_file() or not os.access(path, os.X_OK):
        return None, f"{bench} is not an executable file"
    try:
        helped = subprocess.run([bench, "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{bench} --help failed: {error_text(error)}"
    if "--timing-server" not in helped.stdout + helped.stderr:
        return None, f"{bench} has no --timing-server (its --help does not list it; built before the timing server?)"
    try:
        return TimingServer(bench, models), ""
    except OSError as error:
        return None, f"cannot start {bench} --timing-server: {error_text(error)}"


# MARK: - ONNX Runtime


def ort_bound(session, x, ort):
    """An IOBinding with ``x`` and output buffers bound once; (binding, buffers, plain-run outputs, ms)."""
    t0 = time.perf_counter()
    got = session.run(None, {"input": x})
    first_ms = (time.perf_counter() - t0) * 1e3
    binding = session.io_binding()
    binding.bind_cpu_input("input", x)
    buffers = [np.empty_like(g) for g in got]
    for k, buf in enumerate(buffers):
        binding.bind_ortvalue_output(f"output_{k}", ort.OrtValue.ortvalue_from_numpy(buf))
    session.run_with_iobinding(binding)
    return binding, buffers, got, first_ms


def ort_candidates(name, batch, x, expected, onnx_models, tolerance) -> list[Candidate]:
    """ONNX Runtime fp32 per graph formulation x thread count, timed through an IOBinding."""
    import onnxruntime as ort
    out = []
    for label, (model, build_ms) in onnx_models.items():
        for threads in ORT_THREADS:
            variant = thread_variant(threads)
            try:
                t0 = time.perf_counter()
                session = M.ort_session(model, threads)
                session_ms = (time.perf_counter() - t0) * 1e3
                binding, buffers, got, first_ms = ort_bound(session, x, ort)
            except Exception as error:  # noqa: BLE001 -- reported as a failure, the run goes on
                out.append(failed(name, batch, "onnxruntime", variant, error_text(error), graph=label))
                continue
            c = Candidate(name, batch, "onnxruntime", variant, graph=label,
                          call=lambda s=session, b=binding: s.run_with_iobinding(b),
                          read_outputs=lambda b=buffers: b, fields={"threads": threads},
                          setup={"onnx_build_ms": build_ms, "session_create_ms": session_ms, "first_run_ms": first_ms})
            check(c, got, expected, tolerance)
            bound, _, bound_problem = max_abs_diff(buffers, expected)
            c.max_abs_diff = max(c.max_abs_diff, bound)
            c.problem = c.problem or bound_problem
            out.append(c)
    return out


# MARK: - OpenVINO


def openvino_candidates(name, batch, x, expected, onnx_models, tolerance) -> list[Candidate]:
    """OpenVINO on the CPU device per graph formulation x OPENVINO_CONFIGS, fp32 forced. (Only
    ``Core.read_model`` / ``compile_model``: openvino-telemetry is used by the model converter, not
    by these.)"""
    try:
        import openvino as ov
    except ImportError as error:
        return [failed(name, batch, "openvino", "import", error_text(error))]
    core = openvino_core()
    out = []
    for label, (model, build_ms) in onnx_models.items():
        try:
            t0 = time.perf_counter()
            ov_model = core.read_model(model.SerializeToString(), b"")
            read_ms = (time.perf_counter() - t0) * 1e3
        except Exception as error:  # noqa: BLE001
            out.append(failed(name, batch, "openvino", "read_model", error_text(error), graph=label))
            continue
        for variant, config in OPENVINO_CONFIGS:
            config = {**OPENVINO_COMMON, **config}
            try:
                t0 = time.perf_counter()
                compiled = core.compile_model(ov_model, "CPU", config)
                compile_ms = (time.perf_counter() - t0) * 1e3
                properties = {}
                for key in OPENVINO_REPORTED:
                    with contextlib.suppress(Exception):
                        value = compiled.get_property(key)
                        properties[key] = value if isinstance(value, (bool, int, float, str)) else (
                            [str(v) for v in value] if isinstance(value, (list, tuple)) else str(value))
                outputs = sorted(compiled.outputs, key=lambda o: o.get_any_name())
                request = compiled.create_infer_request()
                request.set_input_tensor(ov.Tensor(x, shared_memory=True))
                t0 = time.perf_counter()
                request.infer()
                first_ms = (time.perf_counter() - t0) * 1e3

                def read(request=request, outputs=outputs):
                    return [request.get_tensor(o).data for o in outputs]

                got = read()
            except Exception as error:  # noqa: BLE001
                out.append(failed(name, batch, "openvino", variant, error_text(error), graph=label, config=config))
                continue
            c = Candidate(name, batch, "openvino", variant, graph=label, call=request.infer, read_outputs=read,
                          fields={"config": config, "compiled": properties,
                                  "output_names": [o.get_any_name() for o in outputs]},
                          setup={"onnx_build_ms": build_ms, "read_model_ms": read_ms, "compile_ms": compile_ms,
                                 "first_run_ms": first_ms})
            c._keep = (compiled, x)  # the compiled model and the shared input outlive the request
            check(c, got, expected, tolerance)
            precision = str(properties.get("INFERENCE_PRECISION_HINT", "?"))
            if "f32" not in precision and "float32" not in precision:
                c.problem = f"compiled with inference precision {precision}, not f32"
            out.append(c)
    return out


_OV_CORE = None


def openvino_core():
    global _OV_CORE
    if _OV_CORE is None:
        import openvino as ov
        _OV_CORE = ov.Core()
    return _OV_CORE


# MARK: - LiteRT


def litert_candidates(name, weights, batch, x, expected, tolerance) -> list[Candidate]:
    """LiteRT (TFLite + XNNPACK) per Keras formulation x thread count, converted at this batch."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        return [failed(name, batch, "litert", "import", error_text(error))]
    out = []
    for kwargs in LITERT_GRAPHS.get(name, [{}]):
        label = graph_label(kwargs)
        try:
            t0 = time.perf_counter()
            blob = M.build_tflite(name, weights, batch, **kwargs)
            convert_ms = (time.perf_counter() - t0) * 1e3
        except Exception as error:  # noqa: BLE001 -- e.g. a layer the converter cannot take
            out.append(failed(name, batch, "litert", "conversion", f"TFLiteConverter failed: {error_text(error)}",
                              graph=label))
            continue
        for threads in LITERT_THREADS:
            variant = thread_variant(threads)
            try:
                t0 = time.perf_counter()
                with quiet_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
                    interpreter = Interpreter(model_content=blob, num_threads=threads)
                    interpreter.allocate_tensors()
                create_ms = (time.perf_counter() - t0) * 1e3
                signature = interpreter._get_full_signature_list()["serving_default"]
                (input_index,) = signature["inputs"].values()
                output_indices = [signature["outputs"][k] for k in sorted(signature["outputs"])]
                interpreter.set_tensor(input_index, x)
                t0 = time.perf_counter()
                interpreter.invoke()
                first_ms = (time.perf_counter() - t0) * 1e3

                def read(interpreter=interpreter, output_indices=output_indices):
                    return [interpreter.get_tensor(i) for i in output_indices]

                got = read()
                ops: dict[str, int] = {}
                for op in interpreter._get_ops_details():
                    ops[op["op_name"]] = ops.get(op["op_name"], 0) + 1
            except Exception as error:  # noqa: BLE001
                out.append(failed(name, batch, "litert", variant, error_text(error), graph=label, threads=threads))
                continue
            c = Candidate(name, batch, "litert", variant, graph=label, call=interpreter.invoke, read_outputs=read,
                          fields={"threads": threads, "tflite_bytes": len(blob), "ops": dict(sorted(ops.items())),
                                  "xnnpack_delegate": "DELEGATE" in ops},
                          setup={"convert_ms": convert_ms, "interpreter_create_ms": create_ms,
                                 "first_run_ms": first_ms})
            check(c, got, expected, tolerance)
            if "DELEGATE" not in ops:
                c.problem = "no XNNPACK DELEGATE node: the interpreter runs the reference kernels"
            out.append(c)
    return out


# MARK: - TensorFlow


def tf_candidates(tf, name, batch, functions, x, expected, tolerance) -> list[Candidate]:
    out = []
    xt = tf.constant(x)
    for variant, jit in TF_VARIANTS:
        fn = functions[variant]
        try:
            t0 = time.perf_counter()
            with quiet_stderr() if jit else contextlib.nullcontext():  # XLA's start-up chatter
                result = fn(xt)
            first_ms = (time.perf_counter() - t0) * 1e3
            got = [t.numpy() for t in tf.nest.flatten(result)]
        except Exception as error:  # noqa: BLE001 -- an engine that cannot run is reported, not fatal
            out.append(failed(name, batch, "tensorflow", variant, error_text(error), jit_compile=jit))
            continue

        def call(fn=fn, xt=xt):
            for t in tf.nest.flatten(fn(xt)):
                t.numpy()  # the result in host memory, as the other engines give it

        def read(fn=fn, xt=xt):
            return [t.numpy() for t in tf.nest.flatten(fn(xt))]

        c = Candidate(name, batch, "tensorflow", variant, call=call, read_outputs=read, fields={"jit_compile": jit},
                      setup={"first_call_ms": first_ms})
        out.append(check(c, got, expected, tolerance))
    return out


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


def ort_int8_candidates(name, weights, batch, x, expected, graphjit_int8) -> list[Candidate]:
    """ORT's dynamic int8 for every graph formulation x weight scheme x thread count. ``expected``:
    GraphJIT's fp32 outputs, ``graphjit_int8``: its int8 outputs or None -- both only for
    (informational) differences; a candidate fails only if it cannot be built, verified or run."""
    import onnxruntime as ort
    out = []
    for graph_kwargs in ORT_GRAPHS.get(name, [{}]):
        label = graph_label(graph_kwargs)
        for per_channel in ORT_INT8_PER_CHANNEL:
            scheme = scheme_name(per_channel)
            base = {"per_channel": per_channel, "quantization": scheme}
            try:
                _, int8, summary, build_ms, quantize_ms = ort_int8_model(name, weights, batch, graph_kwargs,
                                                                         per_channel)
            except Exception as error:  # noqa: BLE001 -- a failure, reported loudly at the end
                c = failed(name, batch, "onnxruntime", "int8", error_text(error), graph=label, precision="int8", **base)
                c.problem = "not quantized"
                out.append(c)
                continue
            for threads in ORT_THREADS:
                variant = thread_variant(threads, "int8")
                try:
                    t0 = time.perf_counter()
                    session = M.ort_session(int8, threads)
                    session_ms = (time.perf_counter() - t0) * 1e3
                    binding, buffers, got, first_ms = ort_bound(session, x, ort)
                except Exception as error:  # noqa: BLE001
                    c = failed(name, batch, "onnxruntime", variant, error_text(error), graph=label, precision="int8",
                               threads=threads, **base)
                    c.problem = "did not run"
                    out.append(c)
                    continue
                diff, per, problem = max_abs_diff(got, expected)
                bound, _, bound_problem = max_abs_diff(buffers, got)
                problem = problem or bound_problem or (f"IOBinding run differs from a plain run by {bound:.1e}"
                                                      if bound > 1e-5 else "")
                fields = {"threads": threads, **base,
                          "weight_bytes": summary["weight_bytes"], "weight_bytes_fp32": summary["weight_bytes_fp32"],
                          "quantized_ops": summary["quantized_ops"], "kernels": summary["kernels"],
                          "max_abs_diff_vs_graphjit_fp32": diff, "max_abs_diff_vs_graphjit_fp32_per_output": per,
                          "max_abs_diff_vs_graphjit_int8": None, "max_abs_diff_vs_graphjit_int8_per_output": None}
                if graphjit_int8 is not None:
                    d8, per8, problem8 = max_abs_diff(got, graphjit_int8)
                    fields["max_abs_diff_vs_graphjit_int8"] = d8
                    fields["max_abs_diff_vs_graphjit_int8_per_output"] = per8
                    if problem8:
                        fields["graphjit_int8_problem"] = problem8
                c = Candidate(name, batch, "onnxruntime", variant, precision="int8", graph=label, checked=False,
                              call=lambda s=session, b=binding: s.run_with_iobinding(b),
                              read_outputs=lambda b=buffers: b, fields=fields,
                              setup={"onnx_build_ms": build_ms, "quantize_ms": quantize_ms,
                                     "session_create_ms": session_ms, "first_run_ms": first_ms})
                c.outputs, c.problem = got, problem
                out.append(c)
    return out


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
    label = graph_label(graph_kwargs)
    threads = max(ORT_THREADS)
    t0 = time.perf_counter()
    fp32 = M.build_onnx(name, weights, None, dense_op="matmul-add", **graph_kwargs)
    reference = run_chunked(M.ort_session(fp32, threads), x)
    entries = []
    for per_channel in ORT_INT8_PER_CHANNEL:
        entry = {"model": name, "engine": "onnxruntime", "mode": "int8", "per_channel": per_channel,
                 "quantization": scheme_name(per_channel), "weight_type": "QInt8", "activations": INT8_ACTIVATIONS,
                 "samples": int(len(x)), "inputs": source, "graph": label,
                 "reference": "ONNX Runtime fp32 on the same graph (Dense as MatMul + Add), dynamic batch"}
        try:
            int8 = M.quantize_onnx_int8(fp32, per_channel)
            summary = M.verify_int8(name, fp32, int8)
            got = run_chunked(M.ort_session(int8, threads), x)
        except Exception as error:  # noqa: BLE001 -- a failure, reported loudly at the end
            entry["error"] = error_text(error)
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


# MARK: - The rounds


def interleave(candidates: list[Candidate]) -> list[Candidate]:
    """Engines take turns: the first candidate of every engine, then the second of every engine, ..."""
    by_engine: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_engine.setdefault(c.engine, []).append(c)
    engines = [e for e in ENGINE_ORDER if e in by_engine] + [e for e in by_engine if e not in ENGINE_ORDER]
    out = []
    for k in range(max((len(v) for v in by_engine.values()), default=0)):
        out += [by_engine[e][k] for e in engines if k < len(by_engine[e])]
    return out


def run_rounds(configs: list[tuple[tuple[str, int], list[Candidate]]], schedule: Schedule) -> list[float]:
    """R rounds; per round and config every timeable candidate one slice, the order rotated."""
    seconds = []
    for r in range(schedule.rounds):
        t0 = time.perf_counter()
        turns = 0
        for _, candidates in configs:
            order = interleave([c for c in candidates if c.timeable])
            if not order:
                continue
            offset = (r * len(order)) // schedule.rounds
            for c in order[offset:] + order[:offset]:
                if not c.timeable:  # its server died in this round
                    continue
                try:
                    if c.server is not None:
                        samples = c.server.time(c.model, c.batch, c.variant, schedule)
                    else:
                        samples = schedule.slice(c.call)
                except Exception as error:  # noqa: BLE001 -- this candidate stops; the others go on
                    c.error = f"round {r + 1}: {error_text(error)}"
                    log(f"  {c.label()}: FAILED in round {r + 1}: {error_text(error)}")
                    if c.server is not None and c.server.dead:
                        for _, others in configs:
                            for o in others:
                                if o.server is c.server and not o.error:
                                    o.error = c.server.dead
                    continue
                c.samples += samples
                c.round_medians.append(float(np.median(samples)))
                turns += 1
        seconds.append(time.perf_counter() - t0)
        log(f"peers: round {r + 1}/{schedule.rounds}: {turns} slices in {seconds[-1]:.1f} s")
    return seconds


def post_check(c: Candidate, expected: list, tolerance: float) -> None:
    """The peer's outputs after all its timed calls must still be what the check saw."""
    if c.read_outputs is None or c.error or not c.samples:
        return
    try:
        got = [np.array(g, dtype=np.float32, copy=True) for g in c.read_outputs()]
    except Exception as error:  # noqa: BLE001
        c.problem = c.problem or f"outputs unreadable after timing: {error_text(error)}"
        return
    reference = expected if c.checked else c.outputs
    diff, _, problem = max_abs_diff(got, reference)
    limit = tolerance if c.checked else 1e-5
    if problem or diff > max(limit, c.max_abs_diff if c.checked else 0.0):
        c.problem = c.problem or f"outputs after timing differ: max|diff| {diff:.1e}" + (f" ({problem})" if problem else "")


# MARK: - Records


def failure_text(c: Candidate) -> str:
    if c.precision == "int8":
        where = c.label()
        if c.error:
            return f"{where}: {c.problem or 'did not run'}: {c.error}"
        return f"{where}: {c.problem}"
    if c.error:
        return f"{c.label()}: did not run: {c.error}"
    text = f"{c.label()}: max|peer - GraphJIT| = {c.max_abs_diff:.3e}"
    return text + (f" ({c.problem})" if c.problem else "")


def base_record(c: Candidate, flops: float, flops_source: str) -> dict:
    s = stats(c.samples)
    return {"model": c.model, "batch": c.batch, "engine": c.engine, "variant": c.variant, **s,
            "samples_per_s": c.batch / (s["median_ms"] * 1e-3), "gflops": flops * c.batch / (s["median_ms"] * 1e-3) / 1e9,
            "flops_per_sample": flops, "rounds": len(c.round_medians), "round_medians_ms": c.round_medians,
            "timing": "interleaved", "flops_source": flops_source}


PEER_NOTES = {
    "onnxruntime": "ONNX Runtime CPU EP, ORT_ENABLE_ALL, static batch, IOBinding",
    "openvino": "OpenVINO CPU plugin on the ONNX graph, INFERENCE_PRECISION_HINT f32, static batch, one sync "
                "InferRequest with its input set once",
    "litert": "LiteRT (ai-edge-litert) interpreter, XNNPACK delegate (default), TFLiteConverter float32 from the "
              "Keras model's SavedModel at a static batch, input set once, invoke()",
    "tensorflow": "Keras model(x) in tf.function; TF default thread pools",
}


def best_record(engine: str, name: str, batch: int, candidates: list[Candidate], flops, flops_source) -> dict:
    """The engine's record for one config: its fastest candidate whose outputs agree (else its fastest,
    marked FAILED; with none timed, a failure record with the reasons)."""
    timed = [c for c in candidates if c.samples]
    good = [c for c in timed if c.ok]
    alternatives = [c.summary() for c in candidates]
    check_state = "ok" if candidates and all(c.ok for c in candidates) else "FAILED"
    if not timed:
        reasons = "; ".join(f"{c.variant}{' [' + c.graph + ']' if c.graph != 'default' else ''}: "
                            f"{c.error or c.problem or 'not timed'}" for c in candidates)
        return {"model": name, "batch": batch, "engine": engine, "variant": None, "median_ms": None,
                "check": "FAILED", "error": reasons or "no candidates", "alternatives": alternatives,
                "notes": PEER_NOTES.get(engine, "")}
    best = min(good or timed, key=lambda c: stats(c.samples)["median_ms"])
    notes = PEER_NOTES.get(engine, "")
    if engine == "tensorflow":
        notes += f" ({os.cpu_count()} logical CPUs), Keras {M.keras_modules()[1].__version__}"
    if best.graph != "default":
        notes += f"; graph {best.graph}"
    record = {**base_record(best, flops, flops_source),
              "max_abs_diff": json_float(max(c.max_abs_diff for c in candidates)),
              "max_abs_diff_reported": json_float(best.max_abs_diff), "check": check_state,
              "graph": best.graph, **{k: v for k, v in best.fields.items() if k in ("threads", "config", "compiled",
                                                                                       "jit_compile", "ops",
                                                                                       "tflite_bytes")},
              "notes": notes + f"; flops_per_sample from {flops_source}", "alternatives": alternatives}
    return record


def best_int8_record(name, batch, candidates: list[Candidate], flops, flops_source, graphjit_int8_vs_fp32) -> dict | None:
    timed = [c for c in candidates if c.samples]
    if not timed:
        return None
    best = min(timed, key=lambda c: stats(c.samples)["median_ms"])
    f = best.fields
    graph = f"; graph {best.graph}" if best.graph != "default" else ""
    return {
        **base_record(best, flops, flops_source), "precision": "int8", "threads": f["threads"],
        "per_channel": f["per_channel"], "quantization": f["quantization"],
        "weight_bytes": f["weight_bytes"], "weight_bytes_fp32": f["weight_bytes_fp32"],
        "quantized_ops": f["quantized_ops"],
        "max_abs_diff_vs_graphjit_fp32": json_float(f["max_abs_diff_vs_graphjit_fp32"]),
        "max_abs_diff_vs_graphjit_int8": f["max_abs_diff_vs_graphjit_int8"],
        "max_abs_diff_vs_graphjit_int8_per_output": f["max_abs_diff_vs_graphjit_int8_per_output"],
        "graphjit_int8_max_abs_diff_vs_graphjit_fp32": graphjit_int8_vs_fp32,
        "agreement_check": "none (int8: ORT's and GraphJIT's quantization schemes differ; differences are "
                           "informational)",
        "ok": all(c.ok for c in candidates),
        "notes": f"ONNX Runtime dynamic int8 (quantize_dynamic, QInt8 weights {f['quantization']}, "
                 f"activations {INT8_ACTIVATIONS}), CPU EP, ORT_ENABLE_ALL, static batch, IOBinding"
                 + graph + f"; flops_per_sample from {flops_source}",
        "alternatives": [c.summary() for c in candidates],
    }


def graphjit_record(c: Candidate, graphjit: dict, flops, flops_source, rounds: int) -> dict:
    record = {**base_record(c, flops, flops_source), "interleaved": True,
              "separate_phase_median_ms": separate_phase_ms(graphjit, c.model, c.batch, c.variant),
              "notes": f"timed by graphjit-bench --timing-server, interleaved with the peers over {rounds} rounds "
                       f"({'clang' if c.variant != 'instant' else 'tcc'} tier); flops_per_sample from {flops_source}"}
    if c.variant in ("int8", "bf16"):
        record["precision"] = c.variant
    return record


# MARK: - Main


PEER_DISTRIBUTIONS = (("numpy", ["numpy"]), ("onnxruntime", ["onnxruntime"]), ("onnx", ["onnx"]),
                      ("openvino", ["openvino"]), ("ai-edge-litert", ["ai-edge-litert"]),
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


def load_config(directory: Path, name: str, batch: int) -> tuple[np.ndarray | None, list | None, str]:
    io = directory / "io"
    x = np.ascontiguousarray(np.load(io / f"{name}.b{batch}.input.npy"), dtype=np.float32)
    if x.shape != (batch, *M.SPECS[name].input_shape):
        return None, None, f"{name} b{batch}: input shape {x.shape}, expected {(batch, *M.SPECS[name].input_shape)}"
    expected, why = load_outputs(io, f"{name}.b{batch}.output", len(M.SPECS[name].output_sizes))
    if expected is None:
        return None, None, f"{name} b{batch}: GraphJIT's outputs missing in {io}" + (f" ({why})" if why else "")
    return x, expected, ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="the results directory graphjit-bench wrote")
    parser.add_argument("--bench", help="graphjit-bench to time GraphJIT with, interleaved (its --timing-server); "
                                        "without it GraphJIT's figures are graphjit.json's only")
    parser.add_argument("--quick", action="store_true", help="2 rounds of short slices (a smoke test)")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; --quick 2)")
    parser.add_argument("--slice", type=float, help="seconds per candidate per round (default 0.1; --quick 0.03)")
    parser.add_argument("--models", default=",".join(M.MODEL_NAMES),
                        help="comma-separated subset of " + ", ".join(M.MODEL_NAMES))
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="max |peer - GraphJIT| allowed (default 1e-4)")
    parser.add_argument("--engines", default=",".join(PEER_ENGINES), help="comma-separated subset of the peers "
                                                                         + ", ".join(PEER_ENGINES))
    parser.add_argument("--int8", choices=("auto", "on", "off"), default="auto",
                        help="ONNX Runtime's dynamic int8 peer: auto (default) runs it when GraphJIT has int8 "
                             "results in DIR, on always, off never")
    args = parser.parse_args(argv)

    directory: Path = args.dir
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in M.SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {', '.join(M.MODEL_NAMES)}")
    engines = [e for e in PEER_ENGINES if e in {e.strip() for e in args.engines.split(",") if e.strip()}]
    if set(e.strip() for e in args.engines.split(",") if e.strip()) - set(PEER_ENGINES):
        parser.error(f"unknown engine(s) in {args.engines}; known: {', '.join(PEER_ENGINES)}")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not directory.is_dir():
        log(f"error: {directory} is not a directory (run graphjit-bench --peers-dir {directory} first)")
        return 2

    wall_start = time.perf_counter()
    schedule = Schedule(args.quick, args.rounds, args.slice)
    graphjit = load_graphjit_json(directory)
    configs = discover(directory, wanted)
    if not configs:
        log(f"error: no inputs in {directory / 'io'} for {', '.join(wanted)}")
        return 2
    load_start = os.getloadavg()

    # GraphJIT's server first: it compiles while the peers are set up.
    server, no_server_why = start_server(args.bench, [m for m in wanted if any(n == m for n, _ in configs)])
    if server:
        log(f"peers: started {args.bench} --timing-server (it compiles while the peers are set up)")
    else:
        log(f"peers: NOTE: GraphJIT is not timed interleaved ({no_server_why}); its figures will be graphjit.json's, "
            "timed in a separate phase")

    log(f"peers: {len(configs)} model x batch configs from {directory}; engines {', '.join(engines)} "
        f"({'quick' if args.quick else 'full'}: {schedule.rounds} rounds of {schedule.slice_s:g} s slices; "
        f"tolerance {args.tolerance:g})")
    int8_on, int8_why = wants_int8(args.int8, graphjit, directory)
    if int8_on and "onnxruntime" not in engines:
        int8_on, int8_why = False, int8_why + "; but onnxruntime is not among --engines"
    log(f"peers: ONNX Runtime int8 {'on' if int8_on else 'off'} ({int8_why})")
    tf = None
    if "tensorflow" in engines or "litert" in engines:
        log("peers: importing TensorFlow ...")
        with quiet_stderr():
            tf, _, _ = M.keras_modules()
    import onnxruntime  # noqa: F401  (import errors surface here, before any work)

    # 1. Set-up and checks.
    setup_start = time.perf_counter()
    failures, quantization, compile_rows = [], [], []
    plan: list[tuple[tuple[str, int], list[Candidate]]] = []
    expected_of: dict[tuple[str, int], list] = {}
    extras: dict[tuple[str, int], dict] = {}
    keep_alive = []
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
                entries = [{"model": name, "engine": "onnxruntime", "mode": "int8", "error": error_text(error)}]
                log(f"  {name} int8 accuracy: FAILED: {entries[0]['error']}")
            quantization += entries
            failures += [f"{name}: ORT int8 accuracy ({e.get('quantization', '?')}): {e['error']}"
                         for e in entries if "error" in e]
        functions = {}
        if "tensorflow" in engines:
            keras_model = M.build_keras(name, weights)
            functions = {variant: tf.function(lambda t, m=keras_model: m(t, training=False), jit_compile=jit)
                         for variant, jit in TF_VARIANTS}
            keep_alive.append(keras_model)

        for batch in batches:
            x, expected, why = load_config(directory, name, batch)
            if why:
                failures.append(why)
                log(f"error: {why} -- cannot check agreement")
                continue
            keep_alive.append(x)
            t0 = time.perf_counter()
            onnx_models = {}
            if "onnxruntime" in engines or "openvino" in engines:
                for kwargs in ORT_GRAPHS.get(name, [{}]):
                    t1 = time.perf_counter()
                    onnx_models[graph_label(kwargs)] = (M.build_onnx(name, weights, batch, **kwargs),
                                                        (time.perf_counter() - t1) * 1e3)
            candidates: list[Candidate] = []
            if "onnxruntime" in engines:
                candidates += ort_candidates(name, batch, x, expected, onnx_models, args.tolerance)
            if "openvino" in engines:
                candidates += openvino_candidates(name, batch, x, expected, onnx_models, args.tolerance)
            if "litert" in engines:
                candidates += litert_candidates(name, weights, batch, x, expected, args.tolerance)
            if "tensorflow" in engines:
                candidates += tf_candidates(tf, name, batch, functions, x, expected, args.tolerance)
            gj8_vs_fp32 = None
            if int8_on:
                graphjit_int8, why = load_outputs(directory / "io", f"{name}.b{batch}.int8.output", len(expected))
                if why:
                    log(f"  warning: {name} b{batch}: GraphJIT int8 outputs incomplete ({why}); ignored")
                if graphjit_int8 is not None:
                    d, _, problem = max_abs_diff(graphjit_int8, expected)
                    gj8_vs_fp32 = None if problem else json_float(d)
                    if problem:
                        log(f"  warning: {name} b{batch}: GraphJIT int8 outputs: {problem}")
                candidates += ort_int8_candidates(name, weights, batch, x, expected, graphjit_int8)
            for c in candidates:
                if not c.error:
                    log(f"  {c.label()}: {describe_check(c)}")
            log(f"  {name} b{batch}: {sum(1 for c in candidates if not c.error)} peer candidates set up in "
                f"{time.perf_counter() - t0:.1f} s")
            plan.append(((name, batch), candidates))
            expected_of[(name, batch)] = expected
            extras[(name, batch)] = {"gj8_vs_fp32": gj8_vs_fp32}
    setup_s = time.perf_counter() - setup_start

    # GraphJIT's candidates, once its server is ready.
    graphjit_timing = {"interleaved": False, "why": no_server_why, "bench": args.bench}
    if server:
        log("peers: waiting for the timing server's ready line ...")
        t0 = time.perf_counter()
        try:
            server.wait_ready()
        except Exception as error:  # noqa: BLE001 -- fall back to graphjit.json's figures
            no_server_why = f"the timing server did not come up: {error_text(error)}"
            log(f"peers: NOTE: GraphJIT is not timed interleaved ({no_server_why}); its figures will be "
                "graphjit.json's, timed in a separate phase")
            server.close()
            graphjit_timing = {"interleaved": False, "why": no_server_why, "bench": args.bench,
                               "server_exit_status": server.exit_status}
            server = None
        else:
            log(f"peers: timing server ready after {time.perf_counter() - t0:.1f} s more "
                f"({len(server.variants)} compiled variants)")
            graphjit_timing = {"interleaved": True, "why": f"{args.bench} --timing-server", "bench": args.bench,
                               "ready_info": server.ready_info, "variants_served": len(server.variants)}
            for (name, batch), candidates in plan:
                served = [v for v in GRAPHJIT_VARIANTS if (name, batch, v) in server.variants]
                served += sorted(v for n, b, v in server.variants if (n, b) == (name, batch) and v not in served)
                if not served:
                    log(f"  warning: the timing server has no variant of {name} b{batch}")
                candidates[:0] = [Candidate(name, batch, "graphjit", v, precision=v if v in ("int8", "bf16") else "fp32",
                                            server=server, checked=False) for v in served]
            missing = sorted({(n, b) for n, b, _ in server.variants} - {cfg for cfg, _ in plan})
            if missing:
                log(f"  note: the timing server also has {', '.join(f'{n} b{b}' for n, b in missing)} (no peers: "
                    "not timed)")

    # 2. Timing, interleaved.
    total = sum(1 for _, cs in plan for c in cs if c.timeable)
    log(f"peers: timing {total} candidates in {schedule.rounds} rounds"
        + (" (GraphJIT's through the timing server)" if server else " (GraphJIT not among them)"))
    rounds_start = time.perf_counter()
    round_seconds = run_rounds(plan, schedule)
    rounds_s = time.perf_counter() - rounds_start
    if server:
        graphjit_timing["requests"] = server.requests
        server.close()
        graphjit_timing["server_exit_status"] = server.exit_status
        if server.dead:
            failures.append(f"GraphJIT timing server: {server.dead}")
        elif server.exit_status != 0:
            log(f"warning: the timing server exited with status {server.exit_status} at the end of its input "
                "(expected 0)")

    # Results.
    records = []
    for (name, batch), candidates in plan:
        flops, flops_source = flops_per_sample(graphjit, name, batch)
        expected = expected_of[(name, batch)]
        for c in candidates:
            if c.engine != "graphjit":
                post_check(c, expected, args.tolerance)
        for c in interleave(candidates):
            if c.samples:
                s = stats(c.samples)
                log(f"  {c.label():48}: median {s['median_ms']:9.4f} ms (p10 {s['p10_ms']:.4f}, p90 {s['p90_ms']:.4f}, "
                    f"{s['runs']} runs / {len(c.round_medians)} rounds)  "
                    + ("" if c.engine == "graphjit" else describe_check(c)))
        config_records = []
        for c in candidates:
            if c.engine == "graphjit":
                if c.samples:
                    config_records.append(graphjit_record(c, graphjit, flops, flops_source, schedule.rounds))
                if c.error and "timing server lost" not in c.error:  # a lost server is one failure, below
                    failures.append(f"{c.label()}: {c.error}")
        best_outputs = {}
        for engine in engines:
            group = [c for c in candidates if c.engine == engine and c.precision == "fp32"]
            if not group:
                continue
            rec = best_record(engine, name, batch, group, flops, flops_source)
            config_records.append(rec)
            chosen = [c for c in group if c.samples and c.variant == rec.get("variant")
                      and c.graph == rec.get("graph", "default")]
            if chosen and chosen[0].outputs is not None:
                best_outputs[engine] = chosen[0].outputs
            failures += [failure_text(c) for c in group if not c.ok]
        peer_records = [r for r in config_records if r["engine"] in PEER_ENGINES]
        if len(best_outputs) > 1:
            outs = list(best_outputs.values())
            agreement = max(max_abs_diff(a, b)[0] for i, a in enumerate(outs) for b in outs[i + 1:])
            for r in peer_records:
                r["peers_max_abs_diff"] = json_float(agreement)
            if any(r["check"] != "ok" for r in peer_records) and agreement <= args.tolerance:
                log(f"  note: the peers agree with each other ({agreement:.1e}) but not with GraphJIT on "
                    f"{name} b{batch}: GraphJIT's outputs look wrong")
        int8 = [c for c in candidates if c.engine == "onnxruntime" and c.precision == "int8"]
        if int8:
            rec = best_int8_record(name, batch, int8, flops, flops_source, extras[(name, batch)]["gj8_vs_fp32"])
            if rec:
                config_records.append(rec)
            failures += [failure_text(c) for c in int8 if not c.ok]
        records += config_records
        compile_rows += [{"model": name, "batch": batch, "engine": c.engine, "variant": c.variant, "graph": c.graph,
                          **({"precision": c.precision} if c.precision != "fp32" else {}), **c.setup}
                         for c in candidates if c.engine != "graphjit" and c.setup]

    result = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "tolerance": args.tolerance,
        "versions": versions(),
        "machine": {"cpu": cpu_name(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_avg_start": list(load_start), "load_avg_end": list(os.getloadavg())},
        "graphjit_timing": graphjit_timing,
        "settings": {"timing": schedule.describe(), "engines": engines,
                     "onnxruntime": {"threads_tried": list(ORT_THREADS), "graph_optimization": "ORT_ENABLE_ALL",
                                     "execution_mode": "sequential", "opset": M.OPSET,
                                     "graphs_tried": {k: [graph_label(g) for g in v] for k, v in ORT_GRAPHS.items()}},
                     "openvino": {"device": "CPU", "common": OPENVINO_COMMON,
                                  "configs_tried": {v: c for v, c in OPENVINO_CONFIGS},
                                  "graphs_tried": {k: [graph_label(g) for g in v] for k, v in ORT_GRAPHS.items()},
                                  "model": "the ONNX graphs of the ONNX Runtime peer (Core.read_model)",
                                  "call": "one synchronous InferRequest, input tensor shared with the numpy array "
                                          "and set once, infer()"},
                     "litert": {"threads_tried": list(LITERT_THREADS), "delegate": "XNNPACK (the interpreter's default)",
                                "converter": "Keras model.export(format='tf_saved_model') with a static batch -> "
                                             "tf.lite.TFLiteConverter.from_saved_model, float32, TFLITE_BUILTINS, "
                                             "no optimizations",
                                "graphs_tried": {k: [graph_label(g) for g in v] for k, v in LITERT_GRAPHS.items()},
                                "call": "input set once (set_tensor), invoke()"},
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
        "phases_s": {"setup": setup_s, "rounds": rounds_s, "round_seconds": round_seconds},
        "elapsed_s": time.perf_counter() - wall_start,
    }
    out_path = directory / "peers.json"
    out_path.write_text(json.dumps(sanitize(result), indent=2, allow_nan=False) + "\n")
    log(f"peers: wrote {out_path} ({len(records)} results; set-up {setup_s:.0f} s, rounds {rounds_s:.0f} s, "
        f"{time.perf_counter() - wall_start:.0f} s in all)")
    if not graphjit_timing["interleaved"]:
        log(f"peers: NOTE: GraphJIT was not timed interleaved ({graphjit_timing['why']}): the report uses "
            "graphjit.json's separate-phase figures")
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
