#!/usr/bin/env python3
"""Generate the Keras reference fixtures for GraphJIT's parity tests.

Builds each test model with Keras 3 (TensorFlow backend), gives it seeded weights (Keras's default
kernel initializers, biases replaced by non-zero uniform(-0.5, 0.5) values), runs it on seeded random
inputs and writes, per case, into the output directory (default ``Tests/GraphJITTests/Fixtures``):

  <case>.weights.safetensors   every weight, F32, named ``<layer>.<weight>`` as GraphJIT names them
  <case>.io.safetensors        ``input.0``, ``input.1``, ... and Keras's ``output.0``, ``output.1``, ...
  manifest.json                the cases, their shapes, the seeds and the TensorFlow/Keras versions

Usage (from the package root):

  python Tests/KerasFixtures/make_keras_fixtures.py                 # regenerate the fixtures
  python Tests/KerasFixtures/make_keras_fixtures.py --verify        # ... and check them with numpy
  python Tests/KerasFixtures/make_keras_fixtures.py --check-only    # check the files on disk (numpy only)
  python Tests/KerasFixtures/make_keras_fixtures.py --cases mlp_gelu,lstm_dropout --verify
                                            # regenerate only those cases, merged into the manifest
  python Tests/KerasFixtures/make_keras_fixtures.py --full fixtures-full   # tutorial-size models, .npy I/O

The numpy check (``--verify`` / ``--check-only``) reads the files back with an independent safetensors
reader, checks the names, shapes and the non-zero biases, and recomputes every case's outputs from the
saved weights and inputs in float64 (convolution, pooling with TensorFlow's 'same' rule, a plain LSTM
loop, the attention layer, gelu in both forms, silu, ...). For the gelu cases it also shows that the
other gelu form (exact erf vs tanh) would not reproduce the saved outputs. With TensorFlow available,
``--verify`` also probes Keras semantics GraphJIT depends on: where 'same' padding puts the odd pixel,
what MaxPooling2D pads with, which gelu form the "gelu" string means, silu = swish, that Dropout is
the identity at inference, and what NaN, +-inf and huge inputs give (probe_nonfinite).

The *_nonfinite cases feed NaN, +-inf and +-3e38 through every layer (most reuse another case's model and
weights file); their outputs hold NaN and +-inf, and the check compares classes exactly. See the README,
"Non-finite inputs", for the semantics measured and the cases where Keras has no rule.

Same seed, same library versions, same machine -> the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

SEED = 42
BATCH = 3
FULL_BATCH = 2
BIAS_RANGE = 0.5
SIZE_BUDGET = 2_000_000  # bytes, all fixture files together
HERE = Path(__file__).resolve().parent
AttentionLayer = None  # defined by load_keras(), once Keras is imported
DEFAULT_OUT = HERE.parent / "GraphJITTests" / "Fixtures"


# MARK: - safetensors (written and read by hand: 8-byte LE header length, JSON header, raw LE data)


def refuse_mixed_settings(previous, mpath, settings) -> None:
    """`--cases` merges new cases into the manifest at `mpath`: refuse when there is none, or when it
    was made with other versions or settings (one manifest would hold two sets of them)."""
    if previous is None:
        sys.exit(f"--cases merges into {mpath}, which does not exist; generate every case first")
    mismatched = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
    if mismatched:
        sys.exit(f"--cases: {mpath} was made with different settings (manifest, now): {mismatched}; "
                 "mixing them would give one manifest two sets of versions or settings")


def merged_entries(case_names, entries, previous, mpath) -> list:
    """After `--cases`: the manifest entries in the script's case order, the regenerated ones from
    `entries` and every other case's entry as `previous` recorded it (its files are untouched)."""
    new = {e["name"]: e for e in entries}
    old = {e["name"]: e for e in previous["cases"]}
    missing = [name for name in case_names if name not in new and name not in old]
    if missing:
        sys.exit(f"--cases: {mpath} has no entry for {missing}; generate those too")
    return [new.get(name) or old[name] for name in case_names]


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Writes F32 tensors in name order; the header is compact JSON padded with spaces to 8 bytes."""
    header: dict[str, object] = {"__metadata__": {k: str(v) for k, v in sorted(metadata.items())}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name], dtype="<f4")
        blob = array.tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Reads an F32-only safetensors file, checking that the data offsets tile the buffer exactly."""
    data = path.read_bytes()
    (header_len,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    base, tensors, spans = 8 + header_len, {}, []
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path.name}: {name} has dtype {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != 4 * count:
            raise ValueError(f"{path.name}: {name} spans {end - begin} bytes for shape {info['shape']}")
        tensors[name] = np.frombuffer(data, "<f4", count, base + begin).reshape(info["shape"]).copy()
        spans.append((begin, end))
    spans.sort()
    position = 0
    for begin, end in spans:
        if begin != position:
            raise ValueError(f"{path.name}: gap or overlap in the data at byte {position}")
        position = end
    if base + position != len(data):
        raise ValueError(f"{path.name}: {len(data) - base - position} trailing bytes")
    return tensors, metadata


# MARK: - Keras (imported lazily so that --check-only needs numpy alone)

def load_keras():
    """Imports Keras 3 on the TensorFlow CPU backend and defines the tutorial's attention layer."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf
    import keras

    if keras.backend.backend() != "tensorflow":
        sys.exit(f"expected the TensorFlow backend, got {keras.backend.backend()}")
    tf.get_logger().setLevel("ERROR")
    tf.config.experimental.enable_op_determinism()

    class AttentionLayer(keras.layers.Layer):
        """Additive attention pooling over time, exactly as the tutorial defines it."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.W = keras.layers.Dense(units, name="W")
            self.V = keras.layers.Dense(1, name="V")

        def call(self, inputs):
            score = self.V(keras.ops.tanh(self.W(inputs)))   # (batch, T, 1)
            attention_weights = keras.ops.softmax(score, axis=1)
            context_vector = attention_weights * inputs
            return keras.ops.sum(context_vector, axis=1)       # (batch, features)

    globals()["AttentionLayer"] = AttentionLayer  # for build_attention and graphjit_weights
    return tf, keras


# MARK: - Model builders (every layer named explicitly, as GraphJIT names it)

def build_cnn(keras, size=12):
    L = keras.layers
    x = keras.Input((size, size, 3), name="input_layer")
    h = L.Conv2D(32, (3, 3), activation="relu", name="conv2d")(x)
    h = L.MaxPooling2D((2, 2), name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.Dense(128, activation="relu", name="dense")(h)
    y = L.Dense(10, activation="softmax", name="dense_1")(h)
    return keras.Model(x, y, name="cnn")


def build_cnn_strided_same(keras):
    L = keras.layers
    x = keras.Input((13, 13, 3), name="input_layer")
    h = L.Conv2D(8, (3, 3), strides=(2, 2), padding="same", activation="relu", name="conv2d")(x)
    h = L.MaxPooling2D((2, 2), padding="same", name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    y = L.Dense(10, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="cnn_strided_same")


def build_cnn_no_bias(keras):
    L = keras.layers
    x = keras.Input((10, 10, 2), name="input_layer")
    h = L.Conv2D(4, (3, 3), use_bias=False, activation="tanh", name="conv2d")(x)
    h = L.MaxPooling2D((3, 3), strides=(2, 2), name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    y = L.Dense(6, activation="sigmoid", use_bias=False, name="dense")(h)
    return keras.Model(x, y, name="cnn_no_bias")


def build_cnn_rect(keras):
    L = keras.layers
    x = keras.Input((9, 11, 3), name="input_layer")
    h = L.Conv2D(5, (2, 3), strides=(1, 2), padding="valid", name="conv2d")(x)
    h = L.Activation("relu", name="activation")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.Dense(4, name="dense")(h)
    y = L.Softmax(name="softmax")(h)
    return keras.Model(x, y, name="cnn_rect")


def build_cnn_same_stride1(keras):
    L = keras.layers
    x = keras.Input((8, 8, 4), name="input_layer")
    h = L.Conv2D(6, (5, 5), padding="same", activation="sigmoid", name="conv2d")(x)
    h = L.MaxPooling2D((2, 2), strides=(1, 1), name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    y = L.Dense(3, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="cnn_same_stride1")


def build_cnn_uneven_same(keras):
    L = keras.layers
    x = keras.Input((9, 9, 2), name="input_layer")
    h = L.Conv2D(3, (4, 4), strides=(2, 2), padding="same", activation="tanh", name="conv2d")(x)
    h = L.MaxPooling2D((2, 2), padding="same", name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    y = L.Dense(4, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="cnn_uneven_same")


def build_lstm(keras, timesteps=12, features=8):
    L = keras.layers
    x = keras.Input((timesteps, features), name="input_layer")
    h = L.LSTM(50, name="lstm")(x)
    y = L.Dense(10, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="lstm")


def build_lstm_sequences(keras):
    L = keras.layers
    x = keras.Input((6, 5), name="input_layer")
    h = L.LSTM(12, return_sequences=True, name="lstm")(x)
    h = L.LSTM(8, return_sequences=True, name="lstm_1")(h)
    y = L.Dense(4, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="lstm_sequences")


def build_lstm_relu(keras):
    L = keras.layers
    x = keras.Input((5, 3), name="input_layer")
    h = L.LSTM(6, activation="relu", name="lstm")(x)
    y = L.Dense(2, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="lstm_relu")


def build_attention(keras, timesteps=16, features=8, units=8):
    x = keras.Input((timesteps, features), name="input_layer")
    h = AttentionLayer(units, name="attention_layer")(x)
    y = keras.layers.Dense(10, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="attention")


def build_multitask(keras):
    L = keras.layers
    x = keras.Input((64,), name="input_layer")
    shared = L.Dense(128, activation="relu", name="dense")(x)
    a = L.Dense(10, activation="softmax", name="dense_1")(shared)
    b = L.Dense(5, activation="softmax", name="dense_2")(shared)
    return keras.Model(x, [a, b], name="multitask")


def build_two_input_concat(keras):
    L = keras.layers
    a = keras.Input((8,), name="input_layer")
    b = keras.Input((6,), name="input_layer_1")
    ha = L.Dense(16, activation="relu", name="dense")(a)
    hb = L.Dense(12, activation="tanh", name="dense_1")(b)
    h = L.Concatenate(axis=-1, name="concatenate")([ha, hb])
    y = L.Dense(4, activation="softmax", name="dense_2")(h)
    return keras.Model([a, b], y, name="two_input_concat")


def build_crossmodal(keras):
    """The tutorial's cross-modal model, scaled down: an image branch and a sequence branch, one
    shared Dense, two softmax heads. Layers are created in GraphJIT's order (image branch first)."""
    L = keras.layers
    image = keras.Input((8, 8, 3), name="image")
    sequence = keras.Input((5, 4), name="sequence")
    h = L.Conv2D(4, (3, 3), activation="relu", name="conv2d")(image)
    h = L.MaxPooling2D((2, 2), name="max_pooling2d")(h)
    h = L.Flatten(name="flatten")(h)
    s = L.LSTM(6, name="lstm")(sequence)
    h = L.Concatenate(name="concatenate")([h, s])          # axis -1: image features first
    h = L.Dense(12, activation="relu", name="dense")(h)
    a = L.Dense(10, activation="softmax", name="dense_1")(h)
    b = L.Dense(5, activation="softmax", name="dense_2")(h)
    return keras.Model([image, sequence], [a, b], name="crossmodal")


def build_concat_time(keras):
    L = keras.layers
    a = keras.Input((4, 3), name="input_layer")
    b = keras.Input((5, 3), name="input_layer_1")
    h = L.Concatenate(axis=1, name="concatenate")([a, b])
    h = L.LSTM(6, name="lstm")(h)
    y = L.Dense(3, activation="softmax", name="dense")(h)
    return keras.Model([a, b], y, name="concat_time")


def build_mlp_gelu(keras):
    L = keras.layers
    x = keras.Input((16,), name="input_layer")
    h = L.Dense(32, activation="gelu", name="dense")(x)      # Keras 3's "gelu": exact erf form
    h = L.Dropout(0.25, name="dropout")(h)
    h = L.Dense(24, activation="silu", name="dense_1")(h)
    y = L.Dense(5, activation="softmax", name="dense_2")(h)
    return keras.Model(x, y, name="mlp_gelu")


def build_mlp_gelu_tanh(keras):
    L = keras.layers
    x = keras.Input((16,), name="input_layer")
    h = L.Dense(32, name="dense")(x)
    # Keras 3 has no string for the tanh form: a callable in a plain Activation layer.
    h = L.Activation(lambda t: keras.activations.gelu(t, approximate=True), name="activation")(h)
    h = L.Dropout(0.5, name="dropout")(h)
    h = L.Dense(12, name="dense_1")(h)
    h = L.Activation("swish", name="activation_1")(h)
    y = L.Dense(4, activation="softmax", name="dense_2")(h)
    return keras.Model(x, y, name="mlp_gelu_tanh")


def build_lstm_dropout(keras):
    L = keras.layers
    x = keras.Input((6, 5), name="input_layer")
    h = L.LSTM(7, name="lstm")(x)
    h = L.Dropout(0.3, name="dropout")(h)
    y = L.Dense(3, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="lstm_dropout")


POOL_NONFINITE = [  # (input shape, pool, strides, padding): the runtime's max-pooling code paths
    ((6, 6, 32), (2, 2), None, "valid"),    # the CNN's 2x2 over 32 channels (AVX-512's fast path)
    ((7, 7, 17), (3, 3), (2, 2), "valid"),  # overlapping windows, a masked channel tail
    ((5, 5, 8), (2, 2), None, "same"),      # one AVX2 vector of channels, padding after
    ((4, 5, 3), (2, 2), None, "same"),      # fewer channels than a vector (scalar code)
]


def build_pool_nonfinite(keras):
    L = keras.layers
    inputs, outputs = [], []
    for i, (shape, pool, strides, padding) in enumerate(POOL_NONFINITE):
        suffix = f"_{i}" if i else ""
        x = keras.Input(shape, name="input_layer" + suffix)
        inputs.append(x)
        outputs.append(L.MaxPooling2D(pool, strides=strides, padding=padding, name="max_pooling2d" + suffix)(x))
    return keras.Model(inputs, outputs, name="pool_nonfinite")


ACTIVATION_NONFINITE = ["relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu"]


def keras_activation(keras, name):
    return (lambda t: keras.activations.gelu(t, approximate=True)) if name == "gelu_tanh" else name


def build_activations_nonfinite(keras):
    L = keras.layers
    a = keras.Input((24,), name="input_layer")
    b = keras.Input((10,), name="input_layer_1")
    outputs = [L.Activation(keras_activation(keras, f), name="activation" + (f"_{i}" if i else ""))(a)
               for i, f in enumerate(ACTIVATION_NONFINITE)]
    outputs += [L.Softmax(name="softmax")(a), L.Softmax(name="softmax_1")(b)]
    return keras.Model([a, b], outputs, name="activations_nonfinite")


def build_dense_nonfinite(keras):
    L = keras.layers
    x = keras.Input((6,), name="input_layer")
    heads = [L.Dense(5, activation=f, name="dense" + (f"_{i}" if i else ""))(x)
             for i, f in enumerate(["linear", "relu", "sigmoid", "tanh", "gelu", "silu", "softmax"])]
    h = L.Dense(5, name="dense_7")(x)
    heads.append(L.Activation(keras_activation(keras, "gelu_tanh"), name="activation")(h))
    return keras.Model(x, heads, name="dense_nonfinite")


# MARK: - numpy float64 references (independent of Keras: they see only the saved files)
#
# Each layer is exact in float64 and its result is brought into the float32 range (beyond
# +-FLT_MAX: +-inf), as a float32 engine's would be. NaN and +-inf follow IEEE arithmetic, then the
# rules Keras 3.15.1 / TensorFlow 2.21 defines (measured, see README "Non-finite inputs"): max
# pooling skips NaN and starts at -FLT_MAX, softmax skips NaN in its max and gives NaN at +inf/NaN
# entries, 0 elsewhere. A float32 *partial* sum that can overflow although the exact sum is in range
# has no order-independent answer: `contract` records such outputs in FRAGILE, and the check fails
# for any case that has one.

FLT_MAX = float(np.finfo(np.float32).max)
OVERFLOW = 2.0 ** 128 - 2.0 ** 103   # float32 rounds |x| >= this to inf (half an ulp above FLT_MAX)
SAFE = FLT_MAX * (1 - 1e-3)          # partial sums below this cannot overflow in any order
FRAGILE: list[str] = []              # outputs whose float32 value depends on the summation order


def to_float_range(y):
    """Values the float32 rounding sends to +-inf become +-inf; everything else is kept in float64."""
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(y) >= OVERFLOW, np.copysign(np.inf, y), y)


def contract(subscripts, a, b, where="contraction"):
    """np.einsum of two operands, exact in float64, brought into the float32 range. With huge or
    non-finite operands it also finds the outputs whose float32 result depends on the summation
    order: finite products of one sign summing past FLT_MAX, unless the exact result itself is far
    beyond the range and only its own sign can overflow."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(all="ignore"):
        y = np.einsum(subscripts, a, b)
        fa, fb = np.isfinite(a), np.isfinite(b)
        if fa.all() and fb.all() and np.abs(y).max(initial=0) < 1e30 and np.abs(a).max(initial=0) * np.abs(b).max(initial=0) < 1e30:
            return to_float_range(y)   # nothing near the float range (every existing case)

        def part(t, finite, sign):
            return np.where(finite & (sign * t > 0), t, 0.0)

        pos = (np.einsum(subscripts, part(a, fa, 1), part(b, fb, 1))
               + np.einsum(subscripts, part(a, fa, -1), part(b, fb, -1)))
        neg = (np.einsum(subscripts, part(a, fa, 1), part(b, fb, -1))
               + np.einsum(subscripts, part(a, fa, -1), part(b, fb, 1)))
        pinf, ninf = y == np.inf, y == -np.inf
        fragile = np.where(np.isnan(y), False,
                           np.where(pinf, neg <= -SAFE, np.where(ninf, pos >= SAFE,
                                    (np.maximum(pos, -neg) >= SAFE)
                                    & ~((y >= 1.001 * OVERFLOW) & (neg > -SAFE))
                                    & ~((y <= -1.001 * OVERFLOW) & (pos < SAFE)))))
    if fragile.any():
        FRAGILE.append(f"{where}: {int(fragile.sum())} of {fragile.size} outputs")
    return to_float_range(y)


def sigmoid(x):
    with np.errstate(over="ignore"):
        return 0.5 * (1.0 + np.tanh(0.5 * x))


def softmax(x, axis=-1):
    """TensorFlow's softmax: the max skips NaN; a row whose sum of exp(x - max) is NaN (a NaN or +inf
    entry, or only -inf) is NaN where exp(x - max) is NaN and 0 elsewhere."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        m = np.where(np.isnan(x), -np.inf, x).max(axis=axis, keepdims=True)
        e = np.exp(x - m)
        s = e.sum(axis=axis, keepdims=True)
        return np.where(np.isnan(s), np.where(np.isnan(e), np.nan, 0.0), e / s)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """Keras 3's default gelu (approximate=False): the exact x * Phi(x), with erf."""
    with np.errstate(invalid="ignore"):
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    """gelu(x, approximate=True): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    with np.errstate(invalid="ignore", over="ignore"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    """silu = swish = x * sigmoid(x)."""
    with np.errstate(invalid="ignore"):
        return x * sigmoid(x)


ACTIVATIONS = {"linear": lambda x: x, "relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh,
               "sigmoid": sigmoid, "softmax": softmax, "gelu": gelu, "gelu_tanh": gelu_tanh,
               "silu": silu, "swish": silu}   # np.maximum keeps NaN, as Keras's relu does


def same_pads(size, kernel, stride):
    """TensorFlow's 'same' rule: output ceil(size/stride); the odd padding pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def windows(x, kernel, strides, padding, fill):
    """(N, OH, OW, C, KH, KW) sliding windows of an NHWC tensor, padded with `fill` for 'same'."""
    if padding == "same":
        (t, b), (l, r) = (same_pads(x.shape[1], kernel[0], strides[0]),
                          same_pads(x.shape[2], kernel[1], strides[1]))
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(1, 2))
    return view[:, ::strides[0], ::strides[1]]


def conv2d(x, weights, name, strides=(1, 1), padding="valid", activation="linear"):
    kernel = weights[f"{name}.kernel"].astype(np.float64)             # (KH, KW, Cin, Cout)
    y = contract("nhwcij,ijco->nhwo", windows(x, kernel.shape[:2], strides, padding, 0.0), kernel, name)
    if f"{name}.bias" in weights:
        y = to_float_range(y + weights[f"{name}.bias"])
    return ACTIVATIONS[activation](y)


def max_pool(x, pool, strides=None, padding="valid"):
    """TensorFlow's MaxPool: NaN taps (and the padding) skipped, the maximum starts at -FLT_MAX."""
    w = windows(x, pool, strides or pool, padding, np.nan)
    return np.maximum(np.where(np.isnan(w), -np.inf, w).max(axis=(4, 5)), -FLT_MAX)


def dense(x, weights, name, activation="linear"):
    y = contract("...k,kn->...n", x, weights[f"{name}.kernel"].astype(np.float64), name)
    if f"{name}.bias" in weights:
        y = to_float_range(y + weights[f"{name}.bias"])
    return ACTIVATIONS[activation](y)


def lstm(x, weights, name, activation="tanh", return_sequences=False):
    """Keras's LSTM: z = x W + h U + b, gates i, f, c, o; recurrent activation sigmoid."""
    W, U, b = (weights[f"{name}.{k}"].astype(np.float64) for k in ("kernel", "recurrent_kernel", "bias"))
    units, act = U.shape[0], ACTIVATIONS[activation]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    steps = []
    for t in range(x.shape[1]):
        z = to_float_range(contract("nk,kg->ng", x[:, t], W, f"{name} x W") + b
                           + contract("nk,kg->ng", h, U, f"{name} h U"))
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        with np.errstate(invalid="ignore", over="ignore"):
            c = to_float_range(sigmoid(f) * c + sigmoid(i) * act(g))
            h = to_float_range(sigmoid(o) * act(c))
        steps.append(h)
    return np.stack(steps, axis=1) if return_sequences else h


def attention(x, weights, name):
    score = dense(np.tanh(dense(x, weights, f"{name}.W")), weights, f"{name}.V")   # (N, T, 1)
    return contract("nt,ntd->nd", softmax(score, axis=1)[..., 0], x, f"{name} weighted sum")


def flatten(x):
    return x.reshape(x.shape[0], -1)


def ref_cnn(w, x):
    h = max_pool(conv2d(x, w, "conv2d", activation="relu"), (2, 2))
    return [dense(dense(flatten(h), w, "dense", "relu"), w, "dense_1", "softmax")]


def ref_cnn_strided_same(w, x):
    h = conv2d(x, w, "conv2d", strides=(2, 2), padding="same", activation="relu")
    return [dense(flatten(max_pool(h, (2, 2), padding="same")), w, "dense", "softmax")]


def ref_cnn_no_bias(w, x):
    h = max_pool(conv2d(x, w, "conv2d", activation="tanh"), (3, 3), (2, 2))
    return [dense(flatten(h), w, "dense", "sigmoid")]


def ref_cnn_rect(w, x):
    h = ACTIVATIONS["relu"](conv2d(x, w, "conv2d", strides=(1, 2)))
    return [softmax(dense(flatten(h), w, "dense"))]


def ref_cnn_same_stride1(w, x):
    h = conv2d(x, w, "conv2d", padding="same", activation="sigmoid")
    return [dense(flatten(max_pool(h, (2, 2), (1, 1))), w, "dense", "softmax")]


def ref_cnn_uneven_same(w, x):
    h = conv2d(x, w, "conv2d", strides=(2, 2), padding="same", activation="tanh")
    return [dense(flatten(max_pool(h, (2, 2), padding="same")), w, "dense", "softmax")]


def ref_lstm(w, x):
    return [dense(lstm(x, w, "lstm"), w, "dense", "softmax")]


def ref_lstm_sequences(w, x):
    h = lstm(lstm(x, w, "lstm", return_sequences=True), w, "lstm_1", return_sequences=True)
    return [dense(h, w, "dense", "softmax")]


def ref_lstm_relu(w, x):
    return [dense(lstm(x, w, "lstm", activation="relu"), w, "dense", "softmax")]


def ref_attention(w, x):
    return [dense(attention(x, w, "attention_layer"), w, "dense", "softmax")]


def ref_multitask(w, x):
    shared = dense(x, w, "dense", "relu")
    return [dense(shared, w, "dense_1", "softmax"), dense(shared, w, "dense_2", "softmax")]


def ref_two_input_concat(w, a, b):
    h = np.concatenate([dense(a, w, "dense", "relu"), dense(b, w, "dense_1", "tanh")], axis=-1)
    return [dense(h, w, "dense_2", "softmax")]


def ref_crossmodal(w, image, sequence):
    h = flatten(max_pool(conv2d(image, w, "conv2d", activation="relu"), (2, 2)))
    shared = dense(np.concatenate([h, lstm(sequence, w, "lstm")], axis=-1), w, "dense", "relu")
    return [dense(shared, w, "dense_1", "softmax"), dense(shared, w, "dense_2", "softmax")]


def ref_concat_time(w, a, b):
    return [dense(lstm(np.concatenate([a, b], axis=1), w, "lstm"), w, "dense", "softmax")]


# Dropout is the identity at inference (model(x, training=False)), so the references skip it.
# `gelu` picks the form, so that the check can show that the other form does not match the fixture.

def ref_mlp_gelu(w, x, gelu="gelu"):
    h = dense(x, w, "dense", gelu)
    return [dense(dense(h, w, "dense_1", "silu"), w, "dense_2", "softmax")]


def ref_mlp_gelu_tanh(w, x, gelu="gelu_tanh"):
    h = ACTIVATIONS[gelu](dense(x, w, "dense"))
    h = ACTIVATIONS["swish"](dense(h, w, "dense_1"))
    return [dense(h, w, "dense_2", "softmax")]


def ref_lstm_dropout(w, x):
    return [dense(lstm(x, w, "lstm"), w, "dense", "softmax")]


def ref_pool_nonfinite(w, *xs):
    return [max_pool(x, pool, strides, padding) for x, (_, pool, strides, padding) in zip(xs, POOL_NONFINITE)]


def ref_activations_nonfinite(w, a, b):
    with np.errstate(all="ignore"):
        return [to_float_range(ACTIVATIONS[f](a)) for f in ACTIVATION_NONFINITE] + [softmax(a), softmax(b)]


def ref_dense_nonfinite(w, x):
    heads = [dense(x, w, "dense" + (f"_{i}" if i else ""), f)
             for i, f in enumerate(["linear", "relu", "sigmoid", "tanh", "gelu", "silu", "softmax"])]
    return heads + [gelu_tanh(dense(x, w, "dense_7"))]


# MARK: - Hostile inputs (NaN, +-inf, +-3e38) for the *_nonfinite cases
#
# Each maker returns float32 inputs (batch first). Rows are chosen so that every output's float32
# result does not depend on the summation order (the check fails otherwise: see FRAGILE).

SPECIAL_VALUES = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38], np.float32)


def inputs_activations_nonfinite(rng):
    a = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38, FLT_MAX, -FLT_MAX, 1e13, -1e13, 100, -100, 20, -20,
                  1, -1, 0, 0.5, -0.5, 3, -3, 10, -10, 88, -88], np.float32)
    rows = [a.copy() for _ in range(5)]
    rows[1][0] = 2.0                                   # +inf without NaN: NaN there, 0 elsewhere
    rows[2][[0, 1]] = [2.0, -np.inf]                   # no NaN, no +inf: the 3e38/FLT_MAX entries win
    rows[3][:] = -np.inf                               # only -inf: a NaN row
    rows[4] = (3 * rng.standard_normal(24)).astype(np.float32)
    rows[4][[2, 11]] = -np.inf                         # -inf among finite entries: 0 there
    b = (2 * rng.standard_normal((5, 10))).astype(np.float32)
    b[0, 9] = np.nan                                   # oneDNN also writes NaN to another entry here
    b[1, [0, 9]] = np.inf
    b[2, :] = -np.inf
    b[3, [1, 4]] = [3e38, -3e38]
    return [np.stack(rows), b]


def inputs_pool_nonfinite(rng):
    xs = []
    for shape, pool, _, _ in POOL_NONFINITE:
        x = rng.standard_normal((2,) + shape).astype(np.float32)
        mask = rng.random(x.shape) < 0.3
        x[mask] = rng.choice(SPECIAL_VALUES, int(mask.sum()))
        x[0, :pool[0], :pool[1], :] = np.nan                         # an all-NaN window
        x[1, :pool[0], :pool[1], :] = -np.inf                        # an all -inf window
        x[1, :pool[0], :pool[1], 0] = np.nan                         # ... NaN and -inf in channel 0
        x[0, -pool[0]:, -pool[1]:, :] = rng.standard_normal((pool[0], pool[1], shape[2]))
        x[0, -1, -1, :] = np.nan                                     # NaN among finite taps
        xs.append(x)
    return xs


def inputs_cnn_nonfinite(rng):
    x = rng.standard_normal((10, 12, 12, 3)).astype(np.float32)
    x[0, 5, 6, 1] = np.nan        # interior: a 3x3 block of NaN conv outputs; pooling drops NaN from the
                                  # windows it shares with finite taps, the one window of NaN only gives
                                  # -FLT_MAX: finite (huge) Dense inputs, a finite (one-hot) output
    x[1, 6, 5, 2] = np.nan        # interior, another place (not every place: see README)
    x[2, 0, 0, 0] = np.nan        # corner: one conv output NaN, its pool window drops it
    x[3, 0, 6, 1] = np.nan        # top edge: a 1x3 strip of NaN conv outputs, every window drops it
    x[4, 11, 5, 2] = np.nan       # bottom edge
    x[5, 5, 6, 1] = np.inf        # +inf pixel: +inf conv outputs, then inf - inf in the Dense: NaN
    x[6, 5, 6, 1] = -np.inf       # -inf pixel
    x[7, 5, 6, 1] = 3e38          # huge finite pixels: every sum stays in range
    x[8, 5, 6, 1] = -3e38
    x[9, 0, 0, :] = 3e38          # a huge corner in every channel
    return [x]


def inputs_dense_nonfinite(rng):
    x = rng.standard_normal((7, 6)).astype(np.float32)
    x[0, 2] = np.nan              # every unit NaN
    x[1, 1] = np.inf              # +-inf by the sign of each weight
    x[2, 4] = -np.inf
    x[3, 0] = 3e38                # huge finite
    x[4, 5] = -3e38
    x[5, [1, 3]] = [np.inf, -np.inf]  # NaN where the two contributions have opposite signs
    return [x]


def inputs_sequence_nonfinite(rng, shape, rows):
    """(batch, T, F) standard normal with one kind of hostile entry per row."""
    x = rng.standard_normal((len(rows),) + shape).astype(np.float32)
    for r, (t, f, value) in enumerate(rows):
        x[r, t, f] = value
    return x


def inputs_lstm_nonfinite(rng):
    return [inputs_sequence_nonfinite(rng, (12, 8), [
        (5, 2, np.nan), (11, 0, np.nan), (3, 0, np.inf), (3, 4, -np.inf), (6, 1, 3e38), (6, 7, -3e38),
        (0, slice(None), np.inf)])]


def inputs_lstm_sequences_nonfinite(rng):
    return [inputs_sequence_nonfinite(rng, (6, 5), [
        (2, 1, np.nan), (4, 0, np.inf), (1, 3, -np.inf), (3, 2, 3e38), (5, slice(None), np.nan)])]


def inputs_lstm_relu_nonfinite(rng):
    return [inputs_sequence_nonfinite(rng, (5, 3), [
        (2, 1, np.nan), (1, 0, np.inf), (3, 2, -np.inf), (0, 1, 3e38), (4, 0, -3e38)])]


def inputs_attention_nonfinite(rng):
    return [inputs_sequence_nonfinite(rng, (16, 8), [
        (3, 2, np.nan), (7, 0, np.inf), (0, 5, -np.inf), (2, 1, 3e38), (9, 6, -3e38),
        (slice(None), 4, np.inf), (15, slice(None), np.nan)])]


def inputs_concat_nonfinite(rng):
    a = rng.standard_normal((6, 8)).astype(np.float32)
    b = rng.standard_normal((6, 6)).astype(np.float32)
    a[0, 3] = np.nan
    b[1, 2] = np.inf              # through tanh: finite
    a[2, 5] = np.inf              # through relu: +inf or 0, then the last Dense
    b[3, 0] = -np.inf
    a[4, 1] = 3e38
    b[5, 4] = -3e38
    return [a, b]


def inputs_concat_time_nonfinite(rng):
    a = rng.standard_normal((4, 4, 3)).astype(np.float32)
    b = rng.standard_normal((4, 5, 3)).astype(np.float32)
    a[0, 2, 1] = np.nan           # in the first input's steps
    b[1, 3, 0] = np.nan           # in the second's
    a[2, 0, 2] = np.inf
    b[3, 4, 1] = 3e38
    return [a, b]


# MARK: - Cases

@dataclass(frozen=True)
class Case:
    name: str
    description: str
    build: Callable           # build(keras) -> keras.Model
    reference: Callable       # reference(weights, *inputs) -> [outputs], float64
    weights: tuple[str, ...]  # the GraphJIT weight names the file must hold, exactly
    build_kwargs: dict = field(default_factory=dict)
    input_scale: float = 1.0  # inputs are input_scale * standard normal (1: plain standard normal)
    # (Dense layer, gelu form): the gelu applied to that Dense's output, which reads the model input.
    # The check then shows that the other gelu form would not reproduce the fixture.
    gelu: tuple[str, str] | None = None
    # Hostile-input cases: make_inputs(rng) -> the inputs (batch included), instead of standard
    # normal ones; weights_from names the case whose model and weights file they reuse (no new file).
    make_inputs: Callable | None = None
    weights_from: str | None = None

    @property
    def nonfinite(self) -> bool:
        return self.make_inputs is not None


def dense_names(*layers, bias=True):
    return tuple(f"{layer}.{k}" for layer in layers for k in (("kernel", "bias") if bias else ("kernel",)))


LSTM_WEIGHTS = ("kernel", "recurrent_kernel", "bias")

CASES = [
    Case("cnn", "Conv2D 32 3x3 relu (valid) -> MaxPooling2D 2x2 -> Flatten -> Dense 128 relu -> "
         "Dense 10 softmax; the tutorial CNN on 12x12x3", build_cnn, ref_cnn,
         dense_names("conv2d", "dense", "dense_1")),
    Case("cnn_strided_same", "Conv2D 8 3x3 stride 2 'same' relu -> MaxPooling2D 2x2 'same' (7 -> 4, "
         "padded after) -> Flatten -> Dense 10 softmax; odd 13x13 input", build_cnn_strided_same,
         ref_cnn_strided_same, dense_names("conv2d", "dense")),
    Case("cnn_no_bias", "Conv2D 4 3x3 use_bias=False tanh -> MaxPooling2D 3x3 stride 2 (overlapping "
         "windows) -> Flatten -> Dense 6 sigmoid use_bias=False", build_cnn_no_bias, ref_cnn_no_bias,
         dense_names("conv2d", "dense", bias=False)),
    Case("cnn_rect", "Conv2D 5 2x3 strides (1,2) valid, no activation -> Activation relu -> Flatten -> "
         "Dense 4 linear -> Softmax layer; non-square input, kernel and strides", build_cnn_rect,
         ref_cnn_rect, dense_names("conv2d", "dense")),
    Case("cnn_same_stride1", "Conv2D 6 5x5 'same' sigmoid (2-pixel borders) -> MaxPooling2D 2x2 "
         "stride 1 -> Flatten -> Dense 3 softmax", build_cnn_same_stride1, ref_cnn_same_stride1,
         dense_names("conv2d", "dense")),
    Case("lstm", "LSTM 50 (last state) -> Dense 10 softmax; the tutorial LSTM on 12 steps x 8 features",
         build_lstm, ref_lstm,
         tuple(f"lstm.{k}" for k in LSTM_WEIGHTS) + dense_names("dense")),
    Case("lstm_sequences", "LSTM 12 return_sequences -> LSTM 8 return_sequences -> Dense 4 softmax on "
         "the last axis of a 3-D tensor (output batch x 6 x 4)", build_lstm_sequences,
         ref_lstm_sequences,
         tuple(f"{l}.{k}" for l in ("lstm", "lstm_1") for k in LSTM_WEIGHTS) + dense_names("dense")),
    Case("lstm_relu", "LSTM 6 with activation relu (cell and output activation; gates stay sigmoid) "
         "-> Dense 2 softmax", build_lstm_relu, ref_lstm_relu,
         tuple(f"lstm.{k}" for k in LSTM_WEIGHTS) + dense_names("dense")),
    Case("attention", "tutorial AttentionLayer(8) (Dense W tanh -> Dense V -> softmax over time -> "
         "weighted sum) -> Dense 10 softmax; 16 steps x 8 features", build_attention, ref_attention,
         dense_names("attention_layer.W", "attention_layer.V", "dense")),
    Case("multitask", "shared Dense 128 relu -> two heads Dense 10 softmax (dense_1) and Dense 5 "
         "softmax (dense_2); two outputs in that order", build_multitask, ref_multitask,
         dense_names("dense", "dense_1", "dense_2")),
    Case("two_input_concat", "inputs a (8) and b (6): Dense 16 relu (a), Dense 12 tanh (b) -> "
         "Concatenate last axis -> Dense 4 softmax", build_two_input_concat, ref_two_input_concat,
         dense_names("dense", "dense_1", "dense_2")),
    Case("concat_time", "inputs a (4,3) and b (5,3): Concatenate axis 1 (time) -> LSTM 6 -> "
         "Dense 3 softmax", build_concat_time, ref_concat_time,
         tuple(f"lstm.{k}" for k in LSTM_WEIGHTS) + dense_names("dense")),
    Case("cnn_uneven_same", "Conv2D 3 4x4 stride 2 'same' tanh (9 -> 5: 1 pixel padded before, 2 after) "
         "-> MaxPooling2D 2x2 'same' (5 -> 3, padded after with -inf: tanh makes all-negative windows) "
         "-> Flatten -> Dense 4 softmax", build_cnn_uneven_same, ref_cnn_uneven_same,
         dense_names("conv2d", "dense")),
    Case("mlp_gelu", "Dense 32 gelu (Keras 3's default exact erf form) -> Dropout 0.25 (identity at "
         "inference) -> Dense 24 silu -> Dense 5 softmax; inputs are 2.5 x standard normal so that the "
         "gelu pre-activations span about -4.3..3.5", build_mlp_gelu, ref_mlp_gelu,
         dense_names("dense", "dense_1", "dense_2"), input_scale=2.5, gelu=("dense", "gelu")),
    Case("mlp_gelu_tanh", "Dense 32 linear -> Activation gelu(approximate=True) (the tanh form) -> "
         "Dropout 0.5 -> Dense 12 linear -> Activation swish -> Dense 4 softmax; inputs are 2 x standard "
         "normal so that the gelu pre-activations span about -4.0..4.4", build_mlp_gelu_tanh,
         ref_mlp_gelu_tanh, dense_names("dense", "dense_1", "dense_2"), input_scale=2.0,
         gelu=("dense", "gelu_tanh")),
    Case("lstm_dropout", "LSTM 7 (last state) -> Dropout 0.3 (identity at inference) -> Dense 3 softmax",
         build_lstm_dropout, ref_lstm_dropout, tuple(f"lstm.{k}" for k in LSTM_WEIGHTS) + dense_names("dense")),
    Case("crossmodal", "inputs image (8,8,3) and sequence (5,4): Conv2D 4 3x3 relu (valid) -> MaxPooling2D 2x2 "
         "-> Flatten (36) and LSTM 6 (last state) -> Concatenate last axis (image features first, 42) -> "
         "shared Dense 12 relu -> two heads Dense 10 softmax (dense_1) and Dense 5 softmax (dense_2); the "
         "tutorial's cross-modal model, scaled down", build_crossmodal, ref_crossmodal,
         dense_names("conv2d") + tuple(f"lstm.{k}" for k in LSTM_WEIGHTS) + dense_names("dense", "dense_1", "dense_2")),
]

def _case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _hostile(name: str, source: str, description: str, make_inputs: Callable) -> Case:
    """A case that runs `source`'s model and weights (its weights file, not a copy) on hostile inputs."""
    base = _case(source)
    return Case(name, description, base.build, base.reference, base.weights, base.build_kwargs,
                make_inputs=make_inputs, weights_from=source)


# NaN, +-inf and +-3e38 inputs (README "Non-finite inputs"). Their outputs hold NaN and +-inf; each
# maker's rows keep every float32 result independent of the summation order.
CASES += [
    Case("activations_nonfinite", "Activation relu, sigmoid, tanh, gelu, gelu(approximate=True), silu and "
         "Softmax straight on a 24-wide input of NaN, +-inf, +-3e38, +-FLT_MAX, ...; Softmax on a second, "
         "10-wide input (AVX-512's short-row path); rows with and without NaN / +inf / only -inf",
         build_activations_nonfinite, ref_activations_nonfinite, (), make_inputs=inputs_activations_nonfinite),
    Case("pool_nonfinite", "MaxPooling2D straight on four inputs (2x2 over 32 channels, 3x3 stride 2 over 17, "
         "2x2 'same' over 8, 2x2 'same' over 3): 30% NaN/+-inf/+-3e38 taps, all-NaN and all -inf windows "
         "(TensorFlow gives -FLT_MAX)", build_pool_nonfinite, ref_pool_nonfinite, (),
         make_inputs=inputs_pool_nonfinite),
    Case("dense_nonfinite", "Dense 5 heads on one 6-wide input, activations linear, relu, sigmoid, tanh, gelu, "
         "silu, softmax (dense .. dense_6), and Dense 5 -> Activation gelu(approximate=True) (dense_7, "
         "activation): the GEMM epilogues on NaN, +-inf, +-3e38 inputs", build_dense_nonfinite,
         ref_dense_nonfinite, dense_names(*(f"dense_{i}" if i else "dense" for i in range(8))),
         make_inputs=inputs_dense_nonfinite),
    _hostile("cnn_nonfinite", "cnn", "the tutorial CNN (cnn's weights) on images with one NaN pixel inside (max "
             "pooling drops it; its one all-NaN window gives -FLT_MAX: a finite one-hot), at a corner and at "
             "edges, one +-inf pixel (NaN rows), one +-3e38 pixel, a 3e38 corner",
             inputs_cnn_nonfinite),
    _hostile("lstm_nonfinite", "lstm", "the tutorial LSTM (lstm's weights): NaN at step 5 / 11, +-inf and "
             "+-3e38 in one feature (the gates saturate: finite), a whole step of +inf (NaN)",
             inputs_lstm_nonfinite),
    _hostile("lstm_sequences_nonfinite", "lstm_sequences", "two LSTMs with return_sequences (lstm_sequences' "
             "weights): a NaN at step 2 poisons steps 2.. only; +-inf, 3e38; a whole NaN step",
             inputs_lstm_sequences_nonfinite),
    _hostile("lstm_relu_nonfinite", "lstm_relu", "LSTM with relu (lstm_relu's weights): NaN, +-inf (relu "
             "passes +inf into the cell state), +-3e38", inputs_lstm_relu_nonfinite),
    _hostile("attention_nonfinite", "attention", "the tutorial attention (attention's weights): NaN, +-inf, "
             "+-3e38 in one entry, +inf in one feature at every step, a whole NaN step",
             inputs_attention_nonfinite),
    _hostile("concat_nonfinite", "two_input_concat", "two_input_concat's model: NaN, +-inf, +-3e38 in either "
             "input (tanh branch: finite, relu branch: +inf)", inputs_concat_nonfinite),
    _hostile("concat_time_nonfinite", "concat_time", "concat_time's model: NaN in either input's steps, +inf, "
             "3e38", inputs_concat_time_nonfinite),
]


FULL_CASES = [
    Case("cnn", "tutorial CNN: Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Flatten -> Dense 128 relu -> "
         "Dense 10 softmax on 64x64x3", build_cnn, ref_cnn, _case("cnn").weights, {"size": 64}),
    Case("lstm", "tutorial LSTM: LSTM 50 -> Dense 10 softmax on 100 steps x 32 features", build_lstm,
         ref_lstm, _case("lstm").weights, {"timesteps": 100, "features": 32}),
    Case("attention", "tutorial attention: AttentionLayer(64) -> Dense 10 softmax on 128 steps x 64 "
         "features", build_attention, ref_attention, _case("attention").weights,
         {"timesteps": 128, "features": 64, "units": 64}),
    _case("multitask"),
]


def case_seed(seed: int, name: str) -> int:
    """A per-case seed that does not depend on which other cases run, or in what order."""
    return (seed + zlib.crc32(name.encode("utf-8"))) % (2**31 - 1)


# MARK: - Generation

def graphjit_weights(keras, model) -> dict[str, object]:
    """Maps GraphJIT's `<layer>.<weight>` names to the model's Keras variables, missing none."""
    names: dict[str, object] = {}

    def add_dense_like(prefix, layer):
        names[f"{prefix}.kernel"] = layer.kernel
        if layer.use_bias:
            names[f"{prefix}.bias"] = layer.bias

    for layer in model.layers:
        if isinstance(layer, AttentionLayer):
            for sub in (layer.W, layer.V):
                add_dense_like(f"{layer.name}.{sub.name}", sub)
        elif isinstance(layer, keras.layers.LSTM):
            for key in LSTM_WEIGHTS:
                names[f"{layer.name}.{key}"] = getattr(layer.cell, key)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            add_dense_like(layer.name, layer)
        elif layer.weights:
            raise TypeError(f"no GraphJIT weight names for layer {layer.name} ({type(layer).__name__})")
    mapped = sorted(v.path for v in names.values())
    everything = sorted(v.path for v in model.weights)
    if mapped != everything:
        raise RuntimeError(f"{model.name}: weights {everything} but mapped {mapped}")
    return names


def run_case(tf, keras, case: Case, seed: int, batch: int, seed_key: str | None = None,
             weights_dir: Path | None = None):
    """Builds, seeds and runs one case; returns (model, seed, weights, inputs, outputs, predict_diff).
    A hostile-input case loads its source case's weights from `weights_dir`; its predict_diff counts
    the entries whose class (NaN, +inf, -inf, finite) differs between model.predict (graph mode,
    where grappler fuses the activations into oneDNN kernels) and model(x) (eager, the fixture)."""
    keras.backend.clear_session()
    cseed = case_seed(seed, seed_key or case.name)
    keras.utils.set_random_seed(cseed)           # kernels: Keras's default initializers, seeded
    model = case.build(keras, **case.build_kwargs)
    rng = np.random.default_rng(cseed)
    variables = graphjit_weights(keras, model)
    if case.weights_from:
        saved, _ = read_safetensors((weights_dir or DEFAULT_OUT) / f"{case.weights_from}.weights.safetensors")
        if sorted(saved) != sorted(variables):
            raise RuntimeError(f"{case.name}: {case.weights_from}'s weights {sorted(saved)} != {sorted(variables)}")
        for name, var in variables.items():
            var.assign(saved[name])
    else:
        for name in sorted(variables):           # biases: non-zero uniform(-0.5, 0.5)
            if name.endswith(".bias"):
                var = variables[name]
                values = rng.uniform(-BIAS_RANGE, BIAS_RANGE, tuple(var.shape)).astype(np.float32)
                values[values == 0] = 0.25
                var.assign(values)
    weights = {name: np.asarray(keras.ops.convert_to_numpy(v), np.float32) for name, v in variables.items()}
    if case.make_inputs:
        inputs = [np.ascontiguousarray(x, np.float32) for x in case.make_inputs(rng)]
    else:
        inputs = [rng.standard_normal((batch,) + tuple(t.shape[1:])) for t in model.inputs]
        if case.input_scale != 1.0:
            inputs = [case.input_scale * x for x in inputs]
        inputs = [x.astype(np.float32) for x in inputs]
    feed = inputs if len(inputs) > 1 else inputs[0]
    result = model(feed, training=False)
    result = result if isinstance(result, (list, tuple)) else [result]
    outputs = [np.asarray(keras.ops.convert_to_numpy(r), np.float32) for r in result]
    predicted = model.predict(feed, batch_size=len(inputs[0]), verbose=0)
    predicted = predicted if isinstance(predicted, (list, tuple)) else [predicted]
    if case.nonfinite:
        predict_diff = float(sum(int((value_class(p) != value_class(o)).sum()) for p, o in zip(predicted, outputs)))
    else:
        predict_diff = max(float(np.abs(p - o).max()) for p, o in zip(predicted, outputs))
    return model, cseed, weights, inputs, outputs, predict_diff


def value_class(y):
    """0 finite, 1 NaN, 2 +inf, 3 -inf."""
    y = np.asarray(y)
    return np.where(np.isnan(y), 1, np.where(y == np.inf, 2, np.where(y == -np.inf, 3, 0)))


def compare_nonfinite(reference, outputs):
    """Compares float64 reference outputs with Keras's, element by element: the same class (NaN,
    +inf, -inf, finite), finite values within a relative tolerance. Returns (worst relative
    difference, problems, lane NaNs per output): Keras's oneDNN softmax writes NaN to a few entries
    of a row that holds a NaN, where the rule (and GraphJIT) gives 0; those are allowed, counted."""
    worst, problems, lane = 0.0, [], []
    for i, (r, y) in enumerate(zip(reference, outputs)):
        with np.errstate(over="ignore", invalid="ignore"):
            rf = np.asarray(r, np.float64).astype(np.float32)
        row_has_nan = np.broadcast_to(np.isnan(rf).any(axis=-1, keepdims=True), rf.shape)
        allowed = np.isnan(y) & (rf == 0) & row_has_nan
        wrong = (value_class(rf) != value_class(y)) & ~allowed
        if wrong.any():
            at = tuple(int(k) for k in np.argwhere(wrong)[0])
            problems.append(f"output.{i}: {int(wrong.sum())} entries of another class than the rule's, first at "
                            f"{list(at)}: keras {y[at]!r}, rule {rf[at]!r}")
        finite = np.isfinite(rf) & np.isfinite(y)
        if finite.any():
            worst = max(worst, float((np.abs(np.asarray(r)[finite] - y[finite]) / np.maximum(1, np.abs(y[finite]))).max()))
        lane.append(int(allowed.sum()))
    return worst, problems, lane


def format_json(obj) -> str:
    """Indented JSON with every list of numbers kept on one line."""
    text = json.dumps(obj, indent=2)
    return re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text) + "\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions(tf, keras) -> dict[str, str]:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}


def generate(out: Path, seed: int, only: list[str] | None = None) -> None:
    """Writes every case, or with `only` just those cases, merged into the manifest already in `out`:
    the other cases' entries and files are left exactly as they are."""
    tf, keras = load_keras()
    out.mkdir(parents=True, exist_ok=True)
    vers = versions(tf, keras)
    mpath = out / "manifest.json"
    previous = json.loads(mpath.read_text()) if mpath.exists() else None
    old_entries = {c["name"]: c for c in previous["cases"]} if previous else {}
    if only is not None:
        refuse_mixed_settings(previous, mpath, {**vers, "seed": seed, "batch": BATCH})
    selected = [c for c in CASES if only is None or c.name in only]
    entries = {}
    print(f"Keras fixtures -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}, seed {seed})")
    if only is not None:
        print(f"only {', '.join(c.name for c in selected)}; every other case stays as it is on disk")
    print(f"{'case':<18} {'inputs':<26} {'outputs':<22} {'params':>7} {'weights B':>10} {'io B':>7} "
          f"{'|predict-call|':>14}")
    for case in selected:
        model, cseed, weights, inputs, outputs, predict_diff = run_case(tf, keras, case, seed, BATCH,
                                                                        weights_dir=out)
        if sorted(weights) != sorted(case.weights):
            raise RuntimeError(f"{case.name}: weight names {sorted(weights)}, expected {sorted(case.weights)}")
        lane_nans = None
        if case.nonfinite:   # the rule must explain Keras's outputs before anything is written
            FRAGILE.clear()
            reference = case.reference(weights, *(x.astype(np.float64) for x in inputs))
            _, problems, lane_nans = compare_nonfinite(reference, outputs)
            problems += [f"order-dependent float32 result: {f}" for f in FRAGILE]
            if problems:
                sys.exit(f"{case.name}: Keras's outputs do not follow the non-finite rules:\n  " + "\n  ".join(problems))
        meta = {"case": case.name, "seed": str(cseed), **vers}
        wpath, iopath = out / f"{case.weights_from or case.name}.weights.safetensors", out / f"{case.name}.io.safetensors"
        if not case.weights_from:
            write_safetensors(wpath, weights, meta)
        io = {f"input.{i}": x for i, x in enumerate(inputs)} | {f"output.{i}": y for i, y in enumerate(outputs)}
        write_safetensors(iopath, io, meta)
        entries[case.name] = {
            "name": case.name,
            "description": case.description,
            "seed": cseed,
            "weightsFile": wpath.name,
            "ioFile": iopath.name,
            "layers": [layer.name for layer in model.layers],
            "inputShapes": [list(x.shape) for x in inputs],
            "outputShapes": [list(y.shape) for y in outputs],
            "weights": [{"name": n, "shape": list(weights[n].shape)} for n in sorted(weights)],
            "sha256": {wpath.name: sha256(wpath), iopath.name: sha256(iopath)},
        }
        if lane_nans is not None:
            entries[case.name]["softmaxLaneNaNs"] = lane_nans
        wsize, iosize = wpath.stat().st_size, iopath.stat().st_size
        params = sum(w.size for w in weights.values())
        print(f"{case.name:<18} {' '.join(str(list(x.shape)) for x in inputs):<26} "
              f"{' '.join(str(list(y.shape)) for y in outputs):<22} {params:>7} {wsize:>10} {iosize:>7} "
              + (f"{int(predict_diff):>6} classes" if case.nonfinite else f"{predict_diff:>14.2e}"))
    if only is not None:   # the other cases keep their entries (and files) untouched
        entries = {e["name"]: e for e in merged_entries([c.name for c in CASES], list(entries.values()), previous, mpath)}
    manifest = {"generator": "Tests/KerasFixtures/make_keras_fixtures.py", **vers, "seed": seed,
                "batch": BATCH, "biasInit": f"uniform(-{BIAS_RANGE}, {BIAS_RANGE})",
                "inputInit": "standard normal", "cases": list(entries.values())}
    mpath.write_text(format_json(manifest))
    files = [mpath] + sorted({out / f for e in manifest["cases"] for f in (e["weightsFile"], e["ioFile"])})
    total = sum(f.stat().st_size for f in files)
    print(f"manifest.json {mpath.stat().st_size} B; total {total} B "
          f"({total / SIZE_BUDGET:.0%} of the {SIZE_BUDGET} B budget)")
    if old_entries:   # did regenerating change any bytes the previous manifest recorded?
        same = [n for n in entries if n in old_entries and entries[n]["sha256"] == old_entries[n]["sha256"]]
        changed = [n for n in entries if n in old_entries and entries[n]["sha256"] != old_entries[n]["sha256"]]
        new = [n for n in entries if n not in old_entries]
        print(f"against the previous manifest: {len(same)} cases byte-identical, "
              f"changed: {', '.join(changed) or 'none'}, new: {', '.join(new) or 'none'}")
    if total > SIZE_BUDGET:
        sys.exit(f"fixtures take {total} B, over the {SIZE_BUDGET} B budget")


def generate_full(out: Path, seed: int) -> None:
    tf, keras = load_keras()
    out.mkdir(parents=True, exist_ok=True)
    vers = versions(tf, keras)
    entries = []
    print(f"Full-size Keras models -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}, "
          f"seed {seed}, batch {FULL_BATCH})")
    for case in FULL_CASES:
        model, cseed, weights, inputs, outputs, _ = run_case(tf, keras, case, seed, FULL_BATCH,
                                                             seed_key="full-" + case.name)
        write_safetensors(out / f"{case.name}.weights.safetensors", weights,
                          {"case": case.name, "seed": str(cseed), **vers})
        np.save(out / f"{case.name}.input.npy", np.ascontiguousarray(inputs[0]))
        output_files = ([f"{case.name}.output.npy"] if len(outputs) == 1 else
                        [f"{case.name}.output.{i}.npy" for i in range(len(outputs))])
        for path, y in zip(output_files, outputs):
            np.save(out / path, np.ascontiguousarray(y))
        entries.append({"name": case.name, "description": case.description, "seed": cseed,
                        "weightsFile": f"{case.name}.weights.safetensors",
                        "inputFile": f"{case.name}.input.npy", "outputFiles": output_files,
                        "layers": [layer.name for layer in model.layers],
                        "inputShapes": [list(inputs[0].shape)],
                        "outputShapes": [list(y.shape) for y in outputs]})
        size = (out / f"{case.name}.weights.safetensors").stat().st_size
        print(f"  {case.name:<10} input {list(inputs[0].shape)!s:<16} outputs "
              f"{' '.join(str(list(y.shape)) for y in outputs):<14} weights {size:>10} B  -> "
              f"{case.name}.weights.safetensors, {case.name}.input.npy, {', '.join(output_files)}")
    (out / "manifest.json").write_text(format_json(
        {"generator": "Tests/KerasFixtures/make_keras_fixtures.py --full", **vers, "seed": seed,
         "batch": FULL_BATCH, "cases": entries}))
    script = os.path.relpath(__file__)
    print("\nCheck the files (numpy recomputes every output from the saved weights and input):")
    print(f"  {sys.executable} {script} --full {out} --check-only")
    print("Compare a GraphJIT result saved as .npy (float32) with Keras's, e.g. for the CNN:")
    print(f"  {sys.executable} -c \"import sys, numpy as np; k = np.load('{out}/cnn.output.npy'); "
          f"g = np.load(sys.argv[1]); print('max abs diff', np.abs(k - g).max())\" graphjit_cnn.npy")


# MARK: - Verification

def gelu_contrast(case: Case, weights, inputs, outputs, tolerance) -> tuple[list[str], list[str]]:
    """For a case with a gelu: how far apart the exact (erf) and tanh forms are at that layer's
    pre-activations, and how badly the other form misses the saved outputs. Returns (notes, problems)."""
    layer, form = case.gelu
    other = "gelu_tanh" if form == "gelu" else "gelu"
    x = [v.astype(np.float64) for v in inputs]
    pre = dense(x[0], weights, layer)
    gap = np.abs(gelu(pre) - gelu_tanh(pre))
    wrong = max(float(np.abs(r - y).max()) for r, y in zip(case.reference(weights, *x, gelu=other), outputs))
    notes = [f"{layer} pre-activations span [{pre.min():.2f}, {pre.max():.2f}]; there "
             f"max|gelu erf - gelu tanh| = {gap.max():.2e} (at x = {pre.flat[gap.argmax()]:.2f}); "
             f"the fixture uses {form}, and {other} would give max|keras - numpy| = {wrong:.2e}"]
    problems = []
    if wrong < 10 * tolerance:
        problems.append(f"{other} also reproduces the outputs within {10 * tolerance:.0e}: "
                        "the fixture does not tell the gelu forms apart")
    return notes, problems


def check_case(case: Case, weights, inputs, outputs, tolerance,
               lane_nans: list[int] | None = None) -> tuple[float, list[str], list[str]]:
    """Checks names, shapes and biases, and recomputes the outputs; returns (max diff, problems, notes).
    A hostile-input case's lane NaNs (see compare_nonfinite) must equal `lane_nans`, the manifest's."""
    problems = []
    if sorted(weights) != sorted(case.weights):
        problems.append(f"weight names {sorted(weights)} != {sorted(case.weights)}")
    for name, w in weights.items():
        if w.dtype != np.float32 or not np.all(np.isfinite(w)):
            problems.append(f"{name} not finite float32")
        if name.endswith(".bias") and (np.any(w == 0) or np.abs(w).max() > BIAS_RANGE):
            problems.append(f"{name} has zero or out-of-range entries")
    FRAGILE.clear()
    reference = case.reference(weights, *(x.astype(np.float64) for x in inputs))
    problems += [f"order-dependent float32 result: {f}" for f in FRAGILE]
    if len(reference) != len(outputs):
        problems.append(f"{len(outputs)} outputs saved, reference has {len(reference)}")
        return float("inf"), problems, []
    if case.nonfinite:   # classes exact, finite values relative to max(1, |keras|)
        if any(r.shape != y.shape for r, y in zip(reference, outputs)):
            return float("inf"), problems + ["output shapes differ from the reference's"], []
        worst, more, found = compare_nonfinite(reference, outputs)
        problems += more
        if worst >= tolerance:
            problems.append(f"max relative diff {worst:.3e} >= {tolerance:.0e}")
        if found != lane_nans:
            problems.append(f"softmax lane NaNs per output {found}, the manifest says {lane_nans}")
        counts = sum(int(value_class(y).astype(bool).sum()) for y in outputs)
        notes = [f"{counts} of {sum(y.size for y in outputs)} outputs NaN or +-inf, each of the rules' class"
                 + (f"; Keras's softmax lane NaNs (the rules: 0) per output: {found}" if any(found) else "")]
        return worst, problems, notes
    worst = 0.0
    for i, (r, y) in enumerate(zip(reference, outputs)):
        if r.shape != y.shape:
            problems.append(f"output.{i} shape {list(y.shape)} != reference {list(r.shape)}")
            return float("inf"), problems, []
        worst = max(worst, float(np.abs(r - y).max()))
    if worst >= tolerance:
        problems.append(f"max abs diff {worst:.3e} >= {tolerance:.0e}")
    notes = []
    if case.gelu:
        notes, more = gelu_contrast(case, weights, inputs, outputs, tolerance)
        problems += more
    return worst, problems, notes


def verify(out: Path, tolerance: float) -> bool:
    manifest = json.loads((out / "manifest.json").read_text())
    listed = [c["name"] for c in manifest["cases"]]
    ok = listed == [c.name for c in CASES]
    print(f"\nVerify {out} (float64 numpy reference, tolerance {tolerance:.0e}; "
          f"fixtures from tensorflow {manifest['tensorflow']}, keras {manifest['keras']})")
    if not ok:
        print(f"  manifest lists {listed}")
    for case, entry in zip(CASES, manifest["cases"]):
        weights, wmeta = read_safetensors(out / entry["weightsFile"])
        io, _ = read_safetensors(out / entry["ioFile"])
        inputs = [io[f"input.{i}"] for i in range(len(entry["inputShapes"]))]
        outputs = [io[f"output.{i}"] for i in range(len(entry["outputShapes"]))]
        worst, problems, notes = check_case(case, weights, inputs, outputs, tolerance, entry.get("softmaxLaneNaNs"))
        if len(io) != len(inputs) + len(outputs):
            problems.append(f"unexpected io tensors {sorted(io)}")
        if [list(x.shape) for x in inputs] != entry["inputShapes"] or \
           [list(y.shape) for y in outputs] != entry["outputShapes"]:
            problems.append("shapes differ from the manifest")
        if [{"name": n, "shape": list(weights[n].shape)} for n in sorted(weights)] != entry["weights"]:
            problems.append("weights differ from the manifest")
        for fname, digest in entry["sha256"].items():
            if sha256(out / fname) != digest:
                problems.append(f"{fname} sha256 differs from the manifest")
        if wmeta.get("case") != (case.weights_from or case.name):
            problems.append(f"metadata names case {wmeta.get('case')}")
        ok &= not problems
        what = "max rel|keras - numpy|" if case.nonfinite else "max|keras - numpy|"
        print(f"  {case.name:<24} {what} = {worst:.2e}  {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
        for note in notes:
            print(f"  {'':<24}   {note}")
    ok &= cross_check_official_reader(out)
    return ok


def verify_full(out: Path, tolerance: float) -> bool:
    manifest = json.loads((out / "manifest.json").read_text())
    by_name = {c.name: c for c in FULL_CASES}
    ok = True
    print(f"\nVerify {out} (float64 numpy reference, tolerance {tolerance:.0e})")
    for entry in manifest["cases"]:
        weights, _ = read_safetensors(out / entry["weightsFile"])
        inputs = [np.load(out / entry["inputFile"])]
        outputs = [np.load(out / f) for f in entry["outputFiles"]]
        worst, problems, _ = check_case(by_name[entry["name"]], weights, inputs, outputs, tolerance)
        ok &= not problems
        print(f"  {entry['name']:<10} max|keras - numpy| = {worst:.2e}  {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    return ok & cross_check_official_reader(out)


def cross_check_official_reader(out: Path) -> bool:
    """If the `safetensors` package is installed, checks that it reads the files identically."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        print("  (safetensors package not installed: skipped the cross-check with the official reader)")
        return True
    ok = True
    for path in sorted(out.glob("*.safetensors")):
        ours, theirs = read_safetensors(path)[0], load_file(str(path))
        ok &= sorted(ours) == sorted(theirs) and all(np.array_equal(ours[k], theirs[k], equal_nan=True) for k in ours)
    print(f"  official safetensors reader agrees on every file: {ok}")
    return ok


def probe_semantics() -> None:
    """Asks Keras directly how 'same' padding splits odd totals and what MaxPooling2D pads with."""
    tf, keras = load_keras()
    rng = np.random.default_rng(0)
    print("\nKeras semantics probes")
    for (h, w), k, s in [((6, 7), (2, 2), (1, 1)), ((6, 7), (4, 4), (2, 2)), ((5, 8), (2, 3), (2, 3))]:
        keras.backend.clear_session()
        x = rng.standard_normal((1, h, w, 2)).astype(np.float32)
        layer = keras.layers.Conv2D(3, k, strides=s, padding="same", name="conv2d")
        y = keras.ops.convert_to_numpy(layer(x))
        weights = {"conv2d.kernel": layer.kernel.numpy(), "conv2d.bias": layer.bias.numpy()}
        after = conv2d(x.astype(np.float64), weights, "conv2d", strides=s, padding="same")
        pads = [same_pads(h, k[0], s[0]), same_pads(w, k[1], s[1])]
        # The other convention: the odd pixel before.
        before = [(p[1], p[0]) for p in pads]
        xp = np.pad(x.astype(np.float64), ((0, 0), tuple(before[0]), tuple(before[1]), (0, 0)))
        alt = conv2d(xp, weights, "conv2d", strides=s)[:, :y.shape[1], :y.shape[2]]
        print(f"  Conv2D same in {h}x{w} kernel {k} strides {s}: out {list(y.shape[1:3])}, pads (before, after)"
              f" {pads}; odd pixel after matches: {np.abs(after - y).max() < 1e-5}, "
              f"before matches: {alt.shape == y.shape and np.abs(alt - y).max() < 1e-5}")
    x = -1.0 - rng.random((1, 5, 5, 1)).astype(np.float32)   # all negative: padding shows through
    y = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D((2, 2), padding="same")(x))
    zero_padded = windows(x, (2, 2), (2, 2), "same", 0.0).max(axis=(4, 5))
    neg_inf_padded = max_pool(x, (2, 2), padding="same")
    print(f"  MaxPooling2D 2x2 same on all-negative 5x5: out {list(y.shape[1:3])}; "
          f"-inf padding matches: {np.array_equal(y, neg_inf_padded.astype(np.float32))}, "
          f"zero padding matches: {np.array_equal(y, zero_padded)}")
    x = np.linspace(-5.0, 5.0, 2001).astype(np.float32)
    x64 = x.astype(np.float64)
    def gap(y, ref):
        return float(np.abs(keras.ops.convert_to_numpy(y).astype(np.float64) - ref(x64)).max())
    string_gelu = keras.activations.get("gelu")(x)
    print(f"  activation 'gelu' on [-5, 5]: max|keras - erf form| = {gap(string_gelu, gelu):.1e}, "
          f"max|keras - tanh form| = {gap(string_gelu, gelu_tanh):.1e}")
    tanh_gelu = keras.activations.gelu(x, approximate=True)
    print(f"  gelu(approximate=True): max|keras - tanh form| = {gap(tanh_gelu, gelu_tanh):.1e}, "
          f"max|keras - erf form| = {gap(tanh_gelu, gelu):.1e}")
    same_fn = keras.activations.get("silu") is keras.activations.get("swish")
    print(f"  'silu' and 'swish' are the same function: {same_fn}; "
          f"max|keras silu - x sigmoid(x)| = {gap(keras.activations.get('silu')(x), silu):.1e}")
    layer = keras.layers.Dropout(0.5, seed=0)
    ones = np.ones((4, 64), np.float32)
    inference = keras.ops.convert_to_numpy(layer(ones, training=False))
    training = keras.ops.convert_to_numpy(layer(ones, training=True))
    print(f"  Dropout(0.5): identity with training=False: {np.array_equal(inference, ones)}; with "
          f"training=True {np.mean(training == 0):.0%} zeros, the rest scaled to {training.max():g}")
    probe_nonfinite(tf, keras)


def probe_nonfinite(tf, keras) -> None:
    """Asks Keras what NaN, +-inf and huge inputs give where the rules could go either way: Eigen's
    max (max pooling, relu) depends on the operand order, TensorFlow's softmax on oneDNN's lanes,
    graph mode fuses activations into oneDNN kernels, and float32 partial sums on the order."""
    rng = np.random.default_rng(1)
    L = keras.layers
    dropped = kept = 0
    floors = set()
    for channels in (1, 3, 8, 16, 17, 32):                      # vectorized and scalar paths
        for pool in ((2, 2), (3, 3)):
            x = rng.standard_normal((1, 6, 6, channels)).astype(np.float32)
            for y0 in range(0, 6 - pool[0] + 1, pool[0]):
                for x0 in range(0, 6 - pool[1] + 1, pool[1]):
                    pos = (0, y0 + int(rng.integers(pool[0])), x0 + int(rng.integers(pool[1])), int(rng.integers(channels)))
                    z = x.copy()
                    z[pos] = np.nan
                    out = keras.ops.convert_to_numpy(L.MaxPooling2D(pool)(z))
                    dropped += int(np.isfinite(out).all())
                    kept += int(not np.isfinite(out).all())
            allnan = np.full((1,) + pool + (channels,), np.nan, np.float32)
            floors.add(float(keras.ops.convert_to_numpy(L.MaxPooling2D(pool)(allnan)).max()))
            floors.add(float(keras.ops.convert_to_numpy(L.MaxPooling2D(pool)(-np.inf * np.ones_like(allnan))).max()))
    print(f"  MaxPooling2D, one NaN tap among finite ones: dropped in {dropped} windows, kept in {kept}; "
          f"a window of only NaN or only -inf gives {sorted(floors)} (-FLT_MAX = {-FLT_MAX:g})")
    special = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38], np.float32)
    for name in ("relu", "sigmoid", "tanh", "gelu", "silu"):
        got = keras.ops.convert_to_numpy(keras.activations.get(name)(special))
        print(f"  {name}(NaN, +inf, -inf, 3e38, -3e38) = {got.tolist()}")
    stats = {"rows": 0, "rule": 0, "lane NaNs": 0}
    for n in range(1, 70):
        for _ in range(4):
            x = rng.standard_normal((3, n)).astype(np.float32)
            x[0, rng.integers(n)] = np.nan
            x[1, rng.integers(n)] = np.inf
            x[2, :] = -np.inf
            got = keras.ops.convert_to_numpy(keras.activations.softmax(x))
            rule = softmax(x.astype(np.float64))
            stats["rows"] += 3
            stats["rule"] += int(sum(np.array_equal(np.isnan(g), np.isnan(r)) and np.all(g[~np.isnan(g)] == 0)
                                     for g, r in zip(got, rule)))
            lane = np.isnan(got) & (rule == 0)
            stats["lane NaNs"] += int(lane[0].sum())
            stats["elsewhere"] = stats.get("elsewhere", 0) + int(lane[1:].sum())
    print(f"  softmax rows with a NaN, a +inf, or only -inf: {stats['rule']} of {stats['rows']} exactly the rule "
          f"(NaN at NaN/+inf entries, 0 elsewhere; only -inf: NaN); oneDNN's extra lane NaNs: "
          f"{stats['lane NaNs']} in the rows with a NaN, {stats['elsewhere']} in the others")
    inp = keras.Input((6,))
    model = keras.Model(inp, L.Dense(4, activation="relu")(inp))
    x = rng.standard_normal((2, 6)).astype(np.float32)
    x[0, 1] = np.nan
    eager, graph = keras.ops.convert_to_numpy(model(x)), model.predict(x, verbose=0)
    print(f"  Dense relu of a NaN input: model(x) gives {eager[0].tolist()}, model.predict (graph mode, "
          f"fused into oneDNN) gives {graph[0].tolist()}: the fixtures use model(x)")
    cnn = build_cnn(keras, size=12)
    patterns = []
    for batch in (1, 2, 4):
        y = keras.ops.convert_to_numpy(cnn(np.full((batch, 12, 12, 3), 3e38, np.float32)))
        patterns.append(f"batch {batch}: {int(np.isnan(y[0]).sum())} NaN")
    weights = {f"{layer.name}.{k}": keras.ops.convert_to_numpy(getattr(layer, k)) for layer in cnn.layers
               if layer.weights for k in ("kernel", "bias")}
    FRAGILE.clear()
    ref_cnn(weights, np.full((1, 12, 12, 3), 3e38))
    print(f"  the tutorial CNN (its initial weights) on an image of 3e38 gives, in row 0 of 10 classes, "
          f"{', '.join(patterns)}; but {'; '.join(FRAGILE) or 'no outputs'} are order-dependent in float32 "
          f"(a partial sum may overflow or not): no rule defines those (TensorFlow's own answer changes with "
          f"its blocking, e.g. the batch size)")


# MARK: - Main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--full", type=Path, metavar="DIR",
                        help="write the tutorial-size cnn, lstm, attention, multitask to DIR instead")
    parser.add_argument("--seed", type=int, default=SEED, help=f"base seed (default {SEED})")
    parser.add_argument("--cases", metavar="NAME[,NAME...]",
                        help="generate only these cases and merge them into the manifest already in the "
                             "output directory; every other case's entry and files stay untouched")
    parser.add_argument("--verify", action="store_true",
                        help="after generating, recompute every output with numpy and probe Keras semantics")
    parser.add_argument("--check-only", action="store_true",
                        help="only verify the files already on disk (needs numpy alone)")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="max abs diff allowed by the check (default 1e-6)")
    args = parser.parse_args()
    only = None
    if args.cases is not None:
        only = [n.strip() for n in args.cases.split(",") if n.strip()]
        unknown = sorted(set(only) - {c.name for c in CASES})
        if args.full or args.check_only or unknown or not only:
            parser.error(f"--cases takes case names ({', '.join(c.name for c in CASES)}) and works "
                         "without --full and --check-only" + (f"; unknown: {unknown}" if unknown else ""))

    if not args.check_only:
        generate_full(args.full, args.seed) if args.full else generate(args.out, args.seed, only)
    if args.verify or args.check_only:
        if args.full:
            ok = verify_full(args.full, args.tolerance)
        else:
            ok = verify(args.out, args.tolerance)
        if args.verify and not args.check_only:
            probe_semantics()
        print("\nverify:", "all checks passed" if ok else "FAILED")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
