#!/usr/bin/env python3
"""Generate the Keras int8 post-training quantization fixtures (``model.quantize("int8")``).

Rebuilds six parity cases of make_keras_fixtures.py (cnn, lstm, attention, multitask,
two_input_concat, crossmodal) with make_explanation_fixtures.py's loader (the case's Keras model, its
``<case>.weights.safetensors`` loaded by GraphJIT name, the ``input.k`` of ``<case>.io.safetensors``),
checks that Keras's float ``predict`` and ``model(x)`` reproduce the saved ``output.*`` within 1e-6
(it stops otherwise), calls Keras 3's own ``model.quantize("int8")`` and runs ``predict`` again on the
same inputs. Keras quantizes every Dense layer (the attention layer's ``W`` and ``V`` sublayers too);
Conv2D and LSTM (its LSTMCell) have no int8 mode and stay float. It writes into the output directory
(default ``Tests/GraphJITTests/Fixtures/Quantized``):

  <case>.safetensors   F32 tensors:
      output.k                  the int8 model's ``predict`` outputs, one per model output
      float_output.k            the float model's ``predict`` outputs (the same weights, before quantize)
      <layer>.kernel_int8       [K, N] the quantized Dense's int8 kernel (Keras's ``_kernel``) as float32:
                                integers in [-127, 127]
      <layer>.kernel_scale      [N] its ``kernel_scale`` (float32), one per output channel
                                (<layer> as GraphJIT names the layer's weights: dense, dense_1, ...,
                                attention_layer.W, attention_layer.V)
  <case>.keras         the quantized model as Keras 3 saves it (``model.save``), and whether Keras's own
                       ``load_model`` reads it back (the manifest's ``kerasFile``)
  manifest.json        per case the quantized layers (shapes, Keras variable paths), the layers left
                       float, max |int8 - float| per output, top-1 agreement, a per-layer probe (below),
                       the sha256 of the file and of its source weights/io files; the versions, and the
                       scheme with the Keras source lines it comes from (file:line, found in the
                       installed Keras at generation time)

The scheme (Keras 3.15.1, TensorFlow backend), per quantized Dense with float kernel W [K, N]:

  weights, once, in numpy float32 (Dense.quantize -> abs_max_quantize(to_numpy=True), axis 0):
      s_w[n] = float32(127) / (max_k |W[k, n]| + float32(1e-7))
      Wq     = int8(clip(round_half_even(W * s_w), -127, 127))
  every call (Dense._int8_call, TensorFlow float32 ops), x [..., K], rows along the last axis (a 3-D
  (batch, time, features) input has one scale per (batch, time) row):
      s_x  = float32(127) / (max_k |x[..., k]| + float32(1e-7))              [..., 1]
      xq   = int8(clip(round_half_even(x * s_x), -127, 127))
      acc  = int32 matmul(xq, Wq)                                           (exact)
      y    = float32(acc) / (s_w * s_x)      s_w * s_x multiplied first, then one division
      y    = activation(y + bias)

The per-layer probe (generation only, TensorFlow): the exact input Keras feeds each quantized Dense,
the layer's own output without its activation (eager and in a tf.function), and this scheme in
numpy on that input: bit-identical or not, and how many elements other orders would change
(acc / s_w / s_x, acc * (1 / (s_w s_x)), round half away from zero).

Usage (from the package root; run make_keras_fixtures.py first, these fixtures depend on its files):

  python Tests/KerasFixtures/make_quantization_fixtures.py               # regenerate, then check
  python Tests/KerasFixtures/make_quantization_fixtures.py --check-only  # check the files (numpy only)

The check (numpy only) reads every file back, compares names, shapes and sha256 with the manifest (and
the source weights/io files' sha256, so regenerated parity fixtures make it fail until these are
regenerated too), re-derives every Wq and s_w from the case's float weights file with the scheme
above (they must equal the saved kernel_int8 and kernel_scale bit for bit; otherwise it reports the
max ulp difference of s_w), then runs the quantized model in numpy: each quantized Dense exactly as
above in float32, every other layer (Conv2D, max pooling, LSTM, tanh, softmax, the attention
weighted sum) with make_keras_fixtures.py's float64 references, its result rounded to float32 where
it enters a quantized Dense. It reports max |numpy - Keras int8 output| per case (must be <= 1e-4),
the float reference against float_output.k (<= 1e-6), and recomputes the manifest's statistics.
It also prints what wrong variants would give against Keras's int8 outputs: the dequantization as
acc / s_w / s_x (~1e-7: a 1e-4 tolerance cannot see the order, only a per-layer bitwise comparison
can), weight-only quantization (x left float: 4e-4 .. 3e-3) and, for the attention case, one s_x per
sample over (time, features) instead of per (batch, time) row (6e-4).

Same inputs, same library versions, same machine -> the same bytes.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_keras_fixtures as base  # noqa: E402  (numpy only at import; Keras is loaded lazily)
import make_explanation_fixtures as explain  # noqa: E402  (its loader: load_case, check_reproduces)

SOURCE_DIR = base.DEFAULT_OUT
DEFAULT_OUT = SOURCE_DIR / "Quantized"
CASES = ("cnn", "lstm", "attention", "multitask", "two_input_concat", "crossmodal")
PREDICT_TOLERANCE = explain.PREDICT_TOLERANCE       # Keras float vs the saved output.*, float reference
REDERIVE_TOLERANCE = 1e-4                           # numpy re-derivation vs Keras's int8 outputs
QMAX = np.float32(127)
EPSILON = np.float32(1e-7)                          # keras.backend.epsilon(), checked at generation
SIZE_BUDGET = 1_300_000                             # bytes, every file written here together

SCHEME = {
    "quantize": 'model.quantize("int8"): the default Int8QuantizationConfig, every leaf layer that has '
                "an int8 mode (Dense); Conv2D and LSTMCell raise NotImplementedError and stay float",
    "weights": "s_w[n] = float32(127) / (max_k |W[k, n]| + float32(1e-7)) in numpy float32; "
               "Wq = int8(clip(round_half_even(W * s_w), -127, 127)); kernel_scale = s_w (shape [N])",
    "inputs": "s_x = float32(127) / (max over the last axis of |x| + float32(1e-7)), keepdims: one scale "
              "per row, per (batch, time) row for a 3-D input; xq = int8(clip(round_half_even(x * s_x), "
              "-127, 127))",
    "matmul": "acc = matmul(xq, Wq) with int8 operands and an int32 result (tf.matmul output_type=int32, "
              "also for a 3-D xq): exact",
    "dequantize": "y = float32(acc) / (s_w * s_x): the two scales multiplied first (float32, broadcast to "
                  "[..., N]), then one float32 division; then y + bias, then the activation",
}

# The Keras source lines the scheme comes from: (file under keras/, the function to search in, text).
# Generation finds each in the installed Keras and records file:line; it stops if one is missing.
SOURCE_LINES = [
    ("src/layers/core/dense.py", "quantize", "quantizers.AbsMaxQuantizer(axis=0)"),
    ("src/layers/core/dense.py", "quantize", "kernel_value, kernel_scale = weight_quantizer("),
    ("src/layers/core/dense.py", "quantize", "self._kernel, to_numpy=True"),
    ("src/layers/core/dense.py", "quantize", "kernel_scale = ops.squeeze(kernel_scale, axis=0)"),
    ("src/layers/core/dense.py", "quantize", "self._kernel.assign(kernel_value)"),
    ("src/layers/core/dense.py", "quantize", "self.kernel_scale.assign(kernel_scale)"),
    ("src/layers/core/dense.py", "_int8_build", "config, quantizers.AbsMaxQuantizer()"),
    ("src/layers/core/dense.py", "_int8_build", 'dtype="int8",'),
    ("src/layers/core/dense.py", "_int8_build", 'name="kernel_scale",'),
    ("src/layers/core/dense.py", "_int8_call", "output_scale = kernel_scale"),
    ("src/layers/core/dense.py", "_int8_call", "inputs, inputs_scale = self.inputs_quantizer(inputs, axis=-1)"),
    ("src/layers/core/dense.py", "_int8_call", "output_scale = ops.multiply(output_scale, inputs_scale)"),
    ("src/layers/core/dense.py", "_int8_call", "x = ops.matmul(inputs, kernel)"),
    ("src/layers/core/dense.py", "_int8_call", "x = ops.cast(x, self.compute_dtype)"),
    ("src/layers/core/dense.py", "_int8_call", "x = ops.divide(x, output_scale)"),
    ("src/layers/core/dense.py", "_int8_call", "x = ops.add(x, self.bias)"),
    ("src/layers/core/dense.py", "_int8_call", "x = self.activation(x)"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "epsilon=backend.epsilon(),"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "scale = np.divide("),
    ("src/quantizers/quantizers.py", "abs_max_quantize",
     "np.add(np.max(np.abs(inputs), axis=axis, keepdims=True), epsilon),"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "outputs = np.multiply(inputs, scale)"),
    ("src/quantizers/quantizers.py", "abs_max_quantize",
     "outputs = np.clip(np.round(outputs), value_range[0], value_range[1])"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "scale = ops.divide("),
    ("src/quantizers/quantizers.py", "abs_max_quantize",
     "ops.add(ops.max(ops.abs(inputs), axis=axis, keepdims=True), epsilon),"),
    ("src/quantizers/quantizers.py", "abs_max_quantize",
     "scale = ops.cast(scale, backend.standardize_dtype(inputs.dtype))"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "outputs = ops.multiply(inputs, scale)"),
    ("src/quantizers/quantizers.py", "abs_max_quantize",
     "outputs = ops.clip(ops.round(outputs), value_range[0], value_range[1])"),
    ("src/quantizers/quantizers.py", "abs_max_quantize", "outputs = ops.cast(outputs, dtype)"),
    ("src/quantizers/quantizers.py", "AbsMaxQuantizer", "axis = -1"),
    ("src/backend/tensorflow/numpy.py", "matmul", 'result_dtype = "int32"'),
    ("src/backend/tensorflow/numpy.py", "matmul", "and output_type is None"),
    ("src/backend/tensorflow/numpy.py", "matmul", "output = tf.matmul(x1, x2, output_type=output_type)"),
    ("src/backend/tensorflow/numpy.py", "round", "return tf.round(x)"),
    ("src/backend/tensorflow/numpy.py", "divide", "return tf.divide(x1, x2)"),
]


def case_spec(name: str):
    """What make_explanation_fixtures' load_case and check_reproduces read of a case: its name."""
    return SimpleNamespace(name=name)


def as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


# MARK: - The scheme in numpy float32 (used by the generation's probe and by the check)

def quantize_kernel(w):
    """Dense.quantize's abs_max_quantize(W, axis=0, to_numpy=True), in numpy float32."""
    w = np.asarray(w, np.float32)
    s_w = QMAX / (np.abs(w).max(axis=0) + EPSILON)
    wq = np.clip(np.round(w * s_w), -127, 127)        # np.round: half to even
    return wq.astype(np.int8), s_w.astype(np.float32)


def half_ties(v) -> int:
    """Elements exactly halfway between two integers (where half-even and half-away differ)."""
    v = np.asarray(v)
    return int(np.count_nonzero(np.abs(v - np.floor(v) - 0.5) == 0))


def int8_dense(x, wq, s_w, bias, order="keras", rounding="half_even", scale_axes="row", weight_only=False):
    """Dense._int8_call without its activation, in numpy float32. Returns (y, stats). The keywords
    pick other (wrong) variants, for the contrasts: `order` of the dequantization, `rounding` half
    away from zero, `scale_axes="sample"` (one s_x per sample over every non-batch axis instead of one
    per row of the last axis), `weight_only` (x not quantized: y = (x @ Wq) / s_w)."""
    x = np.asarray(x, np.float32)
    if weight_only:
        y = np.matmul(x.astype(np.float64), np.asarray(wq, np.float64)).astype(np.float32) / s_w
        y = y if bias is None else y + np.asarray(bias, np.float32)
        return y.astype(np.float32), {"maxAbsAcc": 0, "inputHalfTies": 0}
    axes = -1 if scale_axes == "row" else tuple(range(1, x.ndim))
    s_x = QMAX / (np.abs(x).max(axis=axes, keepdims=True) + EPSILON)
    scaled = x * s_x
    rounded = np.round(scaled) if rounding == "half_even" else np.trunc(scaled + np.copysign(0.5, scaled))
    xq = np.clip(rounded, -127, 127).astype(np.int64)
    acc = np.matmul(xq, np.asarray(wq, np.int64))
    if np.abs(acc).max(initial=0) > 2**31 - 1:
        raise OverflowError("the int32 accumulator would overflow")
    a = acc.astype(np.float32)                        # exact below 2^24 (every case here: < 1.3e7)
    if order == "keras":
        y = a / (s_w * s_x)
    elif order == "acc/s_w/s_x":
        y = a / s_w / s_x
    elif order == "acc*(1/(s_w*s_x))":
        y = a * (np.float32(1) / (s_w * s_x))
    else:
        raise ValueError(order)
    if bias is not None:
        y = y + np.asarray(bias, np.float32)
    return y.astype(np.float32), {"maxAbsAcc": int(np.abs(acc).max(initial=0)), "inputHalfTies": half_ties(scaled)}


@contextmanager
def quantized_dense(layers: dict[str, tuple[np.ndarray, np.ndarray]], stats: dict | None = None, **variant):
    """Makes make_keras_fixtures' `dense` (its references and `attention` look it up at call time) the
    int8 Dense for the named layers: the float64 input rounded to float32, int8_dense (with `variant`'s
    keywords), then the activation in float64 as the references apply it."""
    saved = base.dense

    def dense(x, weights, name, activation="linear"):
        if name not in layers:
            raise KeyError(f"{name} is a Dense but not among the quantized layers {sorted(layers)}")
        wq, s_w = layers[name]
        y, st = int8_dense(np.asarray(x, np.float64).astype(np.float32), wq, s_w, weights.get(f"{name}.bias"),
                           **variant)
        if stats is not None:
            stats.setdefault(name, []).append(st)
        return base.ACTIVATIONS[activation](y.astype(np.float64))

    base.dense = dense
    try:
        yield
    finally:
        base.dense = saved


def top1_agreement(a, b) -> float:
    return float(np.mean(np.argmax(a, axis=-1) == np.argmax(b, axis=-1)))


def ulp_gap(a, b) -> int:
    """Max distance in float32 ulps (finite, same-sign values)."""
    ia, ib = np.asarray(a, np.float32).view(np.int32).astype(np.int64), np.asarray(b, np.float32).view(np.int32).astype(np.int64)
    return int(np.abs(ia - ib).max(initial=0))


def quantized_names(weights) -> list[str]:
    """The Dense layers of a weights file, by GraphJIT name: dense, dense_N, attention_layer.W/V."""
    return sorted(n[:-len(".kernel")] for n in weights
                  if re.fullmatch(r"(dense(_\d+)?|attention_layer(_\d+)?\.(W|V))\.kernel", n))


# MARK: - Generation (TensorFlow)

def source_lines(keras) -> dict[str, str]:
    """file:line -> text for SOURCE_LINES in the installed Keras (each searched in its function)."""
    import keras.src.backend.tensorflow.numpy as tfnp
    import keras.src.layers.core.dense as dense_mod
    import keras.src.quantizers.quantizers as quant_mod
    modules = {"src/layers/core/dense.py": dense_mod, "src/quantizers/quantizers.py": quant_mod,
               "src/backend/tensorflow/numpy.py": tfnp}
    owners = {"quantize": dense_mod.Dense.quantize, "_int8_build": dense_mod.Dense._int8_build,
              "_int8_call": dense_mod.Dense._int8_call, "abs_max_quantize": quant_mod.abs_max_quantize,
              "AbsMaxQuantizer": quant_mod.AbsMaxQuantizer, "matmul": tfnp.matmul, "round": tfnp.round,
              "divide": tfnp.divide}
    found = {}
    for fname, owner, text in SOURCE_LINES:
        fn = inspect.unwrap(owners[owner])
        lines, start = inspect.getsourcelines(fn)
        hits = [start + i for i, line in enumerate(lines) if text in line]
        if not hits:
            sys.exit(f"keras/{fname}: {owner} has no line {text!r}: the int8 scheme changed; re-read it")
        if Path(inspect.getsourcefile(fn)).resolve() != Path(modules[fname].__file__).resolve():
            sys.exit(f"{owner} is not defined in keras/{fname}")
        found[f"keras/{fname}:{hits[0]}"] = f"({owner}) {lines[hits[0] - start].strip()}"
    return found


def dense_layers(keras, model) -> dict[str, object]:
    """GraphJIT name -> Dense layer, in model order (the attention layer's as attention_layer.W/V);
    checks that these are every Dense the model holds, nested ones included."""
    found = {}
    for layer in model.layers:
        if isinstance(layer, base.AttentionLayer):
            for sub in (layer.W, layer.V):
                found[f"{layer.name}.{sub.name}"] = sub
        elif isinstance(layer, keras.layers.Dense):
            found[layer.name] = layer
    every = {id(l) for l in model._flatten_layers() if isinstance(l, keras.layers.Dense)}
    if every != {id(l) for l in found.values()}:
        raise RuntimeError(f"{model.name}: Dense layers not covered by GraphJIT names")
    return found


def dense_inputs(keras, model, layers, inputs) -> dict[str, np.ndarray]:
    """The exact float32 input Keras feeds each (quantized) Dense, eager: top-level layers through a
    sub-model ending at their inputs, the attention sublayers as its call() applies them."""
    top = [n for n in layers if "." not in n]
    got = {}
    if top:
        sub = keras.Model(model.inputs, [layers[n].input for n in top], name=f"{model.name}_dense_inputs")
        for n, v in zip(top, as_list(sub(list(inputs), training=False))):   # model.inputs is a list
            got[n] = np.asarray(v, np.float32)
    for att_name in dict.fromkeys(n.split(".")[0] for n in layers if "." in n):
        att = model.get_layer(att_name)
        x = keras.ops.convert_to_tensor(inputs[0])   # the attention layer reads the model input
        got[f"{att.name}.W"] = np.asarray(x, np.float32)
        got[f"{att.name}.V"] = np.asarray(keras.ops.tanh(att.W(x)), np.float32)
    return got


def probe_layer(tf, keras, layer, x_in, wq, s_w, bias) -> dict:
    """The layer's own _int8_call on x_in without its activation (eager and tf.function) against
    int8_dense, and how many elements the other orders/rounding would change."""
    saved = layer.activation
    layer.activation = None
    try:
        eager = np.asarray(layer(x_in), np.float32)
        graph = np.asarray(tf.function(lambda t: layer(t))(tf.constant(x_in)), np.float32)
    finally:
        layer.activation = saved
    ours, st = int8_dense(x_in, wq, s_w, bias)
    result = {
        "inputShape": list(x_in.shape),
        "bitIdenticalEager": bool(np.array_equal(ours.view(np.int32), eager.view(np.int32))),
        "bitIdenticalGraph": bool(np.array_equal(ours.view(np.int32), graph.view(np.int32))),
        "maxAbsDiff": float(max(np.abs(ours - eager).max(), np.abs(ours - graph).max())),
        "maxAbsAcc": st["maxAbsAcc"],
        "inputHalfTies": st["inputHalfTies"],
        "otherOrdersChange": {},
    }
    for order, rounding in (("acc/s_w/s_x", "half_even"), ("acc*(1/(s_w*s_x))", "half_even"),
                            ("keras", "half_away")):
        alt, _ = int8_dense(x_in, wq, s_w, bias, order, rounding)
        key = order if rounding == "half_even" else "round half away from zero"
        result["otherOrdersChange"][key] = int(np.count_nonzero(alt.view(np.int32) != eager.view(np.int32)))
    result["elements"] = int(eager.size)
    return result


def quantize_case(tf, keras, name: str, source: Path):
    spec = case_spec(name)
    model, inputs, saved_outputs = explain.load_case(keras, spec, source)
    float_predict_diff = explain.check_reproduces(spec, model, inputs, saved_outputs)
    x, batch = explain.feed(inputs), len(inputs[0])
    float_outputs = [np.asarray(y, np.float32) for y in as_list(model.predict(x, batch_size=batch, verbose=0))]
    layers = dense_layers(keras, model)
    weights, _ = base.read_safetensors(source / explain.source_files(name)[0])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int8")
    leaves = [l for l in model._flatten_layers() if len(list(l._flatten_layers())) == 1 and l.weights]
    quantized = [l for l in leaves if getattr(l, "quantization_mode", None) == "int8"]
    if {id(l) for l in quantized} != {id(l) for l in layers.values()}:
        sys.exit(f"{name}: Keras quantized {[l.name for l in quantized]}, the model's Dense layers are {list(layers)}")
    stayed_float = [{"name": l.name, "class": type(l).__name__} for l in leaves
                    if getattr(l, "quantization_mode", None) is None]
    skipped = sorted({str(w.message).split(".")[0] for w in caught if "quantize" in str(w.message)})

    tensors, entries, probes = {}, [], {}
    int8_inputs = dense_inputs(keras, model, layers, inputs)
    for gname, layer in layers.items():
        kernel = layer._kernel
        if keras.backend.standardize_dtype(kernel.dtype) != "int8":
            sys.exit(f"{name}: {gname}'s _kernel is {kernel.dtype}, not int8")
        wq = np.asarray(keras.ops.convert_to_numpy(kernel))
        s_w = np.asarray(keras.ops.convert_to_numpy(layer.kernel_scale), np.float32)
        if wq.shape != weights[f"{gname}.kernel"].shape or s_w.shape != (wq.shape[1],):
            sys.exit(f"{name}: {gname} kernel {wq.shape}, scale {s_w.shape}")
        bias = None
        if layer.use_bias:
            bias = np.asarray(keras.ops.convert_to_numpy(layer.bias), np.float32)
            if not np.array_equal(bias, weights[f"{gname}.bias"]):
                sys.exit(f"{name}: {gname}'s bias changed in quantize")
        tensors[f"{gname}.kernel_int8"] = wq.astype(np.float32)
        tensors[f"{gname}.kernel_scale"] = s_w
        probes[gname] = probe_layer(tf, keras, layer, int8_inputs[gname], wq, s_w, bias)
        entries.append({"name": gname, "kerasLayer": layer.path,
                        "activation": keras.activations.serialize(layer.activation),
                        "kernelShape": list(wq.shape), "kernelScaleShape": list(s_w.shape),
                        "variables": {"kernel_int8": kernel.path, "kernel_scale": layer.kernel_scale.path},
                        "kernelInt8Range": [int(wq.min()), int(wq.max())]})

    int8_outputs = [np.asarray(y, np.float32) for y in as_list(model.predict(x, batch_size=batch, verbose=0))]
    eager = [np.asarray(y, np.float32) for y in as_list(model(x, training=False))]
    for i, (y, f) in enumerate(zip(int8_outputs, float_outputs)):
        tensors[f"output.{i}"] = y
        tensors[f"float_output.{i}"] = f
    stats = {
        "floatPredictMaxDiff": float_predict_diff,
        "int8PredictVsEagerMaxDiff": max(float(np.abs(a - b).max()) for a, b in zip(int8_outputs, eager)),
        "maxAbsInt8MinusFloat": max(float(np.abs(a - b).max()) for a, b in zip(int8_outputs, float_outputs)),
        "maxAbsInt8MinusFloatPerOutput": [float(np.abs(a - b).max()) for a, b in zip(int8_outputs, float_outputs)],
        "top1Agreement": [top1_agreement(a, b) for a, b in zip(int8_outputs, float_outputs)],
    }
    return model, inputs, tensors, entries, stayed_float, skipped, probes, stats


def save_keras_file(keras, model, x, expected, path: Path) -> dict:
    """`model.save(path)` of the quantized model, then whether Keras's own `load_model` reads it back
    and predicts `expected` again (it cannot for a custom layer whose Dense sublayers were quantized:
    their config does not say so)."""
    model.save(path)
    entry = {"file": path.name, "sha256": base.sha256(path), "bytes": path.stat().st_size}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = keras.models.load_model(path)
        again = [np.asarray(y, np.float32) for y in as_list(loaded.predict(x, batch_size=len(expected[0]), verbose=0))]
        entry["kerasLoadsBack"] = True
        entry["kerasReloadMaxDiff"] = max(float(np.abs(a - b).max()) for a, b in zip(again, expected))
    except Exception as error:  # noqa: BLE001 -- recorded, and GraphJIT's test expects the same outcome
        entry["kerasLoadsBack"] = False
        entry["kerasLoadError"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    return entry


def generate(out: Path, source: Path) -> None:
    tf, keras = base.load_keras()
    vers = base.versions(tf, keras)
    if np.float32(keras.backend.epsilon()) != EPSILON:
        sys.exit(f"keras.backend.epsilon() is {keras.backend.epsilon()}, the scheme assumes 1e-7")
    lines = source_lines(keras)
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / "manifest.json"
    previous = json.loads(mpath.read_text()) if mpath.exists() else None
    print(f"Quantization fixtures -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}; "
          f"sources {source})")
    cases = []
    for name in CASES:
        model, inputs, tensors, layers, stayed_float, skipped, probes, stats = quantize_case(tf, keras, name, source)
        path = out / f"{name}.safetensors"
        base.write_safetensors(path, tensors, {"case": name, "quantization": "int8",
                                               "generator": "make_quantization_fixtures.py", **vers})
        keras_file = save_keras_file(keras, model, explain.feed(inputs),
                                     [tensors[f"output.{i}"] for i in range(len(model.outputs))],
                                     out / f"{name}.keras")
        entry = {
            "name": name,
            "file": path.name,
            "sources": {f: base.sha256(source / f) for f in explain.source_files(name)},
            "inputNames": [t.name for t in model.inputs],
            "inputShapes": [list(x.shape) for x in inputs],
            "outputShapes": [list(tensors[f"output.{i}"].shape) for i in range(len(model.outputs))],
            "quantizedLayers": layers,
            "floatLayers": stayed_float,
            "quantizeWarnings": skipped,
            "tensors": [{"name": n, "shape": list(tensors[n].shape)} for n in sorted(tensors)],
            **stats,
            "layerProbe": probes,
            "sha256": base.sha256(path),
            "kerasFile": keras_file,
        }
        cases.append(entry)
        exact = all(p["bitIdenticalEager"] and p["bitIdenticalGraph"] for p in probes.values())
        print(f"  {name:<17} {path.stat().st_size:>7} B  int8 Dense: "
              + ", ".join(f"{l['name']} {l['kernelShape']}" for l in layers) + "; float: "
              + (", ".join(f"{l['name']} ({l['class']})" for l in stayed_float) or "-"))
        print(f"  {'':<17} max|int8 - float| {stats['maxAbsInt8MinusFloat']:.3e}  top-1 agreement "
              f"{stats['top1Agreement']}  |float predict - saved| {stats['floatPredictMaxDiff']:.1e}  "
              f"|int8 predict - model(x)| {stats['int8PredictVsEagerMaxDiff']:.1e}")
        print(f"  {'':<17} probe (Keras's own input to each int8 Dense): numpy scheme bit-identical to "
              f"_int8_call {'in every layer' if exact else 'NOT everywhere'}; other orders would change "
              + "; ".join(f"{g}: " + ", ".join(f"{k} {v}/{p['elements']}" for k, v in p["otherOrdersChange"].items())
                          for g, p in probes.items()))
    if previous:
        old = {e["name"]: e["sha256"] for e in previous["cases"]}
        same = [e["name"] for e in cases if old.get(e["name"]) == e["sha256"]]
        changed = [e["name"] for e in cases if e["name"] in old and old[e["name"]] != e["sha256"]]
        print(f"against the previous manifest: {len(same)} of {len(cases)} files byte-identical, "
              f"changed: {', '.join(changed) or 'none'}")
    manifest = {"generator": "Tests/KerasFixtures/make_quantization_fixtures.py", **vers,
                "sourceDirectory": "Tests/GraphJITTests/Fixtures", "epsilon": float(keras.backend.epsilon()),
                "scheme": SCHEME, "kerasSource": lines, "cases": cases}
    mpath.write_text(base.format_json(manifest))
    total = sum((out / e["file"]).stat().st_size + e["kerasFile"]["bytes"] for e in cases) + mpath.stat().st_size
    for e in cases:
        k = e["kerasFile"]
        print(f"  {e['name']:<17} {k['file']} {k['bytes']} B: Keras loads it back "
              + (f"(max |reloaded - int8| {k['kerasReloadMaxDiff']:.1e})" if k["kerasLoadsBack"] else f"NO: {k['kerasLoadError']}"))
    print(f"manifest.json {mpath.stat().st_size} B; total {total} B (budget {SIZE_BUDGET} B)")
    if total > SIZE_BUDGET:
        sys.exit(f"quantization fixtures take {total} B, over the {SIZE_BUDGET} B budget")


# MARK: - Check (numpy only)

def check(out: Path, source: Path) -> bool:
    manifest = json.loads((out / "manifest.json").read_text())
    ok = [e["name"] for e in manifest["cases"]] == list(CASES)
    if not ok:
        print(f"  manifest lists {[e['name'] for e in manifest['cases']]}, expected {list(CASES)}")
    print(f"\nCheck {out} (numpy: Wq and s_w re-derived bit for bit; the int8 forward in float32, the float "
          f"layers with make_keras_fixtures' float64 references; fixtures from tensorflow "
          f"{manifest['tensorflow']}, keras {manifest['keras']})")
    total_size = (out / "manifest.json").stat().st_size
    for entry in manifest["cases"]:
        name, problems = entry["name"], []
        path = out / entry["file"]
        total_size += path.stat().st_size
        t, meta = base.read_safetensors(path)
        if base.sha256(path) != entry["sha256"]:
            problems.append(f"{path.name} sha256 differs from the manifest")
        keras_path = out / entry["kerasFile"]["file"]
        if not keras_path.exists() or base.sha256(keras_path) != entry["kerasFile"]["sha256"]:
            problems.append(f"{keras_path.name} is missing or differs from the manifest")
        else:
            total_size += keras_path.stat().st_size
        for fname, digest in entry["sources"].items():
            if base.sha256(source / fname) != digest:
                problems.append(f"{fname} changed since these fixtures were made: regenerate them")
        if meta.get("case") != name:
            problems.append(f"metadata names case {meta.get('case')}")
        weights, _ = base.read_safetensors(source / explain.source_files(name)[0])
        io, _ = base.read_safetensors(source / explain.source_files(name)[1])
        xs = [io[f"input.{k}"] for k in range(len(entry["inputShapes"]))]
        names = quantized_names(weights)
        if sorted(l["name"] for l in entry["quantizedLayers"]) != names:
            problems.append(f"quantized layers {[l['name'] for l in entry['quantizedLayers']]}, the weights' Dense {names}")
        n_out = len(entry["outputShapes"])
        expected = {f"{p}.{i}": s for i, s in enumerate(entry["outputShapes"]) for p in ("output", "float_output")}
        for n in names:
            k = list(weights[f"{n}.kernel"].shape)
            expected[f"{n}.kernel_int8"], expected[f"{n}.kernel_scale"] = k, [k[1]]
        got = {n: list(v.shape) for n, v in t.items()}
        if got != expected:
            problems.append(f"tensors {got}, expected {expected}")
        if [{"name": n, "shape": got[n]} for n in sorted(got)] != entry["tensors"]:
            problems.append("tensors differ from the manifest")
        if problems:
            ok = False
            print(f"  {name:<17} FAIL: {'; '.join(problems)}")
            continue

        # Wq and s_w from the float kernel, bit for bit.
        layers, kernel_notes, worst_ulp = {}, [], 0
        for n in names:
            saved_q, saved_s = t[f"{n}.kernel_int8"], t[f"{n}.kernel_scale"]
            if not (np.array_equal(saved_q, np.round(saved_q)) and np.abs(saved_q).max() <= 127):
                problems.append(f"{n}.kernel_int8 holds values that are not integers in [-127, 127]")
            wq, s_w = quantize_kernel(weights[f"{n}.kernel"])
            w_ties = half_ties(weights[f"{n}.kernel"] * s_w)
            if not np.array_equal(wq.astype(np.float32), saved_q):
                problems.append(f"{n}: {int(np.count_nonzero(wq != saved_q))} Wq entries differ from kernel_int8")
            gap = ulp_gap(s_w, saved_s)
            worst_ulp = max(worst_ulp, gap)
            if gap:
                problems.append(f"{n}: s_w differs from kernel_scale by up to {gap} ulp")
            kernel_notes.append(f"{n} {list(wq.shape)} ({w_ties} half ties in W*s_w)")
            layers[n] = (saved_q.astype(np.int8), saved_s)

        # The quantized model in numpy.
        reference = base._case(name).reference
        x64 = [x.astype(np.float64) for x in xs]
        dstats = {}
        base.FRAGILE.clear()
        with quantized_dense(layers, dstats):
            q_ref = reference(weights, *x64)
        float_ref = reference(weights, *x64)
        ys = [t[f"output.{i}"] for i in range(n_out)]
        fs = [t[f"float_output.{i}"] for i in range(n_out)]
        rederive = max(float(np.abs(r - y).max()) for r, y in zip(q_ref, ys))
        float_gap = max(float(np.abs(r - f).max()) for r, f in zip(float_ref, fs))
        saved_gap = max(float(np.abs(io[f"output.{i}"] - f).max()) for i, f in enumerate(fs))
        int8_float = [float(np.abs(y - f).max()) for y, f in zip(ys, fs)]
        agree = [top1_agreement(y, f) for y, f in zip(ys, fs)]
        numpy_agree = [top1_agreement(r, y) for r, y in zip(q_ref, ys)]
        if not rederive <= REDERIVE_TOLERANCE:
            problems.append(f"max|numpy int8 - keras int8| = {rederive:.2e} > {REDERIVE_TOLERANCE:g}")
        if not float_gap <= PREDICT_TOLERANCE:
            problems.append(f"float_output {float_gap:.2e} from the float64 reference")
        if not saved_gap <= PREDICT_TOLERANCE:
            problems.append(f"float_output {saved_gap:.2e} from the parity fixture's output.*")
        if int8_float != entry["maxAbsInt8MinusFloatPerOutput"] or agree != entry["top1Agreement"]:
            problems.append("max|int8 - float| or top-1 agreement differ from the manifest's")
        if any(p < 1 for p in numpy_agree):
            problems.append(f"numpy's int8 top-1 disagrees with Keras's: {numpy_agree}")
        if base.FRAGILE:
            problems.append(f"order-dependent float32 results: {base.FRAGILE}")
        probe = entry["layerProbe"]
        if not all(p["bitIdenticalEager"] and p["bitIdenticalGraph"] for p in probe.values()):
            problems.append("the manifest's probe says the scheme is not bit-identical to Keras's _int8_call")
        contrasts = {"dequantize acc / s_w / s_x": {"order": "acc/s_w/s_x"},
                     "weight-only (x not quantized)": {"weight_only": True}}
        if any(x.ndim == 3 for x in xs) and any("." in n for n in names):   # the attention W's (B, T, F) rows
            contrasts["one s_x per sample (3-D input)"] = {"scale_axes": "sample"}
        contrast_gaps = {}
        for what, variant in contrasts.items():
            with quantized_dense(layers, **variant):
                alt = reference(weights, *x64)
            contrast_gaps[what] = max(float(np.abs(r - y).max()) for r, y in zip(alt, ys))
        acc = max(s["maxAbsAcc"] for v in dstats.values() for s in v)
        ties = sum(s["inputHalfTies"] for v in dstats.values() for s in v)
        ok &= not problems
        print(f"  {name:<17} max|numpy - keras int8| = {rederive:.2e}  max|int8 - float| = {max(int8_float):.3e}  "
              f"top-1 {agree}  Wq, s_w bit-identical: {'yes' if worst_ulp == 0 and not any('Wq' in p for p in problems) else 'NO'}"
              f"  {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
        print(f"  {'':<17}   int8 Dense: {', '.join(kernel_notes)}; max|acc| {acc} (< 2^24: exact in float32); "
              f"{ties} half ties in x*s_x; |float reference - float_output| {float_gap:.1e}")
        print(f"  {'':<17}   contrasts, max|variant - keras int8|: "
              + ", ".join(f"{what} {gap:.1e}" for what, gap in contrast_gaps.items()))
    if total_size > SIZE_BUDGET:
        ok = False
        print(f"  total {total_size} B, over the {SIZE_BUDGET} B budget")
    return ok


# MARK: - Round trip through GraphJIT

def roundtrip(out: Path, source: Path, graphjit: str) -> bool:
    """GraphJIT's int8 writer against Keras's loader: every case's Keras-saved int8 file that Keras
    itself loads is converted by `GRAPHJIT convert` (read, then written by GraphJIT) and loaded in
    Keras, which must predict Keras's int8 outputs within 1e-6; and GraphJIT's own `quantized(.int8)`
    of the float parity model (`convert --model multitask --weights W --quantize int8`) must give a
    file Keras loads with the same outputs."""
    import subprocess
    import tempfile
    tf, keras = base.load_keras()
    manifest = json.loads((out / "manifest.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="graphjit-int8-roundtrip-"))
    ok = True
    print(f"Round trip through {graphjit} (Keras {keras.__version__}; files in {work})")
    for entry in manifest["cases"]:
        name = entry["name"]
        t, _ = base.read_safetensors(out / entry["file"])
        io, _ = base.read_safetensors(source / explain.source_files(name)[1])
        xs = [io[f"input.{k}"] for k in range(len(entry["inputShapes"]))]
        expected = [t[f"output.{i}"] for i in range(len(entry["outputShapes"]))]
        jobs = []
        if entry["kerasFile"]["kerasLoadsBack"]:
            jobs.append(("Keras's file re-saved", ["--model", str(out / entry["kerasFile"]["file"])]))
        if name == "multitask":  # the one parity case at the built-in model's full size
            jobs.append(("built-in + parity weights, --quantize int8",
                         ["--model", name, "--weights", str(source / explain.source_files(name)[0]), "--quantize", "int8"]))
        if not jobs:
            print(f"  {name:<17} skipped: Keras cannot load its own int8 file of this case "
                  f"({entry['kerasFile'].get('kerasLoadError', '')[:80]}...)")
        for what, arguments in jobs:
            target = work / f"{name}-{len(arguments)}.keras"
            run = subprocess.run([graphjit, "convert", *arguments, "--output", str(target)], capture_output=True, text=True)
            if run.returncode != 0:
                ok = False
                print(f"  {name:<17} {what}: graphjit convert FAILED: {run.stderr.strip()}")
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = keras.models.load_model(target)
            got = [np.asarray(y, np.float32) for y in as_list(model.predict(explain.feed(xs), batch_size=len(xs[0]), verbose=0))]
            gap = max(float(np.abs(a - b).max()) for a, b in zip(got, expected))
            int8 = sorted(l.name for l in model._flatten_layers() if getattr(l, "quantization_mode", None) == "int8")
            good = gap <= 1e-6 and int8 == sorted(l["kerasLayer"].split("/")[-1] for l in entry["quantizedLayers"])
            ok &= good
            print(f"  {name:<17} {what}: Keras loads it, int8 layers {int8}, max|predict - Keras int8| {gap:.1e} "
                  f"{'ok' if good else 'FAIL'}")
    print("round trip:", "all passed" if ok else "FAILED")
    return ok


# MARK: - Main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--source", type=Path, default=SOURCE_DIR,
                        help=f"the parity fixtures' directory (default {SOURCE_DIR})")
    parser.add_argument("--check-only", action="store_true",
                        help="only check the files already on disk (needs numpy alone)")
    parser.add_argument("--roundtrip", metavar="GRAPHJIT",
                        help="convert the files with this graphjit binary and load them in Keras (then exit)")
    args = parser.parse_args()
    if args.roundtrip:
        sys.exit(0 if roundtrip(args.out, args.source, args.roundtrip) else 1)
    if not args.check_only:
        generate(args.out, args.source)
    ok = check(args.out, args.source)
    print("\ncheck:", "all checks passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
