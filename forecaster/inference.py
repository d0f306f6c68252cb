"""Forecasts from a saved model.keras with NumPy alone: no TensorFlow, no Keras, so that a cold
`forecaster forecast` does not wait seconds for TensorFlow to import.

A .keras file is a zip of config.json (the functional graph: each layer's class, settings and
inbound nodes), metadata.json and model.weights.h5 (each layer's arrays under the path Keras gives
it: the class name in snake case, numbered in layer order, as in "layers/lstm_1/cell/vars/0"; a
nested model's layers under its own path, as in "layers/functional/layers/dense/vars/0").
NumpyModel reads both and replays the graph in float32, as Keras computes it.

It runs exactly the layers that forecaster.models builds. Any other layer, or a setting the factory
never uses (a Lambda, another package's class, go_backwards, a mask, ...), is a ValueError that
names it when the model is loaded, so that a caller can fall back to keras.saving.load_model.

NumpyModel.trace also reports what happens inside: the gates and states of each LSTM, GRU and
SimpleRNN at every step, and the softmax weights of each MultiHeadAttention, as LayerTrace records
(for `forecaster explain`). The graph passes its `record` list only to the layers that fill it, and
only when tracing, so predict_on_batch does no recording work.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from forecaster.models import CUSTOM_LAYERS

_FLOAT = np.float32
_POSITIONAL_ENCODING, _MEDIAN = CUSTOM_LAYERS  # forecaster's own layers, as registered
_FALLBACK = "Load it with keras.saving.load_model instead."


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.tanh(0.5 * x) + 0.5  # equal to 1 / (1 + exp(-x)), and never overflows


_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
}


@dataclass
class LayerTrace:
    """What one recurrent or attention layer computed in one call, each array float32, batch first.

    path: the layer's name inside its model(s), owners joined by "/": "lstm", "member_1/lstm".
    kind: "LSTM", "GRU", "SimpleRNN" or "MultiHeadAttention".
    arrays: name -> array, every step whatever return_sequences says:
      LSTM: "input_gate", "forget_gate", "output_gate" (the sigmoids), "candidate" (tanh(z_c), what
        the input gate writes), "cell" (c after each step), "hidden" (h after each step);
      GRU: "update_gate" (z), "reset_gate" (r), "candidate", "hidden";
      SimpleRNN: "hidden"; each (batch, steps, units);
      MultiHeadAttention: "attention", the softmax weights (batch, heads, query steps, key steps).
    """

    path: str
    kind: str
    arrays: dict[str, np.ndarray]


class NumpyModel:
    """A saved Keras model of forecaster.models, run with NumPy: windows (batch, time_steps,
    features) -> outputs (batch, horizon), float32, as the Keras model's predict_on_batch gives them.

    model = NumpyModel.load(bundle_dir / "model.keras")
    outputs = model.predict_on_batch(windows)
    outputs, traces = model.trace(windows)  # the same outputs, and what each layer computed
    """

    def __init__(self, name: str, graph: _Graph, window_shape: tuple[int | None, ...]):
        self.name = name
        self.window_shape = window_shape  # (time_steps, features), as the input layer declares
        self._graph = graph

    @classmethod
    def load(cls, source) -> NumpyModel:
        """Read a .keras archive: a path, its bytes (load_bundle holds the checked bytes), or a
        binary file object. Nothing is extracted to disk and no code from the file runs.

        ValueError when the archive is not a Keras model, or holds a layer or a setting that
        NumpyModel does not run (the message names it); the caller can then use Keras instead.
        """
        if isinstance(source, bytes | bytearray | memoryview):
            source, label = io.BytesIO(source), "the archive"
        else:
            label = str(source) if isinstance(source, str | Path) else "the archive"
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
            missing = [name for name in ("config.json", "model.weights.h5") if name not in names]
            if missing:
                raise ValueError(
                    f"{label} is not a Keras model archive: it lacks {' and '.join(missing)}; expected "
                    f"the .keras zip that model.save writes.")
            config = json.loads(archive.read("config.json").decode("utf-8"))
            weights = io.BytesIO(archive.read("model.weights.h5"))
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"the config.json of {label} describes no model; expected a Keras model config.")
        with h5py.File(weights, "r") as file:
            try:
                graph = _Graph.build(config, _Weights(file), path="", owners=())
            except (KeyError, IndexError, TypeError, AttributeError) as error:
                raise ValueError(
                    f"the config.json of {label} lacks or misplaces {type(error).__name__}: {error}; "
                    f"NumpyModel reads the config that Keras 3 writes. {_FALLBACK}") from error
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise ValueError(
                f"NumpyModel runs models of one input and one output; {graph.name!r} has "
                f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs. {_FALLBACK}")
        return cls(graph.name, graph, graph.input_shapes[0])

    def predict_on_batch(self, windows) -> np.ndarray:
        """(batch, time_steps, features) -> (batch, horizon) float32; the inputs are cast to float32."""
        return self._graph(self._checked(windows))[0]

    def trace(self, windows) -> tuple[np.ndarray, list[LayerTrace]]:
        """(batch, time_steps, features) -> (outputs, traces): outputs exactly as predict_on_batch
        gives them, and one LayerTrace per call of a recurrent or attention layer, in the order the
        graph runs them (a nested model's layers included, their path under its name); [] for a
        model without such layers."""
        traces: list[LayerTrace] = []
        outputs = self._graph(self._checked(windows), record=traces)[0]
        return outputs, traces

    def _checked(self, windows) -> np.ndarray:
        """`windows` as float32, or a ValueError when their shape is not the one the model reads."""
        windows = np.asarray(windows, dtype=_FLOAT)
        expected = self.window_shape
        if windows.ndim != len(expected) + 1 or any(
                size is not None and size != found for size, found in zip(expected, windows.shape[1:],
                                                                           strict=True)):
            shown = ", ".join("None" if size is None else str(size) for size in expected)
            raise ValueError(
                f"windows have the shape {windows.shape}; model {self.name!r} reads (batch, {shown}).")
        return windows


class _Weights:
    """The arrays of an open model.weights.h5, by the paths Keras wrote them under."""

    def __init__(self, file: h5py.File):
        self.file = file

    def read(self, path: str, name: str | None, count: int, place: str) -> list[np.ndarray]:
        """The `count` arrays saved at `path` ("" for the model itself), in their saved order.

        Recent Keras records the layer's name beside its arrays; when it does, it must be `name`:
        otherwise the layers were numbered in another order than the config lists them.
        """
        group = self.file.get(f"{path}/vars" if path else "vars")
        recorded = group.attrs.get("name") if group is not None else None
        if name is not None and recorded is not None and recorded != name:
            raise ValueError(
                f"the weights saved at {path!r} belong to the layer {recorded!r}, not to {place}: "
                f"this archive numbers its layers in an order NumpyModel does not know. {_FALLBACK}")
        arrays = [] if group is None else [np.asarray(group[key][()], dtype=_FLOAT)
                                           for key in sorted(group, key=int)]
        if len(arrays) != count:
            raise ValueError(
                f"the weights file holds {len(arrays)} arrays for {place}; expected {count}. {_FALLBACK}")
        return arrays


class _Graph:
    """One functional model: its layers' nodes in an order where each comes after its inputs."""

    def __init__(self, name: str, inputs: list, outputs: list, input_shapes: list, nodes: list):
        self.name = name
        self.inputs = inputs  # [(layer name, node index, tensor index)]
        self.outputs = outputs
        self.input_shapes = input_shapes  # [(time_steps, features)], one per input
        # [(key, function, args, kwargs, records)], args and kwargs hold _Tensor refs; records: the
        # function takes `record` (a layer of _RECORDING, or a nested model)
        self.nodes = nodes

    def __call__(self, *inputs: np.ndarray, record: list[LayerTrace] | None = None) -> list[np.ndarray]:
        """The outputs for `inputs`; with a `record` list, each recording layer appends its LayerTrace."""
        values = {ref: value for ref, value in zip(self.inputs, inputs, strict=True)}
        for key, function, args, kwargs, records in self.nodes:
            if record is not None and records:
                values[key] = function(*_fill(args, values), **_fill(kwargs, values), record=record)
            else:
                values[key] = function(*_fill(args, values), **_fill(kwargs, values))
        return [values[ref] for ref in self.outputs]

    @classmethod
    def build(cls, config: dict, weights: _Weights, path: str, owners: tuple[str, ...]) -> _Graph:
        """The graph of a serialized Functional model whose arrays lie under `path` in `weights`."""
        inner = config.get("config") if isinstance(config.get("config"), dict) else {}
        name = inner.get("name") or config.get("name") or "model"
        if config.get("class_name") != "Functional":
            raise ValueError(
                f"NumpyModel runs functional models; {_place(name, config, owners[:-1])} is not one. "
                f"{_FALLBACK}")
        layers = {layer["config"]["name"]: layer for layer in inner["layers"]}
        prefix = f"{path}/layers/" if path else "layers/"
        functions, numbers, input_shapes = {}, {}, {}
        for layer in inner["layers"]:  # Keras numbers the saved paths in this order, per class
            stem = _snake_case(layer["class_name"])
            numbers[stem] = numbers.get(stem, -1) + 1
            layer_path = prefix + (f"{stem}_{numbers[stem]}" if numbers[stem] else stem)
            layer_name = layer["config"]["name"]
            if layer["class_name"] == "InputLayer" and layer.get("module") == "keras.layers":
                input_shapes[layer_name] = tuple(layer["config"]["batch_shape"][1:])
                continue
            functions[layer_name] = _layer_function(layer, weights, layer_path, (*owners, name))
        inputs, outputs = _refs(inner["input_layers"]), _refs(inner["output_layers"])
        for ref in inputs:
            if ref[0] not in input_shapes:
                raise ValueError(f"model {name!r} names {ref[0]!r} as an input, but it is no InputLayer.")
        order = _topological(outputs, inputs, layers, name)
        nodes = []
        for layer_name, node in order:
            inbound = layers[layer_name]["inbound_nodes"][node]
            args, kwargs = inbound.get("args", []), inbound.get("kwargs", {})
            function, records = functions[layer_name]
            nodes.append(((layer_name, node, 0), function, _refs_in(args), _refs_in(kwargs), records))
        return cls(name, inputs, outputs, [input_shapes[ref[0]] for ref in inputs], nodes)


class _Tensor:
    """A placeholder in a node's arguments for the output (layer, node, tensor) of another node."""

    def __init__(self, ref: tuple[str, int, int]):
        self.ref = ref


def _refs(layers) -> list[tuple[str, int, int]]:
    """input_layers / output_layers of a config: one ["name", node, tensor] or a list of them."""
    if layers and isinstance(layers[0], str):
        layers = [layers]
    return [(str(name), int(node), int(tensor)) for name, node, tensor in layers]


def _refs_in(value):
    """`value` (a node's args or kwargs) with each serialized Keras tensor replaced by a _Tensor."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            name, node, tensor = value["config"]["keras_history"]
            return _Tensor((name, int(node), int(tensor)))
        return {key: _refs_in(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_refs_in(item) for item in value]
    return value


def _fill(value, values: dict):
    """`value` with each _Tensor replaced by the array computed for it."""
    if isinstance(value, _Tensor):
        return values[value.ref]
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    return value


def _tensors(value) -> list[_Tensor]:
    if isinstance(value, _Tensor):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [tensor for item in items for tensor in _tensors(item)]


def _topological(outputs: list, inputs: list, layers: dict, model: str) -> list[tuple[str, int]]:
    """The (layer, node) pairs that the outputs depend on, each after the nodes it reads from,
    found by walking the inbound nodes back from the outputs (depth first, without recursion)."""
    known = {(name, node) for name, node, _ in inputs}
    order, done, active = [], set(known), set()
    pending = [((name, node), False) for name, node, _ in reversed(outputs)]
    while pending:
        key, expanded = pending.pop()
        if key in done:
            continue
        if expanded:
            active.discard(key)
            done.add(key)
            order.append(key)
            continue
        if key in active:
            raise ValueError(f"model {model!r} has a cycle through the layer {key[0]!r}.")
        name, node = key
        if name not in layers or node >= len(layers[name].get("inbound_nodes", [])):
            raise ValueError(f"model {model!r} reads node {node} of {name!r}, which its config lacks.")
        active.add(key)
        pending.append((key, True))
        inbound = layers[name]["inbound_nodes"][node]
        sources = _tensors(_refs_in([inbound.get("args", []), inbound.get("kwargs", {})]))
        for tensor in reversed(sources):
            if tensor.ref[2] != 0:
                raise ValueError(
                    f"the layer {name!r} of model {model!r} reads output {tensor.ref[2]} of "
                    f"{tensor.ref[0]!r}; NumpyModel runs layers of one output. {_FALLBACK}")
            pending.append(((tensor.ref[0], tensor.ref[1]), False))
    return [key for key in order if key not in known]


def _snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: the stem of a layer's path in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _place(name: str, layer: dict, owners: tuple[str, ...]) -> str:
    """"the layer 'ensemble/member_1/lstm' of class LSTM"."""
    registered = layer.get("registered_name")
    label = registered if isinstance(registered, str) and ">" in registered else layer.get("class_name")
    return f"the layer {'/'.join([*owners, name])!r} of class {label}"


def _layer_function(layer: dict, weights: _Weights, path: str, owners: tuple[str, ...]):
    """(function, records): a function of the layer's call arguments (arrays) that computes its
    output; records: it also takes `record`, a list for the LayerTraces of a traced call."""
    config = layer["config"]
    name = config["name"]
    place = _place(name, layer, owners)
    registered = layer.get("registered_name")
    custom = isinstance(registered, str) and ">" in registered
    builtin = isinstance(layer.get("module"), str) and layer["module"].split(".")[0] == "keras"
    kind = registered if custom else layer["class_name"] if builtin else None
    if kind not in _BUILDERS:
        raise ValueError(
            f"NumpyModel cannot run {place}: it runs only the layers forecaster.models builds "
            f"({', '.join(sorted(_BUILDERS))}). {_FALLBACK}")
    policy = config.get("dtype")
    policy = policy.get("config", {}).get("name") if isinstance(policy, dict) else policy
    if policy not in (None, "float32"):
        raise ValueError(f"{place} computes in {policy}; NumpyModel computes in float32. {_FALLBACK}")
    if kind == "Functional":
        graph = _Graph.build(layer, weights, path, owners)
        weights.read(path, name, 0, place)  # checks the path belongs to this model

        def nested(inputs, mask=None, training=None, record=None):
            _no_mask(mask, place)
            return graph(*(inputs if isinstance(inputs, list) else [inputs]), record=record)[0]

        return nested, True

    def read(count, sub=""):
        return weights.read(f"{path}/{sub}" if sub else path, None if sub else name, count, place)

    if kind in _RECORDING:  # the name its traces carry: below the outermost model
        return _BUILDERS[kind](config, read, place, "/".join([*owners[1:], name])), True
    return _BUILDERS[kind](config, read, place), False


def _no_mask(mask, place: str) -> None:
    if mask is not None:
        raise ValueError(f"{place} is called with a mask; NumpyModel runs no masks. {_FALLBACK}")


def _check(config: dict, place: str, **expected) -> None:
    """A ValueError naming the first setting in `config` that differs from what NumpyModel runs."""
    for setting, allowed in expected.items():
        value = config.get(setting, allowed[0])
        if value not in allowed:
            raise ValueError(
                f"{place} has {setting}={value!r}; NumpyModel runs only {setting}="
                f"{' or '.join(repr(item) for item in allowed)}. {_FALLBACK}")


def _activation(config: dict, setting: str, place: str):
    name = config.get(setting)
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise ValueError(
            f"{place} has {setting}={name!r}; NumpyModel runs {', '.join(_ACTIVATIONS)}. {_FALLBACK}")
    return _ACTIVATIONS[name]


def _linear(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """x @ kernel on the last axis: (..., in) -> (..., out), each row on its own (`_rows`)."""
    return _rows(x.reshape(-1, x.shape[-1]), kernel).reshape(*x.shape[:-1], kernel.shape[-1])


def _rows(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """(rows, in) @ (in, out), one vector-matrix product per row: a row's result never depends on
    the rows beside it (a matrix product's blocking does), so a window forecast alone or among
    thousands (a backtest) gives the same outputs to the last digit."""
    return np.matmul(x[:, None, :], kernel)[:, 0, :]


def _one_input(function, place: str):
    """A layer of one input tensor, called as Keras records it (training and mask, if any)."""

    def call(inputs, training=None, mask=None):
        _no_mask(mask, place)
        return function(inputs)

    return call


def _dense(config, read, place):
    """x @ kernel + bias on the last axis, then the activation: (..., in) -> (..., units)."""
    activation = _activation(config, "activation", place)
    _check(config, place, quantization_config=(None,), lora_rank=(None,))
    if config.get("use_bias", True):
        kernel, bias = read(2)
    else:
        (kernel,), bias = read(1), None

    def dense(x):
        x = _linear(x, kernel)
        return activation(x if bias is None else x + bias)

    return _one_input(dense, place)


def _identity(config, read, place):
    """Dropout: at inference it passes its input through."""
    read(0)
    return _one_input(lambda x: x, place)


def _flatten(config, read, place):
    _check(config, place, data_format=("channels_last",))
    read(0)
    return _one_input(lambda x: x.reshape(len(x), -1), place)


def _cropping_1d(config, read, place):
    start, end = config["cropping"]
    read(0)
    return _one_input(lambda x: x[:, start: x.shape[1] - end], place)


def _add(config, read, place):
    read(0)

    def add(inputs, training=None, mask=None):
        _no_mask(mask, place)
        total = inputs[0]
        for item in inputs[1:]:
            total = total + item
        return total

    return add


def _median(config, read, place):
    """forecaster's Median: a list of equal-shape arrays -> their element-wise median (for an even
    count, the mean of the two middle values, as keras.ops.median gives it)."""
    read(0)

    def median(inputs, training=None, mask=None):
        _no_mask(mask, place)
        return np.median(np.stack(inputs), axis=0).astype(_FLOAT)

    return median


def _positional_encoding(config, read, place):
    """forecaster's PositionalEncoding (its formula in forecaster.models): (batch, steps, depth) plus
    sin(position / max_wavelength ** (2i / depth)) on channel 2i, the cosine on channel 2i + 1."""
    max_wavelength = float(config.get("max_wavelength", 10000.0))
    read(0)

    def encode(x):
        steps, depth = x.shape[1], x.shape[2]
        positions = np.arange(steps, dtype=_FLOAT)[:, None]
        channels = np.arange(depth)
        exponents = (2 * (channels // 2)).astype(_FLOAT) / _FLOAT(depth)
        angles = positions / np.power(_FLOAT(max_wavelength), exponents)[None, :]
        encoding = np.where(channels % 2 == 0, np.sin(angles), np.cos(angles))
        return x + encoding.astype(x.dtype)

    return _one_input(encode, place)


def _layer_normalization(config, read, place):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta over the last axis, as Keras orders it."""
    _check(config, place, rms_scaling=(False,))
    axis = config.get("axis", -1)
    if axis not in (-1, [-1]):
        raise ValueError(f"{place} normalises over axis {axis!r}; NumpyModel runs axis -1. {_FALLBACK}")
    scale, center = config.get("scale", True), config.get("center", True)
    arrays = read(int(scale) + int(center))  # gamma first, then beta
    gamma = arrays.pop(0) if scale else None
    beta = arrays.pop(0) if center else None
    epsilon = float(config.get("epsilon", 1e-3))

    def normalize(x):
        mean = x.mean(axis=-1, keepdims=True)
        variance = np.square(x - mean).mean(axis=-1, keepdims=True)
        inverse = 1 / np.sqrt(variance + _FLOAT(epsilon))
        if gamma is not None:
            inverse = inverse * gamma
        shift = -mean * inverse
        if beta is not None:
            shift = shift + beta
        return x * inverse + shift

    return _one_input(normalize, place)


def _multi_head_attention(config, read, place, path):
    """Keras MultiHeadAttention over axis 1 of (batch, steps, depth): per-head query, key and value
    projections (kernels (depth, heads, key_dim)), softmax(q k / sqrt(key_dim)) v, then the output
    projection (kernel (heads, value_dim, depth)). Its attention dropout is off at inference.
    Traced: "attention", the softmax weights (batch, heads, query steps, key steps)."""
    _check(config, place, output_shape=(None,), use_gate=(False,), sliding_window=(None,),
           attention_axes=(None, [1], 1), flash_attention=(None, False))
    heads, key_dim = int(config["num_heads"]), int(config["key_dim"])
    value_dim = int(config.get("value_dim") or key_dim)
    count = 2 if config.get("use_bias", True) else 1
    query_arrays, key_arrays, value_arrays, output_arrays = (
        read(count, sub) for sub in ("query_dense", "key_dense", "value_dense", "output_dense"))
    scale = _FLOAT(1.0 / math.sqrt(float(key_dim)))
    scale_query = float(config.get("dropout", 0.0)) > 0  # Keras's two paths round differently

    def project(x, arrays, width):  # (batch, steps, depth) -> (batch, heads, steps, width)
        kernel = arrays[0]
        projected = _linear(x, kernel.reshape(kernel.shape[0], -1)).reshape(*x.shape[:2], heads, width)
        if len(arrays) > 1:
            projected = projected + arrays[1]
        return projected.transpose(0, 2, 1, 3)

    def attention(query, value, key=None, attention_mask=None, use_causal_mask=False,
                  return_attention_scores=False, training=None, query_mask=None, value_mask=None,
                  key_mask=None, record=None):
        if attention_mask is not None or use_causal_mask or return_attention_scores or any(
                mask is not None for mask in (query_mask, value_mask, key_mask)):
            raise ValueError(
                f"{place} is called with a mask or for its scores; NumpyModel runs neither. {_FALLBACK}")
        q = project(query, query_arrays, key_dim)
        k = project(value if key is None else key, key_arrays, key_dim)
        v = project(value, value_arrays, value_dim)
        if scale_query:
            q = q * scale
        scores = np.matmul(q, k.transpose(0, 1, 3, 2))  # (batch, heads, query steps, key steps)
        if not scale_query:
            scores = scores * scale
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores = scores / scores.sum(axis=-1, keepdims=True)
        if record is not None:
            record.append(LayerTrace(path, "MultiHeadAttention", {"attention": scores}))
        attended = np.matmul(scores, v).transpose(0, 2, 1, 3)  # (batch, steps, heads, value_dim)
        kernel = output_arrays[0]
        attended = _linear(attended.reshape(*attended.shape[:2], -1), kernel.reshape(-1, kernel.shape[-1]))
        return attended + output_arrays[1] if len(output_arrays) > 1 else attended

    return attention


def _recurrent(step, config: dict, place: str, kernel, input_bias,
               trace: tuple[str, str, tuple[str, ...]], states: int = 1):
    """A recurrent layer: its input projected (x kernel + input_bias), then `step` (projected input
    at one step, tuple of `states` states, parts) -> (output, states) from zero states, over axis 1:
    (batch, steps, features) -> (batch, units) or, with return_sequences, (batch, steps, units).

    trace: (path, kind, part names). parts is None, or, when the call is traced, a list to which the
    step appends its parts, one (batch, units) array per name; they become the LayerTrace's arrays
    (batch, steps, units)."""
    _check(config, place, go_backwards=(False,), return_state=(False,), stateful=(False,))
    return_sequences = bool(config.get("return_sequences", False))
    units = int(config["units"])
    path, kind, names = trace

    def recurrent(inputs, training=None, mask=None, record=None):
        _no_mask(mask, place)
        projected = _linear(inputs, kernel) + input_bias
        state = (np.zeros((len(inputs), units), dtype=_FLOAT),) * states
        outputs, parts = [], None if record is None else []
        for projected_step in np.ascontiguousarray(projected.transpose(1, 0, 2)):  # step by step
            output, state = step(projected_step, state, parts)
            outputs.append(output)
        if record is not None:
            record.append(LayerTrace(path, kind, {
                name: np.stack([step_parts[index] for step_parts in parts], axis=1).astype(_FLOAT, copy=False)
                for index, name in enumerate(names)}))
        return np.stack(outputs, axis=1) if return_sequences else outputs[-1]

    return recurrent


def _cell_weights(config, read):
    """(kernel, recurrent kernel, bias or None) of a recurrent layer's cell."""
    kernel, recurrent, *bias = read(3, "cell") if config.get("use_bias", True) else read(2, "cell")
    return kernel, recurrent, bias[0] if bias else None


def _lstm(config, read, place, path):
    """Keras LSTM: gates i, f, c, o in that order in each kernel; c = f c + i tanh(z_c), h = o tanh(c).
    Traced: input_gate, forget_gate, output_gate, candidate, cell and hidden."""
    units = int(config["units"])
    activation = _activation(config, "activation", place)
    gate = _activation(config, "recurrent_activation", place)
    kernel, recurrent, bias = _cell_weights(config, read)

    def step(x, states, parts):
        h, c = states
        z = x + _rows(h, recurrent)
        gates = gate(z)  # i, f and o are read from it; its third quarter goes unused
        candidate = activation(z[:, 2 * units: 3 * units])
        c = gates[:, units: 2 * units] * c + gates[:, :units] * candidate
        h = gates[:, 3 * units:] * activation(c)
        if parts is not None:
            parts.append((gates[:, :units], gates[:, units: 2 * units], gates[:, 3 * units:], candidate,
                          c, h))
        return h, (h, c)

    names = ("input_gate", "forget_gate", "output_gate", "candidate", "cell", "hidden")
    return _recurrent(step, config, place, kernel, 0 if bias is None else bias, (path, "LSTM", names),
                      states=2)


def _gru(config, read, place, path):
    """Keras GRU with reset_after=True (its default): gates z, r, h in that order; bias (2, 3 units)
    of input and recurrent biases; h' = z h + (1 - z) tanh(x_h + r (h U_h + b_h)).
    Traced: update_gate (z), reset_gate (r), candidate and hidden."""
    _check(config, place, reset_after=(True,))
    units = int(config["units"])
    activation = _activation(config, "activation", place)
    gate = _activation(config, "recurrent_activation", place)
    kernel, recurrent, bias = _cell_weights(config, read)
    input_bias, recurrent_bias = (0, 0) if bias is None else (bias[0], bias[1])

    def step(x, states, parts):
        (h,) = states
        inner = _rows(h, recurrent) + recurrent_bias
        gates = gate(x[:, :2 * units] + inner[:, :2 * units])
        z, r = gates[:, :units], gates[:, units:]
        candidate = activation(x[:, 2 * units:] + r * inner[:, 2 * units:])
        h = z * h + (1 - z) * candidate
        if parts is not None:
            parts.append((z, r, candidate, h))
        return h, (h,)

    names = ("update_gate", "reset_gate", "candidate", "hidden")
    return _recurrent(step, config, place, kernel, input_bias, (path, "GRU", names))


def _simple_rnn(config, read, place, path):
    """Keras SimpleRNN: h' = activation(x W + b + h U). Traced: hidden."""
    activation = _activation(config, "activation", place)
    kernel, recurrent, bias = _cell_weights(config, read)

    def step(x, states, parts):
        h = activation(x + _rows(states[0], recurrent))
        if parts is not None:
            parts.append((h,))
        return h, (h,)

    return _recurrent(step, config, place, kernel, 0 if bias is None else bias,
                      (path, "SimpleRNN", ("hidden",)))


# builder(config, read, place) -> function of the layer's call arguments; a builder of _RECORDING
# takes a fourth argument, the layer's trace path, and its function a `record` list
_BUILDERS = {
    "Functional": None,  # a nested model: built by _Graph.build
    "Dense": _dense,
    "Dropout": _identity,
    "Flatten": _flatten,
    "Cropping1D": _cropping_1d,
    "Add": _add,
    "LayerNormalization": _layer_normalization,
    "MultiHeadAttention": _multi_head_attention,
    "LSTM": _lstm,
    "GRU": _gru,
    "SimpleRNN": _simple_rnn,
    _MEDIAN: _median,
    _POSITIONAL_ENCODING: _positional_encoding,
}
_RECORDING = ("LSTM", "GRU", "SimpleRNN", "MultiHeadAttention")
