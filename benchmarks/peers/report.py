#!/usr/bin/env python3
"""Merges GraphJIT's and the peers' timings into one table, checks the goals, draws the chart.

Usage::

    python benchmarks/peers/report.py DIR

Reads DIR/graphjit.json (from ``graphjit-bench --peers-dir DIR``), DIR/peers.json (from
``run_peers.py``) and DIR/training.json (from ``train_peers.py``); any may be missing. Prints one table -- model x batch x engine (variant) ->
median ms, p10-p90, samples/s, GFLOP/s and the ratio to ONNX Runtime -- then the headline: GraphJIT's
best variant against ONNX Runtime, with the goals (batch 1: <= 0.5x ORT for lstm, attention and
multitask, <= 1.0x for cnn, beside its weight-streaming floor; bigger batches: <= 0.8x) marked met or
missed. Then the compile and memory sections when present. Then, with training.json, the training
table: per model and engine the median train step at batch 32 and 64 (and samples/s), one fit epoch,
and GraphJIT's ratio to the best of Keras/TF tf.function, Keras/TF XLA and Keras/JAX, with the goal
(a GraphJIT train step at most half the best peer's: <= 0.5x) marked met or missed; and how close
each Keras loss curve is to GraphJIT's. Writes DIR/report.json (everything merged, plus the ratios;
training under "training"), DIR/report.png (median latency per model/batch, one bar per engine, log
scale; a second panel with the train steps) and DIR/training_losses.png (loss per step over the
epoch, GraphJIT against each Keras backend, one panel per model, and below it |Keras - GraphJIT|).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

MODEL_ORDER = ("cnn", "lstm", "attention", "multitask")
ENGINE_ORDER = ("graphjit", "onnxruntime", "tensorflow")
GRAPHJIT_VARIANT_ORDER = ("optimized", "instant", "reference")
ENGINE_LABEL = {"graphjit": "GraphJIT", "onnxruntime": "ONNX Runtime", "tensorflow": "TensorFlow"}
ENGINE_COLOR = {"graphjit": "#d62728", "onnxruntime": "#1f77b4", "tensorflow": "#ff7f0e"}
TRAIN_ENGINES = ("graphjit", "keras-tf", "keras-xla", "keras-jax")
TRAIN_PEERS = TRAIN_ENGINES[1:]
TRAIN_LABEL = {"graphjit": "GraphJIT", "keras-tf": "Keras/TF tf.function", "keras-xla": "Keras/TF XLA",
               "keras-jax": "Keras/JAX"}
TRAIN_COLOR = {"graphjit": "#d62728", "keras-tf": "#ff7f0e", "keras-xla": "#2ca02c", "keras-jax": "#9467bd"}
TRAIN_STYLE = {"graphjit": ("-", 2.6), "keras-tf": ("--", 1.5), "keras-xla": (":", 1.8), "keras-jax": ("-.", 1.4)}
TRAIN_GOAL = 0.5


def goal_for(model: str, batch: int) -> float:
    """The target ratio median(GraphJIT best) / median(ONNX Runtime)."""
    if batch == 1:
        return 1.0 if model == "cnn" else 0.5
    return 0.8


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


def merge(graphjit: dict | None, peers: dict | None) -> dict:
    rows = clean_rows((graphjit or {}).get("results"), "graphjit") + clean_rows((peers or {}).get("results"),
                                                                               "onnxruntime")
    rows.sort(key=sort_key)
    floors = (graphjit or {}).get("floors") or []
    configs = []
    for row in rows:
        key = (row["model"], row["batch"])
        if key not in configs:
            configs.append(key)

    headline = []
    for model, batch in configs:
        group = [r for r in rows if (r["model"], r["batch"]) == (model, batch)]
        ort = [r for r in group if r["engine"] == "onnxruntime"]
        ort_ms = min((r["median_ms"] for r in ort), default=None)
        gj = [r for r in group if r["engine"] == "graphjit"]
        best_gj = min(gj, key=lambda r: r["median_ms"]) if gj else None
        for r in group:
            r["ratio_to_onnxruntime"] = r["median_ms"] / ort_ms if ort_ms else None
            r["graphjit_best"] = r is best_gj
        tf = [r for r in group if r["engine"] == "tensorflow"]
        goal = goal_for(model, batch)
        entry = {"model": model, "batch": batch, "goal_ratio": goal,
                 "graphjit_variant": best_gj.get("variant") if best_gj else None,
                 "graphjit_ms": best_gj["median_ms"] if best_gj else None,
                 "onnxruntime_ms": ort_ms,
                 "onnxruntime_variant": ort[0].get("variant") if ort else None,
                 "tensorflow_ms": min((r["median_ms"] for r in tf), default=None),
                 "ratio": best_gj["median_ms"] / ort_ms if best_gj and ort_ms else None}
        entry["met"] = None if entry["ratio"] is None else entry["ratio"] <= goal
        floor = floor_for(floors, model, batch)
        if floor:
            entry["floor"] = floor
        headline.append(entry)

    known_gj = {"machine", "results", "floors", "compile", "memory"}
    return {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": (graphjit or {}).get("machine"),
        "peers_machine": (peers or {}).get("machine"),
        "peers_versions": (peers or {}).get("versions"),
        "peers_settings": (peers or {}).get("settings"),
        "peers_quick": (peers or {}).get("quick"),
        "peers_ok": (peers or {}).get("ok"),
        "peers_failures": (peers or {}).get("failures", []),
        "have_graphjit": graphjit is not None,
        "have_peers": peers is not None,
        "rows": rows,
        "headline": headline,
        "goals_met": sum(1 for h in headline if h["met"]),
        "goals_checked": sum(1 for h in headline if h["met"] is not None),
        "floors": floors,
        "compile": {"graphjit": (graphjit or {}).get("compile") or [],
                    "peers": (peers or {}).get("compile") or []},
        "memory": (graphjit or {}).get("memory") or [],
        "graphjit_other": {k: v for k, v in (graphjit or {}).items() if k not in known_gj},
    }


# MARK: - Printing


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
        print("(no graphjit.json: peers only)")
    print()

    headline = {(h["model"], h["batch"]): h for h in report["headline"]}
    table, last = [], None
    for r in report["rows"]:
        key = (r["model"], r["batch"])
        if last is not None and key != last:
            table.append([])
        first = key != last
        last = key
        label = r["engine"] + (f" ({r['variant']})" if r.get("variant") else "")
        if r.get("graphjit_best") and sum(1 for x in report["rows"] if x["engine"] == "graphjit"
                                          and (x["model"], x["batch"]) == key) > 1:
            label += " *"
        goal = ""
        if r.get("graphjit_best"):
            h = headline[key]
            if h["met"] is not None:
                goal = f"<={h['goal_ratio']:.1f}x {'met' if h['met'] else 'MISSED'}"
            else:
                goal = f"<={h['goal_ratio']:.1f}x n/a (no ORT)"
            if h.get("floor") and r["model"] == "cnn":  # the weight-bound one: say how close it can get
                goal += "  " + floor_text(h["floor"])
        if r.get("check") and r["check"] != "ok":
            diff = number(r.get("max_abs_diff"))
            goal = f"OUTPUT CHECK {r['check']} (max|diff| {'inf' if diff is None else f'{diff:.1e}'})  " + goal
        p10, p90 = number(r.get("p10_ms")), number(r.get("p90_ms"))
        table.append([r["model"] if first else "", str(r["batch"]) if first else "", label,
                      fmt_ms(r["median_ms"]),
                      f"{fmt_ms(p10)}-{fmt_ms(p90)}" if p10 is not None and p90 is not None else "-",
                      fmt_num(r.get("samples_per_s")), fmt_num(r.get("gflops"), 2),
                      fmt_ratio(r.get("ratio_to_onnxruntime")), goal])
    print_table(["model", "batch", "engine (variant)", "median ms", "p10-p90 ms", "samples/s", "GFLOP/s",
                 "vs ORT", "goal (GraphJIT best / ORT)"], table, right={1, 3, 4, 5, 6, 7})
    if any(r.get("graphjit_best") for r in report["rows"]):
        print("* GraphJIT's best variant (its median is the headline ratio)")

    rows = []
    for h in report["headline"]:
        rows.append([h["model"], str(h["batch"]),
                     f"{fmt_ms(h['graphjit_ms'])} ({h['graphjit_variant']})" if h["graphjit_ms"] else "-",
                     f"{fmt_ms(h['onnxruntime_ms'])} ({h['onnxruntime_variant']})" if h["onnxruntime_ms"] else "-",
                     fmt_ms(h["tensorflow_ms"]), fmt_ratio(h["ratio"]), f"<={h['goal_ratio']:.1f}x",
                     "-" if h["met"] is None else ("met" if h["met"] else "MISSED"), floor_text(h.get("floor"))])
    print("\nHeadline: median latency of GraphJIT's best variant / ONNX Runtime's")
    print_table(["model", "batch", "GraphJIT ms", "ONNX Runtime ms", "TF ms", "ratio", "goal", "result",
                 "weight-streaming floor"], rows, right={1, 4, 5})
    if report["goals_checked"]:
        print(f"goals met: {report['goals_met']} of {report['goals_checked']}")

    if report.get("peers_failures"):
        print("\nPEER OUTPUT CHECK FAILED:")
        for f in report["peers_failures"]:
            print(f"  {f}")

    compile_gj = report["compile"]["graphjit"]
    print_generic("Compile (GraphJIT)", compile_gj)
    peers_compile = report["compile"]["peers"]
    if peers_compile:
        rows = []
        for model, batch in dict.fromkeys((c.get("model"), c.get("batch")) for c in peers_compile):
            group = [c for c in peers_compile if (c.get("model"), c.get("batch")) == (model, batch)]
            sessions = [c["session_create_ms"] for c in group if number(c.get("session_create_ms"))]
            first_ort = [c["first_run_ms"] for c in group if number(c.get("first_run_ms"))]
            tf = {c.get("variant"): c.get("first_call_ms") for c in group if c.get("engine") == "tensorflow"}
            rows.append([str(model), str(batch), fmt_ms(min(sessions)) if sessions else "-",
                         fmt_ms(min(first_ort)) if first_ort else "-",
                         fmt_ms(tf.get("tf.function")), fmt_ms(tf.get("xla"))])
        print("\nSet-up (peers): ORT session creation and first run; TF first call (tracing, XLA compile)")
        print_table(["model", "batch", "ORT session ms", "ORT 1st run ms", "TF 1st call ms",
                     "XLA 1st call ms"], rows, right={1, 2, 3, 4, 5})
    print_generic("Memory (GraphJIT)", report["memory"])


# MARK: - Chart


def draw_chart(report: dict, path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        print(f"warning: no chart ({error})", file=sys.stderr)
        return False
    configs = [(h["model"], h["batch"]) for h in report["headline"]]
    if not configs:
        return False
    engines = [e for e in ENGINE_ORDER if any(r["engine"] == e for r in report["rows"])]
    engines += sorted({r["engine"] for r in report["rows"]} - set(engines))
    width = 0.8 / max(len(engines), 1)
    fig, ax = plt.subplots(figsize=(max(8.0, 1.25 * len(configs) + 2), 5.2))
    for e_index, engine in enumerate(engines):
        xs, ys, labels = [], [], []
        for c_index, key in enumerate(configs):
            group = [r for r in report["rows"] if (r["model"], r["batch"]) == key and r["engine"] == engine]
            if not group:
                continue
            best = min(group, key=lambda r: r["median_ms"])
            xs.append(c_index + (e_index - (len(engines) - 1) / 2) * width)
            ys.append(best["median_ms"])
            labels.append(best)
        label = ENGINE_LABEL.get(engine, engine) + (" (best variant)" if engine == "graphjit" else "")
        bars = ax.bar(xs, ys, width * 0.92, label=label, color=ENGINE_COLOR.get(engine))
        if engine == "graphjit":
            for bar, row in zip(bars, labels):
                ratio = number(row.get("ratio_to_onnxruntime"))
                if ratio is not None:
                    ax.annotate(f"{ratio:.2f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7)
    floor_label = "weight-streaming floor"
    for c_index, h in enumerate(report["headline"]):
        floor = h.get("floor") or {}
        values = [number(floor.get(k)) for k in ("floor_ms_1thread", "floor_ms_2threads")]
        values = [v for v in values if v]
        fastest = min((r["median_ms"] for r in report["rows"] if (r["model"], r["batch"]) == configs[c_index]),
                      default=0.0)
        if values and min(values) >= 0.05 * fastest:  # only floors that bound something visible
            ax.hlines(min(values), c_index - 0.42, c_index + 0.42, colors="black", linestyles="dashed",
                      linewidth=1, label=floor_label)
            floor_label = None
    ax.set_yscale("log")
    ax.set_xticks(range(len(configs)))
    ax.set_xticklabels([f"{m}\nbatch {b}" for m, b in configs])
    ax.set_ylabel("median latency per call (ms, log scale)")
    title = "GraphJIT vs peers: median latency (lower is better; labels: GraphJIT / ONNX Runtime)"
    if report.get("peers_quick"):
        title += " [quick]"
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
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
    if graphjit is None and peers is None:
        print(f"error: neither graphjit.json nor peers.json in {directory}", file=sys.stderr)
        return 2
    report = merge(graphjit, peers)
    print_report(report, directory)
    json_path, png_path = directory / "report.json", directory / "report.png"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    drew = draw_chart(report, png_path)
    print(f"\nwrote {json_path}" + (f" and {png_path}" if drew else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
