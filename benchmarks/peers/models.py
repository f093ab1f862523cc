#!/usr/bin/env python3
"""The four tutorial models, built from GraphJIT's weights for the peer engines.

* ``build_keras(name, weights)``      a Keras 3 model (TensorFlow backend; JAX where the process
                                      chose it, see ``keras_modules``), layers named as GraphJIT
                                      names them, every weight assigned by name (``lstm_unroll``:
                                      the LSTM with ``unroll=True``);
* ``build_tflite(name, weights, batch)`` that model converted for LiteRT (SavedModel export with a
                                      static batch, ``tf.lite.TFLiteConverter``, float32, no
                                      optimizations);
* ``build_onnx(name, weights, batch)`` the same model as an ONNX graph written by hand with
                                      ``onnx.helper`` (opset 17), validated with ``onnx.checker``;
                                      ``dense_op="matmul-add"`` writes every Dense as MatMul + Add
                                      instead of Gemm (what ONNX Runtime's dynamic quantizer needs);
* ``quantize_onnx_int8(model, per_channel)`` ONNX Runtime's own dynamic int8 of such a graph
                                      (``onnxruntime.quantization.quantize_dynamic``, QInt8 weights,
                                      MatMul only, i.e. the Dense kernels, as Keras's and GraphJIT's
                                      int8 quantize them), checked by ``verify_int8`` to really hold
                                      MatMulInteger / DynamicQuantizeLinear nodes;

Both take the same input GraphJIT takes (NHWC images for the CNN, ``(batch, time, features)`` for the
sequence models) and give the same outputs (softmax probabilities; two of them for multitask). Every
layout change the ONNX graph needs happens either inside the graph (the CNN's NHWC->NCHW transpose,
the LSTM's batch-major -> time-major transpose) or once at build time on the weights (Keras HWIO conv
kernels -> OIHW, LSTM gate order i,f,c,o -> ONNX's i,o,f,c, and the CNN's first Dense rows permuted
from Keras's NHWC flatten order to the NCHW order ONNX flattens in).

Weights come from a safetensors file (F32, Keras layouts, GraphJIT's ``<layer>.<weight>`` names),
read by hand with numpy: ``read_safetensors`` / ``write_safetensors``.

Run as a script to check the ONNX graphs against Keras on random weights::

    python benchmarks/peers/models.py            # max |ONNX Runtime - Keras| < 1e-5 for every model
                                                 # (Gemm and MatMul+Add Dense), and that every int8
                                                 # graph quantizes every Dense kernel
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# MARK: - The models

MODEL_NAMES = ("cnn", "lstm", "attention", "multitask")
OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17; every ONNX Runtime since 1.12 loads it


@dataclass(frozen=True)
class ModelSpec:
    name: str
    input_shape: tuple[int, ...]          # per sample
    output_sizes: tuple[int, ...]         # per sample, one per output
    weights: dict[str, tuple[int, ...]]   # GraphJIT name -> Keras-layout shape
    batches: tuple[int, ...]
    macs_per_sample: int                  # multiply-accumulates of the matmul/conv work
    description: str

    @property
    def flops_per_sample(self) -> int:
        return 2 * self.macs_per_sample


def _dense(name: str, n_in: int, n_out: int) -> dict[str, tuple[int, ...]]:
    return {f"{name}.kernel": (n_in, n_out), f"{name}.bias": (n_out,)}


# CNN: 3x3 valid conv on 64x64x3 -> 62x62x32, 2x2 pool -> 31x31x32 = 30752.
_CNN_CONV_OUT, _CNN_POOL_OUT, _CNN_FILTERS = 62, 31, 32
_CNN_FLAT = _CNN_POOL_OUT * _CNN_POOL_OUT * _CNN_FILTERS

SPECS: dict[str, ModelSpec] = {
    "cnn": ModelSpec(
        "cnn", (64, 64, 3), (10,),
        {"conv2d.kernel": (3, 3, 3, 32), "conv2d.bias": (32,),
         **_dense("dense", _CNN_FLAT, 128), **_dense("dense_1", 128, 10)},
        (1, 64),
        _CNN_CONV_OUT * _CNN_CONV_OUT * _CNN_FILTERS * 3 * 3 * 3 + _CNN_FLAT * 128 + 128 * 10,
        "Conv2D 32 3x3 relu -> MaxPooling2D 2x2 -> Flatten -> Dense 128 relu -> Dense 10 softmax"),
    "lstm": ModelSpec(
        "lstm", (100, 32), (10,),
        {"lstm.kernel": (32, 200), "lstm.recurrent_kernel": (50, 200), "lstm.bias": (200,),
         **_dense("dense", 50, 10)},
        (1, 64),
        100 * (32 + 50) * 200 + 50 * 10,
        "LSTM 50 over (100, 32) -> Dense 10 softmax"),
    "attention": ModelSpec(
        "attention", (128, 64), (10,),
        {**_dense("attention_layer.W", 64, 64), **_dense("attention_layer.V", 64, 1),
         **_dense("dense", 64, 10)},
        (1, 64),
        128 * 64 * 64 + 128 * 64 + 128 * 64 + 64 * 10,
        "AttentionLayer(64) over (128, 64) -> Dense 10 softmax"),
    "multitask": ModelSpec(
        "multitask", (64,), (10, 5),
        {**_dense("dense", 64, 128), **_dense("dense_1", 128, 10), **_dense("dense_2", 128, 5)},
        (1, 64, 256),
        64 * 128 + 128 * 10 + 128 * 5,
        "Dense 128 relu -> heads Dense 10 softmax, Dense 5 softmax"),
}


# The Keras Dense layers of each model (GraphJIT's names): the layers int8 quantization touches
# (Keras 3's ``model.quantize("int8")`` and GraphJIT's ``quantized(.int8)``: Conv2D and LSTM stay fp32).
DENSE_LAYERS: dict[str, tuple[str, ...]] = {
    "cnn": ("dense", "dense_1"),
    "lstm": ("dense",),
    "attention": ("attention_layer.W", "attention_layer.V", "dense"),
    "multitask": ("dense", "dense_1", "dense_2"),
}


def check_weights(name: str, weights: dict[str, np.ndarray]) -> list[str]:
    """Raises if a weight is missing or misshapen; returns the names of extra tensors (ignored)."""
    spec = SPECS[name]
    problems = []
    for key, shape in spec.weights.items():
        if key not in weights:
            problems.append(f"missing {key} {shape}")
        elif tuple(weights[key].shape) != shape:
            problems.append(f"{key} has shape {tuple(weights[key].shape)}, expected {shape}")
    if problems:
        raise ValueError(f"{name} weights: " + "; ".join(problems))
    return sorted(set(weights) - set(spec.weights))


def random_weights(name: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Glorot-uniform kernels (Keras's default) and non-zero uniform(-0.5, 0.5) biases."""
    out = {}
    for key, shape in SPECS[name].weights.items():
        if key.endswith("bias"):
            out[key] = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
        else:
            if len(shape) == 4:  # conv HWIO
                receptive = shape[0] * shape[1]
                fan_in, fan_out = shape[2] * receptive, shape[3] * receptive
            else:
                fan_in, fan_out = shape
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            out[key] = rng.uniform(-limit, limit, shape).astype(np.float32)
    return out


def random_input(name: str, batch: int, rng: np.random.Generator) -> np.ndarray:
    shape = (batch, *SPECS[name].input_shape)
    if name == "cnn":  # image-like
        return rng.uniform(0.0, 1.0, shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


# MARK: - safetensors (by hand: u64 LE header length, JSON header, raw little-endian data)

_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I32": "<i4", "I64": "<i8"}


def read_safetensors(path: Path | str) -> dict[str, np.ndarray]:
    """Reads every tensor as float32 (F32 expected; F64/F16 are converted)."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + header_len])
    header.pop("__metadata__", None)
    base = 8 + header_len
    tensors = {}
    for key, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: {key} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        if end - begin != count * np.dtype(dtype).itemsize or base + end > len(data):
            raise ValueError(f"{path}: {key} spans {end - begin} bytes for shape {info['shape']}")
        array = np.frombuffer(data, dtype, count, base + begin).reshape(info["shape"])
        tensors[key] = array.astype(np.float32)  # copies, native byte order
    return tensors


def write_safetensors(path: Path | str, tensors: dict[str, np.ndarray],
                      metadata: dict[str, str] | None = None) -> None:
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for key in sorted(tensors):
        blob = np.ascontiguousarray(tensors[key], dtype="<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(np.shape(tensors[key])),
                       "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


# MARK: - Keras

_KERAS = None


@contextlib.contextmanager
def quiet_stderr():
    """Silences fd 2 (TensorFlow's C++ start-up chatter that no log level reaches); restores it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def keras_modules(backend: str = "tensorflow"):
    """Imports Keras 3 quietly (CPU only) on ``backend`` and defines the tutorial's attention layer.

    Returns ``(tf, keras, AttentionLayer)``; ``tf`` is None unless the backend is TensorFlow. The
    backend is fixed when Keras is first imported, so a process gets one: ``KERAS_BACKEND`` (set
    here when unset) must name ``backend``, else this raises. ``backend="jax"`` runs on JAX's CPU
    platform.
    """
    global _KERAS
    if _KERAS is not None:
        if _KERAS[1].backend.backend() != backend:
            raise RuntimeError(f"Keras already runs on {_KERAS[1].backend.backend()}, not {backend}")
        return _KERAS
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", backend)
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    if backend == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    tf = None
    with quiet_stderr():  # an import error still raises, and prints once fd 2 is back
        if backend == "tensorflow":
            import tensorflow as tf
        import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(f"expected Keras's {backend} backend, got {keras.backend.backend()} "
                           f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND')})")
    if tf is not None:
        tf.get_logger().setLevel("ERROR")

    class AttentionLayer(keras.layers.Layer):
        """Additive attention pooling over time, as the tutorial defines it."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.W = keras.layers.Dense(units, name="W")
            self.V = keras.layers.Dense(1, name="V")

        def call(self, inputs):
            score = self.V(keras.ops.tanh(self.W(inputs)))        # (batch, T, 1)
            attention_weights = keras.ops.softmax(score, axis=1)
            return keras.ops.sum(attention_weights * inputs, axis=1)  # (batch, features)

    _KERAS = (tf, keras, AttentionLayer)
    return _KERAS


def _keras_model(name: str, lstm_unroll: bool = False):
    tf, keras, AttentionLayer = _KERAS or keras_modules()
    L = keras.layers
    spec = SPECS[name]
    x = keras.Input(spec.input_shape, name="input_layer")
    if name == "cnn":
        h = L.Conv2D(32, (3, 3), activation="relu", name="conv2d")(x)
        h = L.MaxPooling2D((2, 2), name="max_pooling2d")(h)
        h = L.Flatten(name="flatten")(h)
        h = L.Dense(128, activation="relu", name="dense")(h)
        y = L.Dense(10, activation="softmax", name="dense_1")(h)
        return keras.Model(x, y, name=name)
    if name == "lstm":
        h = L.LSTM(50, name="lstm", unroll=lstm_unroll)(x)
        return keras.Model(x, L.Dense(10, activation="softmax", name="dense")(h), name=name)
    if name == "attention":
        h = AttentionLayer(64, name="attention_layer")(x)
        return keras.Model(x, L.Dense(10, activation="softmax", name="dense")(h), name=name)
    if name == "multitask":
        shared = L.Dense(128, activation="relu", name="dense")(x)
        a = L.Dense(10, activation="softmax", name="dense_1")(shared)
        b = L.Dense(5, activation="softmax", name="dense_2")(shared)
        return keras.Model(x, [a, b], name=name)
    raise KeyError(name)


def _named_variables(model) -> dict[str, object]:
    """GraphJIT's ``<layer>.<weight>`` names -> the model's Keras variables."""
    _, keras, AttentionLayer = _KERAS or keras_modules()
    names: dict[str, object] = {}

    def add(prefix, layer):
        names[f"{prefix}.kernel"] = layer.kernel
        if layer.use_bias:
            names[f"{prefix}.bias"] = layer.bias

    for layer in model.layers:
        if isinstance(layer, AttentionLayer):
            add(f"{layer.name}.W", layer.W)
            add(f"{layer.name}.V", layer.V)
        elif isinstance(layer, keras.layers.LSTM):
            for key in ("kernel", "recurrent_kernel", "bias"):
                names[f"{layer.name}.{key}"] = getattr(layer.cell, key)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            add(layer.name, layer)
        elif layer.weights:
            raise TypeError(f"no GraphJIT names for {layer.name} ({type(layer).__name__})")
    if len(names) != len(model.weights):
        raise RuntimeError(f"{model.name}: mapped {len(names)} of {len(model.weights)} weights")
    return names


def build_keras(name: str, weights: dict[str, np.ndarray], lstm_unroll: bool = False):
    """The Keras model with every weight assigned by GraphJIT's name. ``lstm_unroll``: the LSTM
    layer with ``unroll=True`` (its time loop written out step by step instead of a while loop; the
    same arithmetic -- one of the formulations run_peers.py converts for LiteRT)."""
    check_weights(name, weights)
    model = _keras_model(name, lstm_unroll)
    variables = _named_variables(model)
    if set(variables) != set(SPECS[name].weights):
        raise RuntimeError(f"{name}: Keras weights {sorted(variables)} != {sorted(SPECS[name].weights)}")
    for key, var in variables.items():
        if tuple(var.shape) != tuple(weights[key].shape):
            raise ValueError(f"{name}: {key} shape {tuple(weights[key].shape)} != Keras {tuple(var.shape)}")
        var.assign(weights[key].astype(np.float32))
    return model


def build_tflite(name: str, weights: dict[str, np.ndarray], batch: int, lstm_unroll: bool = False) -> bytes:
    """The Keras model (``build_keras``) as a TFLite flatbuffer for LiteRT, with a static batch.

    Exported as a TensorFlow SavedModel (``model.export(format="tf_saved_model")``, input signature
    ``(batch, *input_shape)`` float32, named ``input``), then converted by
    ``tf.lite.TFLiteConverter.from_saved_model``: float32, TFLite builtin ops only, no optimizations
    and no quantization. (``from_keras_model`` cannot convert Keras 3's LSTM: its symbolic batch
    leaves a TensorList whose element shape is unknown.) The outputs are the signature's
    ``output_0``[, ``output_1``]. Raises (with the converter's message) if the conversion fails."""
    tf, _, _ = keras_modules()
    model = build_keras(name, weights, lstm_unroll)
    spec = tf.TensorSpec((batch, *SPECS[name].input_shape), tf.float32, name="input")
    with tempfile.TemporaryDirectory(prefix="graphjit-tflite-") as tmp:
        with quiet_stderr():  # TF's and the converter's C++ chatter; errors still raise
            model.export(tmp, format="tf_saved_model", input_signature=[spec], verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            converter.optimizations = []
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            return converter.convert()


def keras_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    out = model(x, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


# MARK: - ONNX


def _onnx():
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    return onnx, TensorProto, helper, numpy_helper


DENSE_OPS = ("gemm", "matmul-add")


class _GraphBuilder:
    def __init__(self, dense_op: str = "gemm"):
        if dense_op not in DENSE_OPS:
            raise ValueError(f"dense_op {dense_op!r}: expected one of {DENSE_OPS}")
        self.nodes, self.initializers = [], []
        self.dense_op = dense_op
        self._onnx = _onnx()

    def init(self, name: str, array: np.ndarray, dtype=np.float32) -> str:
        self.initializers.append(self._onnx[3].from_array(np.ascontiguousarray(array, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str | list[str], **attrs) -> str:
        outputs = [output] if isinstance(output, str) else output
        self.nodes.append(self._onnx[2].make_node(op, inputs, outputs, name=f"{op}_{len(self.nodes)}", **attrs))
        return outputs[-1]

    def dense(self, x: str, weights: dict[str, np.ndarray], layer: str, activation: str | None) -> str:
        """Gemm (x is 2-D) with the Keras (in, out) kernel as B -- or MatMul + Add with
        ``dense_op="matmul-add"`` -- then the activation."""
        k = self.init(f"{layer}.kernel", weights[f"{layer}.kernel"])
        b = self.init(f"{layer}.bias", weights[f"{layer}.bias"])
        if self.dense_op == "gemm":
            y = self.node("Gemm", [x, k, b], f"{layer}/gemm")
        else:
            y = self.node("MatMul", [x, k], f"{layer}/matmul")
            y = self.node("Add", [y, b], f"{layer}/add")
        if activation == "relu":
            y = self.node("Relu", [y], f"{layer}/relu")
        elif activation == "softmax":
            y = self.node("Softmax", [y], f"{layer}/softmax", axis=-1)
        elif activation is not None:
            raise ValueError(activation)
        return y


def cnn_dense_rows_nchw(kernel: np.ndarray) -> np.ndarray:
    """Reorders the first Dense's rows from Keras's NHWC flatten order to NCHW flatten order."""
    p, c = _CNN_POOL_OUT, _CNN_FILTERS
    return kernel.reshape(p, p, c, -1).transpose(2, 0, 1, 3).reshape(p * p * c, -1)


def lstm_gates_to_onnx(matrix: np.ndarray, units: int) -> np.ndarray:
    """Keras packs gates i, f, c, o along the last axis; ONNX wants i, o, f, c."""
    i, f, c, o = (matrix[..., k * units:(k + 1) * units] for k in range(4))
    return np.concatenate([i, o, f, c], axis=-1)


def build_onnx(name: str, weights: dict[str, np.ndarray], batch: int | None = None,
               cnn_flatten: str = "permute-weights", attention_sum: str = "mul-reducesum",
               dense_op: str = "gemm"):
    """The model as an ONNX ModelProto (opset 17) taking ``input`` and giving ``output_0``[, ``output_1``].

    ``batch`` fixes the batch dimension (None: symbolic ``N``). ``cnn_flatten``: "permute-weights"
    (flatten NCHW, Dense rows permuted at build time) or "transpose" (transpose back to NHWC, then
    flatten, Keras weights unchanged). ``attention_sum``: "mul-reducesum" (Mul + ReduceSum over time)
    or "matmul" (the weighted sum as a batched MatMul of the transposed weights with x).
    ``dense_op``: "gemm" (a Dense whose input is 2-D is one Gemm) or "matmul-add" (MatMul then Add:
    ONNX Runtime's dynamic quantizer quantizes MatMul, not Gemm). The attention layer's W and V act
    on 3-D input and are MatMul + Add either way.
    """
    onnx, TensorProto, helper, _ = _onnx()
    check_weights(name, weights)
    spec = SPECS[name]
    g = _GraphBuilder(dense_op)
    dim = batch if batch is not None else "N"
    x = "input"

    if name == "cnn":
        kernel = weights["conv2d.kernel"].transpose(3, 2, 0, 1)           # HWIO -> OIHW
        w = g.init("conv2d.kernel_oihw", kernel)
        b = g.init("conv2d.bias", weights["conv2d.bias"])
        h = g.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
        h = g.node("Conv", [h, w, b], "conv2d/conv", kernel_shape=[3, 3], strides=[1, 1],
                   pads=[0, 0, 0, 0], dilations=[1, 1], group=1)
        h = g.node("Relu", [h], "conv2d/relu")
        h = g.node("MaxPool", [h], "max_pooling2d", kernel_shape=[2, 2], strides=[2, 2])
        dense_w = dict(weights)
        if cnn_flatten == "permute-weights":
            dense_w["dense.kernel"] = cnn_dense_rows_nchw(weights["dense.kernel"])
        elif cnn_flatten == "transpose":
            h = g.node("Transpose", [h], "nhwc", perm=[0, 2, 3, 1])
        else:
            raise ValueError(cnn_flatten)
        h = g.node("Flatten", [h], "flatten", axis=1)
        h = g.dense(h, dense_w, "dense", "relu")
        outputs = [g.dense(h, weights, "dense_1", "softmax")]
    elif name == "lstm":
        units = weights["lstm.recurrent_kernel"].shape[0]
        W = lstm_gates_to_onnx(weights["lstm.kernel"], units).T[None]            # (1, 4u, F)
        R = lstm_gates_to_onnx(weights["lstm.recurrent_kernel"], units).T[None]  # (1, 4u, u)
        Bw = lstm_gates_to_onnx(weights["lstm.bias"], units)
        B = np.concatenate([Bw, np.zeros_like(Bw)])[None]                       # (1, 8u): Wb, Rb=0
        h = g.node("Transpose", [x], "time_major", perm=[1, 0, 2])               # (T, N, F)
        h = g.node("LSTM", [h, g.init("lstm.W", W), g.init("lstm.R", R), g.init("lstm.B", B)],
                   ["", "lstm/Y_h"], hidden_size=units, direction="forward",
                   activations=["Sigmoid", "Tanh", "Tanh"])                      # Y_h (1, N, u)
        h = g.node("Squeeze", [h, g.init("axes0", np.array([0]), np.int64)], "lstm/h")
        outputs = [g.dense(h, weights, "dense", "softmax")]
    elif name == "attention":
        p = "attention_layer"
        h = g.node("MatMul", [x, g.init(f"{p}.W.kernel", weights[f"{p}.W.kernel"])], f"{p}/W/matmul")
        h = g.node("Add", [h, g.init(f"{p}.W.bias", weights[f"{p}.W.bias"])], f"{p}/W/add")
        h = g.node("Tanh", [h], f"{p}/tanh")
        h = g.node("MatMul", [h, g.init(f"{p}.V.kernel", weights[f"{p}.V.kernel"])], f"{p}/V/matmul")
        h = g.node("Add", [h, g.init(f"{p}.V.bias", weights[f"{p}.V.bias"])], f"{p}/score")  # (N, T, 1)
        a = g.node("Softmax", [h], f"{p}/weights", axis=1)
        if attention_sum == "mul-reducesum":
            h = g.node("Mul", [a, x], f"{p}/weighted")
            h = g.node("ReduceSum", [h, g.init("axes1", np.array([1]), np.int64)], f"{p}/context",
                       keepdims=0)
        elif attention_sum == "matmul":
            at = g.node("Transpose", [a], f"{p}/weights_t", perm=[0, 2, 1])              # (N, 1, T)
            h = g.node("MatMul", [at, x], f"{p}/context3")                               # (N, 1, F)
            h = g.node("Squeeze", [h, g.init("axes1", np.array([1]), np.int64)], f"{p}/context")
        else:
            raise ValueError(attention_sum)
        outputs = [g.dense(h, weights, "dense", "softmax")]
    elif name == "multitask":
        h = g.dense(x, weights, "dense", "relu")
        outputs = [g.dense(h, weights, "dense_1", "softmax"), g.dense(h, weights, "dense_2", "softmax")]
    else:
        raise KeyError(name)

    # Rename the final tensors to output_<k>.
    renames = {old: f"output_{k}" for k, old in enumerate(outputs)}
    for n in g.nodes:
        n.output[:] = [renames.get(o, o) for o in n.output]
        n.input[:] = [renames.get(i, i) for i in n.input]
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [dim, *spec.input_shape])],
        [helper.make_tensor_value_info(f"output_{k}", TensorProto.FLOAT, [dim, size])
         for k, size in enumerate(spec.output_sizes)],
        g.initializers)
    model = helper.make_model(graph, producer_name="graphjit-peers",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)  # includes strict shape inference
    return model


# MARK: - ONNX Runtime's dynamic int8


def initializer_bytes(model) -> int:
    """Bytes of every initializer of an ONNX model as stored (int8 1 byte, fp32 4, ...)."""
    _, _, _, numpy_helper = _onnx()
    return int(sum(numpy_helper.to_array(t).nbytes for t in model.graph.initializer))


def op_counts(model) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return dict(sorted(counts.items()))


INT8_OPS = ("MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
            "ConvInteger", "DynamicQuantizeLSTM")


def quantize_onnx_int8(model, per_channel: bool, op_types: tuple[str, ...] = ("MatMul",)):
    """ONNX Runtime's dynamic int8 of ``model`` (a fp32 ModelProto from ``build_onnx(...,
    dense_op="matmul-add")``): ``quantize_dynamic`` with QInt8 weights (symmetric; per output column
    with ``per_channel``, else one scale per tensor) and its fixed scheme for activations (uint8,
    asymmetric, one scale and zero point per tensor, computed at run time by DynamicQuantizeLinear).
    Only ``op_types`` are quantized: MatMul, i.e. the Dense kernels -- Keras's int8 leaves Conv2D and
    LSTM in fp32 too. Activation-times-activation MatMuls stay fp32 (MatMulConstBOnly, the default).
    (ONNX Runtime 1.31's dynamic mode would also rewrite a Gemm as MatMul + Add itself; the graphs
    come with MatMul + Add already so that the quantized graph does not depend on that.)
    Returns the quantized ModelProto."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "Please consider to run pre-processing before quantization"
    try:
        with tempfile.TemporaryDirectory(prefix="graphjit-int8-") as tmp:
            path = Path(tmp) / "int8.onnx"
            quantize_dynamic(model, path, op_types_to_quantize=list(op_types), per_channel=per_channel,
                             reduce_range=False, weight_type=QuantType.QInt8)
            return onnx.load(str(path))
    finally:
        root.setLevel(level)


def verify_int8(name: str, fp32_model, int8_model) -> dict:
    """Raises unless ``int8_model`` quantized every Dense of ``name``: one MatMulInteger per Dense
    (fed by DynamicQuantizeLinear), no fp32 copy of a Dense kernel left, and fewer initializer bytes.
    Returns a summary: op counts, quantized kernels, initializer bytes before and after."""
    counts = op_counts(int8_model)
    dense = DENSE_LAYERS[name]
    initializers = {t.name: t for t in int8_model.graph.initializer}
    problems = []
    if counts.get("MatMulInteger", 0) != len(dense):
        problems.append(f"{counts.get('MatMulInteger', 0)} MatMulInteger nodes, expected {len(dense)} "
                        f"(one per Dense: {', '.join(dense)})")
    if counts.get("DynamicQuantizeLinear", 0) < 1:
        problems.append("no DynamicQuantizeLinear node")
    if counts.get("Gemm", 0):
        problems.append(f"{counts['Gemm']} Gemm node(s) left unquantized")
    _, TensorProto, _, _ = _onnx()
    kernels = {}
    for layer in dense:
        if f"{layer}.kernel" in initializers:
            problems.append(f"{layer}.kernel is still an fp32 initializer")
        q = initializers.get(f"{layer}.kernel_quantized")
        if q is None:
            problems.append(f"no {layer}.kernel_quantized initializer")
        elif q.data_type != TensorProto.INT8:
            problems.append(f"{layer}.kernel_quantized has ONNX data type {q.data_type}, not INT8")
        else:
            scale = initializers.get(f"{layer}.kernel_scale")
            kernels[layer] = {"shape": list(q.dims), "scales": int(np.prod(scale.dims)) if scale is not None else None}
    before, after = initializer_bytes(fp32_model), initializer_bytes(int8_model)
    if after >= before:
        problems.append(f"initializers did not shrink ({before} -> {after} bytes)")
    if problems:
        raise RuntimeError(f"{name}: ONNX Runtime's int8 graph is not quantized as expected: " + "; ".join(problems))
    return {"ops": counts, "quantized_ops": {k: v for k, v in counts.items() if k in INT8_OPS},
            "kernels": kernels, "weight_bytes_fp32": before, "weight_bytes": after}


def ort_session(model, threads: int = 1):
    """An ONNX Runtime CPU session with every graph optimization and ``threads`` intra-op threads."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


# MARK: - Self-check: ONNX Runtime against Keras on random weights


def self_check(tolerance: float = 1e-5, seed: int = 7) -> bool:
    rng = np.random.default_rng(seed)
    ok = True
    for name in MODEL_NAMES:
        weights = random_weights(name, rng)
        keras_model = build_keras(name, weights)
        variants = [{}, {"dense_op": "matmul-add"}]
        if name == "cnn":
            variants.append({"cnn_flatten": "transpose"})
        if name == "attention":
            variants.append({"attention_sum": "matmul"})
        for batch in (1, 5):
            x = random_input(name, batch, rng)
            expected = keras_outputs(keras_model, x)
            for batch_dim in (batch, None):
                for kwargs in variants:
                    session = ort_session(build_onnx(name, weights, batch_dim, **kwargs))
                    got = session.run(None, {"input": x})
                    diff = max(float(np.max(np.abs(g - e))) for g, e in zip(got, expected))
                    good = diff < tolerance and all(g.shape == e.shape for g, e in zip(got, expected))
                    ok &= good
                    label = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "default"
                    print(f"{name:9} batch {batch} (graph batch {batch_dim or 'N'}, {label}): "
                          f"max |ORT - Keras| = {diff:.2e}  {'ok' if good else 'FAILED'}", flush=True)
        x = random_input(name, 64, rng)
        expected = keras_outputs(keras_model, x)
        fp32 = build_onnx(name, weights, None, dense_op="matmul-add")
        for per_channel in (False, True):
            try:
                int8 = quantize_onnx_int8(fp32, per_channel)
                summary = verify_int8(name, fp32, int8)
                got = ort_session(int8).run(None, {"input": x})
            except Exception as error:  # noqa: BLE001 -- reported, the check goes on
                ok = False
                print(f"{name:9} int8 per_channel={per_channel}: FAILED: {type(error).__name__}: {error}", flush=True)
                continue
            diff = max(float(np.max(np.abs(g - e))) for g, e in zip(got, expected))
            top1 = [float(np.mean(g.argmax(-1) == e.argmax(-1))) for g, e in zip(got, expected)]
            print(f"{name:9} int8 per_channel={per_channel!s:5} (batch 64): {summary['quantized_ops']}, "
                  f"weights {summary['weight_bytes_fp32']:,} -> {summary['weight_bytes']:,} bytes, "
                  f"max |int8 - Keras fp32| = {diff:.2e}, top-1 agreement {top1}  ok", flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)
