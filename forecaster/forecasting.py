"""The future from a history: the steps after the last timestamp of each series of a CSV, in each
series' units, as one long table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.data import Panel, format_times, read_panel, with_future
from forecaster.errors import UserError
from forecaster.estimator import Forecaster, describe_left_out
from forecaster.intervals import check_level
from forecaster.parallel import run_by_series


@dataclass
class Forecast:
    """A forecast of every series and the history it was made from."""

    frame: pd.DataFrame  # the id column(s), the time column (as the input wrote it), "forecast",
    #                      lower_L/upper_L: one row per series and step
    history: Panel  # the series forecast (those left out are in history.left_out)
    times: list  # per series: the forecast's timestamps (pd.DatetimeIndex)
    values: np.ndarray  # (series, steps) in each series' units
    intervals: dict  # level -> (lower, upper), each (series, steps)


def forecast(model: Forecaster, csv, horizon: int | None = None, levels=(), series=None,
             model_dir=None, ray: str | None = None, future=None) -> Forecast:
    """Forecast `horizon` steps (default: the trained horizon) after the end of each series of
    `csv` (or of those named in `series`), with conformal prediction intervals at each of `levels`
    (whole percents). Beyond the trained horizon the model continues from its own forecasts.

    The CSV must have the training columns and frequency; each series' last rows are its input. A
    series too short to forecast is left out and named in `Forecast.history.left_out`; an error
    only when none remains. `ray`: a Ray cluster's address ("auto": a local one) to spread the
    series over, each task loading the bundle in `model_dir` (`forecaster.parallel`): the same
    forecasts.

    A model with inputs known ahead (train's `--future`) reads their values on the steps forecast:
    from the file `future` (`--future-csv`: a row per series and step), or else from the rows of
    `csv` after each series' last target value; a missing one is a UserError.
    """
    levels = [check_level(level) for level in levels]
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1):
        raise UserError(f"--horizon is {horizon!r}; expected a whole number of at least 1.")
    panel = read_history(model, csv, future)
    if series:
        panel = panel.select(panel.find(series))
    return forecast_panel(model, panel, horizon, levels, model_dir, ray)


def read_history(model: Forecaster, csv, future=None) -> Panel:
    """The history in `csv` read with the model's schema, with the values known ahead from the
    file `future` (`--future-csv`), if given."""
    panel = read_panel(csv, schema=model.schema_)
    if future is None:
        return panel
    if not model.schema_.future:
        raise UserError(
            "--future-csv gives values known ahead, but this model was trained without "
            "--future; leave it out, or retrain with --future.")
    return with_future(panel, future)


def forecast_panel(model: Forecaster, panel: Panel, horizon: int | None = None, levels=(),
                   model_dir=None, ray: str | None = None) -> Forecast:
    """`forecast` of series already read (with the model's schema); `levels` already checked."""
    horizon = model.horizon if horizon is None else horizon
    needed = model.rows_needed(panel)
    short = panel.lengths < needed
    if short.all():
        k = int(np.argmax(panel.lengths))
        what = panel.source if len(panel) == 1 else f"the longest series of {panel.source}"
        raise UserError(
            f"{what} has {int(panel.lengths[k])} rows after regularising; this model needs the last "
            f"{int(needed[k])} (--time-steps {model.settings_.time_steps} at training, plus the rows "
            f"its scaling looks back). Pass a longer history.")
    if short.any():
        left_out = [(panel.ids[k], f"too short: {int(panel.lengths[k])} rows, the model needs "
                     f"{int(needed[k])}") for k in np.flatnonzero(short)]
        kept = panel.select(~short)
        kept.left_out = panel.left_out + left_out
        panel = kept
    origins = np.column_stack([np.arange(len(panel)), panel.lengths])
    arrays = run_by_series(_forecast_arrays, model, model_dir, panel, origins, ray, steps=horizon,
                           levels=tuple(levels))
    values = arrays["forecast"]
    intervals = {level: (arrays[f"lower_{level}"], arrays[f"upper_{level}"]) for level in levels}
    series = np.repeat(np.arange(len(panel)), horizon)
    stamps = panel.times(series, panel.lengths[series] + np.tile(np.arange(horizon), len(panel)))
    times = [stamps[k * horizon:(k + 1) * horizon] for k in range(len(panel))]
    written = panel.schema  # the history file's own time style, which may not be training's
    columns = id_columns(panel, series)
    columns[model.schema_.time_column] = format_times(stamps, written.time_kind, written.time_format)
    columns["forecast"] = values.ravel()
    for level, (lower, upper) in intervals.items():
        columns[f"lower_{level}"], columns[f"upper_{level}"] = lower.ravel(), upper.ravel()
    return Forecast(pd.DataFrame(columns), panel, times, values, intervals)


def _forecast_arrays(model: Forecaster, panel: Panel, origins: np.ndarray, steps: int, levels) -> dict:
    """{"forecast": (series, steps), "lower_L"/"upper_L": each level's bounds} from each origin."""
    values = model.predict(panel, origins, steps=steps)
    arrays = {"forecast": values}
    for level in levels:
        arrays[f"lower_{level}"], arrays[f"upper_{level}"] = model.bounds(panel, origins, values, level)
    return arrays


def id_columns(panel: Panel, series: np.ndarray) -> dict:
    """{id column: values} naming the series of each output row (nothing for a file of one series)."""
    names = panel.schema.id_names
    if not names:
        return {}
    ids = panel.ids
    if len(names) == 1:
        return {names[0]: [ids[k] for k in series]}
    return {name: [ids[k][i] for k in series] for i, name in enumerate(names)}


def left_out_note(panel: Panel) -> str | None:
    """The note on the series left out of a forecast or a backtest, if any."""
    return describe_left_out(panel.left_out) if panel.left_out else None
