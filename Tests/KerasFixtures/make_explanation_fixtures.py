#!/usr/bin/env python3
"""Generate the Keras explanation fixtures (saliency, integrated gradients, Grad-CAM, attention).

Rebuilds six parity cases of make_keras_fixtures.py (cnn, lstm, attention, multitask,
two_input_concat, crossmodal) exactly as that script builds them, loads each case's saved weights
(``<case>.weights.safetensors``, by GraphJIT name) into the Keras model, checks that Keras's
``model.predict`` and ``model(x)`` reproduce the saved ``output.*`` within 1e-6 (it stops otherwise),
and computes with ``tf.GradientTape`` in float32, on the case's saved inputs (``input.k`` of
``<case>.io.safetensors``), for output 0 and each sample's top class. It writes into the output
directory (default ``Tests/GraphJITTests/Fixtures/Explanations``):

  <case>.safetensors   F32 tensors (B = batch, k = model input):
      class                     [B]     argmax of output 0 per sample (the first on ties)
      logits                    [B, C]  output 0 before its softmax (see "logits" below)
      saliency.k                input k's shape: d/dx_k of sum_b p[b, class_b], p = output 0
      saliency_logits.k         the same for the logits: d/dx_k of sum_b logits[b, class_b]
      integrated_gradients.k    input k's shape: integrated gradients of p[b, class_b]
      ig_delta                  [B]     p[b, class_b](x) - p[b, class_b](baseline)
      attention_weights         [B, T, 1]  attention case only: the softmax over time
      grad_cam, grad_cam_raw    [B, H', W']  cnn and crossmodal only: Grad-CAM on conv2d's output
  manifest.json        the cases, their tensors and shapes, the input names, the method settings
                       (m, alphas, baseline), the completeness errors, the source files' sha256,
                       each file's sha256, the TensorFlow/Keras/numpy versions

Method (as keras-io's examples/vision/integrated_gradients.py and grad_cam.py, batched):

- logits: a second Keras model, ``keras.Model(model.inputs, last_dense.input)``, gives the tensor
  entering output 0's last Dense; the logits are ``keras.ops.matmul(h, kernel) + bias`` with that
  Dense's own variables (no clone). The generator checks softmax(logits) == output 0 within 1e-6.
- integrated gradients: baseline all zeros for every input, m = 50 steps, alpha_j = float32(j / 50)
  for j = 0..50 (51 points), interpolated inputs baseline + alpha_j (x - baseline) (every input
  with the same alpha), g_j = d p[b, class_b] / dx at each point, IG = (x - baseline) *
  mean_{j=0..49} (g_j + g_{j+1}) / 2 (the trapezoidal rule, in float32 TensorFlow ops as the example).
  The 51 points of all B samples go through the model as one batch of 51 B rows: no layer mixes
  samples, so this equals keras-io's one call per point.
- attention weights: recomputed from the layer's own sublayers exactly as its call() does,
  ``softmax(V(tanh(W(x))), axis=1)``; the generator checks that sum_t weights * x equals the
  layer's output (a sub-model ending at attention_layer) within 1e-6.
- Grad-CAM: A = conv2d's output (after its relu), from ``keras.Model(model.inputs, [conv2d.output,
  last_dense.input])``, fed every model input (crossmodal's sequence branch enters the logits too);
  gradient of logits[b, class_b] with respect to A; alpha = its mean over (h, w) per sample and
  channel; grad_cam_raw = relu(sum_c alpha_c A[..., c]); grad_cam =
  grad_cam_raw / its max over (h, w) per sample (all 0 where that max is 0).

Usage (from the package root; run make_keras_fixtures.py first, these fixtures depend on its files):

  python Tests/KerasFixtures/make_explanation_fixtures.py                # regenerate, then check
  python Tests/KerasFixtures/make_explanation_fixtures.py --check-only   # check the files (numpy only)
  python Tests/KerasFixtures/make_explanation_fixtures.py --cases crossmodal   # only those cases, merged
                                            # into the manifest (the other entries and files stay as they are)

The check (numpy only) reads every file back, compares names, shapes and sha256 with the manifest
(and the source weights/io files' sha256, so regenerated parity fixtures make it fail until these are
regenerated too), and recomputes from the saved weights and inputs in float64, with
make_keras_fixtures.py's numpy references: the class (argmax of the saved output 0), the logits,
ig_delta, the attention weights; central-difference directional derivatives of p and of the logits
that the saliencies and the discrete IG sum (all 51 points) must match; and for the cnn and
crossmodal's image input its gradients by hand, element by element: saliencies, IG and Grad-CAM
(TensorFlow routes max pooling's gradient to the first maximum of each window in row-major order and
relu's gradient at 0 is 0; this matters at the all-zero baseline, where every pooling window is a tie
and finite differences do not apply). crossmodal's sequence input is checked by finite differences
along the sequence alone (the image held fixed, so the pooling ties at the baseline do not move).
It also checks that every saliency and IG is finite and not all zero, the completeness
|sum IG - ig_delta| (bound below), and that grad_cam is in [0, 1] with max 1 (or all 0).

Same inputs, same library versions, same machine -> the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_keras_fixtures as base  # noqa: E402  (numpy only at import; Keras is loaded lazily)

SOURCE_DIR = base.DEFAULT_OUT                    # the parity fixtures these start from
DEFAULT_OUT = SOURCE_DIR / "Explanations"
STEPS = 50                                       # integrated gradients: m
PREDICT_TOLERANCE = 1e-6                         # Keras vs the saved output.*, and the self-checks
SIZE_BUDGET = 500_000                            # bytes, every file written here together
# Completeness: sum IG - ig_delta is the trapezoidal rule's error over 50 steps (the check recomputes
# the discrete sum itself, by finite differences or by hand, so this bound is about the rule, not about
# the arithmetic). Measured with m = 50: two_input_concat 1.5e-3, cnn 1.1e-3, crossmodal 9.7e-4,
# multitask 8.2e-4 (relu and max-pool kinks along the path make the integrand jump, and the error
# falls only like 1/m: 1.5e-4 .. 3e-4 at m = 200, ~3e-5 at m = 1000, measured on the first, second
# and fourth), attention 5.2e-6, lstm 3.4e-7 (smooth, 1/m^2).
# 5e-3 * max(1, |ig_delta|) leaves a 3x margin over the worst and still catches a wrong alpha grid,
# a missing trapezoid half or a wrong baseline, which are off by O(|ig_delta|) ~ 0.05..0.6 here.
COMPLETENESS_BOUND = 5e-3


@dataclass(frozen=True)
class Explain:
    name: str                       # the make_keras_fixtures case (its builder, weights and inputs)
    logits_layer: str               # the Dense (softmax) that produces output 0
    attention_layer: str | None = None
    conv_layer: str | None = None   # Grad-CAM's layer
    # The LSTM whose last state the model concatenates after the conv branch's flattened features
    # (crossmodal): the hand gradients' second branch, a constant with respect to the image.
    concat_lstm: str | None = None
    note: str | None = None


CASES = [
    Explain("cnn", "dense_1", conv_layer="conv2d",
            note="at the all-zero baseline conv2d's output is its bias at every pixel, so every 2x2 max-pool "
                 "window of a channel with a positive bias is a 4-way tie: TensorFlow routes the gradient to each "
                 "window's first (top-left) pixel, and that g_0 enters IG with weight 1/(2m)"),
    Explain("lstm", "dense"),
    Explain("attention", "dense", attention_layer="attention_layer"),
    Explain("multitask", "dense_1"),
    Explain("two_input_concat", "dense_2"),
    Explain("crossmodal", "dense_1", conv_layer="conv2d", concat_lstm="lstm",
            note="two inputs, image and sequence, interpolated together from zeros; output 0 is dense_1 (10 "
                 "classes). At the baseline the image's conv2d output is its bias at every pixel, so the 2x2 "
                 "max-pool windows of a channel with a positive bias are 4-way ties, routed to each window's "
                 "first (top-left) pixel, as for the cnn; Grad-CAM on conv2d with the sequence as given"),
]

METHOD = {
    "target": "output 0 (probabilities, after its softmax), per sample its top class: argmax, the first on ties",
    "steps": STEPS,
    "alphas": f"float32(j / {STEPS}) for j = 0..{STEPS} ({STEPS + 1} points)",
    "baseline": "zeros, for every model input",
    "interpolation": "baseline + alpha * (x - baseline), every input with the same alpha",
    "integratedGradients": f"(x - baseline) * mean over j = 0..{STEPS - 1} of (g_j + g_(j+1)) / 2, "
                           "g_j = d p[b, class_b] / dx at alpha_j (keras-io integrated_gradients.py)",
    "igDelta": "p[b, class_b](x) - p[b, class_b](baseline)",
    "saliency": "d/dx_k of sum_b p[b, class_b]: the signed gradient (no abs, no max over channels)",
    "logits": "keras.ops.matmul(h, kernel) + bias of output 0's last Dense (its own variables), "
              "h = keras.Model(model.inputs, that_dense.input)(x)",
    "attentionWeights": "softmax(V(tanh(W(x))), axis=1) with the attention layer's W and V sublayers, "
                        "as its call(); checked against the layer's output (sum_t weights * x)",
    "gradCam": "A = conv2d output (after relu); alpha[b, c] = mean over (h, w) of d logits[b, class_b] / dA; "
               "grad_cam_raw = relu(sum_c alpha[b, c] A[b, ..., c]); grad_cam = grad_cam_raw / max over "
               "(h, w) per sample, 0 where that max is 0 (keras-io grad_cam.py, per sample)",
    "completenessBound": f"|sum IG - ig_delta| <= {COMPLETENESS_BOUND:g} * max(1, |ig_delta|)",
}


def feed(xs):
    return xs if len(xs) > 1 else xs[0]


def source_files(name: str) -> tuple[str, str]:
    return f"{name}.weights.safetensors", f"{name}.io.safetensors"


# MARK: - Generation (TensorFlow)

def load_case(keras, case: Explain, source: Path):
    """Builds the case as make_keras_fixtures does and loads its saved weights by GraphJIT name."""
    spec = base._case(case.name)
    keras.backend.clear_session()
    keras.utils.set_random_seed(base.case_seed(base.SEED, case.name))  # every weight is overwritten below
    model = spec.build(keras, **spec.build_kwargs)
    variables = base.graphjit_weights(keras, model)        # GraphJIT name -> Keras variable
    wfile, iofile = source_files(case.name)
    saved, _ = base.read_safetensors(source / wfile)
    if sorted(saved) != sorted(variables):
        sys.exit(f"{case.name}: {wfile} holds {sorted(saved)}, the model needs {sorted(variables)}")
    for name in sorted(variables):
        if tuple(variables[name].shape) != saved[name].shape:
            sys.exit(f"{case.name}: {name} is {saved[name].shape} in {wfile}, {tuple(variables[name].shape)} in Keras")
        variables[name].assign(saved[name])
    io, _ = base.read_safetensors(source / iofile)
    inputs = [io[f"input.{k}"] for k in range(len(model.inputs))]
    outputs = [io[f"output.{i}"] for i in range(len(model.outputs))]
    if len(io) != len(inputs) + len(outputs):
        sys.exit(f"{case.name}: {iofile} holds {sorted(io)}")
    return model, inputs, outputs


def check_reproduces(case, model, inputs, outputs) -> float:
    """Keras's predict (graph mode) and model(x) (eager, what the gradients use) vs the saved outputs."""
    worst = 0.0
    for how, got in (("predict", model.predict(feed(inputs), batch_size=len(inputs[0]), verbose=0)),
                     ("model(x)", model(feed(inputs), training=False))):
        got = got if isinstance(got, (list, tuple)) else [got]
        for i, (g, y) in enumerate(zip(got, outputs)):
            diff = float(np.abs(np.asarray(g) - y).max())
            if not diff <= PREDICT_TOLERANCE:
                sys.exit(f"{case.name}: Keras's {how} output.{i} is {diff:.3e} from the saved one "
                         f"(> {PREDICT_TOLERANCE:g}): the weights were not loaded as saved")
            worst = max(worst, diff)
    return worst


def class_gradients(tf, fn, xs, classes):
    """float32 d/dx_k of sum_b fn(xs)[b, classes[b]] for every input k, and fn(xs)."""
    xs = [tf.constant(x, tf.float32) for x in xs]
    index = tf.constant(np.stack([np.arange(len(classes)), classes], axis=1).astype(np.int64))
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = fn(xs)
        target = tf.reduce_sum(tf.gather_nd(y, index))
    grads = tape.gradient(target, xs)
    if any(g is None for g in grads):
        raise RuntimeError("an input is not connected to the target")
    return [np.asarray(g, np.float32) for g in grads], np.asarray(y, np.float32)


def explain_case(tf, keras, case: Explain, source: Path):
    model, inputs, outputs = load_case(keras, case, source)
    predict_diff = check_reproduces(case, model, inputs, outputs)
    batch = len(inputs[0])
    probs0 = outputs[0]
    classes = np.argmax(probs0, axis=1)                    # numpy: the first maximum on ties
    last = model.get_layer(case.logits_layer)
    if last.activation is not keras.activations.softmax:
        sys.exit(f"{case.name}: {last.name} is not a softmax Dense")
    hidden = keras.Model(model.inputs, last.input, name=f"{case.name}_penultimate")

    def probs(xs):
        y = model(feed(xs), training=False)
        return y[0] if isinstance(y, (list, tuple)) else y

    def logits(xs):
        return keras.ops.matmul(hidden(feed(xs), training=False), last.kernel) + last.bias

    saliency, p = class_gradients(tf, probs, inputs, classes)
    saliency_logits, z = class_gradients(tf, logits, inputs, classes)
    if not np.array_equal(np.argmax(p, axis=1), classes):
        sys.exit(f"{case.name}: model(x)'s top classes differ from the saved output's")
    softmax_gap = float(np.abs(base.softmax(z.astype(np.float64)) - probs0).max())
    if not softmax_gap <= PREDICT_TOLERANCE:
        sys.exit(f"{case.name}: softmax(logits) is {softmax_gap:.3e} from output 0")

    # Integrated gradients: all 51 points of all samples in one batch, row j * B + b.
    alphas = [np.float32(j / STEPS) for j in range(STEPS + 1)]
    baseline = [np.zeros_like(x) for x in inputs]
    path = [np.concatenate([b + a * (x - b) for a in alphas]) for x, b in zip(inputs, baseline)]
    grads, _ = class_gradients(tf, probs, path, np.tile(classes, STEPS + 1))
    ig = []
    for g, x, b in zip(grads, inputs, baseline):
        g = tf.constant(g.reshape((STEPS + 1,) + x.shape))
        avg = tf.reduce_mean((g[:-1] + g[1:]) / 2.0, axis=0)
        ig.append(np.asarray((tf.constant(x) - tf.constant(b)) * avg, np.float32))
    rows = np.arange(batch)
    p_x = np.asarray(probs([tf.constant(x) for x in inputs]), np.float32)[rows, classes]
    p_base = np.asarray(probs([tf.constant(b) for b in baseline]), np.float32)[rows, classes]
    ig_delta = (p_x.astype(np.float64) - p_base.astype(np.float64)).astype(np.float32)

    tensors = {"class": classes.astype(np.float32), "logits": z, "ig_delta": ig_delta}
    for k in range(len(inputs)):
        tensors[f"saliency.{k}"] = saliency[k]
        tensors[f"saliency_logits.{k}"] = saliency_logits[k]
        tensors[f"integrated_gradients.{k}"] = ig[k]

    if case.attention_layer:
        layer = model.get_layer(case.attention_layer)
        x = tf.constant(inputs[0])
        weights = keras.ops.softmax(layer.V(keras.ops.tanh(layer.W(x))), axis=1)   # as call() does
        context = keras.Model(model.inputs, layer.output)(x, training=False)
        gap = float(np.abs(np.asarray(keras.ops.sum(weights * x, axis=1)) - np.asarray(context)).max())
        if not gap <= PREDICT_TOLERANCE:
            sys.exit(f"{case.name}: sum_t weights * x is {gap:.3e} from {layer.name}'s output")
        tensors["attention_weights"] = np.asarray(weights, np.float32)

    if case.conv_layer:
        conv = model.get_layer(case.conv_layer)
        grad_model = keras.Model(model.inputs, [conv.output, last.input], name=f"{case.name}_grad_cam")
        index = tf.constant(np.stack([rows, classes], axis=1).astype(np.int64))
        with tf.GradientTape() as tape:
            a, h = grad_model(feed([tf.constant(x) for x in inputs]), training=False)
            z_cam = keras.ops.matmul(h, last.kernel) + last.bias
            target = tf.reduce_sum(tf.gather_nd(z_cam, index))
        grad_a = tape.gradient(target, a)
        if not np.array_equal(np.asarray(z_cam), z):
            sys.exit(f"{case.name}: Grad-CAM's logits differ from the logits model's")
        alpha = tf.reduce_mean(grad_a, axis=(1, 2))                      # (B, C)
        raw = tf.nn.relu(tf.einsum("bhwc,bc->bhw", a, alpha)).numpy()
        peak = raw.max(axis=(1, 2), keepdims=True)
        tensors["grad_cam_raw"] = raw.astype(np.float32)
        tensors["grad_cam"] = np.where(peak > 0, raw / np.where(peak > 0, peak, 1), 0).astype(np.float32)

    stats = {"predictMaxDiff": predict_diff, "softmaxOfLogitsMaxDiff": softmax_gap}
    return model, inputs, tensors, stats


def completeness(tensors, n_inputs):
    """Per sample sum over every input's elements of IG (float64), and its error against ig_delta."""
    total = sum(tensors[f"integrated_gradients.{k}"].astype(np.float64).reshape(len(tensors["class"]), -1).sum(1)
                for k in range(n_inputs))
    delta = tensors["ig_delta"].astype(np.float64)
    return total, np.abs(total - delta), np.abs(total - delta) / np.maximum(1.0, np.abs(delta))


def top2_margin(probs):
    s = np.sort(probs, axis=1)
    return s[:, -1] - s[:, -2]


def generate(out: Path, source: Path, only: list[str] | None = None) -> None:
    """Writes every case, or with `only` just those cases, merged into the manifest already in `out`:
    the other cases' entries and files are left exactly as they are."""
    tf, keras = base.load_keras()
    vers = base.versions(tf, keras)
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / "manifest.json"
    previous = json.loads(mpath.read_text()) if mpath.exists() else None
    if only is not None:
        base.refuse_mixed_settings(previous, mpath, {**vers, "sourceDirectory": "Tests/GraphJITTests/Fixtures", **METHOD})
    print(f"Explanation fixtures -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}; "
          f"sources {source})")
    if only is not None:
        print(f"  only {', '.join(c.name for c in CASES if c.name in only)}; every other case stays as it is on disk")
    entries = []
    for case in CASES:
        if only is not None and case.name not in only:
            continue
        model, inputs, tensors, stats = explain_case(tf, keras, case, source)
        n_in = len(inputs)
        total, err, rel = completeness(tensors, n_in)
        path = out / f"{case.name}.safetensors"
        base.write_safetensors(path, tensors, {"case": case.name, "steps": str(STEPS), "baseline": "zeros",
                                               "generator": "make_explanation_fixtures.py", **vers})
        io, _ = base.read_safetensors(source / source_files(case.name)[1])
        zeros = {n: int((t == 0).sum()) for n, t in sorted(tensors.items())
                 if n.startswith(("saliency", "integrated_gradients"))}
        dead = [f"{n} sample {b}" for n, t in sorted(tensors.items())
                if n.startswith(("saliency", "integrated_gradients")) for b in range(len(t)) if not t[b].any()]
        entry = {
            "name": case.name,
            "file": path.name,
            "sources": {f: base.sha256(source / f) for f in source_files(case.name)},
            "inputNames": [t.name for t in model.inputs],
            "inputTensors": [f"input.{k}" for k in range(n_in)],
            "inputShapes": [list(x.shape) for x in inputs],
            "logitsLayer": case.logits_layer,
            "classes": [int(c) for c in tensors["class"]],
            "top2Margin": [float(m) for m in top2_margin(io["output.0"])],
            "tensors": [{"name": n, "shape": list(tensors[n].shape)} for n in sorted(tensors)],
            "igDelta": [float(d) for d in tensors["ig_delta"]],
            "igSum": [float(s) for s in total],
            "maxCompletenessError": float(err.max()),
            "maxRelativeCompletenessError": float(rel.max()),
            "exactZeros": zeros,
            **stats,
            "sha256": base.sha256(path),
        }
        if case.note:
            entry["note"] = case.note
        if case.attention_layer:
            entry["attentionLayer"] = case.attention_layer
        if case.conv_layer:
            entry["gradCamLayer"] = case.conv_layer
            entry["gradCamPeak"] = [float(v) for v in tensors["grad_cam_raw"].max(axis=(1, 2))]
        entries.append(entry)
        shapes = ", ".join(f"{n} {list(tensors[n].shape)}" for n in sorted(tensors))
        print(f"  {case.name:<17} {path.stat().st_size:>6} B  classes {entry['classes']}  "
              f"max|sum IG - ig_delta| = {err.max():.2e} (ig_delta {', '.join(f'{d:.4f}' for d in tensors['ig_delta'])})  "
              f"max|keras - saved outputs| {stats['predictMaxDiff']:.1e}")
        print(f"  {'':<17} {shapes}")
        print(f"  {'':<17} exact zeros: {zeros}" + (f"; all-zero: {dead}" if dead else ""))
    if only is not None:   # the other cases keep their entries (and files) untouched, in the script's order
        entries = base.merged_entries([c.name for c in CASES], entries, previous, mpath)
    if previous:   # did regenerating change any bytes the previous manifest recorded?
        old = {e["name"]: e["sha256"] for e in previous["cases"]}
        same = [e["name"] for e in entries if old.get(e["name"]) == e["sha256"]]
        changed = [e["name"] for e in entries if e["name"] in old and old[e["name"]] != e["sha256"]]
        new = [e["name"] for e in entries if e["name"] not in old]
        print(f"against the previous manifest: {len(same)} of {len(entries)} files byte-identical, "
              f"changed: {', '.join(changed) or 'none'}, new: {', '.join(new) or 'none'}")
    manifest = {"generator": "Tests/KerasFixtures/make_explanation_fixtures.py", **vers,
                "sourceDirectory": "Tests/GraphJITTests/Fixtures", **METHOD, "cases": entries}
    mpath.write_text(base.format_json(manifest))
    total_size = sum((out / e["file"]).stat().st_size for e in entries) + mpath.stat().st_size
    print(f"manifest.json {mpath.stat().st_size} B; total {total_size} B (budget {SIZE_BUDGET} B)")
    if total_size > SIZE_BUDGET:
        sys.exit(f"explanation fixtures take {total_size} B, over the {SIZE_BUDGET} B budget")


# MARK: - Check (numpy only)

@contextmanager
def logits_reference():
    """make_keras_fixtures' references apply the output softmax through ACTIVATIONS["softmax"] (the
    attention layer's own softmax over time calls softmax() directly): made the identity, they give
    the logits of every softmax Dense."""
    saved = base.ACTIVATIONS["softmax"]
    base.ACTIVATIONS["softmax"] = lambda x: x
    try:
        yield
    finally:
        base.ACTIVATIONS["softmax"] = saved


def class_values(reference, weights, xs, classes, logits=False):
    """float64 f(xs)[b, classes[b]] of output 0, probabilities or logits."""
    if logits:
        with logits_reference():
            y = reference(weights, *xs)[0]
    else:
        y = reference(weights, *xs)[0]
    return y[np.arange(len(classes)), classes]


def per_sample(arrays, batch):
    """(sum, sum of |.|) per sample over every array's elements."""
    flat = [np.asarray(t, np.float64).reshape(batch, -1) for t in arrays]
    return sum(t.sum(1) for t in flat), sum(np.abs(t).sum(1) for t in flat)


def directional_check(reference, weights, xs, grads, classes, rng, logits, directions=3, eps=1e-5, only=None):
    """Central differences (float64) of f[b, class_b] along random directions vs sum(grad * v) per
    sample. Returns the worst |fd - dot| / sum |grad * v|: float32 gradients give ~1e-7. With `only`
    (input indices) the directions move those inputs alone (zero for the others)."""
    worst, batch = 0.0, len(classes)
    for _ in range(directions):
        vs = [rng.standard_normal(x.shape) if only is None or k in only else np.zeros(x.shape)
              for k, x in enumerate(xs)]
        plus = class_values(reference, weights, [x + eps * v for x, v in zip(xs, vs)], classes, logits)
        minus = class_values(reference, weights, [x - eps * v for x, v in zip(xs, vs)], classes, logits)
        dot, scale = per_sample([g.astype(np.float64) * v for g, v in zip(grads, vs)], batch)
        worst = max(worst, float((np.abs((plus - minus) / (2 * eps) - dot) / (scale + 1e-300)).max()))
    return worst


def ig_check(reference, weights, xs, ig, classes, rng, directions=3, eps=1e-5, only=None):
    """The discrete IG, recomputed by finite differences: for u (all ones, then random), sum IG * u =
    sum avg_g * (x - 0) * u = the trapezoidal mean over the 51 points of the directional derivative of
    p[b, class_b] along (x - baseline) * u. Needs f differentiable at every point, the baseline
    included (not so for the cnn: see cnn_gradients). Returns the worst |fd - sum IG u| / sum |IG u|.
    With `only` (input indices) u is zero for the other inputs: the path still moves every input, but
    the differences move only those (crossmodal: the sequence, where the image's pooling ties stay put)."""
    batch, worst = len(classes), 0.0
    alphas = np.arange(STEPS + 1) / STEPS
    tiled = np.tile(classes, STEPS + 1)
    for d in range(directions):
        us = [(np.ones(x.shape) if d == 0 else rng.standard_normal(x.shape)) if only is None or k in only
              else np.zeros(x.shape) for k, x in enumerate(xs)]
        path = [np.concatenate([a * x for a in alphas]) for x in xs]
        step = [np.tile(x * u, (STEPS + 1,) + (1,) * (x.ndim - 1)) for x, u in zip(xs, us)]
        plus = class_values(reference, weights, [p + eps * s for p, s in zip(path, step)], tiled)
        minus = class_values(reference, weights, [p - eps * s for p, s in zip(path, step)], tiled)
        deriv = ((plus - minus) / (2 * eps)).reshape(STEPS + 1, batch)
        expected = ((deriv[:-1] + deriv[1:]) / 2).mean(axis=0)
        got, scale = per_sample([g.astype(np.float64) * u for g, u in zip(ig, us)], batch)
        worst = max(worst, float((np.abs(expected - got) / (scale + 1e-300)).max()))
    return worst


def cnn_gradients(w, x, classes, probs, extra=None):
    """The cnn's gradients by hand, float64, with TensorFlow's rules where the function has a kink:
    relu's gradient at 0 is 0 and max pooling routes a window's gradient to its first maximum in
    row-major order (a tie happens at the all-zero baseline, where conv2d's output is its bias at
    every pixel, so every 2x2 window of an active channel is a 4-way tie). Returns (A, d f / dA,
    d f / dx) for f = sum_b f_b, f_b = logits[b, class_b] or, with `probs`, p[b, class_b].
    Layers: conv2d 3x3 valid relu -> 2x2 max-pool -> flatten -> dense relu -> dense_1 (softmax).
    `extra` (crossmodal: the LSTM's last state) is concatenated after the flattened features before
    dense; it does not depend on x, and d f / dx ignores its rows of dense's kernel."""
    kernel = w["conv2d.kernel"].astype(np.float64)
    pre_conv = base.conv2d(x, w, "conv2d")
    a = np.maximum(pre_conv, 0.0)
    pooled = base.max_pool(a, (2, 2))
    flat = base.flatten(pooled)
    pre = base.dense(flat if extra is None else np.concatenate([flat, extra], axis=-1), w, "dense")
    z = base.dense(np.maximum(pre, 0.0), w, "dense_1")
    rows = np.arange(len(classes))
    d_z = np.zeros_like(z)
    d_z[rows, classes] = 1.0
    if probs:                                     # d p_c / d z_j = p_c (delta_cj - p_j)
        p = base.softmax(z)
        d_z = p[rows, classes][:, None] * (d_z - p)
    d_flat = ((d_z @ w["dense_1.kernel"].astype(np.float64).T) * (pre > 0)) @ w["dense.kernel"].astype(np.float64).T
    d_pooled = d_flat[:, :flat.shape[1]].reshape(pooled.shape)
    n, ph, pw, c = pooled.shape
    win = a[:, :2 * ph, :2 * pw].reshape(n, ph, 2, pw, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, ph, pw, c, 4)
    d_win = np.zeros_like(win)
    np.put_along_axis(d_win, win.argmax(axis=-1)[..., None], d_pooled[..., None], axis=-1)  # the first max
    d_a = np.zeros_like(a)
    d_a[:, :2 * ph, :2 * pw] = d_win.reshape(n, ph, pw, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 2 * ph, 2 * pw, c)
    d_pre = d_a * (pre_conv > 0)
    d_x = np.zeros_like(x)
    oh, ow = a.shape[1:3]
    for i in range(kernel.shape[0]):
        for j in range(kernel.shape[1]):
            d_x[:, i:i + oh, j:j + ow] += np.einsum("nhwo,co->nhwc", d_pre, kernel[i, j])
    return a, d_a, d_x


def cnn_integrated_gradients(w, x, classes, sequence=None, lstm_layer=None):
    """keras-io's IG for the cnn (or crossmodal's image input: `sequence` and its LSTM interpolated
    along the same path) from cnn_gradients (its tie rule at the baseline), float64."""
    alphas = np.arange(STEPS + 1) / STEPS
    extra = None if sequence is None else base.lstm(np.concatenate([a * sequence for a in alphas]), w, lstm_layer)
    _, _, g = cnn_gradients(w, np.concatenate([a * x for a in alphas]), np.tile(classes, STEPS + 1), True, extra)
    g = g.reshape((STEPS + 1,) + x.shape)
    return x * ((g[:-1] + g[1:]) / 2).mean(axis=0), g[0]


def grad_cam_reference(w, x, classes, extra=None):
    a, d_a, _ = cnn_gradients(w, x, classes, probs=False, extra=extra)
    return np.maximum(np.einsum("bhwc,bc->bhw", a, d_a.mean(axis=(1, 2))), 0.0)


def elementwise_gap(ref, got):
    """max |ref - got| / max |ref|, per sample, worst sample."""
    n = len(ref)
    ref, got = ref.reshape(n, -1), got.astype(np.float64).reshape(n, -1)
    return float((np.abs(ref - got).max(1) / np.maximum(np.abs(ref).max(1), 1e-300)).max())


def check(out: Path, source: Path) -> bool:
    manifest = json.loads((out / "manifest.json").read_text())
    ok = [e["name"] for e in manifest["cases"]] == [c.name for c in CASES]
    if manifest.get("steps") != STEPS:
        ok = False
        print(f"  manifest steps {manifest.get('steps')} != {STEPS}")
    print(f"\nCheck {out} (numpy float64 references; fixtures from tensorflow {manifest['tensorflow']}, "
          f"keras {manifest['keras']})")
    rng = np.random.default_rng(base.SEED)
    total_size = (out / "manifest.json").stat().st_size
    for case, entry in zip(CASES, manifest["cases"]):
        problems, notes = [], []
        path = out / entry["file"]
        total_size += path.stat().st_size
        t, meta = base.read_safetensors(path)
        if base.sha256(path) != entry["sha256"]:
            problems.append(f"{path.name} sha256 differs from the manifest")
        for fname, digest in entry["sources"].items():
            if base.sha256(source / fname) != digest:
                problems.append(f"{fname} changed since these fixtures were made: regenerate them")
        if meta.get("case") != case.name:
            problems.append(f"metadata names case {meta.get('case')}")
        weights, _ = base.read_safetensors(source / source_files(case.name)[0])
        io, _ = base.read_safetensors(source / source_files(case.name)[1])
        xs = [io[f"input.{k}"] for k in range(len(entry["inputTensors"]))]
        x64 = [x.astype(np.float64) for x in xs]
        batch, n_out0 = len(xs[0]), io["output.0"].shape[1]
        expected = {"class": [batch], "logits": [batch, n_out0], "ig_delta": [batch]}
        for k, x in enumerate(xs):
            for prefix in ("saliency", "saliency_logits", "integrated_gradients"):
                expected[f"{prefix}.{k}"] = list(x.shape)
        if case.attention_layer:
            expected["attention_weights"] = [batch, xs[0].shape[1], 1]
        if case.conv_layer:
            size = (xs[0].shape[1] - 2, xs[0].shape[2] - 2)                  # valid 3x3
            expected["grad_cam"] = expected["grad_cam_raw"] = [batch, *size]
        got = {n: list(v.shape) for n, v in t.items()}
        if got != expected:
            problems.append(f"tensors {got}, expected {expected}")
        if [{"name": n, "shape": got[n]} for n in sorted(got)] != entry["tensors"]:
            problems.append("tensors differ from the manifest")
        if [list(x.shape) for x in xs] != entry["inputShapes"]:
            problems.append("input shapes differ from the manifest")
        if problems:
            ok = False
            print(f"  {case.name:<17} FAIL: {'; '.join(problems)}")
            continue
        classes = t["class"].astype(np.int64)
        if not np.array_equal(t["class"], classes) or not np.array_equal(classes, np.argmax(io["output.0"], 1)):
            problems.append(f"class {t['class'].tolist()} is not the argmax of output.0")
        for name, v in t.items():
            if not np.all(np.isfinite(v)):
                problems.append(f"{name} is not finite")
            if name.startswith(("saliency", "integrated_gradients")) and not v.any():
                problems.append(f"{name} is all zero")
        reference = base._case(case.name).reference
        with logits_reference():
            z = reference(weights, *x64)[0]
        logit_gap = float(np.abs(z - t["logits"]).max())
        rows = np.arange(batch)
        p_x = reference(weights, *x64)[0][rows, classes]
        p_0 = reference(weights, *(np.zeros_like(x) for x in x64))[0][rows, classes]
        delta_gap = float(np.abs((p_x - p_0) - t["ig_delta"]).max())
        if not logit_gap <= 1e-5:
            problems.append(f"logits {logit_gap:.2e} from numpy's")
        if not delta_gap <= PREDICT_TOLERANCE:
            problems.append(f"ig_delta {delta_gap:.2e} from numpy's")
        n_in = len(xs)
        sal = directional_check(reference, weights, x64, [t[f"saliency.{k}"] for k in range(n_in)], classes, rng, False)
        sal_z = directional_check(reference, weights, x64, [t[f"saliency_logits.{k}"] for k in range(n_in)],
                                  classes, rng, True)
        checks = [("saliency", sal), ("saliency_logits", sal_z)]
        extra = base.lstm(x64[1], weights, case.concat_lstm) if case.concat_lstm else None
        if case.conv_layer:   # the baseline is a max-pool tie: the gradients by hand, element by element
            _, _, d_p = cnn_gradients(weights, x64[0], classes, probs=True, extra=extra)
            _, _, d_z = cnn_gradients(weights, x64[0], classes, probs=False, extra=extra)
            ig_ref, g0 = cnn_integrated_gradients(weights, x64[0], classes, *((x64[1], case.concat_lstm)
                                                                               if case.concat_lstm else ()))
            checks += [("saliency vs by hand", elementwise_gap(d_p, t["saliency.0"])),
                       ("saliency_logits vs by hand", elementwise_gap(d_z, t["saliency_logits.0"])),
                       ("integrated_gradients vs by hand", elementwise_gap(ig_ref, t["integrated_gradients.0"]))]
            share = float(np.abs(x64[0] * g0 / (2 * STEPS)).max() / np.abs(ig_ref).max())
            notes.append(f"the baseline's gradient g_0 (a max-pool tie, routed to each window's first pixel) "
                         f"makes up to {share:.1%} of max|IG|" + (" (the image's)" if case.concat_lstm else ""))
            if case.concat_lstm:   # the sequence by finite differences along it alone (the ties stay put)
                checks += [
                    ("saliency.1 along the sequence", directional_check(
                        reference, weights, x64, [t[f"saliency.{k}"] for k in range(n_in)], classes, rng, False,
                        only=(1,))),
                    ("saliency_logits.1 along the sequence", directional_check(
                        reference, weights, x64, [t[f"saliency_logits.{k}"] for k in range(n_in)], classes, rng,
                        True, only=(1,))),
                    ("integrated_gradients.1", ig_check(
                        reference, weights, x64, [t[f"integrated_gradients.{k}"] for k in range(n_in)], classes,
                        rng, only=(1,)))]
        else:
            checks.append(("integrated_gradients", ig_check(reference, weights, x64,
                                                            [t[f"integrated_gradients.{k}"] for k in range(n_in)],
                                                            classes, rng)))
        for what, worst in checks:
            if not worst <= 1e-4:   # float32 gradients vs float64 references: measured <= ~1e-6
                problems.append(f"{what} off by {worst:.2e} (relative)")
        notes.append(f"|logits - numpy| {logit_gap:.1e}, |ig_delta - numpy| {delta_gap:.1e}; relative gaps: "
                     + ", ".join(f"{what} {worst:.1e}" for what, worst in checks))
        _, err, rel = completeness(t, n_in)
        if not np.all(rel <= COMPLETENESS_BOUND):
            problems.append(f"|sum IG - ig_delta| = {err.max():.2e} > {COMPLETENESS_BOUND:g} * max(1, |ig_delta|)")
        if abs(float(err.max()) - entry["maxCompletenessError"]) > 1e-12:
            problems.append("the completeness error differs from the manifest's")
        if case.attention_layer:
            aw = t["attention_weights"].astype(np.float64)
            score = base.dense(np.tanh(base.dense(x64[0], weights, f"{case.attention_layer}.W")),
                               weights, f"{case.attention_layer}.V")
            gap = float(np.abs(base.softmax(score, axis=1) - aw).max())
            if not gap <= PREDICT_TOLERANCE:
                problems.append(f"attention_weights {gap:.2e} from numpy's")
            if not np.all(np.abs(aw.sum(axis=1) - 1) <= 1e-5):
                problems.append("attention_weights do not sum to 1 over time")
            notes.append(f"|attention_weights - numpy| {gap:.1e}")
        if case.conv_layer:
            cam, raw = t["grad_cam"], t["grad_cam_raw"]
            peak = raw.max(axis=(1, 2), keepdims=True)
            if cam.min() < 0 or cam.max() > 1:
                problems.append(f"grad_cam outside [0, 1]: [{cam.min()}, {cam.max()}]")
            if raw.min() < 0:
                problems.append("grad_cam_raw has negative entries")
            if not np.array_equal(cam, np.where(peak > 0, raw / np.where(peak > 0, peak, 1), 0).astype(np.float32)):
                problems.append("grad_cam is not grad_cam_raw / its per-sample max")
            if not np.all((cam.max(axis=(1, 2)) == 1) | ~raw.any(axis=(1, 2))):
                problems.append("a grad_cam's max is not 1")
            ref = grad_cam_reference(weights, x64[0], classes, extra)
            gap = float((np.abs(ref - raw).max(axis=(1, 2)) / np.maximum(ref.max(axis=(1, 2)), 1e-12)).max())
            if not gap <= 1e-5:
                problems.append(f"grad_cam_raw {gap:.2e} (relative to its max) from numpy's")
            notes.append(f"|grad_cam_raw - numpy| / max {gap:.1e}")
        ok &= not problems
        print(f"  {case.name:<17} max|sum IG - ig_delta| = {err.max():.2e} (relative {rel.max():.2e})  "
              + ("ok" if not problems else "FAIL: " + "; ".join(problems)))
        for note in notes:
            print(f"  {'':<17}   {note}")
    if total_size > SIZE_BUDGET:
        ok = False
        print(f"  total {total_size} B, over the {SIZE_BUDGET} B budget")
    return ok


# MARK: - Main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR,
                        help=f"the parity fixtures' directory (default {SOURCE_DIR})")
    parser.add_argument("--cases", metavar="NAME[,NAME...]",
                        help="generate only these cases and merge them into the manifest already in the "
                             "output directory; every other case's entry and file stay untouched")
    parser.add_argument("--check-only", action="store_true",
                        help="only check the files already on disk (needs numpy alone)")
    args = parser.parse_args()
    only = None
    if args.cases is not None:
        only = [n.strip() for n in args.cases.split(",") if n.strip()]
        unknown = sorted(set(only) - {c.name for c in CASES})
        if args.check_only or unknown or not only:
            parser.error(f"--cases takes case names ({', '.join(c.name for c in CASES)}) and works without "
                         "--check-only" + (f"; unknown: {unknown}" if unknown else ""))
    if not args.check_only:
        generate(args.out, args.source, only)
    ok = check(args.out, args.source)
    print("\ncheck:", "all checks passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
