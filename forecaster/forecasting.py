"""The future from a history: the steps after the last timestamp of a CSV, in the target's units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.artifacts import Bundle
from forecaster.data import Series, read_series
from forecaster.errors import UserError


@dataclass
class Forecast:
    """A forecast and the history it was made from."""

    frame: pd.DataFrame  # columns: the time column (as the input wrote it) and "forecast"
    times: pd.DatetimeIndex  # the forecast's timestamps
    values: np.ndarray  # (horizon,) in the target's units
    history: Series


def forecast(bundle: Bundle, csv, horizon: int | None = None) -> Forecast:
    """Forecast `horizon` steps (default: the trained horizon) after the end of `csv`.

    The CSV must have the training columns and frequency; its last `time_steps` rows are the input.
    """
    settings, schema = bundle.settings, bundle.schema
    trained = settings.horizon
    horizon = trained if horizon is None else horizon
    if not isinstance(horizon, int) or horizon < 1:
        raise UserError(f"--horizon is {horizon!r}; expected a whole number of at least 1.")
    if horizon > trained:
        raise UserError(
            f"--horizon {horizon} is longer than the {trained} step{'' if trained == 1 else 's'} this "
            f"model was trained to forecast; ask for at most {trained}, or retrain with --horizon {horizon}.")
    history = read_series(csv, schema=schema)
    representation, rows = bundle.representation, len(history.frame)
    needed = representation.first_origin(settings.time_steps)
    if rows < needed:
        raise UserError(
            f"{csv} has {rows} rows after regularising; this model needs the last {needed} "
            f"(--time-steps {settings.time_steps} at training, plus the rows its scaling looks "
            f"back). Pass a longer history.")
    values = history.values(settings.fill)
    window = representation.model_inputs(values[-needed:])[None, -settings.time_steps:, :]
    outputs = np.asarray(bundle.model(window, training=False))
    predicted = representation.decode(outputs, values[:, 0], np.array([rows]))[0, :horizon]
    last = history.frame.index[-1]
    times = pd.date_range(last, periods=horizon + 1, freq=schema.frequency)[1:]
    frame = pd.DataFrame({schema.time_column: format_times(times, schema.time_kind,
                                                           schema.time_format),
                          "forecast": predicted})
    return Forecast(frame, times, predicted, history)


def format_times(times: pd.DatetimeIndex, kind: str, pattern: str | None = None) -> list:
    """Timestamps written the way the input file wrote them: years, yyyymmdd, the file's own text
    pattern (when writing with it reads back the same times), or else ISO text."""
    if kind == "year":
        return [int(t.year) for t in times]
    if kind == "yyyymmdd":
        return [int(t.strftime("%Y%m%d")) for t in times]
    if pattern is not None:
        written = [t.strftime(pattern) for t in times]
        try:
            same = (pd.DatetimeIndex(pd.to_datetime(written, format=pattern.replace("Z", "%z")))
                    == times).all()
        except (ValueError, TypeError):
            same = False
        if same:
            return written
    if (times == times.normalize()).all() and times.tz is None:
        return [t.strftime("%Y-%m-%d") for t in times]
    return [t.isoformat(sep=" ") for t in times]
