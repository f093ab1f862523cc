#!/usr/bin/env python3
"""Generate the Keras training fixtures for GraphJIT's training tests.

Trains small Keras 3 models (TensorFlow backend) for a few steps from seeded initial weights and
records everything, so that GraphJIT can check its own training step by step. Per case it writes,
into the output directory (default ``Tests/GraphJITTests/Fixtures/Training``):

  <case>.safetensors       F32: initial.<weight>, input.<i>, target.<k>, step1/2/3.<weight>, fit.<weight>
  training_manifest.json   per case: the compile settings (optimizer hyperparameters, loss, loss
                           weights, metrics), the train_on_batch logs of every step, fit's history,
                           evaluate's result, the weight names and shapes, the file's sha256

A) Step by step: compile, load the initial weights, then ``model.train_on_batch`` on rows [0,4),
   [4,8), [8,10) (the last is a partial batch of 2); the logs and all weights after each step.
B) fit: a fresh model and optimizer from the same initial weights, ``model.fit(x, y, batch_size=4,
   epochs=2, shuffle=False, validation_split=0.2)`` (train on rows 0..7, validate on rows 8, 9); the
   history and the weights after fit; then ``model.evaluate(x, y, batch_size=4)``.

Usage (from the package root):

  python Tests/KerasFixtures/make_training_fixtures.py               # regenerate, then check
  python Tests/KerasFixtures/make_training_fixtures.py --check-only  # check the files on disk (numpy only)
  python Tests/KerasFixtures/make_training_fixtures.py --cases crossmodal   # only those cases, merged into
                                            # the manifest (the other entries and files stay as they are)
  python Tests/KerasFixtures/make_training_fixtures.py --full /tmp/full-training   # tutorial sizes, fit
  python Tests/KerasFixtures/make_training_fixtures.py --full /tmp/full-training --check-only

--full DIR fits the tutorial-size cnn, lstm, attention and multitask (make_keras_fixtures' FULL_CASES)
on 160 seeded samples with fit(batch_size=32, epochs=2, shuffle=False) from Adam() defaults, and writes
into DIR (refused inside Tests/): <model>.initial.safetensors, <model>.x.npy, <model>.y.npy (multitask:
<model>.y1.npy, <model>.y2.npy), <model>.history.json, <model>.trained.safetensors and
full_training_manifest.json. The initial weights are drawn as below (Keras's default kernel
initializers, seeded; biases uniform(-0.1, 0.1)), with the case seed of "full-training-<model>".

The check reads every file back, compares names, shapes and hashes with the manifest, and recomputes
in float64 numpy (from the saved weights) the loss and accuracy of every train_on_batch step (the
logs are computed with the weights before the step), fit's last validation metrics (from the
weights after fit, on rows 8 and 9) and evaluate's result.

Imports the builders' helpers, the safetensors writer/reader and the weight naming from
make_keras_fixtures.py (same directory). Same seed, same library versions, same machine -> the same
bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_keras_fixtures as mkf  # noqa: E402  (numpy only at import; Keras is loaded lazily)
from make_keras_fixtures import (  # noqa: E402
    ACTIVATIONS, attention, case_seed, conv2d, dense, flatten, graphjit_weights, load_keras, lstm,
    max_pool, read_safetensors, sha256, versions, write_safetensors,
)

SEED = 42
N = 10                                   # samples per case
BATCH_SIZE = 4
BATCHES = [[0, 4], [4, 8], [8, 10]]      # the train_on_batch steps; the last is a partial batch
EPOCHS = 2
VALIDATION_SPLIT = 0.2                   # Keras validates on the last int(N * 0.2) = 2 rows
BIAS_RANGE = 0.1
SIZE_BUDGET = 300_000                    # bytes, the whole Training/ folder
TOLERANCE = 1e-5                         # Keras (float32) vs numpy (float64), relative to max(1, |v|)
DEFAULT_OUT = HERE.parent / "GraphJITTests" / "Fixtures" / "Training"
MANIFEST = "training_manifest.json"
EPSILON = 1e-7                           # keras.backend.epsilon(): the probability path's clip


# MARK: - Model builders (every layer named explicitly, as GraphJIT names it)

def _sequential(keras, name, input_shape, layers):
    x = keras.Input(input_shape, name="input_layer")
    h = x
    for layer in layers:
        h = layer(h)
    return keras.Model(x, h, name=name)


def build_cnn(keras):
    L = keras.layers
    return _sequential(keras, "cnn", (8, 8, 3), [
        L.Conv2D(4, (3, 3), activation="relu", name="conv2d"),
        L.MaxPooling2D((2, 2), name="max_pooling2d"),
        L.Flatten(name="flatten"),
        L.Dense(16, activation="relu", name="dense"),
        L.Dense(10, activation="softmax", name="dense_1")])


def build_cnn_same_strided(keras):
    L = keras.layers
    return _sequential(keras, "cnn_same_strided", (9, 9, 3), [
        L.Conv2D(4, (3, 3), strides=(2, 2), padding="same", activation="relu", name="conv2d"),
        L.MaxPooling2D((2, 2), padding="same", name="max_pooling2d"),
        L.Flatten(name="flatten"),
        L.Dense(6, activation="softmax", name="dense")])


def build_lstm(keras):
    L = keras.layers
    return _sequential(keras, "lstm", (6, 4), [
        L.LSTM(8, name="lstm"),
        L.Dense(10, activation="softmax", name="dense")])


def build_lstm_sequences_attention(keras):
    L = keras.layers
    return _sequential(keras, "lstm_sequences_attention", (5, 4), [
        L.LSTM(6, return_sequences=True, name="lstm"),
        mkf.AttentionLayer(4, name="attention_layer"),
        L.Dense(3, activation="softmax", name="dense")])


def build_attention(keras):
    return _sequential(keras, "attention", (6, 5), [
        mkf.AttentionLayer(4, name="attention_layer"),
        keras.layers.Dense(10, activation="softmax", name="dense")])


def build_multitask(keras):
    L = keras.layers
    x = keras.Input((8,), name="input_layer")
    shared = L.Dense(16, activation="relu", name="dense")(x)
    a = L.Dense(10, activation="softmax", name="dense_1")(shared)
    b = L.Dense(5, activation="softmax", name="dense_2")(shared)
    return keras.Model(x, [a, b], name="multitask")


def build_crossmodal(keras):
    return mkf.build_crossmodal(keras)   # the parity case's model, the same layers and names


def build_mlp_activations(keras):
    L = keras.layers
    return _sequential(keras, "mlp_activations", (6,), [
        L.Dense(8, activation="tanh", name="dense"),
        L.Dense(8, activation="sigmoid", name="dense_1"),
        L.Dense(8, activation="gelu", name="dense_2"),      # Keras 3's "gelu": the exact erf form
        L.Dense(8, activation="silu", name="dense_3"),
        L.Dense(4, activation="softmax", name="dense_4")])


def build_mlp(keras, outputs=4, activation="softmax", flatten_output=False):
    L = keras.layers
    layers = [L.Dense(12, activation="relu", name="dense"),
              L.Dense(outputs, activation=activation, name="dense_1")]
    if flatten_output:
        layers.append(L.Flatten(name="flatten"))
    return _sequential(keras, "mlp", (6,), layers)


# MARK: - numpy forward passes (float64, from the saved weights)
# Each returns, per model output, (pre-activation z, activation name, logits_visible): whether Keras's
# TensorFlow backend hands the pre-activation to the loss. Its softmax and sigmoid attach it to their
# output (`_keras_logits`), and categorical / sparse categorical crossentropy then take
# softmax_cross_entropy_with_logits(z) instead of the probability path, even for a sigmoid.

def fwd_cnn(w, x):
    h = max_pool(conv2d(x, w, "conv2d", activation="relu"), (2, 2))
    return [(dense(dense(flatten(h), w, "dense", "relu"), w, "dense_1"), "softmax", True)]


def fwd_cnn_same_strided(w, x):
    h = conv2d(x, w, "conv2d", strides=(2, 2), padding="same", activation="relu")
    return [(dense(flatten(max_pool(h, (2, 2), padding="same")), w, "dense"), "softmax", True)]


def fwd_lstm(w, x):
    return [(dense(lstm(x, w, "lstm"), w, "dense"), "softmax", True)]


def fwd_lstm_sequences_attention(w, x):
    h = attention(lstm(x, w, "lstm", return_sequences=True), w, "attention_layer")
    return [(dense(h, w, "dense"), "softmax", True)]


def fwd_attention(w, x):
    return [(dense(attention(x, w, "attention_layer"), w, "dense"), "softmax", True)]


def fwd_multitask(w, x):
    shared = dense(x, w, "dense", "relu")
    return [(dense(shared, w, "dense_1"), "softmax", True), (dense(shared, w, "dense_2"), "softmax", True)]


def fwd_crossmodal(w, image, sequence):
    h = flatten(max_pool(conv2d(image, w, "conv2d", activation="relu"), (2, 2)))
    shared = dense(np.concatenate([h, lstm(sequence, w, "lstm")], axis=-1), w, "dense", "relu")
    return [(dense(shared, w, "dense_1"), "softmax", True), (dense(shared, w, "dense_2"), "softmax", True)]


def fwd_mlp_activations(w, x):
    h = x
    for layer, act in (("dense", "tanh"), ("dense_1", "sigmoid"), ("dense_2", "gelu"), ("dense_3", "silu")):
        h = dense(h, w, layer, act)
    return [(dense(h, w, "dense_4"), "softmax", True)]


def fwd_mlp(activation="softmax", logits_visible=True):
    def forward(w, x):
        return [(dense(dense(x, w, "dense", "relu"), w, "dense_1"), activation, logits_visible)]
    return forward


# MARK: - numpy losses and metrics

def log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def per_sample_loss(loss, z, activation, logits_visible, y):
    if loss == "mean_squared_error":
        return ((ACTIVATIONS[activation](z) - y) ** 2).mean(axis=-1)
    if loss == "sparse_categorical_crossentropy":
        if not logits_visible:
            raise ValueError("no reference for sparse crossentropy on probabilities")
        y = np.eye(z.shape[-1])[y.astype(np.int64)]
    elif loss != "categorical_crossentropy":
        raise ValueError(f"no reference for loss {loss}")
    if logits_visible:                   # softmax_cross_entropy_with_logits on the pre-activation
        return -(y * log_softmax(z)).sum(axis=-1)
    p = ACTIVATIONS[activation](z)       # the probability path: normalize by the sum, clip, log
    p = np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    return -(y * np.log(p)).sum(axis=-1)


def accuracy(loss, z, activation, y):
    predicted = ACTIVATIONS[activation](z).argmax(axis=-1)
    labels = y.astype(np.int64) if loss == "sparse_categorical_crossentropy" else y.argmax(axis=-1)
    return float((predicted == labels).mean())


# MARK: - Cases

@dataclass(frozen=True)
class Case:
    name: str
    description: str
    build: Callable                       # build(keras) -> keras.Model
    forward: Callable                     # forward(weights, *inputs) -> [(z, activation, logits_visible)]
    targets: tuple                        # per output: ("onehot", classes) | ("labels", classes) | ("normal", width)
    optimizer: tuple = ("adam", {})       # (name, constructor arguments)
    loss: object = "categorical_crossentropy"
    loss_weights: list | None = None
    metrics: tuple = ("accuracy",)

    def losses(self):
        return self.loss if isinstance(self.loss, list) else [self.loss] * len(self.targets)

    def weights_of_losses(self):
        return self.loss_weights or [1.0] * len(self.targets)


MLP = "Dense 12 relu -> Dense 4 softmax"
CASES = [
    Case("cnn", "Conv2D 4 3x3 relu (valid) -> MaxPooling2D 2x2 -> Flatten -> Dense 16 relu -> Dense 10 "
         "softmax on 8x8x3; Adam, categorical crossentropy (from the logits), accuracy",
         build_cnn, fwd_cnn, (("onehot", 10),)),
    Case("cnn_same_strided", "Conv2D 4 3x3 stride 2 'same' relu (9 -> 5) -> MaxPooling2D 2x2 'same' (5 -> 3) -> "
         "Flatten -> Dense 6 softmax on 9x9x3; Adam, categorical crossentropy, accuracy",
         build_cnn_same_strided, fwd_cnn_same_strided, (("onehot", 6),)),
    Case("lstm", "LSTM 8 (last state) -> Dense 10 softmax on 6 steps x 4 features; Adam, categorical "
         "crossentropy, accuracy", build_lstm, fwd_lstm, (("onehot", 10),)),
    Case("lstm_sequences_attention", "LSTM 6 return_sequences -> AttentionLayer(4) -> Dense 3 softmax on 5 steps "
         "x 4 features; Adam, categorical crossentropy, accuracy",
         build_lstm_sequences_attention, fwd_lstm_sequences_attention, (("onehot", 3),)),
    Case("attention", "AttentionLayer(4) -> Dense 10 softmax on 6 steps x 5 features; Adam, categorical "
         "crossentropy, accuracy", build_attention, fwd_attention, (("onehot", 10),)),
    Case("multitask", "Dense 16 relu -> heads Dense 10 softmax (dense_1) and Dense 5 softmax (dense_2); one loss "
         "string for both outputs (loss = dense_1_loss + dense_2_loss); Adam, accuracy per output",
         build_multitask, fwd_multitask, (("onehot", 10), ("onehot", 5)), metrics=("accuracy", "accuracy")),
    Case("multitask_weighted", "the multitask graph with a loss per output and loss_weights [1.0, 0.3] "
         "(loss = dense_1_loss + 0.3 dense_2_loss; the per-output logs are unweighted); Adam(learning_rate=0.01)",
         build_multitask, fwd_multitask, (("onehot", 10), ("onehot", 5)),
         optimizer=("adam", {"learning_rate": 0.01}),
         loss=["categorical_crossentropy", "categorical_crossentropy"], loss_weights=[1.0, 0.3],
         metrics=("accuracy", "accuracy")),
    Case("mlp_activations", "Dense 8 tanh -> Dense 8 sigmoid -> Dense 8 gelu (exact erf form) -> Dense 8 silu -> "
         "Dense 4 softmax; Adam, categorical crossentropy, accuracy",
         build_mlp_activations, fwd_mlp_activations, (("onehot", 4),)),
    Case("mlp_sgd", f"{MLP}; SGD(learning_rate=0.05, momentum=0.9, nesterov=True), categorical crossentropy, "
         "accuracy", build_mlp, fwd_mlp(), (("onehot", 4),),
         optimizer=("sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True})),
    Case("mlp_sgd_plain", f"{MLP}; SGD(learning_rate=0.1), no momentum; categorical crossentropy, accuracy",
         build_mlp, fwd_mlp(), (("onehot", 4),), optimizer=("sgd", {"learning_rate": 0.1})),
    Case("mlp_rmsprop", f"{MLP}; RMSprop(learning_rate=0.01) (rho 0.9, momentum 0, epsilon 1e-7, not centered), "
         "categorical crossentropy, accuracy", build_mlp, fwd_mlp(), (("onehot", 4),),
         optimizer=("rmsprop", {"learning_rate": 0.01})),
    Case("mlp_sparse", f"{MLP}; Adam, sparse categorical crossentropy (from the logits), accuracy; target.0 holds "
         "the integer labels as float32, shape (N,), given to Keras as int32",
         build_mlp, fwd_mlp(), (("labels", 4),), loss="sparse_categorical_crossentropy"),
    Case("mlp_mse", "Dense 12 relu -> Dense 3 linear; Adam, mean squared error, no metrics; standard normal targets",
         lambda keras: build_mlp(keras, outputs=3, activation="linear"), fwd_mlp("linear", False),
         (("normal", 3),), loss="mean_squared_error", metrics=()),
    Case("mlp_sigmoid_cce", "Dense 12 relu -> Dense 4 sigmoid; Adam, categorical crossentropy, accuracy. Keras's "
         "TensorFlow backend takes the sigmoid's pre-activation as logits (the sigmoid output carries "
         "_keras_logits): the loss is softmax crossentropy of the pre-activation, not of the sigmoid outputs",
         lambda keras: build_mlp(keras, activation="sigmoid"), fwd_mlp("sigmoid", True), (("onehot", 4),)),
    Case("mlp_sigmoid_flatten_cce", "Dense 12 relu -> Dense 4 sigmoid -> Flatten (identity on (batch, 4), but its "
         "output carries no logits); Adam, categorical crossentropy on probabilities: p / sum(p), clipped to "
         "[1e-7, 1 - 1e-7], -sum(y log p); accuracy",
         lambda keras: build_mlp(keras, activation="sigmoid", flatten_output=True), fwd_mlp("sigmoid", False),
         (("onehot", 4),)),
    Case("crossmodal", "inputs image (8,8,3) and sequence (5,4): Conv2D 4 3x3 relu (valid) -> MaxPooling2D 2x2 -> "
         "Flatten (36) and LSTM 6 (last state) -> Concatenate (image features first) -> Dense 12 relu -> heads "
         "Dense 10 softmax (dense_1) and Dense 5 softmax (dense_2); one loss string for both outputs (loss = "
         "dense_1_loss + dense_2_loss); Adam, accuracy per output",
         build_crossmodal, fwd_crossmodal, (("onehot", 10), ("onehot", 5)), metrics=("accuracy", "accuracy")),
]
CASE_BY_NAME = {c.name: c for c in CASES}


# MARK: - Generation

HYPERPARAMETERS = {"adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"),
                   "sgd": ("learning_rate", "momentum", "nesterov"),
                   "rmsprop": ("learning_rate", "rho", "momentum", "epsilon", "centered")}


def make_optimizer(keras, case: Case):
    name, kwargs = case.optimizer
    cls = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}[name]
    return cls(**kwargs)


def optimizer_record(keras, case: Case, optimizer) -> dict:
    """The optimizer's hyperparameters as Keras holds them (learning_rate is a float32 variable)."""
    name = case.optimizer[0]
    config = optimizer.get_config()
    for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor",
                "gradient_accumulation_steps"):
        if config.get(key) is not None:
            raise RuntimeError(f"{case.name}: optimizer {key} = {config[key]}, expected None")
    if config.get("use_ema"):
        raise RuntimeError(f"{case.name}: optimizer uses EMA")
    record = {"name": name}
    for key in HYPERPARAMETERS[name]:
        value = float(keras.ops.convert_to_numpy(optimizer.learning_rate)) if key == "learning_rate" else config[key]
        record[key] = value if isinstance(value, bool) else float(value)
    return record


def feed(arrays):
    return arrays[0] if len(arrays) == 1 else list(arrays)


def keras_targets(case: Case, targets):
    return [t.astype(np.int32) if kind == "labels" else t for (kind, _), t in zip(case.targets, targets)]


def snapshot(variables) -> dict[str, np.ndarray]:
    return {name: np.asarray(v.numpy(), np.float32).copy() for name, v in variables.items()}


def logs_to_floats(logs) -> dict[str, float]:
    out = {k: float(v) for k, v in logs.items()}
    if not all(np.isfinite(v) for v in out.values()):
        raise RuntimeError(f"non-finite logs {out}")
    return out


def build_model(keras, case: Case, cseed: int):
    keras.backend.clear_session()
    keras.utils.set_random_seed(cseed)            # kernels: Keras's default initializers, seeded
    model = case.build(keras)
    variables = graphjit_weights(keras, model)
    if len(model.trainable_variables) != len(model.weights):
        raise RuntimeError(f"{case.name}: the model has non-trainable weights")
    return model, variables


def compile_model(keras, case: Case, model):
    model.compile(optimizer=make_optimizer(keras, case), loss=case.loss, loss_weights=case.loss_weights,
                  metrics=list(case.metrics))


def seeded_start(case: Case, model, variables, cseed: int, samples: int):
    """Randomizes the biases and draws the inputs and targets, all from np.random.default_rng(cseed)
    in that order; returns (initial weights, inputs, targets)."""
    rng = np.random.default_rng(cseed)
    for name in sorted(variables):               # biases: non-zero uniform(-0.1, 0.1)
        if name.endswith(".bias"):
            values = rng.uniform(-BIAS_RANGE, BIAS_RANGE, tuple(variables[name].shape)).astype(np.float32)
            values[values == 0] = BIAS_RANGE / 2
            variables[name].assign(values)
    initial = snapshot(variables)
    inputs = [rng.standard_normal((samples,) + tuple(t.shape[1:])).astype(np.float32) for t in model.inputs]
    targets = []
    for kind, width in case.targets:
        if kind == "onehot":
            targets.append(np.eye(width, dtype=np.float32)[rng.integers(0, width, samples)])
        elif kind == "labels":
            targets.append(rng.integers(0, width, samples).astype(np.float32))
        else:
            targets.append(rng.standard_normal((samples, width)).astype(np.float32))
    return initial, inputs, targets


def run_case(keras, case: Case, seed: int):
    cseed = case_seed(seed, case.name)
    model, variables = build_model(keras, case, cseed)
    initial, inputs, targets = seeded_start(case, model, variables, cseed, N)
    ktargets = keras_targets(case, targets)
    order = {id(v): name for name, v in variables.items()}
    weight_order = [order[id(v)] for v in model.trainable_variables]
    output_names = list(model.output_names)

    # A) step by step
    compile_model(keras, case, model)
    steps, after = [], []
    for begin, end in BATCHES:
        logs = model.train_on_batch(feed([x[begin:end] for x in inputs]),
                                    feed([y[begin:end] for y in ktargets]), return_dict=True)
        steps.append(logs_to_floats(logs))
        after.append(snapshot(variables))
    if int(model.optimizer.iterations.numpy()) != len(BATCHES):
        raise RuntimeError(f"{case.name}: {int(model.optimizer.iterations.numpy())} optimizer iterations")
    optimizer = optimizer_record(keras, case, model.optimizer)

    # B) fit from the same initial weights, with a fresh model and optimizer
    model, variables = build_model(keras, case, cseed)
    for name, v in variables.items():
        v.assign(initial[name])
    compile_model(keras, case, model)
    history = model.fit(feed(inputs), feed(ktargets), batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False,
                        validation_split=VALIDATION_SPLIT, verbose=0)
    fitted = snapshot(variables)
    evaluate = logs_to_floats(model.evaluate(feed(inputs), feed(ktargets), batch_size=BATCH_SIZE,
                                             return_dict=True, verbose=0))
    hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}

    tensors = {f"initial.{n}": w for n, w in initial.items()}
    tensors |= {f"input.{i}": x for i, x in enumerate(inputs)} | {f"target.{k}": y for k, y in enumerate(targets)}
    for s, weights in enumerate(after, start=1):
        tensors |= {f"step{s}.{n}": w for n, w in weights.items()}
    tensors |= {f"fit.{n}": w for n, w in fitted.items()}
    entry = {
        "name": case.name,
        "description": case.description,
        "seed": cseed,
        "file": f"{case.name}.safetensors",
        "inputShapes": [list(x.shape[1:]) for x in inputs],
        "outputShapes": [list(t.shape[1:]) for t in model.outputs],
        "outputNames": output_names,
        "optimizer": optimizer,
        "loss": case.loss,
        "lossWeights": case.loss_weights,
        "metrics": list(case.metrics),
        "batchSize": BATCH_SIZE,
        "batches": BATCHES,
        "steps": steps,
        "fit": {"epochs": EPOCHS, "batchSize": BATCH_SIZE, "validationSplit": VALIDATION_SPLIT,
                "history": hist, "evaluate": evaluate},
        "weights": [{"name": n, "shape": list(initial[n].shape)} for n in weight_order],
    }
    return entry, tensors


def format_json(obj) -> str:
    """Indented JSON with every innermost list of numbers (or strings) kept on one line."""
    text = json.dumps(obj, indent=2)
    atom = r'(?:-?\d[\d.eE+-]*|"[^"\n]*"|true|false|null)'
    return re.sub(r"\[\n\s*(" + atom + r"(?:,\n\s*" + atom + r")*)\n\s*\]",
                  lambda m: "[" + ", ".join(s.strip() for s in re.findall(atom, m.group(1))) + "]", text) + "\n"


def generate(out: Path, seed: int, only: list[str] | None = None) -> None:
    """Writes every case, or with `only` just those cases, merged into the manifest already in `out`:
    the other cases' entries and files are left exactly as they are."""
    tf, keras = load_keras()
    out.mkdir(parents=True, exist_ok=True)
    vers = versions(tf, keras)
    mpath = out / MANIFEST
    previous = json.loads(mpath.read_text()) if mpath.exists() else None
    old = {c["name"]: c["sha256"] for c in previous["cases"]} if previous else {}
    if only is not None:
        mkf.refuse_mixed_settings(previous, mpath, {**vers, "seed": seed, "samples": N})
    print(f"Keras training fixtures -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}, "
          f"numpy {vers['numpy']}, seed {seed})")
    if only is not None:
        print(f"  only {', '.join(c.name for c in CASES if c.name in only)}; every other case stays as it is on disk")
    entries = []
    for case in CASES:
        if only is not None and case.name not in only:
            continue
        entry, tensors = run_case(keras, case, seed)
        path = out / entry["file"]
        write_safetensors(path, tensors, {"case": case.name, "seed": str(entry["seed"]), **vers})
        entry["sha256"] = sha256(path)
        entries.append(entry)
        print(f"  {case.name:<26} {path.stat().st_size:>7} B  step losses "
              + " ".join(f"{s['loss']:.4f}" for s in entry["steps"]))
    if only is not None:   # the other cases keep their entries (and files) untouched, in the script's order
        entries = mkf.merged_entries([c.name for c in CASES], entries, previous, mpath)
    manifest = {"generator": "Tests/KerasFixtures/make_training_fixtures.py", **vers, "seed": seed,
                "samples": N, "biasInit": f"uniform(-{BIAS_RANGE}, {BIAS_RANGE})",
                "inputInit": "standard normal", "cases": entries}
    mpath.write_text(format_json(manifest))
    stale = sorted(p.name for p in out.iterdir() if p.name not in {MANIFEST} | {e["file"] for e in entries})
    if stale:
        print(f"  note: {out} also holds files the manifest does not list: {stale}")
    if old:
        same = [e["name"] for e in entries if old.get(e["name"]) == e["sha256"]]
        changed = [e["name"] for e in entries if e["name"] in old and old[e["name"]] != e["sha256"]]
        new = [e["name"] for e in entries if e["name"] not in old]
        print(f"against the previous manifest: {len(same)} of {len(entries)} files byte-identical, "
              f"changed: {', '.join(changed) or 'none'}, new: {', '.join(new) or 'none'}")


# MARK: - Full size (--full DIR): the tutorial's models trained by fit, files for GraphJIT's CLI

FULL_SAMPLES = 160                       # 5 batches of 32
FULL_BATCH_SIZE = 32
FULL_EPOCHS = 2
FULL_MANIFEST = "full_training_manifest.json"


def _full_build(name):
    """make_keras_fixtures' tutorial-size builder (its FULL_CASES: the same sizes as GraphJIT's zoo)."""
    full = next(c for c in mkf.FULL_CASES if c.name == name)
    return lambda keras: full.build(keras, **full.build_kwargs)


FULL_CASES = [
    Case("cnn", "Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Flatten -> Dense 128 relu -> Dense 10 softmax on "
         "64x64x3; Adam, categorical crossentropy, accuracy", _full_build("cnn"), fwd_cnn, (("onehot", 10),)),
    Case("lstm", "LSTM 50 -> Dense 10 softmax on 100 steps x 32 features; Adam, categorical crossentropy, "
         "accuracy", _full_build("lstm"), fwd_lstm, (("onehot", 10),)),
    Case("attention", "AttentionLayer(64) -> Dense 10 softmax on 128 steps x 64 features; Adam, categorical "
         "crossentropy, accuracy", _full_build("attention"), fwd_attention, (("onehot", 10),)),
    Case("multitask", "Input 64 -> Dense 128 relu -> heads Dense 10 softmax (dense_1) and Dense 5 softmax "
         "(dense_2); Adam, one categorical crossentropy string for both, accuracy per output",
         _full_build("multitask"), fwd_multitask, (("onehot", 10), ("onehot", 5)), metrics=("accuracy", "accuracy")),
]


def full_target_files(case: Case) -> list[str]:
    return ([f"{case.name}.y.npy"] if len(case.targets) == 1 else
            [f"{case.name}.y{k}.npy" for k in range(1, len(case.targets) + 1)])


def generate_full(out: Path, seed: int) -> None:
    """Per tutorial model: seeded initial weights, 160 standard normal samples and one-hot targets, then
    fit(batch_size=32, epochs=2, shuffle=False) from a fresh Adam(); writes the history and the weights."""
    import time
    tests = HERE.parent.resolve()
    if out.resolve() == tests or tests in out.resolve().parents:
        sys.exit(f"--full writes large scratch files; give a directory outside {tests}")
    tf, keras = load_keras()
    out.mkdir(parents=True, exist_ok=True)
    vers = versions(tf, keras)
    print(f"Full-size Keras training -> {out}  (tensorflow {vers['tensorflow']}, keras {vers['keras']}, "
          f"seed {seed}; {FULL_SAMPLES} samples, fit batch_size={FULL_BATCH_SIZE}, epochs={FULL_EPOCHS}, "
          "shuffle=False)")
    entries = []
    for case in FULL_CASES:
        cseed = case_seed(seed, "full-training-" + case.name)
        model, variables = build_model(keras, case, cseed)
        initial, inputs, targets = seeded_start(case, model, variables, cseed, FULL_SAMPLES)
        compile_model(keras, case, model)
        start = time.perf_counter()
        history = model.fit(feed(inputs), feed(targets), batch_size=FULL_BATCH_SIZE, epochs=FULL_EPOCHS,
                            shuffle=False, verbose=0)
        seconds = time.perf_counter() - start
        if int(model.optimizer.iterations.numpy()) != FULL_EPOCHS * FULL_SAMPLES // FULL_BATCH_SIZE:
            raise RuntimeError(f"{case.name}: {int(model.optimizer.iterations.numpy())} optimizer iterations")
        trained = snapshot(variables)
        hist = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        meta = {"case": case.name, "seed": str(cseed), **vers}
        write_safetensors(out / f"{case.name}.initial.safetensors", initial, meta | {"state": "initial"})
        write_safetensors(out / f"{case.name}.trained.safetensors", trained, meta | {"state": "trained"})
        np.save(out / f"{case.name}.x.npy", np.ascontiguousarray(inputs[0]))
        for path, y in zip(full_target_files(case), targets):
            np.save(out / path, np.ascontiguousarray(y))
        (out / f"{case.name}.history.json").write_text(format_json(hist))
        order = {id(v): name for name, v in variables.items()}
        entries.append({
            "name": case.name, "description": case.description, "seed": cseed,
            "samples": FULL_SAMPLES, "batchSize": FULL_BATCH_SIZE, "epochs": FULL_EPOCHS, "shuffle": False,
            "optimizer": optimizer_record(keras, case, model.optimizer), "loss": case.loss,
            "metrics": list(case.metrics), "outputNames": list(model.output_names),
            "inputFile": f"{case.name}.x.npy", "targetFiles": full_target_files(case),
            "weights": [{"name": order[id(v)], "shape": list(initial[order[id(v)]].shape)}
                        for v in model.trainable_variables],
        })
        params = sum(w.size for w in initial.values())
        print(f"  {case.name:<10} {params:>8} params  fit {seconds:6.1f} s  "
              + "  ".join(f"{k} " + " ".join(f"{v:.5f}" for v in vs) for k, vs in hist.items()))
    (out / FULL_MANIFEST).write_text(format_json(
        {"generator": "Tests/KerasFixtures/make_training_fixtures.py --full", **vers, "seed": seed,
         "biasInit": f"uniform(-{BIAS_RANGE}, {BIAS_RANGE})", "inputInit": "standard normal",
         "cases": entries}))
    print("\nTrain the same with GraphJIT, e.g.:")
    print(f"  .build/release/graphjit fit --model cnn --weights {out}/cnn.initial.safetensors --input {out}/cnn.x.npy "
          f"--target {out}/cnn.y.npy --epochs {FULL_EPOCHS} --batch-size {FULL_BATCH_SIZE} --no-shuffle "
          f"--save-weights {out}/cnn.graphjit.safetensors --history {out}/cnn.graphjit.history.json")


def check_full(out: Path) -> bool:
    """Reads the --full files back (numpy only): names, shapes, finite values, one-hot targets, the
    history's keys and lengths, and which weights fit moved."""
    mpath = out / FULL_MANIFEST
    if not mpath.exists():
        print(f"{mpath} does not exist")
        return False
    manifest = json.loads(mpath.read_text())
    print(f"\nCheck {out} (tensorflow {manifest['tensorflow']}, keras {manifest['keras']})")
    ok = True
    for entry in manifest["cases"]:
        name, problems = entry["name"], []
        initial, _ = read_safetensors(out / f"{name}.initial.safetensors")
        trained, _ = read_safetensors(out / f"{name}.trained.safetensors")
        shapes = {w["name"]: w["shape"] for w in entry["weights"]}
        for label, weights in (("initial", initial), ("trained", trained)):
            if {n: list(w.shape) for n, w in weights.items()} != shapes:
                problems.append(f"{label} weights {sorted(weights)} do not match the manifest")
            elif not all(np.isfinite(w).all() for w in weights.values()):
                problems.append(f"non-finite {label} weights")
        x = np.load(out / entry["inputFile"])
        ys = [np.load(out / f) for f in entry["targetFiles"]]
        if x.dtype != np.float32 or len(x) != entry["samples"]:
            problems.append(f"input {x.dtype} {list(x.shape)}")
        if any(y.dtype != np.float32 or len(y) != entry["samples"] or not np.array_equal(y.sum(axis=-1), np.ones(len(y)))
               or not np.isin(y, (0, 1)).all() for y in ys):
            problems.append("targets are not one-hot float32")
        history = json.loads((out / f"{name}.history.json").read_text())
        multi = len(ys) > 1
        keys = ["loss"] + ([f"{o}_{m}" for o in entry["outputNames"] for m in ("loss", "accuracy")] if multi
                           else ["accuracy"])
        if sorted(history) != sorted(keys) or any(len(v) != entry["epochs"] for v in history.values()):
            problems.append(f"history {({k: len(v) for k, v in history.items()})}, expected keys {keys}")
        still = [n for n in shapes if n in initial and n in trained and np.array_equal(initial[n], trained[n])]
        if still:
            problems.append(f"weights fit did not move: {still}")
        ok &= not problems
        params = sum(int(np.prod(s)) for s in shapes.values())
        print(f"  {name:<10} {params:>8} params  x {list(x.shape)}  "
              f"{'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    return ok


# MARK: - Check (numpy only)

def expected_logs(case: Case, entry, weights, inputs, targets) -> dict[str, float]:
    """The logs Keras reports for one batch, recomputed from the weights the batch ran with."""
    outputs = case.forward(weights, *(x.astype(np.float64) for x in inputs))
    logs, total = {}, 0.0
    multi = len(outputs) > 1
    for k, ((z, act, visible), y, loss, lw, name) in enumerate(zip(
            outputs, targets, case.losses(), case.weights_of_losses(), entry["outputNames"])):
        value = float(per_sample_loss(loss, z, act, visible, y.astype(np.float64)).mean())
        total += lw * value
        if multi:
            logs[f"{name}_loss"] = value
        metric = case.metrics[k] if multi else (case.metrics[0] if case.metrics else None)
        if metric == "accuracy":
            logs[f"{name}_accuracy" if multi else "accuracy"] = accuracy(loss, z, act, y)
    logs["loss"] = total
    return logs


def expected_batched_logs(case: Case, entry, weights, inputs, targets, batch_size) -> dict[str, float]:
    """evaluate's logs over consecutive batches. The total loss and the accuracies are means over all
    samples (Keras weights each batch by its size), but each output's `<name>_loss` is the plain mean
    of the batch means: Keras weights those by the static batch size, which is unknown (None) in the
    traced evaluate function, so a partial batch counts as much as a full one."""
    rows = len(inputs[0])
    logs = [(min(batch_size, rows - b), expected_logs(case, entry, weights, [x[b:b + batch_size] for x in inputs],
                                                    [y[b:b + batch_size] for y in targets]))
            for b in range(0, rows, batch_size)]
    result = {}
    for key in logs[0][1]:
        if key.endswith("_loss"):
            result[key] = float(np.mean([l[key] for _, l in logs]))
        else:
            result[key] = float(sum(n * l[key] for n, l in logs) / rows)
    return result


def compare_logs(where, keras_logs, reference) -> tuple[float, list[str]]:
    if sorted(keras_logs) != sorted(reference):
        return 0.0, [f"{where}: keys {sorted(keras_logs)}, expected {sorted(reference)}"]
    worst, problems = 0.0, []
    for key, ref in reference.items():
        diff = abs(keras_logs[key] - ref) / max(1.0, abs(ref))
        worst = max(worst, diff)
        if diff > TOLERANCE:
            problems.append(f"{where} {key}: keras {keras_logs[key]:.7g}, numpy {ref:.7g}")
    return worst, problems


def check_entry(out: Path, entry) -> tuple[list[str], list[str]]:
    """Returns (problems, report columns) for one manifest entry."""
    problems = []
    path = out / entry["file"]
    if not path.exists():
        return [f"{entry['file']} is missing"], []
    if sha256(path) != entry["sha256"]:
        problems.append("sha256 differs from the manifest")
    tensors, meta = read_safetensors(path)
    if meta.get("case") != entry["name"] or meta.get("seed") != str(entry["seed"]):
        problems.append(f"metadata {meta}")
    prefixes = ["initial"] + [f"step{s}" for s in range(1, len(entry["batches"]) + 1)] + ["fit"]
    expected = {f"{p}.{w['name']}": w["shape"] for p in prefixes for w in entry["weights"]}
    expected |= {f"input.{i}": [N] + s for i, s in enumerate(entry["inputShapes"])}
    sparse = [loss == "sparse_categorical_crossentropy" for loss in
              (entry["loss"] if isinstance(entry["loss"], list) else [entry["loss"]] * len(entry["outputShapes"]))]
    expected |= {f"target.{k}": [N] if sparse[k] else [N] + s for k, s in enumerate(entry["outputShapes"])}
    got = {n: list(t.shape) for n, t in tensors.items()}
    if got != expected:
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
        problems.append(f"tensors: missing {missing}, unexpected {extra}, other shapes {wrong}")
        return problems, []
    if not all(np.isfinite(t).all() for t in tensors.values()):
        problems.append("non-finite values")
    if len(entry["steps"]) != len(entry["batches"]):
        problems.append(f"{len(entry['steps'])} step logs for {len(entry['batches'])} batches")
    names = [w["name"] for w in entry["weights"]]
    biases = [n for n in names if n.endswith(".bias")]
    if any((np.abs(tensors[f"initial.{b}"]) > BIAS_RANGE).any() or (tensors[f"initial.{b}"] == 0).any()
           for b in biases):
        problems.append(f"an initial bias outside (-{BIAS_RANGE}, {BIAS_RANGE}) or zero")
    unchanged = [f"step{s}.{n}" for s, (a, b) in enumerate(zip(prefixes, prefixes[1:-1]), start=1)
                 for n in names if np.array_equal(tensors[f"{a}.{n}"], tensors[f"{b}.{n}"])]
    if unchanged:
        problems.append(f"weights that did not move: {unchanged}")
    columns = [f"{sum(int(np.prod(w['shape'])) for w in entry['weights']):>5} params",
               f"{path.stat().st_size:>6} B"]
    case = CASE_BY_NAME.get(entry["name"])
    if case is None:
        return problems + ["no numpy reference for this case"], columns
    inputs = [tensors[f"input.{i}"] for i in range(len(entry["inputShapes"]))]
    targets = [tensors[f"target.{k}"] for k in range(len(entry["outputShapes"]))]
    worst = 0.0
    for s, ((begin, end), logs) in enumerate(zip(entry["batches"], entry["steps"]), start=1):
        before = {n: tensors[f"{prefixes[s - 1]}.{n}"] for n in names}
        ref = expected_logs(case, entry, before, [x[begin:end] for x in inputs], [y[begin:end] for y in targets])
        diff, more = compare_logs(f"step {s}", logs, ref)
        worst, problems = max(worst, diff), problems + more
    fitted = {n: tensors[f"fit.{n}"] for n in names}
    ref = expected_batched_logs(case, entry, fitted, inputs, targets, entry["fit"]["batchSize"])
    diff, more = compare_logs("evaluate", entry["fit"]["evaluate"], ref)
    worst, problems = max(worst, diff), problems + more
    split = int(N * (1 - entry["fit"]["validationSplit"]))
    ref = expected_logs(case, entry, fitted, [x[split:] for x in inputs], [y[split:] for y in targets])
    history = entry["fit"]["history"]
    if sorted(history) != sorted(list(ref) + [f"val_{k}" for k in ref]):
        problems.append(f"history keys {sorted(history)}")
    elif any(len(v) != entry["fit"]["epochs"] for v in history.values()):
        problems.append("history lists of the wrong length")
    else:
        diff, more = compare_logs("last val", {k: history[f"val_{k}"][-1] for k in ref}, ref)
        worst, problems = max(worst, diff), problems + more
        # fit's first epoch runs steps 1 and 2 on the same rows from the same weights, then validates
        # on the rows of step 3: its validation logs are step 3's (bit for bit, as measured).
        if {k: history[f"val_{k}"][0] for k in ref} != entry["steps"][-1]:
            problems.append("fit's first validation logs differ from step 3's")
    columns.append(f"max rel|keras - numpy| {worst:.1e}")
    begin, end = entry["batches"][0]
    initial = {n: tensors[f"initial.{n}"] for n in names}
    outs = case.forward(initial, *(x[begin:end].astype(np.float64) for x in inputs))
    if any(act == "sigmoid" for _, act, _ in outs):
        # Which crossentropy Keras took for a sigmoid output: the other path must miss step 1's loss.
        other = float(np.mean([per_sample_loss(loss, z, act, not visible, y[begin:end].astype(np.float64)).mean()
                               for (z, act, visible), y, loss in zip(outs, targets, case.losses())]))
        miss = abs(other - entry["steps"][0]["loss"])
        path = "logits (softmax of the pre-activation)" if outs[0][2] else "probabilities (p / sum p, clipped)"
        columns.append(f"takes the {path}; the other path misses step 1's loss by {miss:.2e}")
        if miss < 10 * TOLERANCE:
            problems.append("both crossentropy paths reproduce step 1: the case does not tell them apart")
    return problems, columns


def check(out: Path) -> bool:
    mpath = out / MANIFEST
    if not mpath.exists():
        print(f"{mpath} does not exist")
        return False
    manifest = json.loads(mpath.read_text())
    print(f"\nCheck {out} (tensorflow {manifest['tensorflow']}, keras {manifest['keras']}, "
          f"numpy {manifest['numpy']}; numpy {np.__version__} float64 reference, tolerance {TOLERANCE:.0e})")
    listed = [e["name"] for e in manifest["cases"]]
    ok = listed == [c.name for c in CASES]
    if not ok:
        print(f"  the manifest lists {listed}, the script {[c.name for c in CASES]}")
    for entry in manifest["cases"]:
        problems, columns = check_entry(out, entry)
        ok &= not problems
        print(f"  {entry['name']:<26} {'  '.join(columns)}  {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
    ok &= mkf.cross_check_official_reader(out)   # if the safetensors package is installed
    files = sorted(p for p in out.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    print(f"  {len(files)} files in {out.name}/, {total} B in all ({total / SIZE_BUDGET:.0%} of the "
          f"{SIZE_BUDGET} B budget); {MANIFEST} {mpath.stat().st_size} B")
    if total > SIZE_BUDGET:
        print(f"  FAIL: over the {SIZE_BUDGET} B budget")
        ok = False
    return ok


# MARK: - Main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"base seed (default {SEED})")
    parser.add_argument("--cases", metavar="NAME[,NAME...]",
                        help="generate only these cases and merge them into the manifest already in the "
                             "output directory; every other case's entry and file stay untouched")
    parser.add_argument("--check-only", action="store_true",
                        help="only check the files already on disk (needs numpy alone)")
    parser.add_argument("--full", type=Path, metavar="DIR",
                        help="instead: fit the tutorial-size cnn, lstm, attention, multitask (160 samples, batch 32, "
                             "2 epochs) and write .safetensors, .npy and .json files to DIR (outside Tests/)")
    args = parser.parse_args()
    only = None
    if args.cases is not None:
        only = [n.strip() for n in args.cases.split(",") if n.strip()]
        unknown = sorted(set(only) - set(CASE_BY_NAME))
        if args.full is not None or args.check_only or unknown or not only:
            parser.error(f"--cases takes case names ({', '.join(CASE_BY_NAME)}) and works without --full "
                         "and --check-only" + (f"; unknown: {unknown}" if unknown else ""))
    if args.full is not None:
        if not args.check_only:
            generate_full(args.full, args.seed)
        ok = check_full(args.full)
        print("\ncheck:", "all checks passed" if ok else "FAILED")
        sys.exit(0 if ok else 1)
    if not args.check_only:
        generate(args.out, args.seed, only)
    ok = check(args.out)
    print("\ncheck:", "all checks passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
