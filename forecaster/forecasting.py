"""The future from a history: the steps after the last timestamp of a CSV, in the target's units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.artifacts import Bundle
from forecaster.data import Series, calendar, format_times, read_series
from forecaster.errors import UserError


@dataclass
class Forecast:
    """A forecast and the history it was made from."""

    frame: pd.DataFrame  # the time column (as the input wrote it), "forecast", lower_L/upper_L
    times: pd.DatetimeIndex  # the forecast's timestamps
    values: np.ndarray  # (horizon,) in the target's units
    history: Series
    intervals: dict  # level -> (lower, upper), each (horizon,)


def forecast(bundle: Bundle, csv, horizon: int | None = None, levels=()) -> Forecast:
    """Forecast `horizon` steps (default: the trained horizon) after the end of `csv`, with
    conformal prediction intervals at each of `levels` (whole percents). Beyond the trained
    horizon the model continues from its own forecasts (see `predict_next`).

    The CSV must have the training columns and frequency; its last `time_steps` rows are the input.
    """
    from forecaster.evaluation import check_level

    levels = [check_level(level) for level in levels]
    if horizon is not None and (not isinstance(horizon, int) or horizon < 1):
        raise UserError(f"--horizon is {horizon!r}; expected a whole number of at least 1.")
    return forecast_series(bundle, read_series(csv, schema=bundle.schema), horizon, levels)


def forecast_series(bundle: Bundle, history: Series, horizon: int | None = None,
                    levels=(), values: np.ndarray | None = None) -> Forecast:
    """`forecast` of a history already read (with the bundle's schema); `levels` already checked;
    `values`: `history.values(fill)` when the caller has it already."""
    settings, schema = bundle.settings, bundle.schema
    horizon = settings.horizon if horizon is None else horizon
    rows, needed = len(history.frame), history_needed(bundle)
    if rows < needed:
        raise UserError(
            f"{history.source} has {rows} rows after regularising; this model needs the last {needed} "
            f"(--time-steps {settings.time_steps} at training, plus the rows its scaling looks "
            f"back). Pass a longer history.")
    last = history.frame.index[-1]
    times = pd.date_range(last, periods=horizon + 1, freq=schema.frequency)[1:]
    values = history.values(settings.fill) if values is None else values
    predicted = predict_next(bundle, values, times[0], steps=horizon)
    written = history.schema  # the history file's own time style, which may not be training's
    columns = {schema.time_column: format_times(times, written.time_kind, written.time_format),
               "forecast": predicted}
    intervals = {level: bundle.intervals.bounds(predicted, level) for level in levels}
    for level, (lower, upper) in intervals.items():
        columns[f"lower_{level}"], columns[f"upper_{level}"] = lower, upper
    return Forecast(pd.DataFrame(columns), times, predicted, history, intervals)


def history_needed(bundle: Bundle) -> int:
    """Rows of history the model (every member of a combination) needs before the first step it
    forecasts."""
    return max(representation.first_origin(bundle.settings.time_steps)
               for _, representation in bundle.members)


def predict_next(bundle: Bundle, values: np.ndarray, start, steps: int | None = None,
                 predict=None) -> np.ndarray:
    """The forecast of the `steps` (default: the trained horizon) after `values`: (rows, columns)
    in user units as `Series.values` gives them (target, features, calendar inputs), missing values
    filled, at least `history_needed` rows. `start` is the timestamp of the first step forecast.

    `predict` maps model windows to outputs: the bundle's model by default (the backtest passes
    the ridge baseline's, which reads the first member's windows). A combined bundle forecasts the
    mean of its members' forecasts, each from its own representation of the same history. Up to
    the trained horizon every model forecasts at once (a recursive one step by step, reading its
    own forecasts); asked for more steps, the forecast goes on from the history extended by the
    (mean) forecast so far, as it would from a file holding it. Calendar inputs of the steps ahead
    are known; other features are not, so a model with --features stops at its horizon. One
    history, one call per step: `forecast` and every origin of a backtest go through here, so the
    two agree to the last digit.
    """
    settings, schema = bundle.settings, bundle.schema
    steps = steps or settings.horizon
    recent = np.asarray(values, dtype="float64")[-history_needed(bundle):]
    if steps > settings.horizon and schema.features:
        raise UserError(
            f"this model forecasts {settings.horizon} steps; going further means reading its own "
            f"forecasts as input, but its --features {','.join(schema.features)} have no future "
            f"values. Ask for at most {settings.horizon} steps, or retrain with a longer --horizon.")
    ahead = (calendar(pd.date_range(start, periods=steps + settings.horizon, freq=schema.frequency),
                      schema.calendar)
             if schema.calendar else np.zeros((steps + settings.horizon, 0)))  # the usual case: skip
    # predict_on_batch: compiled once, ~35x faster than eager. The mean of one member is its forecast.
    members = ([(predict, bundle.representation)] if predict is not None else
               [(model.predict_on_batch, representation) for model, representation in bundle.members])
    forecast = np.zeros(0)
    while len(forecast) < steps:
        known = ahead[len(forecast): len(forecast) + settings.horizon]
        chunk = np.mean([_one_horizon(settings, recent, known, predict, representation)
                         for predict, representation in members], axis=0)
        forecast = np.concatenate([forecast, chunk])
        if len(forecast) < steps:  # read the forecasts as history, then go on
            recent = np.concatenate([recent, np.column_stack([chunk, known])])[-len(recent):]
    return forecast[:steps]


def _one_horizon(settings, recent: np.ndarray, known: np.ndarray, predict,
                 representation) -> np.ndarray:
    """The trained horizon's forecast (horizon,) of one model (`predict`, its representation)
    after the `recent` rows, `known` holding the calendar inputs of the steps forecast."""
    if settings.strategy == "recursive":
        return roll_forward(predict, representation, recent[None], settings.horizon, known[None])[0]
    window = representation.windows(recent[None])
    return representation.decode(predict(window), recent[:, 0], np.array([len(recent)]))[0]


def roll_forward(predict, representation, histories, steps: int, ahead=None) -> np.ndarray:
    """Recursive forecasts from many histories at once: a one-step model reads each history's last
    window, its forecast is appended, and so on for `steps` steps.

    `histories`: (n, rows, columns) in user units, the target first and then only inputs known
    ahead of time; `ahead`: (n, steps, columns - 1) those inputs for the steps forecast (None when
    the target is the only column). Returns (n, steps).
    """
    histories = np.array(histories, dtype="float64")
    if ahead is None:
        ahead = np.zeros((len(histories), steps, histories.shape[2] - 1))
    forecasts = np.empty((len(histories), steps))
    for step in range(steps):
        window = representation.windows(histories)
        forecasts[:, step] = representation.decode_next(predict(window), histories[:, :, 0])
        row = np.concatenate([forecasts[:, step, None], ahead[:, step]], axis=1)[:, None, :]
        histories = np.concatenate([histories[:, 1:], row], axis=1)
    return forecasts
