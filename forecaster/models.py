"""The model factory (the classic Keras LSTM regressor) and the baselines it must beat."""

from __future__ import annotations

import math

import numpy as np

from forecaster import backend


def build_lstm(time_steps: int, features: int, horizon: int = 1, units: int = 50,
               learning_rate: float = 1e-3):
    """LSTM(units, tanh) -> Dense(horizon), Adam, MSE: the regressor of the classic Keras example.

    Input (batch, time_steps, features) standardised; output (batch, horizon) standardised target.
    """
    keras = backend.keras()

    inputs = keras.Input(shape=(time_steps, features), name="window")
    hidden = keras.layers.LSTM(units, activation="tanh", name="lstm")(inputs)
    outputs = keras.layers.Dense(horizon, name="forecast")(hidden)
    model = keras.Model(inputs, outputs, name="lstm_forecaster")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", metrics=["mae"])
    return model


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
