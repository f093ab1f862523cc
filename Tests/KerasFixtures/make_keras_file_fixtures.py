#!/usr/bin/env python3
"""Generate Keras model *files* (.keras and legacy .h5) for GraphJIT's file parser and converter.

Builds small models with Keras 3 (TensorFlow backend) and, for two legacy cases, with genuine Keras 2
(the ``tf_keras`` package), gives them seeded weights (Keras's default kernel initializers, biases
replaced by uniform(-0.5, 0.5)), trains most of them for three steps, saves them with Keras and writes,
into the output directory (default ``Tests/GraphJITTests/Fixtures/KerasFiles``):

  <case>.keras / <case>.h5   the model file exactly as Keras saved it (a .keras file is normalized: see
                             below)
  <case>.io.safetensors      F32: input.<i> (batch 3, standard normal), output.<j> = predict() of the
                             model loaded back from the file; for trained cases also the resume data:
                             resume.input.<i>, resume.target.<j> (one-hot, batch 4), resume.loss ([1], the
                             loss train_on_batch reports on the loaded model) and resume.weight.<name>,
                             every weight after that step, with GraphJIT's names
  manifest.json              per case: the layers as model.summary() shows them, shapes, params, the
                             optimizer's get_config(), its iterations before saving and after loading,
                             Keras's summary text, the sha256 of every file, the versions

The resume step loads the saved file with compile=True, so that it continues from the saved optimizer
state (Adam moments, iterations...), and calls train_on_batch(x, y, return_dict=True) once.

Usage (from the package root):

  python Tests/KerasFixtures/make_keras_file_fixtures.py                 # regenerate every case
  python Tests/KerasFixtures/make_keras_file_fixtures.py --check-only    # re-verify the files on disk
  python Tests/KerasFixtures/make_keras_file_fixtures.py --full /tmp/keras-files-full   # tutorial sizes
  python Tests/KerasFixtures/make_keras_file_fixtures.py --roundtrip .build/debug/graphjit
                                   # graphjit convert every case back to .keras and compare in Keras
  python Tests/KerasFixtures/make_keras_file_fixtures.py --dump-layouts /tmp/keras-file-layouts.txt
                                   # the zip members, HDF5 trees, configs and optimizer slots, as text

Normalization of .keras files (so that the bytes are reproducible; Keras reads them unchanged): the zip
member model.weights.h5 gets the zip date 1980-01-01 00:00:00 (Keras already writes metadata.json and
config.json with that date), metadata.json's "date_saved" becomes "1980-01-01@00:00:00", and every
"shared_object_id" in config.json (CPython id()s, different on every run) is renumbered in order of first
appearance as 140000000000001, 140000000000002, ... (real files hold numbers of that size too). Nothing
else changes: the members keep their order, compression (stored) and bytes. Legacy .h5 files are kept as
Keras wrote them (they hold no timestamps).

Same seed, same library versions, same machine -> the same bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_keras_fixtures import case_seed, read_safetensors, sha256, write_safetensors  # noqa: E402

SEED = 42
BATCH = 3                 # io inputs
FIT_BATCH = 4
FIT_STEPS = 3             # fit(epochs=1) on FIT_STEPS * FIT_BATCH samples
RESUME_BATCH = 4
BIAS_RANGE = 0.5
TOLERANCE = 1e-6
SIZE_BUDGET = 2_500_000   # bytes, the whole KerasFiles/ folder
FULL_BATCH = 8
FULL_STEPS = 2
DEFAULT_OUT = HERE.parent / "GraphJITTests" / "Fixtures" / "KerasFiles"
SUMMARY_COLUMNS = "200"   # Keras caps its summary width at the terminal's: pin it, so the default applies
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DATE_SAVED = "1980-01-01@00:00:00"
SHARED_ID_BASE = 140_000_000_000_000
LSTM_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
AttentionLayer = None     # defined by load_keras()


# MARK: - Libraries (imported lazily)

def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    import absl.logging
    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.config.experimental.enable_op_determinism()
    return tf


_KERAS = None


def load_keras():
    """Imports Keras 3 (TensorFlow backend) and registers the tutorial's AttentionLayer as
    "MyLayers>AttentionLayer", with a get_config (units) and a build that builds both sublayers."""
    global _KERAS, AttentionLayer
    if _KERAS is not None:
        return _KERAS
    tf = _quiet_tensorflow()
    import keras
    if keras.backend.backend() != "tensorflow":
        sys.exit(f"expected the TensorFlow backend, got {keras.backend.backend()}")

    @keras.saving.register_keras_serializable(package="MyLayers")
    class AttentionLayer(keras.layers.Layer):  # noqa: F811  (the module-level name is set below)
        """Additive attention pooling over time, exactly as the tutorial defines it."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.W = keras.layers.Dense(units, name="W")
            self.V = keras.layers.Dense(1, name="V")

        def build(self, input_shape):
            input_shape = tuple(input_shape)
            self.W.build(input_shape)
            self.V.build(input_shape[:-1] + (self.units,))

        def call(self, inputs):
            score = self.V(keras.ops.tanh(self.W(inputs)))   # (batch, T, 1)
            attention_weights = keras.ops.softmax(score, axis=1)
            context_vector = attention_weights * inputs
            return keras.ops.sum(context_vector, axis=1)       # (batch, features)

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    globals()["AttentionLayer"] = AttentionLayer
    _KERAS = (tf, keras)
    return _KERAS


def load_tf_keras():
    """Imports genuine Keras 2 (the tf_keras package on the installed TensorFlow), or returns None."""
    _quiet_tensorflow()
    try:
        import tf_keras
    except ImportError:
        return None
    return tf_keras


# MARK: - Model builders (automatic layer names: Keras numbers them)

def throwaway(keras, inputs=0, dense=0, conv2d=0, pools=0, models=0):
    """Creates layers (and models) that are never used, so that Keras's name counters move on: the
    case's own layers then get names like dense_7 and input_layer_2 instead of dense, input_layer."""
    L = keras.layers
    made = [keras.Input((2,)) for _ in range(inputs)]
    made += [L.Dense(1) for _ in range(dense)]
    made += [L.Conv2D(1, (1, 1)) for _ in range(conv2d)]
    made += [L.MaxPooling2D() for _ in range(pools)]
    for _ in range(models):   # a whole throwaway functional model (it names an input layer and a Dense too)
        x = keras.Input((2,))
        made.append(keras.Model(x, L.Dense(1)(x)))
    return made


def build_cnn_sequential(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Conv2D(32, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(10, activation="softmax")])


def build_cnn_functional(keras):
    L = keras.layers
    throwaway(keras, inputs=1, dense=6, conv2d=3, models=1)
    x = keras.Input((8, 8, 3))
    h = L.Conv2D(32, (3, 3), activation="relu")(x)
    h = L.MaxPooling2D((2, 2))(h)
    h = L.Flatten()(h)
    h = L.Dense(16, activation="relu")(h)
    y = L.Dense(10, activation="softmax")(h)
    return keras.Model(x, y)


def build_lstm_sequential(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((6, 5)), L.LSTM(12), L.Dense(10, activation="softmax")])


def build_lstm_functional(keras):
    L = keras.layers
    x = keras.Input((6, 5))
    h = L.LSTM(12, return_sequences=True)(x)
    h = L.LSTM(8)(h)
    return keras.Model(x, L.Dense(4, activation="softmax")(h))


def build_attention_functional(keras):
    L = keras.layers
    x = keras.Input((7, 6))
    h = L.LSTM(8, return_sequences=True)(x)
    h = AttentionLayer(5)(h)
    return keras.Model(x, L.Dense(10, activation="softmax")(h))


def build_attention_sequential(keras):
    return keras.Sequential([keras.Input((7, 6)), AttentionLayer(4),
                             keras.layers.Dense(3, activation="softmax")])


def build_multitask(keras):
    L = keras.layers
    throwaway(keras, inputs=1, dense=5)
    x = keras.Input((16,))
    shared = L.Dense(32, activation="relu")(x)
    a = L.Dense(10, activation="softmax")(shared)
    b = L.Dense(5, activation="softmax")(shared)
    return keras.Model(x, [a, b])


def build_variants_functional(keras):
    L = keras.layers
    image = keras.Input((9, 9, 2))
    vector = keras.Input((6,))
    a = L.Conv2D(4, (3, 3), strides=(2, 2), padding="same", use_bias=False, activation="tanh")(image)
    a = L.MaxPooling2D((2, 2), padding="same")(a)
    a = L.Flatten()(a)
    b = L.Dense(5, activation="gelu")(vector)
    b = L.Dropout(0.3)(b)
    h = L.Concatenate()([a, b])
    h = L.Dense(8)(h)
    h = L.Activation("relu")(h)
    h = L.Dense(3)(h)
    return keras.Model([image, vector], L.Softmax()(h))


def build_mlp_rmsprop(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((10,)), L.Dense(12, activation="sigmoid"),
                             L.Dense(4, activation="softmax")])


def build_mlp_keras3_h5(keras):
    L = keras.layers
    x = keras.Input((10,))
    h = L.Dense(6, activation="relu")(x)
    return keras.Model(x, L.Dense(3, activation="softmax")(h))


def build_lstm_legacy_keras2(tfk):
    L = tfk.layers
    return tfk.Sequential([L.InputLayer((6, 5)), L.LSTM(7), L.Dense(3, activation="softmax")])


def build_cnn_legacy_keras2(tfk):
    L = tfk.layers
    x = tfk.Input((8, 8, 3))
    h = L.Conv2D(4, 3, activation="relu")(x)
    h = L.MaxPooling2D()(h)
    h = L.Flatten()(h)
    return tfk.Model(x, L.Dense(10, activation="softmax")(h))


# MARK: - Cases

def adam(lib):
    return lib.optimizers.Adam()


@dataclass
class Case:
    name: str
    description: str
    build: Callable
    format: str                          # "keras3", "keras3-h5" or "keras2-h5"
    layers: list[str]                    # expected summary rows (automatic names, checked)
    optimizer: Callable | None = None    # lib -> optimizer; None: not compiled, not trained
    outputs: int = 1

    @property
    def suffix(self) -> str:
        return ".keras" if self.format == "keras3" else ".h5"

    @property
    def legacy(self) -> bool:
        return self.format == "keras2-h5"


CASES = [
    Case("cnn_sequential",
         "The tutorial's CNN as the tutorial writes it, a keras.Sequential, small: Input (8,8,3), Conv2D 32 3x3 "
         "relu, MaxPooling2D 2x2, Flatten, Dense 16 relu, Dense 10 softmax. Adam, trained 3 steps. Sequential: "
         "the summary (and model.layers) has no InputLayer row",
         build_cnn_sequential, "keras3", ["conv2d", "max_pooling2d", "flatten", "dense", "dense_1"], adam),
    Case("cnn_functional",
         "The same CNN as a functional keras.Model. Throwaway objects first (1 Input, 6 Dense, 3 Conv2D and one "
         "throwaway functional model with its own Input and Dense), so the names are input_layer_2, conv2d_3, "
         "max_pooling2d, flatten, dense_7, dense_8 and the model is functional_1. Adam, trained 3 steps",
         build_cnn_functional, "keras3",
         ["input_layer_2", "conv2d_3", "max_pooling2d", "flatten", "dense_7", "dense_8"], adam),
    Case("lstm_sequential",
         "Sequential: Input (6,5), LSTM 12 (last state), Dense 10 softmax. Adam, trained 3 steps",
         build_lstm_sequential, "keras3", ["lstm", "dense"], adam),
    Case("lstm_functional",
         "Functional: Input (6,5), LSTM 12 return_sequences, LSTM 8, Dense 4 softmax. Adam, trained 3 steps",
         build_lstm_functional, "keras3", ["input_layer", "lstm", "lstm_1", "dense"], adam),
    Case("attention_functional",
         "Functional: Input (7,6), LSTM 8 return_sequences, AttentionLayer(5) (registered MyLayers>AttentionLayer), "
         "Dense 10 softmax. Adam, trained 3 steps",
         build_attention_functional, "keras3", ["input_layer", "lstm", "attention_layer", "dense"], adam),
    Case("attention_sequential",
         "Sequential: Input (7,6), AttentionLayer(4), Dense 3 softmax. Not compiled, not trained: config.json's "
         "compile_config is {} (present, empty) and model.weights.h5 has no optimizer group",
         build_attention_sequential, "keras3", ["attention_layer", "dense"]),
    Case("multitask",
         "Functional, two outputs: Input 16, shared Dense 32 relu, heads Dense 10 softmax and Dense 5 softmax. "
         "Throwaway objects first (1 Input, 5 Dense), so the names are input_layer_1, dense_5, dense_6, dense_7. "
         "Adam, a categorical crossentropy and an accuracy per output, trained 3 steps",
         build_multitask, "keras3", ["input_layer_1", "dense_5", "dense_6", "dense_7"], adam, outputs=2),
    Case("variants_functional",
         "Functional, two inputs: image (9,9,2) -> Conv2D 4 3x3 strides 2 'same' use_bias=False tanh -> "
         "MaxPooling2D 2x2 'same' -> Flatten; vector (6,) -> Dense 5 gelu -> Dropout 0.3; Concatenate -> Dense 8 "
         "-> Activation relu -> Dense 3 -> Softmax. SGD(learning_rate=0.05, momentum=0.9, nesterov=True), trained "
         "3 steps. The resume step trains through the Dropout, so its mask comes from Keras's seed generator",
         build_variants_functional, "keras3",
         ["input_layer", "conv2d", "input_layer_1", "max_pooling2d", "dense", "flatten", "dropout",
          "concatenate", "dense_1", "activation", "dense_2", "softmax"],
         lambda lib: lib.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)),
    Case("mlp_rmsprop",
         "Sequential: Input 10, Dense 12 sigmoid, Dense 4 softmax. RMSprop(learning_rate=0.01, momentum=0.5, "
         "centered=True), trained 3 steps",
         build_mlp_rmsprop, "keras3", ["dense", "dense_1"],
         lambda lib: lib.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True)),
    Case("lstm_legacy_keras2",
         "Genuine Keras 2 (tf_keras) HDF5: Sequential InputLayer (6,5), LSTM 7, Dense 3 softmax; Adam, trained 3 "
         "steps, model.save(path, save_format='h5'). Outputs from tf_keras's predict. No resume data (the legacy "
         "optimizer state is laid out differently)",
         build_lstm_legacy_keras2, "keras2-h5", ["lstm", "dense"], adam),
    Case("cnn_legacy_keras2",
         "Genuine Keras 2 (tf_keras) HDF5: functional Input (8,8,3), Conv2D 4 3x3 relu, MaxPooling2D 2x2, "
         "Flatten, Dense 10 softmax. Not compiled (no training_config)",
         build_cnn_legacy_keras2, "keras2-h5", ["input_1", "conv2d", "max_pooling2d", "flatten", "dense"]),
    Case("mlp_keras3_h5",
         "Keras 3 writing the legacy HDF5 format (model.save('x.h5')): functional Input 10, Dense 6 relu, Dense 3 "
         "softmax. Adam, trained 3 steps",
         build_mlp_keras3_h5, "keras3-h5", ["input_layer", "dense", "dense_1"], adam),
]
CASE_BY_NAME = {c.name: c for c in CASES}


# MARK: - Helpers

def graphjit_weights(lib, model) -> dict[str, object]:
    """Maps GraphJIT's `<layer>.<weight>` names to the model's variables (Keras 3 or tf_keras), missing none."""
    names: dict[str, object] = {}

    def add_dense_like(prefix, layer):
        names[f"{prefix}.kernel"] = layer.kernel
        if layer.use_bias:
            names[f"{prefix}.bias"] = layer.bias

    for layer in model.layers:
        if AttentionLayer is not None and isinstance(layer, AttentionLayer):
            for sub in ("W", "V"):
                add_dense_like(f"{layer.name}.{sub}", getattr(layer, sub))
        elif isinstance(layer, lib.layers.LSTM):
            for key in LSTM_WEIGHTS:
                names[f"{layer.name}.{key}"] = getattr(layer.cell, key)
        elif isinstance(layer, (lib.layers.Dense, lib.layers.Conv2D)):
            add_dense_like(layer.name, layer)
        elif layer.weights:
            raise TypeError(f"no GraphJIT weight names for layer {layer.name} ({type(layer).__name__})")
    if sorted(id(v) for v in names.values()) != sorted(id(v) for v in model.weights):
        raise RuntimeError(f"{model.name}: the GraphJIT names do not cover exactly the model's weights")
    return names


def numpy_weights(variables) -> dict[str, np.ndarray]:
    return {n: np.asarray(v.numpy(), np.float32) for n, v in variables.items()}


def as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def feed(arrays):
    return arrays if len(arrays) > 1 else arrays[0]


def one_hot(rng, rows, classes):
    return np.eye(classes, dtype=np.float32)[rng.integers(0, classes, rows)]


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def format_json(obj) -> str:
    """Indented UTF-8 JSON with every list of numbers kept on one line."""
    text = json.dumps(jsonable(obj), indent=2, ensure_ascii=False)
    return re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text) + "\n"


@contextlib.contextmanager
def summary_width():
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = SUMMARY_COLUMNS
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def summary_text(model) -> str:
    lines = []
    with summary_width():
        model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def per_sample(shape, where):
    shape = list(shape)
    if not shape or shape[0] is not None:
        raise RuntimeError(f"{where}: shape {shape} has no null batch dimension")
    return [int(d) if d is not None else None for d in shape[1:]]


def summary_rows(lib, model, is_keras3: bool) -> list[dict]:
    """The rows of model.summary(): Keras 3 lists a Functional model's _operations (with its InputLayers) and
    a Sequential model's layers (without); tf_keras lists model.layers (the same for these models)."""
    if is_keras3 and isinstance(model, lib.Model) and type(model).__name__ == "Functional":
        layers = model._operations
    else:
        layers = model.layers
    rows = []
    for layer in layers:
        if is_keras3:
            outs = as_list(layer._inbound_nodes[-1].output_tensors)
            shapes = [per_sample(t.shape, layer.name) for t in outs]
        else:
            raw = layer.output_shape
            raw = raw if isinstance(raw, list) else [raw]
            shapes = [per_sample(s, layer.name) for s in raw]
        rows.append({"name": layer.name, "className": type(layer).__name__,
                     "outputShape": shapes[0] if len(shapes) == 1 else shapes,
                     "params": int(layer.count_params()) if layer.built else 0})
    return rows


def summary_counts(text: str) -> dict[str, int | None]:
    def grab(pattern):
        m = re.search(pattern + r" ([\d,]+)", text)
        return int(m.group(1).replace(",", "")) if m else None
    return {"totalParams": grab(r"Total params:"), "trainableParams": grab(r"(?<![-\w])Trainable params:"),
            "nonTrainableParams": grab(r"Non-trainable params:"), "optimizerParams": grab(r"Optimizer params:")}


def check_summary(text: str, rows: list[dict], is_keras3: bool) -> list[str]:
    """The rows must appear in the summary text in order, each with its class and params."""
    problems, at = [], 0
    for row in rows:
        # tf_keras wraps a long "name (Class)" onto a second line ("max_pooling2d (MaxPooling2" / "D)")
        label = f"{row['name']} ({row['className']})" if is_keras3 else f" {row['name']} ("
        found = text.find(label, at)
        if found < 0:
            problems.append(f"summary has no row {label!r} (in order)")
            continue
        line_end = text.find("\n", found)
        rest = text[found:line_end]
        if f"{row['params']:,}" not in rest:
            problems.append(f"summary row {label} does not show {row['params']:,} params")
        at = line_end
    return problems


def normalize_keras_zip(path: Path) -> dict:
    """Makes a .keras file reproducible: see the module docstring. Returns what it changed."""
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    ids: dict[bytes, int] = {}

    def renumber(m):
        ids.setdefault(m.group(1), SHARED_ID_BASE + len(ids) + 1)
        return b'"shared_object_id": ' + str(ids[m.group(1)]).encode()

    buf, changed = io.BytesIO(), {}
    with zipfile.ZipFile(buf, "w") as zout:
        for info, data in members:
            if info.filename == "metadata.json":
                data, n = re.subn(rb'"date_saved": "[^"]*"', f'"date_saved": "{DATE_SAVED}"'.encode(), data)
                if n != 1:
                    raise RuntimeError(f"{path.name}: metadata.json has {n} date_saved entries")
            elif info.filename == "config.json":
                data = re.sub(rb'"shared_object_id": (\d+)', renumber, data)
                changed["sharedObjectIds"] = len(ids)
            if info.date_time != ZIP_DATE:
                changed.setdefault("zipDates", []).append(info.filename)
            new = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            new.create_system = info.create_system
            zout.writestr(new, data)
    path.write_bytes(buf.getvalue())
    return changed


def h5_tree(h5file) -> list[tuple[str, object]]:
    """Every group and dataset of an open h5py file, in h5py's (name-sorted) order."""
    import h5py
    items = []
    h5file.visititems(lambda name, obj: items.append((name, obj)))
    return [(n, o) for n, o in items if isinstance(o, (h5py.Group, h5py.Dataset))]


def keras_weights_h5(path: Path):
    """Opens the model.weights.h5 inside a .keras file (in memory)."""
    import h5py
    with zipfile.ZipFile(path) as z:
        return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")


def h5_layer_groups(model) -> list[tuple[str, object]]:
    """The group of each of model.layers under `layers/` in a .keras file's model.weights.h5. Keras does not
    use the layer's name there but the snake-cased class name, numbered per class in model.layers order
    (saving_lib._save_container_state): dense, dense_1, ... even for layers named dense_7, dense_8. The
    layer's own name is the `name` attribute of the group's `vars` subgroup."""
    from keras.src.utils.naming import to_snake_case
    used: dict[str, int] = {}
    groups = []
    for layer in model.layers:
        base = to_snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        groups.append((f"layers/{base}" + (f"_{used[base]}" if used[base] else ""), layer))
    return groups


def expected_h5_datasets(lib, model) -> dict[str, str]:
    """Where each GraphJIT weight lives in a .keras file's model.weights.h5."""
    where = {}
    for group, layer in h5_layer_groups(model):
        if AttentionLayer is not None and isinstance(layer, AttentionLayer):
            for sub in ("W", "V"):   # sublayers: by attribute name
                where[f"{layer.name}.{sub}.kernel"] = f"{group}/{sub}/vars/0"
                where[f"{layer.name}.{sub}.bias"] = f"{group}/{sub}/vars/1"
        elif isinstance(layer, lib.layers.LSTM):
            for i, key in enumerate(LSTM_WEIGHTS):
                where[f"{layer.name}.{key}"] = f"{group}/cell/vars/{i}"
        elif isinstance(layer, (lib.layers.Dense, lib.layers.Conv2D)):
            where[f"{layer.name}.kernel"] = f"{group}/vars/0"
            if layer.use_bias:
                where[f"{layer.name}.bias"] = f"{group}/vars/1"
    return where


def check_keras_layout(lib, model, path: Path, weights: dict[str, np.ndarray]) -> list[str]:
    """Lists model.weights.h5 in the zip: each weight must sit at its path with its values, and each layer
    group's vars must carry the layer's name."""
    problems = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    if names != ["metadata.json", "config.json", "model.weights.h5"]:
        problems.append(f"zip members {names}")
    with keras_weights_h5(path) as f:
        for group, layer in h5_layer_groups(model):
            got = f[f"{group}/vars"].attrs.get("name") if f"{group}/vars" in f else None
            if got != layer.name:
                problems.append(f"{group}/vars has name {got!r}, expected {layer.name!r}")
        for name, dataset in expected_h5_datasets(lib, model).items():
            if dataset not in f:
                problems.append(f"{name}: no {dataset} in model.weights.h5")
            elif not np.array_equal(f[dataset][()], weights[name]):
                problems.append(f"{name}: {dataset} holds other values")
        if f["vars"].attrs.get("name") != model.name:
            problems.append(f"root vars name {f['vars'].attrs.get('name')!r}, model {model.name!r}")
    return problems


def optimizer_state(optimizer) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in optimizer.variables]


def same_state(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def versions() -> dict[str, str]:
    tf, keras = load_keras()
    import h5py
    tfk = load_tf_keras()
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "tf_keras": tfk.__version__ if tfk else None,
            "numpy": np.__version__, "h5py": h5py.__version__}


# MARK: - Generation

def load_saved(case: Case, path: Path, cseed: int, compile: bool = True):
    """Loads a saved file in a fresh session (seeded, so that a loaded Dropout's seed generator is too)."""
    if case.legacy:
        tfk = load_tf_keras()
        tfk.backend.clear_session()
        tfk.utils.set_random_seed(cseed)
        return tfk, tfk.models.load_model(path, compile=compile)
    _, keras = load_keras()
    keras.backend.clear_session()
    keras.utils.set_random_seed(cseed)
    return keras, keras.models.load_model(path, compile=compile)


def loads_in_keras3(path: Path, inputs, outputs) -> tuple[bool, float | None, str | None]:
    """Whether Keras 3 reads a legacy Keras 2 file, and how far its predictions are from the saved outputs."""
    _, keras = load_keras()
    keras.backend.clear_session()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001  (any failure means: does not load)
        return False, None, f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    got = as_list(model.predict(feed(inputs), batch_size=len(inputs[0]), verbose=0))
    return True, max(float(np.abs(g - y).max()) for g, y in zip(got, outputs)), None


def run_case(case: Case, out: Path, seed: int, vers: dict) -> dict:
    cseed = case_seed(seed, case.name)
    if case.legacy:
        lib = load_tf_keras()
        if lib is None:
            raise RuntimeError("tf_keras is not installed")
    else:
        _, lib = load_keras()
    lib.backend.clear_session()
    lib.utils.set_random_seed(cseed)
    model = case.build(lib)
    rng = np.random.default_rng(cseed)
    variables = graphjit_weights(lib, model)
    for name in sorted(variables):              # biases: non-zero uniform(-0.5, 0.5), in name order
        if name.endswith(".bias"):
            var = variables[name]
            values = rng.uniform(-BIAS_RANGE, BIAS_RANGE, tuple(var.shape)).astype(np.float32)
            values[values == 0] = 0.25
            var.assign(values)
    in_shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.inputs]
    out_shapes = [tuple(int(d) for d in t.shape[1:]) for t in model.outputs]
    iterations = None
    if case.optimizer:
        n = FIT_STEPS * FIT_BATCH
        x_fit = [rng.standard_normal((n,) + s).astype(np.float32) for s in in_shapes]
        y_fit = [one_hot(rng, n, s[-1]) for s in out_shapes]
        multi = case.outputs > 1
        model.compile(optimizer=case.optimizer(lib),
                      loss=["categorical_crossentropy"] * case.outputs if multi else "categorical_crossentropy",
                      metrics=["accuracy"] * case.outputs if multi else ["accuracy"])
        model.fit(feed(x_fit), feed(y_fit), batch_size=FIT_BATCH, epochs=1, shuffle=False, verbose=0)
        iterations = int(model.optimizer.iterations.numpy())
        if iterations != FIT_STEPS:
            raise RuntimeError(f"{case.name}: {iterations} optimizer iterations after fit, expected {FIT_STEPS}")
    before_state = optimizer_state(model.optimizer) if case.optimizer else None
    saved_weights = numpy_weights(variables)
    inputs = [rng.standard_normal((BATCH,) + s).astype(np.float32) for s in in_shapes]
    in_memory = as_list(model.predict(feed(inputs), batch_size=BATCH, verbose=0))

    path = out / f"{case.name}{case.suffix}"
    path.unlink(missing_ok=True)
    normalized = None
    with warnings_silenced():
        if case.legacy:
            model.save(path, save_format="h5")
        else:
            model.save(path)
    if case.format == "keras3":
        normalized = normalize_keras_zip(path)

    # Everything below reads the saved file back.
    lib2, loaded = load_saved(case, path, cseed)
    text = summary_text(loaded)
    rows = summary_rows(lib2, loaded, not case.legacy)
    problems = check_summary(text, rows, not case.legacy)
    if [r["name"] for r in rows] != case.layers:
        problems.append(f"summary layers {[r['name'] for r in rows]}, expected {case.layers}")
    counts = summary_counts(text)
    weight_count = sum(int(np.prod(w.shape)) for w in saved_weights.values())
    if counts["trainableParams"] != weight_count:
        problems.append(f"summary trainable params {counts['trainableParams']}, weights hold {weight_count}")
    loaded_vars = graphjit_weights(lib2, loaded)
    loaded_weights = numpy_weights(loaded_vars)
    if sorted(loaded_weights) != sorted(saved_weights) or \
            any(not np.array_equal(loaded_weights[n], saved_weights[n]) for n in saved_weights):
        problems.append("the loaded weights differ from the saved ones")
    if case.format == "keras3":
        problems += check_keras_layout(lib2, loaded, path, saved_weights)
    outputs = [np.asarray(y, np.float32) for y in as_list(loaded.predict(feed(inputs), batch_size=BATCH, verbose=0))]
    memory_diff = max(float(np.abs(a - b).max()) for a, b in zip(outputs, in_memory))
    if memory_diff > TOLERANCE:
        problems.append(f"the loaded model's predictions differ from the in-memory model's by {memory_diff:.2e}")

    optimizer = loaded.optimizer if getattr(loaded, "optimizer", None) is not None else None
    if bool(optimizer) != bool(case.optimizer):
        problems.append(f"loaded optimizer {optimizer!r}, expected {'one' if case.optimizer else 'none'}")
    iterations_after = int(optimizer.iterations.numpy()) if optimizer is not None else None
    if iterations_after != iterations:
        problems.append(f"optimizer iterations {iterations} before saving, {iterations_after} after loading")
    state_restored = same_state(before_state, optimizer_state(optimizer)) if optimizer is not None else None

    tensors = {f"input.{i}": x for i, x in enumerate(inputs)} | {f"output.{j}": y for j, y in enumerate(outputs)}
    resume, resume_error = None, None
    if case.optimizer and not case.legacy:
        x_r = [rng.standard_normal((RESUME_BATCH,) + s).astype(np.float32) for s in in_shapes]
        y_r = [one_hot(rng, RESUME_BATCH, s[-1]) for s in out_shapes]
        if not state_restored:
            resume_error = (f"the loaded optimizer has {len(optimizer.variables)} variables "
                            f"({', '.join(v.path for v in optimizer.variables)[:200]}), the saved one had "
                            f"{len(before_state)}: Keras does not restore the optimizer state from this file")
        try:
            logs = {k: float(v) for k, v in loaded.train_on_batch(feed(x_r), feed(y_r), return_dict=True).items()}
        except Exception as error:  # noqa: BLE001  (Keras cannot resume from this file: recorded, no resume data)
            resume_error = (resume_error + "; " if resume_error else "") + \
                f"train_on_batch fails: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
        else:
            if resume_error:
                raise RuntimeError(f"{case.name}: resumed without the saved optimizer state: {resume_error}")
            after = numpy_weights(loaded_vars)
            tensors |= {f"resume.input.{i}": x for i, x in enumerate(x_r)}
            tensors |= {f"resume.target.{j}": y for j, y in enumerate(y_r)}
            tensors["resume.loss"] = np.array([logs["loss"]], np.float32)
            tensors |= {f"resume.weight.{n}": w for n, w in after.items()}
            resume = {"batch": RESUME_BATCH, "logs": logs,
                      "iterations": int(optimizer.iterations.numpy()),
                      "weights": [{"name": n, "shape": list(after[n].shape)} for n in sorted(after)]}
            if any(isinstance(layer, lib2.layers.Dropout) for layer in loaded.layers):
                resume["note"] = ("the step trains through Dropout: its mask comes from the layer's SeedGenerator, "
                                  "whose state is not saved in the file (layers/dropout/vars is empty); the script "
                                  "calls keras.utils.set_random_seed(seed) right before load_model, so Keras "
                                  "repeats it, but another implementation matches resume.* only with the same mask")
    if problems:
        sys.exit(f"{case.name}: " + "\n  ".join(problems))

    iopath = out / f"{case.name}.io.safetensors"
    meta = {"case": case.name, "seed": str(cseed), "file": path.name,
            **{k: v for k, v in vers.items() if v is not None}}
    write_safetensors(iopath, tensors, meta)
    keras3 = {"loadsInKeras3": True}
    if case.legacy:
        ok, diff, error = loads_in_keras3(path, inputs, outputs)
        keras3 = {"loadsInKeras3": ok, "keras3MaxAbsDiff": diff}
        if error:
            keras3["keras3LoadError"] = error
    writer = ("tf_keras", vers["tf_keras"]) if case.legacy else ("keras", vers["keras"])
    entry = {
        "name": case.name,
        "description": case.description,
        "seed": cseed,
        "file": path.name,
        "ioFile": iopath.name,
        "format": case.format,
        "writer": {"package": writer[0], "version": writer[1]},
        "keras": writer[1], "tensorflow": vers["tensorflow"], "numpy": vers["numpy"],
        "modelClass": type(loaded).__name__,
        "modelName": loaded.name,
        "inputShapes": [list(s) for s in in_shapes],
        "outputShapes": [list(s) for s in out_shapes],
        "layers": rows,
        **counts,
        "weights": [{"name": n, "shape": list(saved_weights[n].shape)} for n in sorted(saved_weights)],
        "optimizer": optimizer.get_config() if optimizer is not None else None,
        "optimizerClass": type(optimizer).__name__ if optimizer is not None else None,
        "loss": (["categorical_crossentropy"] * case.outputs if case.outputs > 1 else "categorical_crossentropy")
                if case.optimizer else None,
        "metrics": (["accuracy"] * case.outputs if case.outputs > 1 else ["accuracy"]) if case.optimizer else None,
        "iterations": iterations,
        "iterationsAfterLoad": iterations_after,
        "iterationsMatch": iterations == iterations_after,
        "optimizerStateRestored": state_restored,
        "hasResume": resume is not None,
        **keras3,
        "summaryText": text,
    }
    if resume is not None:
        entry["resume"] = resume
    elif resume_error:
        entry["noResumeReason"] = resume_error
    elif case.legacy and case.optimizer:
        entry["noResumeReason"] = "legacy Keras 2 file: no resume data (Keras 2's optimizer variables differ)"
    if normalized is not None:
        entry["normalized"] = normalized
    entry["sha256"] = {path.name: sha256(path), iopath.name: sha256(iopath)}
    return entry


@contextlib.contextmanager
def warnings_silenced():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def generate(out: Path, seed: int) -> None:
    load_keras()
    vers = versions()
    out.mkdir(parents=True, exist_ok=True)
    mpath = out / "manifest.json"
    previous = json.loads(mpath.read_text()) if mpath.exists() else None
    old = {c["name"]: c["sha256"] for c in previous["cases"]} if previous else {}
    cases = CASES
    if vers["tf_keras"] is None:
        print("tf_keras is not installed: skipping the legacy Keras 2 cases (pip install --no-deps tf-keras)")
        cases = [c for c in CASES if not c.legacy]
    print(f"Keras file fixtures -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}, "
          f"tf_keras {vers['tf_keras']}, seed {seed})")
    print(f"{'case':<22} {'file':<28} {'bytes':>7} {'io B':>6} {'class':<10} {'layers':>6} {'params':>6} "
          f"{'opt p':>6} {'iter':>4} {'resume loss':>11}  keras3")
    entries, started = [], time.time()
    for case in cases:
        entry = run_case(case, out, seed, vers)
        entries.append(entry)
        loss = f"{entry['resume']['logs']['loss']:.6f}" if entry["hasResume"] else "-"
        k3 = "" if not case.legacy else (
            f"loads, max|diff| {entry['keras3MaxAbsDiff']:.1e}" if entry["loadsInKeras3"] else "does not load")
        print(f"{case.name:<22} {entry['file']:<28} {(out / entry['file']).stat().st_size:>7} "
              f"{(out / entry['ioFile']).stat().st_size:>6} {entry['modelClass']:<10} {len(entry['layers']):>6} "
              f"{entry['trainableParams']:>6} {entry['optimizerParams'] or '-':>6} "
              f"{entry['iterations'] if entry['iterations'] is not None else '-':>4} {loss:>11}  {k3}")
    manifest = {"generator": "Tests/KerasFixtures/make_keras_file_fixtures.py", **vers, "seed": seed,
                "batch": BATCH, "fit": {"steps": FIT_STEPS, "batchSize": FIT_BATCH, "epochs": 1, "shuffle": False},
                "resumeBatch": RESUME_BATCH, "biasInit": f"uniform(-{BIAS_RANGE}, {BIAS_RANGE})",
                "inputInit": "standard normal", "tolerance": TOLERANCE,
                "kerasZipNormalization": {"zipDate": list(ZIP_DATE), "dateSaved": DATE_SAVED,
                                          "sharedObjectIdBase": SHARED_ID_BASE},
                "cases": entries}
    mpath.write_text(format_json(manifest))
    for stale in sorted(set(p.name for p in out.iterdir()) - expected_files(manifest)):
        print(f"note: {stale} in {out} is not part of the manifest")
    total = sum((out / f).stat().st_size for f in expected_files(manifest))
    print(f"manifest.json {mpath.stat().st_size} B; total {total} B ({total / SIZE_BUDGET:.0%} of the "
          f"{SIZE_BUDGET} B budget); {time.time() - started:.0f} s")
    if old:
        same = [e["name"] for e in entries if old.get(e["name"]) == e["sha256"]]
        changed = [e["name"] for e in entries if e["name"] in old and old[e["name"]] != e["sha256"]]
        print(f"against the previous manifest: {len(same)} cases byte-identical, changed: "
              f"{', '.join(changed) or 'none'}, new: {', '.join(e['name'] for e in entries if e['name'] not in old) or 'none'}")
    if total > SIZE_BUDGET:
        sys.exit(f"the fixtures take {total} B, over the {SIZE_BUDGET} B budget")


def expected_files(manifest) -> set[str]:
    return {"manifest.json"} | {f for e in manifest["cases"] for f in e["sha256"]}


# MARK: - Check

def check(out: Path) -> bool:
    mpath = out / "manifest.json"
    if not mpath.exists():
        print(f"{mpath} does not exist")
        return False
    manifest = json.loads(mpath.read_text())
    vers = versions()
    print(f"\nCheck {out} (made with tensorflow {manifest['tensorflow']}, keras {manifest['keras']}, "
          f"tf_keras {manifest['tf_keras']}; now {vers['tensorflow']}, {vers['keras']}, {vers['tf_keras']}; "
          f"tolerance {manifest['tolerance']:.0e})")
    ok = True
    for entry in manifest["cases"]:
        name, problems, notes = entry["name"], [], []
        case = CASE_BY_NAME.get(name)
        for fname, digest in entry["sha256"].items():
            if not (out / fname).exists():
                problems.append(f"{fname} is missing")
            elif sha256(out / fname) != digest:
                problems.append(f"{fname} sha256 differs from the manifest")
        if case is None or problems:
            ok = False
            print(f"  {name:<22} FAIL: {'; '.join(problems) or 'unknown case'}")
            continue
        if case.legacy and vers["tf_keras"] is None:
            print(f"  {name:<22} skipped: tf_keras is not installed")
            continue
        tensors, meta = read_safetensors(out / entry["ioFile"])
        inputs = [tensors[f"input.{i}"] for i in range(len(entry["inputShapes"]))]
        outputs = [tensors[f"output.{j}"] for j in range(len(entry["outputShapes"]))]
        if [list(x.shape[1:]) for x in inputs] != entry["inputShapes"] or \
                [list(y.shape[1:]) for y in outputs] != entry["outputShapes"]:
            problems.append("io shapes differ from the manifest")
        if meta.get("file") != entry["file"] or meta.get("case") != name:
            problems.append(f"io metadata {meta}")
        lib, loaded = load_saved(case, out / entry["file"], entry["seed"])
        got = as_list(loaded.predict(feed(inputs), batch_size=len(inputs[0]), verbose=0))
        worst = max(float(np.abs(g - y).max()) for g, y in zip(got, outputs))
        if worst > manifest["tolerance"]:
            problems.append(f"max|predict - output| = {worst:.2e}")
        rows = summary_rows(lib, loaded, not case.legacy)
        if rows != entry["layers"]:
            problems.append("summary rows differ from the manifest")
        if summary_text(loaded) != entry["summaryText"]:
            problems.append("summary text differs from the manifest")
        weights = numpy_weights(graphjit_weights(lib, loaded))
        if [{"name": n, "shape": list(weights[n].shape)} for n in sorted(weights)] != entry["weights"]:
            problems.append("weights differ from the manifest")
        if case.format == "keras3":
            problems += check_keras_layout(lib, loaded, out / entry["file"], weights)
        optimizer = getattr(loaded, "optimizer", None)
        after = int(optimizer.iterations.numpy()) if optimizer is not None else None
        if after != entry["iterationsAfterLoad"] or entry["iterationsMatch"] is not (entry["iterations"] == after):
            problems.append(f"iterations after loading {after}, the manifest says {entry['iterationsAfterLoad']}")
        expected_keys = {f"input.{i}" for i in range(len(inputs))} | {f"output.{j}" for j in range(len(outputs))}
        if entry["hasResume"]:
            resume = entry["resume"]
            x_r = [tensors[f"resume.input.{i}"] for i in range(len(inputs))]
            y_r = [tensors[f"resume.target.{j}"] for j in range(len(outputs))]
            if any(y.shape[0] != RESUME_BATCH or not np.array_equal(y.sum(-1), np.ones(len(y))) for y in y_r):
                problems.append("resume targets are not one-hot rows")
            logs = loaded.train_on_batch(feed(x_r), feed(y_r), return_dict=True)
            loss_diff = abs(float(logs["loss"]) - float(tensors["resume.loss"][0]))
            stepped = numpy_weights(graphjit_weights(lib, loaded))
            weight_diff = max(float(np.abs(stepped[n] - tensors[f"resume.weight.{n}"]).max()) for n in stepped)
            if max(loss_diff, weight_diff) > manifest["tolerance"]:
                problems.append(f"resume: |loss diff| {loss_diff:.2e}, max|weight diff| {weight_diff:.2e}")
            if int(optimizer.iterations.numpy()) != resume["iterations"]:
                problems.append("resume: iterations differ")
            notes.append(f"resume |loss diff| {loss_diff:.1e}, max|weight diff| {weight_diff:.1e}")
            expected_keys |= {f"resume.input.{i}" for i in range(len(inputs))}
            expected_keys |= {f"resume.target.{j}" for j in range(len(outputs))} | {"resume.loss"}
            expected_keys |= {f"resume.weight.{n}" for n in weights}
        if set(tensors) != expected_keys:
            problems.append(f"io tensors {sorted(set(tensors) ^ expected_keys)} unexpected or missing")
        ok &= not problems
        print(f"  {name:<22} max|predict - output| = {worst:.1e}  {'; '.join(notes)}  "
              f"{'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    files = expected_files(manifest)
    extra = sorted(set(p.name for p in out.iterdir()) - files)
    total = sum((out / f).stat().st_size for f in files if (out / f).exists())
    if extra:
        print(f"  files not in the manifest: {extra}")
        ok = False
    print(f"  total {total} B of the {SIZE_BUDGET} B budget")
    ok &= total <= SIZE_BUDGET
    return ok


# MARK: - Full size (--full DIR)

def full_models(keras):
    L = keras.layers
    def cnn():
        return keras.Sequential([keras.Input((64, 64, 3)), L.Conv2D(32, (3, 3), activation="relu"),
                                 L.MaxPooling2D((2, 2)), L.Flatten(), L.Dense(128, activation="relu"),
                                 L.Dense(10, activation="softmax")])
    def lstm():
        return keras.Sequential([keras.Input((100, 16)), L.LSTM(50), L.Dense(10, activation="softmax")])
    def attention():
        x = keras.Input((100, 16))
        h = AttentionLayer(64)(L.LSTM(64, return_sequences=True)(x))
        return keras.Model(x, L.Dense(10, activation="softmax")(h))
    def multitask():
        x = keras.Input((64,))
        h = L.Dense(128, activation="relu")(x)
        return keras.Model(x, [L.Dense(10, activation="softmax")(h), L.Dense(5, activation="softmax")(h)])
    return {"cnn": cnn, "lstm": lstm, "attention": attention, "multitask": multitask}


def generate_full(out: Path, seed: int) -> None:
    if out.resolve().is_relative_to(HERE.parent.resolve()):
        sys.exit(f"--full writes tens of MB: use a directory outside Tests/, not {out}")
    _, keras = load_keras()
    vers = versions()
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    print(f"Full-size Keras files -> {out} (Adam, categorical crossentropy, accuracy; fit {FULL_STEPS} steps of "
          f"batch {FULL_BATCH}; input batch {FULL_BATCH})")
    for name, build in full_models(keras).items():
        cseed = case_seed(seed, "full-file-" + name)
        keras.backend.clear_session()
        keras.utils.set_random_seed(cseed)
        model = build()
        rng = np.random.default_rng(cseed)
        variables = graphjit_weights(keras, model)
        for wname in sorted(variables):
            if wname.endswith(".bias"):
                values = rng.uniform(-BIAS_RANGE, BIAS_RANGE, tuple(variables[wname].shape)).astype(np.float32)
                values[values == 0] = 0.25
                variables[wname].assign(values)
        outputs_n = len(model.outputs)
        model.compile(optimizer=keras.optimizers.Adam(),
                      loss=["categorical_crossentropy"] * outputs_n if outputs_n > 1 else "categorical_crossentropy",
                      metrics=["accuracy"] * outputs_n if outputs_n > 1 else ["accuracy"])
        n = FULL_STEPS * FULL_BATCH
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        X = rng.standard_normal((n,) + shape).astype(np.float32)
        Y = [one_hot(rng, n, int(t.shape[-1])) for t in model.outputs]
        model.fit(X, feed(Y), batch_size=FULL_BATCH, epochs=1, shuffle=False, verbose=0)
        path = out / f"{name}.keras"
        model.save(path)
        normalize_keras_zip(path)
        x = rng.standard_normal((FULL_BATCH,) + shape).astype(np.float32)
        keras.backend.clear_session()
        loaded = keras.models.load_model(path)
        ys = as_list(loaded.predict(x, batch_size=FULL_BATCH, verbose=0))
        files = {"model": path.name, "X": f"{name}.X.npy", "input": f"{name}.input.npy"}
        np.save(out / files["X"], X)
        np.save(out / files["input"], x)
        suffixes = [""] if len(Y) == 1 else [f".{j}" for j in range(len(Y))]
        files["Y"] = [f"{name}.Y{s}.npy" for s in suffixes]
        files["output"] = [f"{name}.output{s}.npy" for s in suffixes]
        for f, y in zip(files["Y"], Y):
            np.save(out / f, y)
        for f, y in zip(files["output"], ys):
            np.save(out / f, np.asarray(y, np.float32))
        params = sum(int(np.prod(v.shape)) for v in model.weights)
        entries.append({"name": name, "seed": cseed, "files": files, "params": params,
                        "iterations": int(loaded.optimizer.iterations.numpy()),
                        "layers": [l.name for l in loaded.layers], "summaryText": summary_text(loaded),
                        "sha256": {f: sha256(out / f) for f in [files["model"], files["X"], files["input"],
                                                                 *files["Y"], *files["output"]]}})
        print(f"  {name:<10} {path.stat().st_size:>10} B, {params} params, input {list(x.shape)}, "
              f"outputs {[list(np.shape(y)) for y in ys]}")
    (out / "manifest.json").write_text(format_json(
        {"generator": "Tests/KerasFixtures/make_keras_file_fixtures.py --full", **vers, "seed": seed,
         "fit": {"steps": FULL_STEPS, "batchSize": FULL_BATCH}, "batch": FULL_BATCH, "cases": entries}))


# MARK: - Round trip through `graphjit convert`

def loss_name(loss):
    """A loss as compile() got it: a string, a function (legacy h5 loading gives functions) or a Loss."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, (list, tuple)):
        return [loss_name(x) for x in loss]
    if isinstance(loss, dict):
        return {k: loss_name(v) for k, v in loss.items()}
    if hasattr(loss, "get_config") and "name" in loss.get_config():
        return loss.get_config()["name"]
    return getattr(loss, "__name__", repr(loss))


def compile_summary(model) -> dict | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        return None
    return {"optimizer": type(optimizer).__name__, "learning_rate": float(np.asarray(optimizer.learning_rate)),
            "loss": loss_name(model.loss)}


def roundtrip(out: Path, graphjit: str, keep: Path | None) -> bool:
    _, keras = load_keras()
    manifest = json.loads((out / "manifest.json").read_text())
    command = shlex.split(graphjit)
    workdir = Path(tempfile.mkdtemp(prefix="graphjit-roundtrip-")) if keep is None else keep
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"Round trip: {' '.join(command)} convert --model <case file> --output {workdir}/<case>.keras")
    header = (f"{'case':<22} {'rc':>3} {'max|Δout|':>9} {'weights':>9} {'optimizer':<12} {'lr':>10} "
              f"{'loss':<26} {'iter':>7}  result")
    rows, failures = [], 0
    for entry in manifest["cases"]:
        if not entry.get("loadsInKeras3", True):
            rows.append(f"{entry['name']:<22} skipped: Keras 3 does not load {entry['file']}")
            continue
        source, dest = out / entry["file"], workdir / f"{entry['name']}.keras"
        dest.unlink(missing_ok=True)
        problems = []
        try:
            run = subprocess.run(command + ["convert", "--model", str(source), "--output", str(dest)],
                                 capture_output=True, text=True, timeout=600)
            rc = run.returncode
        except (OSError, subprocess.TimeoutExpired) as error:
            run, rc = None, -1
            problems.append(f"could not run: {error}")
        if rc != 0:
            if run is not None:
                print(f"--- {entry['name']}: exit {rc}; stderr:\n{run.stderr.rstrip()}\n---")
                problems.append(f"exit {rc}")
            failures += 1
            rows.append(f"{entry['name']:<22} {rc:>3} {'-':>9} {'-':>9} {'-':<12} {'-':>10} {'-':<26} {'-':>7}  "
                        f"FAIL: {'; '.join(problems)}")
            continue
        tensors, _ = read_safetensors(out / entry["ioFile"])
        inputs = [tensors[f"input.{i}"] for i in range(len(entry["inputShapes"]))]
        outputs = [tensors[f"output.{j}"] for j in range(len(entry["outputShapes"]))]
        keras.backend.clear_session()
        original = keras.models.load_model(source)
        original_weights = numpy_weights(graphjit_weights(keras, original))
        original_compile = compile_summary(original)
        original_iter = int(original.optimizer.iterations.numpy()) if original_compile else None
        keras.backend.clear_session()
        diff, exact, conv_compile, conv_iter = float("nan"), "-", None, None
        try:
            converted = keras.models.load_model(dest)
        except Exception as error:  # noqa: BLE001
            problems.append(f"Keras cannot load the result: {type(error).__name__}: {str(error)[:200]}")
        else:
            got = as_list(converted.predict(feed(inputs), batch_size=len(inputs[0]), verbose=0))
            if len(got) != len(outputs) or any(g.shape != y.shape for g, y in zip(got, outputs)):
                problems.append(f"output shapes {[list(g.shape) for g in got]}")
            else:
                diff = max(float(np.abs(g - y).max()) for g, y in zip(got, outputs))
                if not diff <= TOLERANCE:
                    problems.append(f"max|Δout| {diff:.2e} > {TOLERANCE:.0e}")
            try:
                conv_weights = numpy_weights(graphjit_weights(keras, converted))
            except (TypeError, RuntimeError) as error:
                conv_weights = {}
                problems.append(f"weights: {error}")
            same = [n for n in original_weights if n in conv_weights and
                    conv_weights[n].shape == original_weights[n].shape and
                    np.array_equal(conv_weights[n], original_weights[n])]
            exact = f"{len(same)}/{len(original_weights)}"
            if len(same) != len(original_weights) or sorted(conv_weights) != sorted(original_weights):
                problems.append(f"weights not identical: differ {sorted(set(original_weights) - set(same))}, "
                                f"unexpected {sorted(set(conv_weights) - set(original_weights))}")
            conv_compile = compile_summary(converted)
            conv_iter = int(converted.optimizer.iterations.numpy()) if conv_compile else None
            if original_compile is not None:
                if conv_compile is None:
                    problems.append("compile_config lost")
                else:
                    for key in ("optimizer", "loss"):
                        if conv_compile[key] != original_compile[key]:
                            problems.append(f"{key} {conv_compile[key]} != {original_compile[key]}")
                    if conv_compile["learning_rate"] != original_compile["learning_rate"]:
                        problems.append(f"learning rate {conv_compile['learning_rate']} != "
                                        f"{original_compile['learning_rate']}")
            elif conv_compile is not None:
                print(f"note: {entry['name']}: the original is not compiled, the converted file is ({conv_compile})")
        failures += bool(problems)
        shown = conv_compile or original_compile or {}
        lr = f"{shown['learning_rate']:.4g}" if shown else "-"
        iters = f"{original_iter}/{conv_iter}" if original_iter is not None else "-"
        rows.append(f"{entry['name']:<22} {rc:>3} {diff:>9.1e} {exact:>9} {shown.get('optimizer', '-'):<12} "
                    f"{lr:>10} {json.dumps(shown.get('loss', '-'))[:26]:<26} {iters:>7}  "
                    f"{'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    print(header)
    for row in rows:
        print(row)
    print(f"{failures} failure(s)" + (f"; converted files kept in {workdir}" if keep else ""))
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return failures == 0


# MARK: - Layout dump (--dump-layouts FILE)

def attr_storage(obj, name: str) -> str:
    """How HDF5 stores an attribute: the string kind (fixed-length or variable-length, ASCII or UTF-8),
    or the numeric dtype, and the dataspace shape."""
    import h5py
    aid = h5py.h5a.open(obj.id, name.encode())
    tid = aid.get_type()
    if isinstance(tid, h5py.h5t.TypeStringID):
        cset = "utf-8" if tid.get_cset() == h5py.h5t.CSET_UTF8 else "ascii"
        kind = f"vlen str {cset}" if tid.is_variable_str() else f"fixed str {tid.get_size()} B {cset}"
    else:
        kind = str(aid.dtype)
    shape = aid.shape
    return f"{kind}, {'scalar' if shape == () else 'shape ' + str(list(shape))}"


def describe_attrs(obj) -> str:
    return ", ".join(f"{k}={short_attr(v)} [{attr_storage(obj, k)}]" for k, v in obj.attrs.items())


def describe_h5(h5file, indent="  ") -> list[str]:
    import h5py
    lines = []
    if h5file.attrs:
        lines.append(f"{indent}/ attrs: " + describe_attrs(h5file))
    for name, obj in h5_tree(h5file):
        attrs = describe_attrs(obj)
        if isinstance(obj, h5py.Dataset):
            storage = "contiguous" if obj.chunks is None else f"chunked {list(obj.chunks)}"
            filters = f", filters {obj.compression}" if obj.compression else ""
            lines.append(f"{indent}{name}  dataset shape {list(obj.shape)} dtype {obj.dtype.str} ({obj.dtype}), "
                         f"{storage}{filters}" + (f"  attrs {attrs}" if attrs else ""))
        else:
            lines.append(f"{indent}{name}/  group" + (f"  attrs {attrs}" if attrs else ""))
    return lines


def short_attr(value) -> str:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return repr(value) if len(value) < 80 else f"<JSON string, {len(value)} chars, shown below>"
    if isinstance(value, np.ndarray):
        items = [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
        return f"array {items}"
    return repr(value)


def dump_layouts(out: Path, target: Path) -> None:
    import h5py
    _, keras = load_keras()
    manifest = json.loads((out / "manifest.json").read_text())
    lines = [f"Keras file layouts of {out} (made by {manifest['generator']}: tensorflow {manifest['tensorflow']}, "
             f"keras {manifest['keras']}, tf_keras {manifest['tf_keras']}, h5py {manifest['h5py']})",
             "HDF5 trees are listed in h5py's order (names sorted as strings: vars/0, vars/1, vars/10, vars/11, "
             "..., vars/2): sort Keras 3's numbered vars numerically.", ""]
    for entry in manifest["cases"]:
        case, path = CASE_BY_NAME[entry["name"]], out / entry["file"]
        lines += ["=" * 100, f"{entry['name']}  ({entry['format']}, {entry['modelClass']}, {path.stat().st_size} B)",
                  entry["description"], "=" * 100]
        if case.format == "keras3":
            with zipfile.ZipFile(path) as z:
                lines.append("zip members:")
                for info in z.infolist():
                    lines.append(f"  {info.filename:<18} {info.file_size:>8} B  compress_type {info.compress_type} "
                                 f"date {info.date_time} external_attr {oct(info.external_attr >> 16)}")
                lines += ["metadata.json:", "  " + z.read("metadata.json").decode(),
                          "config.json (pretty-printed; the file itself is one line of json.dumps):"]
                lines += ["  " + l for l in json.dumps(json.loads(z.read("config.json")), indent=2).splitlines()]
            lines.append("model.weights.h5:")
            with keras_weights_h5(path) as f:
                lines += describe_h5(f)
            keras.backend.clear_session()
            model = keras.models.load_model(path)
            if getattr(model, "optimizer", None) is not None:
                lines.append(f"optimizer/vars index -> Keras optimizer variable ({type(model.optimizer).__name__}; "
                             "trainable variables in model.trainable_variables order):")
                for i, v in enumerate(model.optimizer.variables):
                    lines.append(f"  vars/{i:<3} {v.path:<48} shape {list(v.shape)} dtype {v.dtype}")
                lines.append("  model.trainable_variables order: " +
                             ", ".join(v.path for v in model.trainable_variables))
        else:
            with h5py.File(path, "r") as f:
                lines.append("HDF5 tree (root attrs, groups with attrs, datasets):")
                lines += describe_h5(f)
                for key in ("model_config", "training_config"):
                    if key in f.attrs:
                        value = f.attrs[key]
                        value = value.decode() if isinstance(value, bytes) else value
                        lines += [f"root attr {key} (pretty-printed):"]
                        lines += ["  " + l for l in json.dumps(json.loads(value), indent=2).splitlines()]
        lines.append("")
    target.write_text("\n".join(lines) + "\n")
    print(f"wrote {target} ({target.stat().st_size} B)")


# MARK: - Main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"base seed (default {SEED})")
    parser.add_argument("--check-only", action="store_true",
                        help="re-verify the files on disk: sha256, and Keras's predictions (and resume step) "
                             "on the saved files")
    parser.add_argument("--full", type=Path, metavar="DIR",
                        help="write the tutorial-size cnn, lstm, attention, multitask .keras files to DIR")
    parser.add_argument("--roundtrip", metavar="GRAPHJIT",
                        help="run `GRAPHJIT convert --model F --output X.keras` on every case Keras 3 loads and "
                             "compare the result in Keras (outputs, weights, compile config)")
    parser.add_argument("--roundtrip-keep", type=Path, metavar="DIR", help="keep the converted files in DIR")
    parser.add_argument("--dump-layouts", type=Path, metavar="FILE",
                        help="write the zip members, HDF5 trees, configs and optimizer slots of the files to FILE")
    args = parser.parse_args()
    if args.roundtrip_keep and not args.roundtrip:
        parser.error("--roundtrip-keep needs --roundtrip")

    if args.full:
        generate_full(args.full, args.seed)
        return
    if args.roundtrip:
        sys.exit(0 if roundtrip(args.out, args.roundtrip, args.roundtrip_keep) else 1)
    if args.dump_layouts:
        dump_layouts(args.out, args.dump_layouts)
        return
    if not args.check_only:
        generate(args.out, args.seed)
        return
    ok = check(args.out)
    print("\ncheck:", "all checks passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
