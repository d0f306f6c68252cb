"""The model factory (the classic Keras LSTM regressor) and the baselines it must beat."""

from __future__ import annotations

import functools
import math
import operator

import numpy as np

from forecaster import backend
from forecaster.config import MODEL_KINDS

_RECURRENT_LAYERS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


def build_model(kind: str = "lstm", time_steps: int | None = None, features: int | None = None,
                horizon: int = 1, units: int = 50, layers: int = 1, dropout: float = 0.0,
                learning_rate: float = 1e-3, loss: str = "mse"):
    """A compiled forecaster of one of MODEL_KINDS: window (batch, time_steps, features) ->
    forecast (batch, horizon), both standardised; Adam(learning_rate), MSE loss, MAE metric.

    lstm, gru, rnn  `layers` stacked LSTM / GRU / SimpleRNN(units, tanh), named "lstm" alone or
                    "lstm_1", "lstm_2", ... when stacked; the defaults give exactly the classic Keras
                    example, LSTM(50, tanh) -> Dense(horizon).
    transformer     Dense(units) projection + sinusoidal PositionalEncoding, then `layers` post-norm
                    encoder blocks (self-attention with 4 heads when units % 4 == 0, else 1; a
                    Dense(2 * units, relu) -> Dense(units) feed-forward), then the last time step.
    dense           Flatten -> `layers` Dense(units, relu).
    dropout > 0 adds a Dropout layer after each recurrent or dense layer, and after the attention and
    feed-forward outputs of each encoder block (plus attention-weight dropout).

    A saved transformer holds the custom PositionalEncoding layer: a process that loads one without
    having built one must call register_custom_layers() before keras.saving.load_model.
    time_steps and features are required; they default to None only so that `kind` can come first.
    """
    if time_steps is None or features is None:
        raise TypeError("build_model() needs time_steps and features, the shape of one input window.")
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}.")
    for name, value in (("time_steps", time_steps), ("features", features), ("horizon", horizon),
                        ("units", units), ("layers", layers)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1; received {value!r}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout is a fraction in [0, 1); received {dropout!r} (0 turns it off).")
    keras = backend.keras()

    inputs = keras.Input(shape=(time_steps, features), name="window")
    if kind in _RECURRENT_LAYERS:
        hidden = _recurrent_stack(inputs, kind, units, layers, dropout)
    elif kind == "transformer":
        hidden = _transformer_encoder(inputs, units, layers, dropout)
    else:
        hidden = _dense_stack(inputs, units, layers, dropout)
    outputs = keras.layers.Dense(horizon, name="forecast")(hidden)
    model = keras.Model(inputs, outputs, name=f"{kind}_forecaster")
    losses = {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber()}
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=losses[loss],
                  weighted_metrics=["mae"])  # weighted: see `Worker.dataset`
    return model


def build_lstm(time_steps: int, features: int, horizon: int = 1, units: int = 50,
               learning_rate: float = 1e-3):
    """LSTM(units, tanh) -> Dense(horizon), Adam, MSE: the regressor of the classic Keras example.

    Input (batch, time_steps, features) standardised; output (batch, horizon) standardised target.
    """
    return build_model("lstm", time_steps, features, horizon, units, learning_rate=learning_rate)


# The registered names of forecaster's own layers, the only custom classes a bundle may hold.
CUSTOM_LAYERS = ("forecaster>PositionalEncoding", "forecaster>Median")


def load_model(path, compile: bool = True):
    """A model saved by Keras, loaded with safe_mode after registering forecaster's own layers;
    `compile` keeps its optimizer state (to train on), without it the model only predicts."""
    keras = backend.keras()
    register_custom_layers()
    return keras.saving.load_model(path, compile=compile, safe_mode=True)


def register_custom_layers() -> tuple[str, ...]:
    """Register forecaster's custom Keras layers (PositionalEncoding, Median) with Keras's
    serialization; returns their registered names ("forecaster>PositionalEncoding", ...).

    keras.saving.load_model finds a custom layer only in Keras's registry, and importing
    forecaster.models registers nothing (it must not import Keras), so a process that loads a saved
    transformer or ensemble without having built one must call this first. Safe to call more than
    once. The names are the only custom classes a bundle may hold (forecaster.artifacts checks).
    """
    keras = backend.keras()
    return tuple(keras.saving.get_registered_name(layer)
                 for layer in (_positional_encoding_layer(), _median_layer()))


def combine_members(members, name: str = "ensemble"):
    """One Keras model whose output is the element-wise median of `members`' outputs: each member
    (a model of the same input and output shapes, trained from its own seed) is a nested model.

    The median is taken in the model's own output space; every representation decodes with an
    increasing affine map per window, so it is also the median of the members' forecasts in the
    target's units. The result loads with safe_mode like any factory model (register_custom_layers).
    """
    keras = backend.keras()
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least two members; got {len(members)}")
    inputs = keras.Input(shape=tuple(members[0].inputs[0].shape[1:]), name="window")
    outputs = []
    for number, member in enumerate(members, 1):
        copy = keras.models.clone_model(member)  # uncompiled: no optimizer state is saved with it
        copy.set_weights(member.get_weights())
        copy.name = f"member_{number}"
        outputs.append(copy(inputs))
    median = _median_layer()(name="median")(outputs)
    return keras.Model(inputs, median, name=name)


def ensemble_members(model) -> list:
    """The member models of an ensemble built by `combine_members`; [model] for a single model."""
    return [layer for layer in model.layers if hasattr(layer, "layers")] or [model]


def _recurrent_stack(hidden, kind: str, units: int, layers: int, dropout: float):
    """(batch, time_steps, features) -> (batch, units): the state after the last step."""
    keras = backend.keras()
    recurrent = getattr(keras.layers, _RECURRENT_LAYERS[kind])
    for index in range(1, layers + 1):
        name = kind if layers == 1 else f"{kind}_{index}"
        hidden = recurrent(units, activation="tanh", return_sequences=index < layers, name=name)(hidden)
        if dropout > 0:
            hidden = keras.layers.Dropout(dropout, name=f"{name}_dropout")(hidden)
    return hidden


def _dense_stack(hidden, units: int, layers: int, dropout: float):
    """(batch, time_steps, features) -> (batch, units), the window flattened into one vector."""
    keras = backend.keras()
    hidden = keras.layers.Flatten(name="flatten")(hidden)
    for index in range(1, layers + 1):
        name = "dense" if layers == 1 else f"dense_{index}"
        hidden = keras.layers.Dense(units, activation="relu", name=name)(hidden)
        if dropout > 0:
            hidden = keras.layers.Dropout(dropout, name=f"{name}_dropout")(hidden)
    return hidden


def _transformer_encoder(hidden, units: int, layers: int, dropout: float):
    """(batch, time_steps, features) -> (batch, units): the encoding of the last time step.

    The last step, not an average over steps: attention has already mixed the whole window into every
    position, and the last one sits next to the forecast origin, so the recency that matters most for
    a forecast is not diluted by pooling.
    """
    keras = backend.keras()
    heads = 4 if units % 4 == 0 else 1
    time_steps = hidden.shape[1]
    hidden = keras.layers.Dense(units, name="projection")(hidden)
    hidden = _positional_encoding_layer()(name="positional_encoding")(hidden)
    for index in range(1, layers + 1):
        block = f"encoder_{index}"
        attended = keras.layers.MultiHeadAttention(
            heads, units // heads, dropout=dropout, name=f"{block}_attention")(hidden, hidden)
        if dropout > 0:
            attended = keras.layers.Dropout(dropout, name=f"{block}_attention_dropout")(attended)
        hidden = keras.layers.Add(name=f"{block}_attention_residual")([hidden, attended])
        hidden = keras.layers.LayerNormalization(name=f"{block}_attention_norm")(hidden)
        transformed = keras.layers.Dense(2 * units, activation="relu", name=f"{block}_expand")(hidden)
        transformed = keras.layers.Dense(units, name=f"{block}_contract")(transformed)
        if dropout > 0:
            transformed = keras.layers.Dropout(dropout, name=f"{block}_feed_forward_dropout")(transformed)
        hidden = keras.layers.Add(name=f"{block}_feed_forward_residual")([hidden, transformed])
        hidden = keras.layers.LayerNormalization(name=f"{block}_feed_forward_norm")(hidden)
    hidden = keras.layers.Cropping1D((time_steps - 1, 0), name="last_step")(hidden)
    return keras.layers.Flatten(name="last_step_flat")(hidden)


# PositionalEncoding subclasses keras.layers.Layer, so it is defined on first use rather than at
# import (importing forecaster.models must not import Keras). Keras resolves it on load only through
# its registry: call register_custom_layers() before loading a saved transformer in a fresh process.
@functools.cache
def _positional_encoding_layer():
    """The PositionalEncoding layer class, defined and registered as "forecaster>PositionalEncoding"
    once per process, on the first call (register_custom_layers() or building a transformer)."""
    keras = backend.keras()

    @keras.saving.register_keras_serializable(package="forecaster")
    class PositionalEncoding(keras.layers.Layer):
        """Adds the sinusoidal position signal of "Attention Is All You Need" to (batch, steps, depth).

        Channel 2i holds sin(position / max_wavelength ** (2i / depth)), channel 2i + 1 the cosine of
        the same angle. No weights: the signal is recomputed from the input's shape.
        """

        def __init__(self, max_wavelength: float = 10000.0, **kwargs):
            super().__init__(**kwargs)
            self.max_wavelength = max_wavelength

        def call(self, inputs):
            ops = keras.ops
            steps, depth = ops.shape(inputs)[1], inputs.shape[-1]
            positions = ops.cast(ops.arange(steps), "float32")[:, None]
            channels = ops.arange(depth)
            exponents = ops.cast(2 * (channels // 2), "float32") / depth
            angles = positions / ops.power(float(self.max_wavelength), exponents)[None, :]
            encoding = ops.where(channels % 2 == 0, ops.sin(angles), ops.cos(angles))
            return inputs + ops.cast(encoding, inputs.dtype)

        def get_config(self):
            return {**super().get_config(), "max_wavelength": self.max_wavelength}

    return PositionalEncoding


@functools.cache
def _median_layer():
    """The Median layer, registered as "forecaster>Median": a list of equal-shape tensors -> their
    element-wise median (the mean of the two middle values for an even count)."""
    keras = backend.keras()

    @keras.saving.register_keras_serializable(package="forecaster")
    class Median(keras.layers.Layer):
        def call(self, inputs):
            return keras.ops.median(keras.ops.stack(inputs, axis=0), axis=0)

        def compute_output_shape(self, input_shape):
            return input_shape[0]

    return Median


def naive_forecast(target, origins, horizon: int) -> np.ndarray:
    """The last value before each origin, repeated: (len(origins), horizon).

    `origins` are row indices of the first step to forecast; `target` is the whole series.
    """
    target = np.asarray(target, dtype="float64")
    origins = np.asarray(origins)
    if origins.min(initial=1) < 1:
        raise ValueError(f"naive needs a row before each origin; the earliest origin is row {origins.min()}")
    return np.repeat(target[origins - 1][:, None], horizon, axis=1)


def seasonal_naive_forecast(target, origins, horizon: int, season: int) -> np.ndarray:
    """The value one season earlier (as many seasons back as needed to stay before the origin).

    Step h (1-based) from origin o takes row o + h - 1 - season * ceil(h / season).
    """
    target = np.asarray(target, dtype="float64")
    origins = np.asarray(origins)
    steps = np.arange(1, horizon + 1)
    lags = season * np.array([math.ceil(h / season) for h in steps])
    rows = origins[:, None] + steps[None, :] - 1 - lags[None, :]
    if rows.min(initial=0) < 0:
        raise ValueError(
            f"seasonal naive needs {season} rows before each origin; the earliest "
            f"origin is row {int(origins.min())}")
    return target[rows]


def drift_forecast(first: float, last: float, origin: int, horizon: int) -> np.ndarray:
    """The line from the history's first value through its last, extended: (horizon,).

    Step h from origin o (rows 0 .. o-1 known): last + h * (last - first) / (o - 1).
    """
    if origin < 2:
        raise ValueError(f"drift needs two rows before the origin; the origin is row {origin}")
    return last + (last - first) / (origin - 1) * np.arange(1, horizon + 1)


# The ridge's penalties tried, each times the mean variance of the inputs it reads (so that it is
# scale-free), and how many of the window's last steps it may read: chosen on held-out blocks of
# the training windows (`fit_tuned`).
RIDGE_PENALTIES = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
RIDGE_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
MAX_TUNED_INPUTS = 4096  # inputs (steps x columns) above which only the whole window is tried


class RidgeSums:
    """What a ridge needs of (inputs, targets) batches, summed: count, the inputs' sum, Gram matrix
    and cross products with the targets, and the targets' sum and sum of squares."""

    def __init__(self):
        self.count = 0
        self.inputs = self.targets = self.gram = self.cross = self.squares = 0.0
        self.shape = None  # (time_steps, columns) of the windows

    def add(self, inputs, targets) -> RidgeSums:
        inputs = np.asarray(inputs, dtype="float64")
        self.shape = inputs.shape[1:]
        flat = inputs.reshape(len(inputs), -1)
        targets = np.asarray(targets, dtype="float64").reshape(len(flat), -1)
        self.count += len(flat)
        self.inputs, self.targets = self.inputs + flat.sum(axis=0), self.targets + targets.sum(axis=0)
        self.gram, self.cross = self.gram + flat.T @ flat, self.cross + flat.T @ targets
        self.squares = self.squares + (targets**2).sum(axis=0)
        return self

    def __add__(self, other: RidgeSums) -> RidgeSums:
        total = RidgeSums()
        total.shape = self.shape or other.shape
        for name in ("count", "inputs", "targets", "gram", "cross", "squares"):
            setattr(total, name, getattr(self, name) + getattr(other, name))
        return total

    def __sub__(self, other: RidgeSums) -> RidgeSums:
        """The sums of the windows in `self` but not in `other` (which `self` holds)."""
        rest = RidgeSums()
        rest.shape = self.shape or other.shape
        for name in ("count", "inputs", "targets", "gram", "cross", "squares"):
            setattr(rest, name, getattr(self, name) - getattr(other, name))
        return rest

    def centred(self, used: slice):
        """(input means, target means, centred Gram, centred cross products) of the inputs `used`."""
        mean, target_mean = self.inputs[used] / self.count, self.targets / self.count
        gram = self.gram[used, used] - self.count * np.outer(mean, mean)
        cross = self.cross[used] - self.count * np.outer(mean, target_mean)
        return mean, target_mean, gram, cross

    def squared_error(self, used: slice, coef, mean, target_mean) -> float:
        """The sum of squared errors over these windows of the ridge (coef (inputs, horizon) on the
        inputs `used`, intercept target_mean - mean @ coef), from the sums alone."""
        n = self.count
        sums = self.inputs[used]
        inputs = (self.gram[used, used] - np.outer(sums, mean) - np.outer(mean, sums)
                  + n * np.outer(mean, mean))
        cross = (self.cross[used] - np.outer(sums, target_mean) - np.outer(mean, self.targets)
                 + n * np.outer(mean, target_mean))
        targets = self.squares - 2 * target_mean * self.targets + n * target_mean**2
        return float(np.sum(targets - 2 * np.sum(coef * cross, axis=0)
                            + np.sum(coef * (inputs @ coef), axis=0)))


class LinearBaseline:
    """Ridge regression from the flattened input window (or its last `steps` steps) to the model's
    targets: the linear model that the network must beat, trained on the same windows and
    representation.

    Its coefficients are plain arrays (zeros on the steps it does not read), saved as JSON in the
    bundle and applied with NumPy.
    """

    def __init__(self, alpha: float = 1.0, steps: int | None = None):
        self.alpha = alpha
        self.steps = steps  # the window's last steps it reads; None: all of them

    def fit(self, inputs, targets) -> LinearBaseline:
        """inputs (samples, time_steps, features) as the model reads them; targets (samples, horizon)."""
        return self.fit_batches([(inputs, targets)])

    def fit_batches(self, batches) -> LinearBaseline:
        """`fit` on (inputs, targets) batches read one at a time, so that the training windows of a
        long series are never held at once: ridge with an unpenalised intercept (as scikit-learn's
        Ridge), solved from sums over the batches, (X - mean)'(X - mean) w + alpha w = (X - mean)'y."""
        return self._solve(_summed(batches))

    def fit_tuned(self, blocks, scored, share=None) -> LinearBaseline:
        """Choose the penalty and the steps read on held-out windows, then fit on all of them.

        `blocks`: the training windows in consecutive blocks, each a pair of (inputs, targets)
        batches, (body, tail), the tail being the windows whose targets reach into the next
        block's first target rows. Each block of `scored` is held out in turn: every pair of
        RIDGE_STEPS (that fits the window) and RIDGE_PENALTIES is fitted on the other blocks, less
        the tails on either side of the block's body (so that no held-out target is also a
        training one), and scored by its squared error on the body, all from sums; the pair with
        the least error summed over the scored blocks is refitted on every window. A long
        autoregression then reads the lags that help rather than all of a long window, and noisy
        data gets more shrinkage. No block to hold out: the plain fit. Above MAX_TUNED_INPUTS
        inputs, where only the whole window is tried and each solve is costly, the last scored
        block alone is held out. With `share` (`forecaster.sharing.Share`) the windows are this
        worker's, and every worker's sums are added before anything is chosen."""
        parts = [tuple(_summed(batches) for batches in block) for block in blocks]
        if share is not None and len(everyone := share.gather(parts)) > 1:
            parts = [tuple(functools.reduce(operator.add, [found[k][i] for found in everyone])
                           for i in range(2)) for k in range(len(parts))]
        total = sum((body + tail for body, tail in parts), RidgeSums())
        if total.count == 0:
            raise ValueError("no training windows to fit the ridge baseline on")
        folds = []
        for k in scored:
            held = parts[k][0]
            fitted = total - held - parts[k][1] - (parts[k - 1][1] if k > 0 else RidgeSums())
            if held.count >= 1 and fitted.count >= 2:
                folds.append((fitted, held))
        if not folds:
            return self._solve(total)
        time_steps, columns = total.shape
        if time_steps * columns > MAX_TUNED_INPUTS:
            tried, folds = [time_steps], folds[-1:]
        else:
            tried = sorted({steps for steps in RIDGE_STEPS if steps < time_steps} | {time_steps})
        errors = np.zeros((len(tried), len(RIDGE_PENALTIES)))
        for i, steps in enumerate(tried):
            used = slice((time_steps - steps) * columns, time_steps * columns)
            for fitted, held in folds:
                mean, target_mean, gram, cross = fitted.centred(used)
                values, vectors = np.linalg.eigh(gram)
                projected = vectors.T @ cross
                unit = max(float(np.trace(gram)) / len(gram), 1e-12)
                for j, penalty in enumerate(RIDGE_PENALTIES):
                    coef = vectors @ (projected / (np.maximum(values, 0) + penalty * unit)[:, None])
                    errors[i, j] += held.squared_error(used, coef, mean, target_mean)
        # the first of equals: fewer steps, then more shrinkage
        order = [(i, j) for i in range(len(tried)) for j in reversed(range(len(RIDGE_PENALTIES)))]
        i, j = min(order, key=lambda pair: errors[pair])
        steps, penalty = tried[i], RIDGE_PENALTIES[j]
        used = slice((time_steps - steps) * columns, time_steps * columns)
        gram = total.centred(used)[2]
        self.steps = None if steps == time_steps else steps
        self.alpha = penalty * max(float(np.trace(gram)) / len(gram), 1e-12)
        return self._solve(total)

    def _solve(self, sums: RidgeSums) -> LinearBaseline:
        if sums.count == 0:
            raise ValueError("no training windows to fit the ridge baseline on")
        time_steps, columns = sums.shape
        steps = self.steps or time_steps
        used = slice((time_steps - steps) * columns, time_steps * columns)
        mean, target_mean, gram, cross = sums.centred(used)
        coef = np.zeros((time_steps * columns, len(target_mean)))
        coef[used] = np.linalg.solve(gram + self.alpha * np.eye(len(gram)), cross)
        self.coef_ = coef.T  # (horizon, time_steps * features)
        self.intercept_ = target_mean - mean @ coef[used]
        return self

    def predict(self, inputs) -> np.ndarray:
        """(samples, time_steps, features) -> (samples, horizon), in the model's target units."""
        if not hasattr(self, "coef_"):
            raise RuntimeError("this LinearBaseline is not fitted yet; call fit(inputs, targets) first")
        inputs = np.asarray(inputs, dtype="float64")
        return inputs.reshape(len(inputs), -1) @ self.coef_.T + self.intercept_

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "steps": self.steps, "coef": self.coef_.tolist(),
                "intercept": self.intercept_.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> LinearBaseline:
        steps = values.get("steps")  # bundles before the ridge was tuned read the whole window
        baseline = cls(float(values["alpha"]), None if steps is None else int(steps))
        baseline.coef_ = np.asarray(values["coef"], dtype="float64")
        baseline.intercept_ = np.asarray(values["intercept"], dtype="float64")
        return baseline


def _summed(batches) -> RidgeSums:
    sums = RidgeSums()
    for inputs, targets in batches:
        sums.add(inputs, targets)
    return sums


# The name of a ridge member's Keras model (`ridge_model`); `member_label` reads it.
RIDGE_MODEL = "ridge_forecaster"


def ridge_model(linear: LinearBaseline, time_steps: int, features: int):
    """The ridge baseline as a Keras model, window (batch, time_steps, features) -> Flatten ->
    Dense(horizon) holding its coefficients (in float32), named RIDGE_MODEL: `--scaling auto` may
    keep it beside the networks, and a bundle saves, checks and runs it as it does them."""
    keras = backend.keras()
    inputs = keras.Input(shape=(time_steps, features), name="window")
    forecast = keras.layers.Dense(len(linear.intercept_), name="forecast")
    outputs = forecast(keras.layers.Flatten(name="flatten")(inputs))
    forecast.set_weights([linear.coef_.T.astype("float32"), linear.intercept_.astype("float32")])
    return keras.Model(inputs, outputs, name=RIDGE_MODEL)


# A baseline member's Keras model (`baseline_model`), by the baseline it forecasts.
BASELINE_MODELS = {"naive_forecaster": "naive", "seasonal_naive_forecaster": "seasonal_naive",
                   "seasonal_mean_forecaster": "seasonal_mean"}


def baseline_model(name: str, time_steps: int, features: int, horizon: int):
    """A baseline as a member: window -> Flatten -> Dense(horizon) of zeros, so that its
    representation's anchor ("naive", "seasonal_naive" or "seasonal_mean" on every step) is the forecast; a
    bundle saves, checks and runs it as it does the networks."""
    keras = backend.keras()
    inputs = keras.Input(shape=(time_steps, features), name="window")
    zeros = keras.layers.Dense(horizon, kernel_initializer="zeros", name="forecast")
    outputs = zeros(keras.layers.Flatten(name="flatten")(inputs))
    return keras.Model(inputs, outputs, name=f"{name}_forecaster")


def member_label(model, scaling: str) -> str:
    """How a member of a combined forecast is named: its representation ("window"), followed by
    "ridge(...)" around it for a ridge member ("ridge(global)"); a baseline by its name
    ("seasonal_naive")."""
    if model.name in BASELINE_MODELS:
        return BASELINE_MODELS[model.name]
    return f"ridge({scaling})" if model.name == RIDGE_MODEL else scaling
