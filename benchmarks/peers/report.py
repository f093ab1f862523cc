#!/usr/bin/env python3
"""Merges GraphJIT's and the peers' timings into one table, checks the goals, draws the chart.

Usage::

    python benchmarks/peers/report.py DIR

Reads DIR/graphjit.json (from ``graphjit-bench --peers-dir DIR``), DIR/peers.json (from
``run_peers.py``) and DIR/training.json (from ``train_peers.py``); any may be missing.

The fp32 table -- model x batch x engine (variant) -> median ms, p10-p90, samples/s, GFLOP/s, the
ratio to ONNX Runtime and to the best peer -- has GraphJIT (its variants), ONNX Runtime, OpenVINO,
LiteRT and TensorFlow (each peer its fastest setting whose outputs agree; a peer that failed to
convert or run is a FAILED row with the reason). GraphJIT's figures are the ones timed interleaved
with the peers (peers.json's records with engine "graphjit", from ``run_peers.py --bench``) when
there are any -- the title says which -- with graphjit.json's separate-phase medians beside them;
without them, graphjit.json's. Then the headline, per configuration: GraphJIT's best fp32 variant
against the best peer (the fastest of ONNX Runtime, OpenVINO, LiteRT and TensorFlow, named), and
against ONNX Runtime, with two goals marked met or missed and a summary line each: at most 0.8x the
best peer everywhere (the goal), and at or below ONNX Runtime (<= 1.0x) everywhere; and, beside each,
the weight-streaming (memory) floor graphjit.json gives for the batch.

With quantized results (GraphJIT records with variant "int8"/"bf16" -- interleaved ones first --,
ONNX Runtime's int8 records from run_peers.py, the "quantization" arrays of graphjit.json and
peers.json) the "Compressed weights" tables follow: per model and batch GraphJIT fp32 (its best fp32
variant), GraphJIT int8 (and bf16), ORT fp32 and ORT int8 (each its fastest) in ms with the ratios
GraphJIT int8 / ORT fp32 and / ORT int8; per model the weight bytes and the accuracy against fp32
(max |diff|, top-1 agreement per output) of GraphJIT's and ORT's int8; and the int8 goal (cnn batch 1
at int8 below half of ORT's fp32 time and below ORT's int8 time, top-1 agreement with fp32 >= 99%) as
PASS/MISS. Quantized rows never enter the fp32 table, the headline or the chart. Then the compile,
set-up and memory sections when present. Then, with training.json, the training table: per model
and engine the median train step at batch 32 and 64 (and samples/s), one fit epoch, and GraphJIT's
ratio to the best of Keras/TF tf.function, Keras/TF XLA and Keras/JAX, with the goal (a GraphJIT
train step at most half the best peer's: <= 0.5x) marked met or missed; and how close each Keras
loss curve is to GraphJIT's.

Writes DIR/report.json (everything merged, plus the ratios and "goals"; training under "training";
the quantized rows under "quantized_rows", the compressed-weights tables and the int8 goal under
"compressed"), DIR/report.png (median latency per model/batch, one bar per engine, log scale,
GraphJIT's bars labelled with the ratio to the best peer; a second panel with the train steps) and
DIR/training_losses.png (loss per step over the epoch, GraphJIT against each Keras backend, one panel
per model, and below it |Keras - GraphJIT|).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

MODEL_ORDER = ("cnn", "lstm", "attention", "multitask")
ENGINE_ORDER = ("graphjit", "onnxruntime", "openvino", "litert", "tensorflow")
PEER_ENGINES = ENGINE_ORDER[1:]
GRAPHJIT_VARIANT_ORDER = ("optimized", "instant", "reference")
ENGINE_LABEL = {"graphjit": "GraphJIT", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO", "litert": "LiteRT",
                "tensorflow": "TensorFlow"}
ENGINE_SHORT = {"graphjit": "GraphJIT", "onnxruntime": "ORT", "openvino": "OpenVINO", "litert": "LiteRT",
                "tensorflow": "TF"}
ENGINE_COLOR = {"graphjit": "#d62728", "onnxruntime": "#1f77b4", "openvino": "#9467bd", "litert": "#2ca02c",
                "tensorflow": "#ff7f0e"}
TRAIN_ENGINES = ("graphjit", "keras-tf", "keras-xla", "keras-jax")
TRAIN_PEERS = TRAIN_ENGINES[1:]
TRAIN_LABEL = {"graphjit": "GraphJIT", "keras-tf": "Keras/TF tf.function", "keras-xla": "Keras/TF XLA",
               "keras-jax": "Keras/JAX"}
TRAIN_COLOR = {"graphjit": "#d62728", "keras-tf": "#ff7f0e", "keras-xla": "#2ca02c", "keras-jax": "#9467bd"}
TRAIN_STYLE = {"graphjit": ("-", 2.6), "keras-tf": ("--", 1.5), "keras-xla": (":", 1.8), "keras-jax": ("-.", 1.4)}
TRAIN_GOAL = 0.5
# The inference goals, on every configuration: GraphJIT's best fp32 variant / the best peer, and / ONNX Runtime.
GOAL_BEST_PEER = 0.8
GOAL_ONNXRUNTIME = 1.0
QUANTIZED_MODES = ("int8", "bf16")
INT8_GOAL = {"model": "cnn", "batch": 1, "max_ratio_to_onnxruntime_fp32": 0.5, "max_ratio_to_onnxruntime_int8": 1.0,
             "min_top1_agreement": 0.99,
             "text": "cnn batch 1 at int8 below half of ONNX Runtime's fp32 time and below ORT's int8 time, "
                     "top-1 agreement with fp32 >= 99%"}


def precision_of(row: dict) -> str:
    """"fp32", or the quantized mode of a row: its "precision" field (run_peers.py's ORT int8 records),
    a GraphJIT variant named "int8"/"bf16", or a variant starting with "int8, " / "bf16, "."""
    precision = row.get("precision")
    if isinstance(precision, str) and precision:
        return precision
    variant = str(row.get("variant") or "")
    for mode in QUANTIZED_MODES:
        if variant == mode or variant.startswith(mode + ",") or variant.startswith(mode + " "):
            return mode
    return "fp32"


# MARK: - Loading


def load_json(path: Path, what: str) -> dict | None:
    if not path.exists():
        print(f"note: {path} not found -- {what}", file=sys.stderr)
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(f"warning: cannot read {path}: {error} -- {what}", file=sys.stderr)
        return None
    if not isinstance(data, dict):
        print(f"warning: {path} is not a JSON object -- {what}", file=sys.stderr)
        return None
    return data


def number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def clean_rows(rows, default_engine: str) -> list[dict]:
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or "model" not in row or number(row.get("median_ms")) is None:
            continue
        row = dict(row)
        row.setdefault("engine", default_engine)
        row.setdefault("variant", "")
        try:
            row["batch"] = int(row.get("batch", 1))
        except (TypeError, ValueError):
            continue
        median = number(row["median_ms"])
        if number(row.get("samples_per_s")) is None and median:
            row["samples_per_s"] = row["batch"] / (median * 1e-3)
        if number(row.get("gflops")) is None and median and number(row.get("flops_per_sample")):
            row["gflops"] = row["flops_per_sample"] * row["batch"] / (median * 1e6)
        out.append(row)
    return out


def sort_key(row: dict):
    model = row["model"]
    engine = row["engine"]
    variant = row.get("variant", "")
    return (MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model, row["batch"],
            ENGINE_ORDER.index(engine) if engine in ENGINE_ORDER else len(ENGINE_ORDER), engine,
            GRAPHJIT_VARIANT_ORDER.index(variant) if variant in GRAPHJIT_VARIANT_ORDER else 9, variant)


# MARK: - Formatting


def fmt_ms(value) -> str:
    v = number(value)
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.1f}"
    if v >= 10:
        return f"{v:.2f}"
    if v >= 1:
        return f"{v:.3f}"
    return f"{v:.4f}"


def fmt_num(value, digits=1) -> str:
    v = number(value)
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def fmt_ratio(value) -> str:
    v = number(value)
    return "-" if v is None else f"{v:.2f}x"


def fmt_ratio3(value) -> str:
    v = number(value)
    return "-" if v is None else f"{v:.3f}x"


def fmt_cell(key: str, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if key.endswith("bytes") and abs(value) >= 1 << 20:
            return f"{value:,} ({value / (1 << 20):.1f} MiB)"
        return f"{value:,}"
    if isinstance(value, float):
        return fmt_ms(value) if key.endswith("_ms") else fmt_num(value, 3 if abs(value) < 10 else 1)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))[:40]
    return "-" if value is None else str(value)


def print_table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows if r]) for i, h in enumerate(headers)]

    def line(cells):
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(parts).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r) if r else "")


def print_generic(title: str, rows) -> None:
    if isinstance(rows, dict):  # tolerate {name: {...}} or {key: value} as well as a list of records
        rows = ([{"name": k, **v} for k, v in rows.items() if isinstance(v, dict)]
                or [{k: v for k, v in rows.items()}])
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    if not rows:
        return
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    print(f"\n{title}")
    print_table(keys, [[fmt_cell(k, r.get(k)) for k in keys] for r in rows],
                right={i for i, k in enumerate(keys) if any(isinstance(r.get(k), (int, float))
                                                            and not isinstance(r.get(k), bool) for r in rows)})


# MARK: - Merging


def floor_for(floors: list, model: str, batch: int) -> dict | None:
    for f in floors if isinstance(floors, list) else []:
        if isinstance(f, dict) and f.get("model") == model and f.get("batch") == batch:
            return f
    return None


def floor_text(floor: dict | None) -> str:
    if not floor:
        return ""
    parts = []
    for key, label in (("floor_ms_1thread", "1t"), ("floor_ms_2threads", "2t")):
        if number(floor.get(key)) is not None:
            parts.append(f"{fmt_ms(floor[key])} ms ({label})")
    return "floor " + " / ".join(parts) if parts else ""


def graphjit_rows(graphjit: dict | None, peers: dict | None) -> tuple[list[dict], str]:
    """GraphJIT's rows and how they were timed: the interleaved records run_peers.py wrote into
    peers.json (each with graphjit.json's separate-phase median beside it as "separate_phase_ms"),
    plus graphjit.json's rows of variants the server did not time (e.g. "reference", marked
    "secondary": never GraphJIT's best); without interleaved records, graphjit.json's rows."""
    separate = clean_rows((graphjit or {}).get("results"), "graphjit")
    separate = [r for r in separate if r["engine"] == "graphjit"]
    interleaved = [r for r in clean_rows((peers or {}).get("results"), "onnxruntime") if r["engine"] == "graphjit"]
    for r in separate:
        r["timing"] = "separate phase"
    if not interleaved:
        return separate, "separate phase"
    by_key = {(r["model"], r["batch"], r.get("variant")): r for r in separate}
    for r in interleaved:
        r["timing"] = "interleaved"
        match = by_key.get((r["model"], r["batch"], r.get("variant")))
        r["separate_phase_ms"] = match["median_ms"] if match else number(r.get("separate_phase_median_ms"))
    have = {(r["model"], r["batch"], r.get("variant")) for r in interleaved}
    extra = [dict(r, secondary=True) for r in separate if (r["model"], r["batch"], r.get("variant")) not in have]
    return interleaved + extra, "interleaved"


def failed_peer_rows(peers: dict | None) -> list[dict]:
    """run_peers.py's records of a peer with no timed setting (conversion or run failed): no median."""
    out = []
    for r in (peers or {}).get("results") or []:
        if isinstance(r, dict) and r.get("model") and number(r.get("median_ms")) is None and r.get("error"):
            out.append({"model": r["model"], "batch": int(r.get("batch", 1)), "engine": r.get("engine", "?"),
                        "error": str(r["error"])})
    return out


def goal_summary(headline: list[dict], key: str, goal: float) -> dict:
    checked = [h for h in headline if h.get(key) is not None]
    return {"goal_ratio": goal, "met": sum(1 for h in checked if h[key]), "checked": len(checked),
            "missed": [f"{h['model']} b{h['batch']}" for h in checked if not h[key]]}


def merge(graphjit: dict | None, peers: dict | None) -> dict:
    gj_rows, gj_timing = graphjit_rows(graphjit, peers)
    peer_rows = [r for r in clean_rows((peers or {}).get("results"), "onnxruntime") if r["engine"] != "graphjit"]
    rows = gj_rows + peer_rows
    rows.sort(key=sort_key)
    quantized_rows = [r for r in rows if precision_of(r) != "fp32"]  # only in the compressed tables
    rows = [r for r in rows if precision_of(r) == "fp32"]
    failed = failed_peer_rows(peers)
    floors = (graphjit or {}).get("floors") or []
    configs = []
    for row in rows + failed:
        key = (row["model"], row["batch"])
        if key not in configs:
            configs.append(key)
    configs.sort(key=lambda k: (MODEL_ORDER.index(k[0]) if k[0] in MODEL_ORDER else len(MODEL_ORDER), k[0], k[1]))

    headline = []
    for model, batch in configs:
        group = [r for r in rows if (r["model"], r["batch"]) == (model, batch)]
        peers_best = {}
        for engine in PEER_ENGINES:
            fastest = _fastest([r for r in group if r["engine"] == engine])
            if fastest:
                peers_best[engine] = fastest
        others = [r for r in group if r["engine"] not in ENGINE_ORDER]
        for r in others:  # an engine this report does not know: still a peer
            if r["engine"] not in peers_best or r["median_ms"] < peers_best[r["engine"]]["median_ms"]:
                peers_best[r["engine"]] = r
        ort = peers_best.get("onnxruntime")
        ort_ms = ort["median_ms"] if ort else None
        best_engine = min(peers_best, key=lambda e: peers_best[e]["median_ms"]) if peers_best else None
        best_ms = peers_best[best_engine]["median_ms"] if best_engine else None
        gj = [r for r in group if r["engine"] == "graphjit" and not r.get("secondary")]
        best_gj = _fastest(gj)
        for r in group:
            r["ratio_to_onnxruntime"] = r["median_ms"] / ort_ms if ort_ms else None
            r["ratio_to_best_peer"] = r["median_ms"] / best_ms if best_ms else None
            r["graphjit_best"] = r is best_gj
        ratio = best_gj["median_ms"] / best_ms if best_gj and best_ms else None
        ratio_ort = best_gj["median_ms"] / ort_ms if best_gj and ort_ms else None
        entry = {"model": model, "batch": batch,
                 "graphjit_variant": best_gj.get("variant") if best_gj else None,
                 "graphjit_ms": best_gj["median_ms"] if best_gj else None,
                 "graphjit_timing": best_gj.get("timing") if best_gj else None,
                 "graphjit_separate_phase_ms": number(best_gj.get("separate_phase_ms")) if best_gj else None,
                 "peers_ms": {e: r["median_ms"] for e, r in peers_best.items()},
                 "peers_variant": {e: r.get("variant") for e, r in peers_best.items()},
                 "peers_failed": {f["engine"]: f["error"] for f in failed if (f["model"], f["batch"]) == (model, batch)},
                 "best_peer": best_engine, "best_peer_ms": best_ms,
                 "best_peer_variant": peers_best[best_engine].get("variant") if best_engine else None,
                 "onnxruntime_ms": ort_ms, "onnxruntime_variant": ort.get("variant") if ort else None,
                 "tensorflow_ms": peers_best["tensorflow"]["median_ms"] if "tensorflow" in peers_best else None,
                 "ratio": ratio, "goal_ratio": GOAL_BEST_PEER,
                 "met": None if ratio is None else ratio <= GOAL_BEST_PEER,
                 "ratio_to_onnxruntime": ratio_ort, "goal_ratio_onnxruntime": GOAL_ONNXRUNTIME,
                 "met_onnxruntime": None if ratio_ort is None else ratio_ort <= GOAL_ONNXRUNTIME}
        floor = floor_for(floors, model, batch)
        if floor:
            entry["floor"] = floor
        headline.append(entry)

    goals = {"best_peer": goal_summary(headline, "met", GOAL_BEST_PEER),
             "onnxruntime": goal_summary(headline, "met_onnxruntime", GOAL_ONNXRUNTIME)}
    known_gj = {"machine", "results", "floors", "compile", "memory", "quantization"}
    return {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": (graphjit or {}).get("machine"),
        "peers_machine": (peers or {}).get("machine"),
        "peers_versions": (peers or {}).get("versions"),
        "peers_settings": (peers or {}).get("settings"),
        "peers_quick": (peers or {}).get("quick"),
        "peers_ok": (peers or {}).get("ok"),
        "peers_failures": (peers or {}).get("failures", []),
        "graphjit_timing": gj_timing,
        "graphjit_timing_detail": (peers or {}).get("graphjit_timing"),
        "have_graphjit": graphjit is not None or gj_timing == "interleaved",
        "have_peers": peers is not None,
        "rows": rows,
        "failed_rows": failed,
        "headline": headline,
        "goals": goals,
        "goals_met": goals["best_peer"]["met"],
        "goals_checked": goals["best_peer"]["checked"],
        "floors": floors,
        "compile": {"graphjit": (graphjit or {}).get("compile") or [],
                    "peers": (peers or {}).get("compile") or []},
        "memory": (graphjit or {}).get("memory") or [],
        "graphjit_other": {k: v for k, v in (graphjit or {}).items() if k not in known_gj},
        "quantized_rows": quantized_rows,
        "compressed": merge_compressed(primary(rows), primary(quantized_rows), graphjit, peers),
    }


def primary(rows: list[dict]) -> list[dict]:
    """Drops a "secondary" (separate-phase) GraphJIT row where an interleaved one of the same model,
    batch and precision exists."""
    have = {(r["model"], r["batch"], r["engine"], precision_of(r)) for r in rows if not r.get("secondary")}
    return [r for r in rows if not r.get("secondary") or (r["model"], r["batch"], r["engine"], precision_of(r)) not in have]


def _fastest(rows: list[dict]) -> dict | None:
    return min(rows, key=lambda r: r["median_ms"]) if rows else None


def _ratio(a, b):
    a, b = number(a), number(b)
    return a / b if a is not None and b else None


def merge_compressed(rows: list[dict], quantized: list[dict], graphjit: dict | None, peers: dict | None) -> dict | None:
    """The compressed-weights tables: latency per model x batch, size and accuracy per model, the int8 goal.
    None when there is nothing quantized anywhere."""
    gj_quant = [q for q in (graphjit or {}).get("quantization") or [] if isinstance(q, dict) and q.get("model")]
    ort_quant = [q for q in (peers or {}).get("quantization") or [] if isinstance(q, dict) and q.get("model")]
    if not quantized and not gj_quant and not ort_quant:
        return None
    modes = ["int8"] + [m for m in QUANTIZED_MODES[1:]
                        if any(r["engine"] == "graphjit" and precision_of(r) == m for r in quantized)
                        or any(q.get("mode") == m for q in gj_quant)]
    configs = list(dict.fromkeys((r["model"], r["batch"]) for r in quantized))

    latency = []
    for model, batch in configs:
        fp32 = [r for r in rows if (r["model"], r["batch"]) == (model, batch)]
        q = [r for r in quantized if (r["model"], r["batch"]) == (model, batch)]
        gj32 = _fastest([r for r in fp32 if r["engine"] == "graphjit"])
        ort32 = _fastest([r for r in fp32 if r["engine"] == "onnxruntime"])
        ort8 = _fastest([r for r in q if r["engine"] == "onnxruntime" and precision_of(r) == "int8"])
        entry = {"model": model, "batch": batch,
                 "graphjit_fp32_ms": gj32["median_ms"] if gj32 else None,
                 "graphjit_fp32_variant": gj32.get("variant") if gj32 else None,
                 "onnxruntime_fp32_ms": ort32["median_ms"] if ort32 else None,
                 "onnxruntime_fp32_variant": ort32.get("variant") if ort32 else None,
                 "onnxruntime_int8_ms": ort8["median_ms"] if ort8 else None,
                 "onnxruntime_int8_variant": ort8.get("variant") if ort8 else None,
                 "onnxruntime_int8_quantization": ort8.get("quantization") if ort8 else None,
                 "onnxruntime_int8_max_abs_diff_vs_graphjit_int8":
                     number(ort8.get("max_abs_diff_vs_graphjit_int8")) if ort8 else None,
                 "graphjit_int8_max_abs_diff_vs_graphjit_fp32":
                     number(ort8.get("graphjit_int8_max_abs_diff_vs_graphjit_fp32")) if ort8 else None}
        for mode in modes:
            gj = _fastest([r for r in q if r["engine"] == "graphjit" and precision_of(r) == mode])
            ms = gj["median_ms"] if gj else None
            entry[f"graphjit_{mode}_ms"] = ms
            entry[f"ratio_graphjit_{mode}_to_onnxruntime_fp32"] = _ratio(ms, entry["onnxruntime_fp32_ms"])
            entry[f"ratio_graphjit_{mode}_to_onnxruntime_int8"] = _ratio(ms, entry["onnxruntime_int8_ms"])
            entry[f"ratio_graphjit_{mode}_to_graphjit_fp32"] = _ratio(ms, entry["graphjit_fp32_ms"])
        latency.append(entry)

    models = [m for m in MODEL_ORDER if any(q["model"] == m for q in gj_quant + ort_quant)]
    models += sorted({q["model"] for q in gj_quant + ort_quant} - set(models))
    accuracy = []
    for model in models:
        for q in gj_quant:
            if q["model"] != model:
                continue
            accuracy.append(_accuracy_row(q, "graphjit", str(q.get("mode", "?")),
                                          "Keras int8: kernels symmetric per output channel, activations per row"
                                          if q.get("mode") == "int8" else str(q.get("mode", "?")),
                                          "GraphJIT fp32"))
        for q in ort_quant:
            if q["model"] != model:
                continue
            row = _accuracy_row(q, "onnxruntime", str(q.get("mode", "int8")),
                                f"{q.get('quantization', '?')} QInt8 weights, uint8 activations per tensor",
                                "ONNX Runtime fp32")
            row["per_channel"] = q.get("per_channel")
            row["reported_at_batches"] = [r["batch"] for r in quantized
                                          if r["model"] == model and r["engine"] == "onnxruntime"
                                          and precision_of(r) == "int8"
                                          and r.get("per_channel") == q.get("per_channel")]
            if q.get("inputs"):
                row["inputs"] = q["inputs"]
            accuracy.append(row)
    return {"modes": modes, "latency": latency, "accuracy": accuracy,
            "goal": int8_goal(latency, gj_quant)}


def _accuracy_row(q: dict, engine: str, mode: str, scheme: str, reference: str) -> dict:
    top1 = [number(a) for a in q.get("top1_agreement") or []] if isinstance(q.get("top1_agreement"), list) \
        else ([number(q.get("top1_agreement"))] if number(q.get("top1_agreement")) is not None else [])
    fp32_bytes, q_bytes = number(q.get("weight_bytes_fp32")), number(q.get("weight_bytes"))
    row = {"model": q["model"], "engine": engine, "mode": mode, "scheme": scheme,
           "weight_bytes_fp32": q.get("weight_bytes_fp32"), "weight_bytes": q.get("weight_bytes"),
           "compression": fp32_bytes / q_bytes if fp32_bytes and q_bytes else None,
           "max_abs_diff_vs_fp32": number(q.get("max_abs_diff_vs_fp32")),
           "top1_agreement": top1,
           "top1_agreement_min": min((a for a in top1 if a is not None), default=None),
           "samples": q.get("samples"), "reference": reference}
    if q.get("error"):
        row["error"] = q["error"]
    return row


def int8_goal(latency: list[dict], gj_quant: list[dict]) -> dict:
    g = INT8_GOAL
    entry = next((e for e in latency if (e["model"], e["batch"]) == (g["model"], g["batch"])), {})
    q = next((q for q in gj_quant if q.get("model") == g["model"] and q.get("mode") == "int8"), None)
    top1 = _accuracy_row(q, "graphjit", "int8", "", "").get("top1_agreement") if q else []
    top1_min = min((a for a in top1 if a is not None), default=None)
    gj8 = entry.get("graphjit_int8_ms")
    r32, r8 = entry.get("ratio_graphjit_int8_to_onnxruntime_fp32"), entry.get("ratio_graphjit_int8_to_onnxruntime_int8")
    checks = {"below_half_onnxruntime_fp32": None if r32 is None else r32 < g["max_ratio_to_onnxruntime_fp32"],
              "below_onnxruntime_int8": None if r8 is None else r8 < g["max_ratio_to_onnxruntime_int8"],
              "top1_agreement_at_least_99": None if top1_min is None else top1_min >= g["min_top1_agreement"]}
    missing = [k for k, label in (("graphjit_int8_ms", "GraphJIT int8 time"), ("onnxruntime_fp32_ms", "ORT fp32 time"),
                                  ("onnxruntime_int8_ms", "ORT int8 time")) if entry.get(k) is None]
    missing = [{"graphjit_int8_ms": "GraphJIT int8 time", "onnxruntime_fp32_ms": "ORT fp32 time",
                "onnxruntime_int8_ms": "ORT int8 time"}[k] for k in missing]
    if top1_min is None:
        missing.append("GraphJIT int8 top-1 agreement")
    values = list(checks.values())
    result = "MISS" if False in values else ("PASS" if all(values) else "n/a")
    return {**g, "graphjit_int8_ms": gj8, "onnxruntime_fp32_ms": entry.get("onnxruntime_fp32_ms"),
            "onnxruntime_int8_ms": entry.get("onnxruntime_int8_ms"), "ratio_to_onnxruntime_fp32": r32,
            "ratio_to_onnxruntime_int8": r8, "top1_agreement": top1, "top1_agreement_min": top1_min,
            "checks": checks, "missing": missing, "result": result}


# MARK: - Printing


def timing_title(report: dict) -> str:
    detail = report.get("graphjit_timing_detail") or {}
    rounds = ((report.get("peers_settings") or {}).get("timing") or {}).get("rounds")
    if report["graphjit_timing"] == "interleaved":
        return (f"GraphJIT timed interleaved with the peers (graphjit-bench --timing-server"
                + (f", {rounds} rounds" if rounds else "") + "); \"separate ms\": graphjit.json's own phase")
    why = detail.get("why") if isinstance(detail, dict) else None
    return ("GraphJIT's figures from graphjit.json (timed in a separate phase before the peers, NOT interleaved"
            + (f": {why}" if why else "") + ")")


def print_report(report: dict, directory: Path) -> None:
    print(f"GraphJIT vs peers -- {directory}")
    machine = report.get("machine") or {}
    if isinstance(machine, dict) and machine:
        bits = [str(machine.get("cpu", "?"))]
        if number(machine.get("peak_gflops_1core")):
            two = number(machine.get("peak_gflops_2cores"))
            bits.append(f"peak {machine['peak_gflops_1core']:.1f} GFLOP/s (1 core)"
                        + (f", {two:.1f} (2 cores)" if two else ""))
        if number(machine.get("l3_bandwidth_gbs_1thread")):
            bw2 = number(machine.get("l3_bandwidth_gbs_2threads"))
            bits.append(f"L3 {machine['l3_bandwidth_gbs_1thread']:.1f} GB/s (1 thread)"
                        + (f", {bw2:.1f} (2 threads)" if bw2 else ""))
        print("machine: " + "; ".join(bits))
    versions = report.get("peers_versions") or {}
    if versions:
        print("peers:   " + ", ".join(f"{k} {v}" for k, v in versions.items())
              + ("   [--quick timing]" if report.get("peers_quick") else ""))
    pm = report.get("peers_machine") or {}
    if pm.get("load_avg_start"):
        load = pm["load_avg_start"][0]
        print(f"load:    {load:.2f} at the start of the peers run, {pm.get('load_avg_end', [0])[0]:.2f} at the end"
              + (f"  (> {pm.get('logical_cpus', 2)} CPUs busy: timings are noisy)"
                 if load > 0.5 * (pm.get("logical_cpus") or 2) else ""))
    if not report["have_peers"]:
        print("(no peers.json: GraphJIT only, no ratios)")
    if not report["have_graphjit"]:
        print("(no GraphJIT results: peers only)")
    print()

    interleaved = report["graphjit_timing"] == "interleaved"
    print("fp32 inference, median latency per call -- " + timing_title(report))
    headline = {(h["model"], h["batch"]): h for h in report["headline"]}
    failed = report.get("failed_rows") or []
    table, last = [], None
    for key in [(h["model"], h["batch"]) for h in report["headline"]]:
        group = [r for r in report["rows"] if (r["model"], r["batch"]) == key]
        if last is not None:
            table.append([])
        last = key
        first = True
        for r in group + [f for f in failed if (f["model"], f["batch"]) == key]:
            cells = [key[0] if first else "", str(key[1]) if first else ""]
            first = False
            if "median_ms" not in r:  # a peer that did not run
                table.append(cells + [ENGINE_LABEL.get(r["engine"], r["engine"]), "FAILED", "", "", "", "", "", "",
                                      r["error"][:140]])
                continue
            label = ENGINE_LABEL.get(r["engine"], r["engine"]) + (f" ({r['variant']})" if r.get("variant") else "")
            if r.get("graphjit_best") and sum(1 for x in group if x["engine"] == "graphjit") > 1:
                label += " *"
            if r.get("secondary"):
                label += " [separate phase]"
            note = ""
            if r.get("graphjit_best"):
                h = headline[key]
                if h["met"] is not None:
                    note = (f"best peer {ENGINE_SHORT.get(h['best_peer'], h['best_peer'])}: "
                            f"<={GOAL_BEST_PEER:.1f}x {'met' if h['met'] else 'MISSED'}")
                else:
                    note = "no peer"
                if h["met_onnxruntime"] is not None:
                    note += f"; <=ORT {'met' if h['met_onnxruntime'] else 'MISSED'}"
                if h.get("floor"):  # the weight-bound batch-1 case: say how close it can get
                    note += "  " + floor_text(h["floor"])
            if r.get("check") and r["check"] != "ok":
                diff = number(r.get("max_abs_diff"))
                note = f"OUTPUT CHECK {r['check']} (max|diff| {'inf' if diff is None else f'{diff:.1e}'})  " + note
            p10, p90 = number(r.get("p10_ms")), number(r.get("p90_ms"))
            table.append(cells + [label, fmt_ms(r["median_ms"]),
                                  f"{fmt_ms(p10)}-{fmt_ms(p90)}" if p10 is not None and p90 is not None else "-",
                                  fmt_ms(r.get("separate_phase_ms")) if r["engine"] == "graphjit" and interleaved
                                  and not r.get("secondary") else "",
                                  fmt_num(r.get("samples_per_s")), fmt_num(r.get("gflops"), 2),
                                  fmt_ratio(r.get("ratio_to_onnxruntime")), fmt_ratio(r.get("ratio_to_best_peer")), note])
    headers = ["model", "batch", "engine (variant)", "median ms", "p10-p90 ms", "separate ms", "samples/s",
               "GFLOP/s", "vs ORT", "vs best peer", "goals (GraphJIT best)"]
    if not interleaved:  # no second GraphJIT figure to show
        headers.pop(5)
        table = [r[:5] + r[6:] if len(r) > 6 else r for r in table]
    print_table(headers, table, right=set(range(3, len(headers) - 1)) | {1})
    if any(r.get("graphjit_best") for r in report["rows"]):
        print("* GraphJIT's best variant (its median is the headline ratio)")

    peers_present = [e for e in PEER_ENGINES if any(e in h["peers_ms"] or e in h.get("peers_failed", {})
                                                    for h in report["headline"])]
    rows = []
    for h in report["headline"]:
        cells = [h["model"], str(h["batch"]),
                 f"{fmt_ms(h['graphjit_ms'])} ({h['graphjit_variant']})" if h["graphjit_ms"] else "-"]
        for e in peers_present:
            cells.append(fmt_ms(h["peers_ms"].get(e)) if e in h["peers_ms"]
                         else ("FAILED" if e in h.get("peers_failed", {}) else "-"))
        cells += [ENGINE_SHORT.get(h["best_peer"], h["best_peer"] or "-") if h["best_peer"] else "-",
                  fmt_ratio3(h["ratio"]), "-" if h["met"] is None else ("met" if h["met"] else "MISSED"),
                  fmt_ratio3(h["ratio_to_onnxruntime"]),
                  "-" if h["met_onnxruntime"] is None else ("met" if h["met_onnxruntime"] else "MISSED"),
                  floor_text(h.get("floor"))]
        rows.append(cells)
    print(f"\nHeadline: GraphJIT's best fp32 variant ({'interleaved' if interleaved else 'graphjit.json, separate phase'})"
          f" / the best peer (fastest of {', '.join(ENGINE_SHORT[e] for e in peers_present)}), and / ONNX Runtime; "
          "median ms")
    headers = ["model", "batch", "GraphJIT ms"] + [f"{ENGINE_SHORT[e]} ms" for e in peers_present] + [
        "best peer", "/ best", f"<={GOAL_BEST_PEER:.1f}x", "/ ORT", f"<={GOAL_ONNXRUNTIME:.1f}x",
        "weight-streaming floor"]
    n = len(peers_present)
    print_table(headers, rows, right=set(range(1, 3 + n)) | {4 + n, 6 + n})
    goals = report["goals"]
    for key, text in (("best_peer", f"GraphJIT at most {GOAL_BEST_PEER:.1f}x the best peer on every configuration"),
                      ("onnxruntime", f"GraphJIT at or below ONNX Runtime (<= {GOAL_ONNXRUNTIME:.1f}x) on every "
                                      "configuration")):
        g = goals[key]
        if g["checked"]:
            state = "MET" if g["met"] == g["checked"] else "MISSED"
            unchecked = len(report["headline"]) - g["checked"]
            print(f"goal: {text}: {state} -- {g['met']} of {g['checked']} configurations"
                  + (f" (missed: {', '.join(g['missed'])})" if g["missed"] else "")
                  + (f"; {unchecked} without GraphJIT or peer figures, not checked" if unchecked else ""))
        else:
            print(f"goal: {text}: n/a (no GraphJIT or no peer figures)")

    if report.get("peers_failures"):
        print("\nPEER OUTPUT CHECK FAILED (or a peer / the timing server did not run):")
        for f in report["peers_failures"]:
            print(f"  {f}")

    if report.get("compressed"):
        print_compressed(report["compressed"])

    compile_gj = report["compile"]["graphjit"]
    print_generic("Compile (GraphJIT)", compile_gj)
    peers_compile = report["compile"]["peers"]
    if peers_compile:
        rows = []
        for model, batch in dict.fromkeys((c.get("model"), c.get("batch")) for c in peers_compile):
            group = [c for c in peers_compile if (c.get("model"), c.get("batch")) == (model, batch)
                     and c.get("precision", "fp32") == "fp32"]

            def least(engine, key, group=group):
                values = [c[key] for c in group if c.get("engine") == engine and number(c.get(key)) is not None]
                return fmt_ms(min(values)) if values else "-"

            tf = {c.get("variant"): c.get("first_call_ms") for c in group if c.get("engine") == "tensorflow"}
            rows.append([str(model), str(batch), least("onnxruntime", "session_create_ms"),
                         least("onnxruntime", "first_run_ms"), least("openvino", "compile_ms"),
                         least("openvino", "first_run_ms"), least("litert", "convert_ms"),
                         least("litert", "interpreter_create_ms"),
                         fmt_ms(tf.get("tf.function")), fmt_ms(tf.get("xla"))])
        print("\nSet-up (peers, fp32; the least over their settings): ORT session creation and first run; OpenVINO "
              "compile_model and first run; LiteRT conversion (SavedModel export + TFLiteConverter) and interpreter; "
              "TF first call (tracing, XLA compile)")
        print_table(["model", "batch", "ORT session ms", "ORT 1st run ms", "OV compile ms", "OV 1st run ms",
                     "LiteRT convert ms", "LiteRT interp. ms", "TF 1st call ms", "XLA 1st call ms"], rows,
                    right=set(range(1, 10)))
    print_generic("Memory (GraphJIT)", report["memory"])


def fmt_bytes(value) -> str:
    v = number(value)
    if v is None:
        return "-"
    if v >= 1 << 20:
        return f"{v / (1 << 20):.2f} MiB"
    if v >= 1 << 10:
        return f"{v / (1 << 10):.1f} KiB"
    return f"{v:.0f} B"


def fmt_top1(values) -> str:
    values = [v for v in values or [] if number(v) is not None]
    return " / ".join(f"{100 * v:.1f}%" for v in values) if values else "-"


def print_compressed(c: dict) -> None:
    modes = c["modes"]
    print("\nCompressed weights: median ms (GraphJIT fp32 = its best fp32 variant; ORT = its fastest thread count, "
          "int8: and weight scheme)")
    headers = ["model", "batch", "GraphJIT fp32"] + [f"GraphJIT {m}" for m in modes] + [
        "ORT fp32", "ORT int8", "GJ int8 / ORT fp32", "GJ int8 / ORT int8"]
    headers += [f"GJ {m} / ORT fp32" for m in modes[1:]]
    headers += ["GJ int8 / GJ fp32", "max|ORT8 - GJ8|"]
    table = []
    for e in c["latency"]:
        table.append([e["model"], str(e["batch"]), fmt_ms(e["graphjit_fp32_ms"])]
                     + [fmt_ms(e.get(f"graphjit_{m}_ms")) for m in modes]
                     + [fmt_ms(e["onnxruntime_fp32_ms"]),
                        fmt_ms(e["onnxruntime_int8_ms"]) + (f" ({e['onnxruntime_int8_quantization']})"
                                                            if e.get("onnxruntime_int8_quantization") else ""),
                        fmt_ratio(e["ratio_graphjit_int8_to_onnxruntime_fp32"]),
                        fmt_ratio(e["ratio_graphjit_int8_to_onnxruntime_int8"])]
                     + [fmt_ratio(e.get(f"ratio_graphjit_{m}_to_onnxruntime_fp32")) for m in modes[1:]]
                     + [fmt_ratio(e["ratio_graphjit_int8_to_graphjit_fp32"]),
                        fmt_sci(e.get("onnxruntime_int8_max_abs_diff_vs_graphjit_int8"))])
    if table:
        print_table(headers, table, right=set(range(1, len(headers))))
        print("(max|ORT8 - GJ8|: informational -- ORT quantizes activations asymmetrically to uint8 per tensor, "
              "GraphJIT/Keras symmetrically per row; not checked)")
    else:
        print("(no quantized timings)")

    if c["accuracy"]:
        print("\nCompressed weights: size and accuracy against fp32 (GraphJIT int8 against GraphJIT fp32, "
              "ORT int8 against ORT fp32; top-1 agreement per output)")
        rows, last = [], None
        for a in c["accuracy"]:
            if last is not None and a["model"] != last:
                rows.append([])
            first, last = a["model"] != last, a["model"]
            label = ENGINE_LABEL.get(a["engine"], a["engine"]) + f" {a['mode']}"
            if a["engine"] == "onnxruntime" and a.get("per_channel") is not None:
                label += " per-channel" if a["per_channel"] else " per-tensor"
                if a.get("reported_at_batches"):
                    label += " (fastest at b" + ",".join(map(str, a["reported_at_batches"])) + ")"
            if a.get("error"):
                rows.append([a["model"] if first else "", label, "FAILED: " + a["error"]])
                continue
            rows.append([a["model"] if first else "", label, fmt_bytes(a["weight_bytes_fp32"]),
                         fmt_bytes(a["weight_bytes"]), fmt_ratio(a["compression"]),
                         fmt_sci(a["max_abs_diff_vs_fp32"]), fmt_top1(a["top1_agreement"]),
                         str(a.get("samples") or "-")])
        print_table(["model", "engine", "weights fp32", "weights", "smaller", "max|q - fp32|",
                     "top-1 agreement", "samples"], rows, right={2, 3, 4, 5, 6, 7})
        generated = sorted({a["model"] for a in c["accuracy"] if "generated" in str(a.get("inputs", ""))})
        if generated:
            print(f"note: ORT int8 accuracy of {', '.join(generated)} used inputs generated by run_peers.py "
                  "(no DIR/io/<model>.accuracy.input.npy), not GraphJIT's")

    g = c["goal"]
    if g["result"] == "n/a":
        detail = "missing " + ", ".join(g["missing"]) if g["missing"] else ""
    else:
        def yes(ok):
            return "yes" if ok else "NO"
        ch = g["checks"]
        detail = (f"GraphJIT int8 {fmt_ms(g['graphjit_int8_ms'])} ms = "
                  f"{fmt_ratio(g['ratio_to_onnxruntime_fp32'])} ORT fp32 {fmt_ms(g['onnxruntime_fp32_ms'])} ms "
                  f"(< {g['max_ratio_to_onnxruntime_fp32']:.1f}x: {yes(ch['below_half_onnxruntime_fp32'])}), "
                  f"{fmt_ratio(g['ratio_to_onnxruntime_int8'])} ORT int8 {fmt_ms(g['onnxruntime_int8_ms'])} ms "
                  f"(< 1x: {yes(ch['below_onnxruntime_int8'])}), top-1 agreement {fmt_top1(g['top1_agreement'])} "
                  f"(>= {100 * g['min_top1_agreement']:.0f}%: {yes(ch['top1_agreement_at_least_99'])})")
        if g["missing"]:
            detail += "; missing " + ", ".join(g["missing"])
    print(f"\nint8 goal ({g['text']}): {g['result']}" + (f" -- {detail}" if detail else ""))


# MARK: - Chart


def draw_chart(report: dict, path: Path) -> bool:
    """The latency bars and, with training results, the train-step bars below them."""
    training = report.get("training")
    configs = [(h["model"], h["batch"]) for h in report["headline"]]
    if not configs and not (training and training["rows"]):
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        print(f"warning: no chart ({error})", file=sys.stderr)
        return False
    panels = int(bool(configs)) + int(bool(training and training["rows"]))
    train_configs = len(training["headline"]) if training else 0
    fig, axes = plt.subplots(panels, 1, figsize=(max(8.0, 1.25 * max(len(configs), train_configs) + 2), 5.2 * panels),
                             squeeze=False)
    if configs:
        draw_latency(axes[0][0], report, configs)
    if training and training["rows"]:
        draw_training_bars(axes[-1][0], training)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return True


def draw_latency(ax, report: dict, configs: list) -> None:
    rows = [r for r in report["rows"] if not r.get("secondary")]
    engines = [e for e in ENGINE_ORDER if any(r["engine"] == e for r in rows)]
    engines += sorted({r["engine"] for r in rows} - set(engines))
    width = 0.8 / max(len(engines), 1)
    headline = {(h["model"], h["batch"]): h for h in report["headline"]}
    for e_index, engine in enumerate(engines):
        xs, ys, keys = [], [], []
        for c_index, key in enumerate(configs):
            group = [r for r in rows if (r["model"], r["batch"]) == key and r["engine"] == engine]
            if not group:
                continue
            best = min(group, key=lambda r: r["median_ms"])
            xs.append(c_index + (e_index - (len(engines) - 1) / 2) * width)
            ys.append(best["median_ms"])
            keys.append(key)
        label = ENGINE_LABEL.get(engine, engine)
        if engine == "graphjit":
            label += " (best variant" + (", interleaved)" if report["graphjit_timing"] == "interleaved"
                                         else ", separate phase)")
        bars = ax.bar(xs, ys, width * 0.92, label=label, color=ENGINE_COLOR.get(engine))
        if engine == "graphjit":
            for bar, key in zip(bars, keys):
                ratio = number((headline.get(key) or {}).get("ratio"))
                if ratio is not None:
                    ax.annotate(f"{ratio:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    floor_label = "weight-streaming floor"
    for c_index, h in enumerate(report["headline"]):
        floor = h.get("floor") or {}
        values = [number(floor.get(k)) for k in ("floor_ms_1thread", "floor_ms_2threads")]
        values = [v for v in values if v]
        fastest = min((r["median_ms"] for r in rows if (r["model"], r["batch"]) == configs[c_index]),
                      default=0.0)
        if values and min(values) >= 0.05 * fastest:  # only floors that bound something visible
            ax.hlines(min(values), c_index - 0.42, c_index + 0.42, colors="black", linestyles="dashed",
                      linewidth=1, label=floor_label)
            floor_label = None
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([f"{m}\nbatch {b}" for m, b in configs])
    ax.set_ylabel("median latency per call (ms, log scale)")
    title = ("GraphJIT vs peers: median fp32 latency (lower is better; labels: GraphJIT / the best peer, goal <= "
             f"{GOAL_BEST_PEER:.1f}x)")
    if report["graphjit_timing"] != "interleaved":
        title += "\nGraphJIT from graphjit.json (separate phase, not interleaved)"
    if report.get("peers_quick"):
        title += " [quick]"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)


# MARK: - Training


def merge_training(training: dict | None) -> dict | None:
    """training.json -> table rows (one per model x engine), the headline (per model x batch) and curves."""
    if not training:
        return None
    batches = [int(b) for b in training.get("batch_sizes") or (32, 64)]
    goal = number(training.get("goal_ratio")) or TRAIN_GOAL
    results = [r for r in training.get("results") or [] if isinstance(r, dict) and "model" in r and "engine" in r]
    models = [m for m in MODEL_ORDER if any(r["model"] == m for r in results)]
    models += sorted({r["model"] for r in results} - set(models))

    def step_s(r, b):
        return number(((r.get("steps") or {}).get(str(b)) or {}).get("median_s"))

    rows, headline = [], []
    for model in models:
        group = {r["engine"]: r for r in results if r["model"] == model}
        best_peer = {}
        for b in batches:
            peers = [(step_s(group[e], b), e) for e in TRAIN_PEERS if e in group and step_s(group[e], b)]
            best_peer[b] = min(peers) if peers else (None, None)
        engines = [e for e in TRAIN_ENGINES if e in group] + sorted(set(group) - set(TRAIN_ENGINES))
        for engine in engines:
            r = group[engine]
            fit = r.get("fit") or {}
            row = {"model": model, "engine": engine, "label": TRAIN_LABEL.get(engine, engine),
                   "rounds": r.get("rounds"), "fit_s": number(fit.get("seconds")), "fit_samples": fit.get("samples"),
                   "fit_samples_per_s": number(fit.get("samples_per_s")),
                   "first_step_s": number(r.get("first_step_s"))}
            for b in batches:
                t = step_s(r, b)
                best = best_peer[b][0]
                row[f"step_ms_b{b}"] = t * 1e3 if t else None
                row[f"samples_per_s_b{b}"] = b / t if t else None
                row[f"ratio_to_best_peer_b{b}"] = t / best if t and best else None
            rows.append(row)
        if "graphjit" in group:
            for b in batches:
                t, (best, best_engine) = step_s(group["graphjit"], b), best_peer[b]
                ratio = t / best if t and best else None
                headline.append({
                    "model": model, "batch": b, "graphjit_ms": t * 1e3 if t else None,
                    "best_peer": best_engine, "best_peer_ms": best * 1e3 if best else None,
                    "peers_ms": {e: step_s(group[e], b) * 1e3 for e in TRAIN_PEERS if e in group and step_s(group[e], b)},
                    "graphjit_samples_per_s": b / t if t else None,
                    "best_peer_samples_per_s": b / best if best else None,
                    "ratio": ratio, "goal_ratio": goal, "met": None if ratio is None else ratio <= goal})
    return {
        "generated": training.get("generated"), "quick": training.get("quick"), "rounds": training.get("rounds"),
        "batch_sizes": batches, "goal": training.get("goal"), "goal_ratio": goal,
        "machine": training.get("machine"), "versions": training.get("versions"),
        "settings": training.get("settings"), "rows": rows, "headline": headline,
        "goals_met": sum(1 for h in headline if h["met"]),
        "goals_checked": sum(1 for h in headline if h["met"] is not None),
        "curve_agreement": training.get("curve_agreement") or [], "curves": training.get("curves") or {},
        "failures": training.get("failures") or [], "ok": training.get("ok"),
        "elapsed_s": training.get("elapsed_s"),
    }


def fmt_rate(value) -> str:
    v = number(value)
    return "-" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def fmt_sci(value) -> str:
    v = number(value)
    return "-" if v is None else ("0" if v == 0 else f"{v:.1e}")


def print_training(t: dict) -> None:
    batches = t["batch_sizes"]
    machine = t.get("machine") or {}
    isa = ", ".join(k for k, v in (machine.get("isa") or {}).items() if v)
    rounds = t.get("rounds")
    print(f"\nTraining -- train step = one trainOnBatch / train_on_batch on consecutive batches (median of "
          f"{rounds} round{'s' if rounds != 1 else ''}, engines interleaved); fit = one warm epoch at batch 32, "
          f"shuffle off" + ("   [--quick timing]" if t.get("quick") else ""))
    if machine:
        print(f"machine: {machine.get('cpu', '?')}, {machine.get('logical_cpus', '?')} logical CPUs"
              + (f" ({isa})" if isa else ""))
    if t.get("versions"):
        print("versions: " + ", ".join(f"{k} {v}" for k, v in t["versions"].items()))
    table, last = [], None
    fit_samples = next((r["fit_samples"] for r in t["rows"] if r.get("fit_samples")), None)
    for r in t["rows"]:
        if last is not None and r["model"] != last:
            table.append([])
        first, last = r["model"] != last, r["model"]
        cells = [r["model"] if first else "", r["label"]]
        for b in batches:
            cells += [fmt_ms(r.get(f"step_ms_b{b}")), fmt_rate(r.get(f"samples_per_s_b{b}"))]
        cells.append(fmt_ms(r.get("fit_s")))
        cells += [fmt_ratio(r.get(f"ratio_to_best_peer_b{b}")) for b in batches]
        table.append(cells)
    headers = ["model", "engine"]
    for b in batches:
        headers += [f"b{b} ms/step", f"b{b} samples/s"]
    headers.append(f"fit epoch s ({fit_samples or '?'} samples)")
    headers += [f"vs best peer b{b}" for b in batches]
    print_table(headers, table, right=set(range(2, len(headers))))

    rows = []
    for h in t["headline"]:
        rows.append([h["model"], str(h["batch"]), fmt_ms(h["graphjit_ms"]),
                     f"{fmt_ms(h['best_peer_ms'])} ({TRAIN_LABEL.get(h['best_peer'], h['best_peer'])})"
                     if h["best_peer_ms"] else "-",
                     "-" if number(h["ratio"]) is None else f"{h['ratio']:.3f}x", f"<={h['goal_ratio']:.1f}x",
                     "-" if h["met"] is None else ("met" if h["met"] else "MISSED")])
    print("\nTraining headline: GraphJIT's train step / the best peer's (goal: at most half the time of the best "
          "of TF, XLA and JAX)")
    print_table(["model", "batch", "GraphJIT ms", "best peer ms", "ratio", "goal", "result"], rows, right={1, 2, 4})
    if t["goals_checked"]:
        print(f"training goals met: {t['goals_met']} of {t['goals_checked']}")

    agreement = sorted(t.get("curve_agreement") or [], key=lambda a: (
        MODEL_ORDER.index(a.get("model")) if a.get("model") in MODEL_ORDER else len(MODEL_ORDER),
        TRAIN_ENGINES.index(a.get("engine")) if a.get("engine") in TRAIN_ENGINES else len(TRAIN_ENGINES)))
    if agreement:
        rows = [[a["model"], TRAIN_LABEL.get(a["engine"], a["engine"]), str(a.get("steps", "-")),
                 fmt_sci(a.get("first_step_abs_diff")), fmt_sci(a.get("mean_abs_diff")), fmt_sci(a.get("max_abs_diff")),
                 f"{a['graphjit_final_loss']:.4f} / {a['final_loss']:.4f}"
                 if number(a.get("graphjit_final_loss")) is not None and number(a.get("final_loss")) is not None
                 else "-"] for a in agreement]
        print("\nLoss curves (same initial weights and data): |Keras - GraphJIT| per step")
        print_table(["model", "peer", "steps", "step 1", "mean", "max", "last loss GraphJIT / peer"], rows,
                    right={2, 3, 4, 5})
        jax_apart = [a["model"] for a in agreement if a["engine"] == "keras-jax"
                     and (number(a.get("max_abs_diff")) or 0) > 1e-3]
        if jax_apart:
            print(f"note: Keras/JAX leaves GraphJIT's curve on {', '.join(jax_apart)}: Keras's JAX backend computes "
                  "categorical cross-entropy from the softmax's probabilities clipped to [1e-7, 1 - 1e-7] (a sample's "
                  "loss is at most 16.1, and a clipped one has no gradient), its TensorFlow backend -- and GraphJIT -- "
                  "from the logits, so once the softmax saturates the two take different steps.")
    if t.get("failures"):
        print("\nTRAINING RUNS FAILED:")
        for f in t["failures"]:
            print(f"  {f}")


def draw_training_bars(ax, t: dict) -> None:
    configs = [(h["model"], h["batch"]) for h in t["headline"]]
    if not configs:
        configs = [(r["model"], b) for r in t["rows"] for b in t["batch_sizes"]]
        configs = list(dict.fromkeys(configs))
    engines = [e for e in TRAIN_ENGINES if any(r["engine"] == e for r in t["rows"])]
    width = 0.8 / max(len(engines), 1)
    headline = {(h["model"], h["batch"]): h for h in t["headline"]}
    for e_index, engine in enumerate(engines):
        xs, ys, keys = [], [], []
        for c_index, (model, batch) in enumerate(configs):
            row = next((r for r in t["rows"] if r["model"] == model and r["engine"] == engine), None)
            value = number((row or {}).get(f"step_ms_b{batch}"))
            if value is None:
                continue
            xs.append(c_index + (e_index - (len(engines) - 1) / 2) * width)
            ys.append(value)
            keys.append((model, batch))
        bars = ax.bar(xs, ys, width * 0.92, label=TRAIN_LABEL.get(engine, engine), color=TRAIN_COLOR.get(engine))
        if engine == "graphjit":
            for bar, key in zip(bars, keys):
                ratio = number((headline.get(key) or {}).get("ratio"))
                if ratio is not None:
                    ax.annotate(f"{ratio:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([f"{m}\nbatch {b}" for m, b in configs])
    ax.set_ylabel("median train step (ms, log scale)")
    title = ("Training: one train step (lower is better; labels: GraphJIT / best Keras peer, goal <= "
             f"{t['goal_ratio']:.1f}x)")
    if t.get("quick"):
        title += " [quick]"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)


def draw_losses(t: dict, path: Path) -> bool:
    curves = t.get("curves") or {}
    models = [m for m in MODEL_ORDER if curves.get(m)] + sorted(set(m for m in curves if curves[m]) - set(MODEL_ORDER))
    if not models:
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        print(f"warning: no loss chart ({error})", file=sys.stderr)
        return False
    fig, axes = plt.subplots(2, len(models), figsize=(4.2 * len(models), 6.8), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.4]}, sharex="col")
    floor = 1e-9
    for column, model in enumerate(models):
        top, bottom = axes[0][column], axes[1][column]
        group = curves[model]
        reference = (group.get("graphjit") or {}).get("loss")
        notes = []
        engines = [e for e in TRAIN_ENGINES if e in group] + sorted(set(group) - set(TRAIN_ENGINES))
        for engine in engines:
            loss = [number(v) for v in group[engine].get("loss") or []]
            steps = list(range(1, len(loss) + 1))
            style, width = TRAIN_STYLE.get(engine, ("-", 1.2))
            top.plot(steps, [float("nan") if v is None else v for v in loss], style, lw=width,
                     color=TRAIN_COLOR.get(engine), label=TRAIN_LABEL.get(engine, engine),
                     alpha=0.75 if engine == "graphjit" else 1.0, zorder=1 if engine == "graphjit" else 2)
            if reference and engine != "graphjit":
                diff = [max(abs(a - b), floor) if a is not None and b is not None else float("nan")
                        for a, b in zip(loss, reference)]
                bottom.plot(steps[:len(diff)], diff, style, lw=1.3, color=TRAIN_COLOR.get(engine),
                            label=TRAIN_LABEL.get(engine, engine))
                worst = max((d for d in diff if d == d), default=0.0)
                if worst > 1e-3:  # say so on the chart: a curve that visibly leaves GraphJIT's
                    notes.append(f"{TRAIN_LABEL.get(engine, engine)}: max |diff| {worst:.3g}")
        top.set_title(model, fontsize=10)
        top.grid(alpha=0.3)
        if notes:
            bottom.text(0.02, 0.5, "\n".join(notes), transform=bottom.transAxes, fontsize=7, va="center",
                        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        if max((v for e in group.values() for v in (e.get("loss") or []) if number(v) is not None), default=1) > 8:
            top.set_yscale("log")
        bottom.set_yscale("log")
        bottom.set_ylim(floor / 2, None)
        bottom.grid(alpha=0.3, which="both")
        bottom.set_xlabel("train step (batch of 32, in order)")
        if column == 0:
            top.set_ylabel("loss of the batch (before its update)")
            bottom.set_ylabel("|Keras - GraphJIT|")
        top.legend(fontsize=7)
    title = ("Training loss per step from the same initial weights and data: GraphJIT vs Keras "
             "(TF tf.function, TF XLA, JAX)\nAdam, categorical cross-entropy, batches of 32 in order "
             "(fit with shuffle off); bottom: |Keras - GraphJIT| per step (0 drawn at 1e-9)")
    if t.get("quick"):
        title += " [quick]"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# MARK: - Main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    directory: Path = args.dir
    graphjit = load_json(directory / "graphjit.json", "no GraphJIT results")
    peers = load_json(directory / "peers.json", "GraphJIT-only table")
    training = load_json(directory / "training.json", "no training table") if (directory / "training.json").exists() \
        else None
    if graphjit is None and peers is None and training is None:
        print(f"error: none of graphjit.json, peers.json, training.json in {directory}", file=sys.stderr)
        return 2
    report = merge(graphjit, peers)
    report["training"] = merge_training(training)
    if graphjit is not None or peers is not None:
        print_report(report, directory)
    if report["training"]:
        print_training(report["training"])
    json_path, png_path = directory / "report.json", directory / "report.png"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    drew = draw_chart(report, png_path)
    losses_path = directory / "training_losses.png"
    drew_losses = bool(report["training"]) and draw_losses(report["training"], losses_path)
    written = [str(json_path)] + ([str(png_path)] if drew else []) + ([str(losses_path)] if drew_losses else [])
    print("\nwrote " + ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
