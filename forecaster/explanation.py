"""Why a forecast is what it is: which past steps it rests on, and what the network did inside.

    explanation = explain_panel(model, panel, series=0)   # from the end of the series
    explanation.attributions        # (horizon, rows, columns) in the target's units
    explanation.members[0].layers   # each recurrent or attention layer's gates and states

**Attributions** are baseline Shapley values of the forecast (the mean of every member kept, each
horizon step) over the cells of the history it reads (every row and input column, and the values
of `--future` inputs on the steps forecast). The baseline is the same history with every column
held flat at its mean over those rows. A cell's value is its average contribution, over orders
in which the cells are switched one by one from the baseline to their real values, to the forecast;
so for every horizon step the values add up to the forecast minus the forecast from the baseline
(exactly, to rounding, for every order: the changes along an order telescope), a cell the model
does not read gets exactly 0, and for a forecast linear in its inputs each value is exactly its
weight times (value - baseline). The orders are drawn at random in pairs, each with its reverse
(antithetic), `SHAPLEY_EVALUATIONS` forecasts in all; `standard_error` says how far the estimate of
each value may be from the exact one (the sum is exact regardless).

**Layers**: each network member's window run through the NumPy engine (`NumpyModel.trace`): an
LSTM's input, forget and output gates, candidate, cell and hidden state at every step of the window;
a GRU's update and reset gates, candidate and state; a SimpleRNN's state; a transformer's attention
weights per head. The units of a layer are ordered by how their last hidden state follows the
network's output over many origins of the series (correlation, highest first), so that the units
that push the forecast up come first and those that push it down last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster import plots
from forecaster.artifacts import load_bundle
from forecaster.data import Panel, format_times
from forecaster.errors import UserError, count
from forecaster.estimator import Forecaster
from forecaster.files import check_output_file, write_text_atomically
from forecaster.forecasting import read_history
from forecaster.inference import NumpyModel
from forecaster.models import member_label

SHAPLEY_EVALUATIONS = 8192  # forecasts spent on the attributions of one origin (at least 4 pairs of orders)
SHAPLEY_BATCH = 4096  # rows of cells forecast at once
MOST_PAIRS = 256  # pairs of orders at most (short windows): their standard error is then small
CORRELATION_ORIGINS = 200  # origins of the series over which the units' order is found


@dataclass
class Layer:
    """What one recurrent or attention layer did over the window."""

    path: str  # the layer's name in its model: "lstm", "lstm_2", "member_1/gru", "block_1_attention"
    kind: str  # "LSTM", "GRU", "SimpleRNN" or "MultiHeadAttention"
    arrays: dict  # name -> (units, steps) for a recurrent layer, units in `order`;
    #               "attention" -> (heads, query steps, key steps)
    order: np.ndarray | None = None  # (units,) the units shown, by the layer's own numbering
    correlation: np.ndarray | None = None  # (units,) each unit's correlation, in `order`


@dataclass
class Member:
    """One member of the forecast and, for a network, its layers over its window."""

    label: str  # "LSTM (change scaling)", "ridge(window)", "seasonal_naive"
    window_times: pd.DatetimeIndex  # (time_steps,) the rows of its window
    layers: list = field(default_factory=list)  # [Layer]; none for a dense network or a ridge


@dataclass
class Explanation:
    """The forecast of one series from one origin, taken apart (see the module's docstring)."""

    series: str  # the series' id as text ("" for a file of one series)
    target: str
    columns: list  # the history's columns: target, features, --future, calendar
    times: pd.DatetimeIndex  # (rows,) the rows of the history the forecast reads
    history: np.ndarray  # (rows, columns) their values (gaps filled), in user units
    forecast_times: pd.DatetimeIndex  # (horizon,)
    forecast: np.ndarray  # (horizon,) the forecast (the mean of the members)
    actual: np.ndarray  # (horizon,) the values the file holds there; NaN where none
    baseline_forecast: np.ndarray  # (horizon,) the forecast from the flat history
    attributions: np.ndarray  # (horizon, rows, columns) each cell's share, in the target's units
    standard_error: np.ndarray  # (horizon, rows, columns) of each attribution's estimate
    future: list  # the --future columns whose values on the steps forecast are attributed too
    ahead_attributions: np.ndarray  # (horizon, horizon, len(future)) steps forecast x their values
    permutations: int  # orders of the cells drawn
    members: list  # [Member]

    @property
    def baseline(self) -> str:
        return (f"the same {count(len(self.times), 'row')} held flat at each column's mean over "
                f"them")

    def total(self) -> np.ndarray:
        """(horizon,) what the attributions add up to: forecast - baseline forecast."""
        return (self.attributions.sum(axis=(1, 2)) + self.ahead_attributions.sum(axis=(1, 2)))

    def by_row(self) -> np.ndarray:
        """(rows,) each row's share of the whole forecast (summed over horizon steps and columns)."""
        return self.attributions.sum(axis=(0, 2))

    def strongest(self, most: int = 3) -> list[tuple[str, float]]:
        """The `most` rows with the largest shares (either sign), in time order: (time, share)."""
        shares = self.by_row()
        rows = sorted(np.argsort(-np.abs(shares), kind="stable")[:most])
        return [(_iso([self.times[i]])[0].replace("T00:00:00", ""), float(shares[i])) for i in rows]

    def summary(self) -> dict:
        """The few numbers a report states (evaluate's metrics.json and report.html)."""
        return {"series": self.series, "origin": _iso(self.forecast_times[:1])[0].replace("T00:00:00", ""),
                "steps": len(self.forecast), "rows": len(self.times), "baseline": self.baseline,
                "forecast_mean": float(np.mean(self.forecast)),
                "baseline_forecast_mean": float(np.mean(self.baseline_forecast)),
                "change": float(self.total().sum()),
                "strongest_rows": self.strongest(3), "permutations": self.permutations,
                "members": [member.label for member in self.members]}

    def to_dict(self) -> dict:
        """The numbers behind the pictures, for explain.json (a notebook can redraw them)."""
        members = []
        for member in self.members:
            layers = [{"path": layer.path, "kind": layer.kind,
                       "unit_order": None if layer.order is None else layer.order.tolist(),
                       "unit_correlation": None if layer.correlation is None else _numbers(layer.correlation),
                       "arrays": {name: _numbers(values) for name, values in layer.arrays.items()}}
                      for layer in member.layers]
            members.append({"label": member.label, "window_times": _iso(member.window_times),
                            "layers": layers})
        return {
            "series": self.series, "target": self.target, "columns": list(self.columns),
            "times": _iso(self.times), "history": _numbers(self.history),
            "forecast_times": _iso(self.forecast_times), "forecast": _numbers(self.forecast),
            "actual": _numbers(self.actual),
            "attributions": {
                "method": "baseline Shapley values, estimated over random orders of the cells "
                          "(each with its reverse); for every horizon step they add up to forecast "
                          "- baseline_forecast",
                "baseline": self.baseline, "baseline_forecast": _numbers(self.baseline_forecast),
                "permutations": self.permutations,
                "values": _numbers(self.attributions), "standard_error": _numbers(self.standard_error),
                "shape": "[horizon step][row of times][column of columns]",
                "future": list(self.future), "ahead_values": _numbers(self.ahead_attributions),
                "ahead_shape": "[horizon step][step forecast][column of future]",
            },
            "members": members,
            "layers_note": "recurrent arrays are [unit][step of window_times], units in unit_order "
                           "(ordered by the correlation of their last hidden state with the "
                           "network's output over origins of this series); attention is "
                           "[head][query step][key step]",
        }


def explain(model_dir, csv, origin=None, series=None, output=None,
            future=None) -> tuple[Explanation, Path, Path]:
    """`forecaster explain`: take apart the forecast of one series of `csv` (the first, or the one
    id `series` names) from `origin` (the first forecast step's timestamp; default: right after
    the end of the series) with the bundle in `model_dir`; `future`: the file of the values known
    ahead after the history (as `forecast --future-csv`). Writes the picture to `output` (default
    reports/<model name>/explain.png) and the numbers to explain.json beside it; returns the
    explanation and both paths."""
    output = check_output_file(output or Path("reports") / Path(model_dir).name / "explain.png",
                               "--output", plots.PICTURE_SUFFIXES)
    model = load_bundle(model_dir)
    panel = read_history(model, csv, future)
    k = _one_series(panel, series)
    explanation = explain_panel(model, panel, k, _origin_row(model, panel, k, origin))
    numbers = output.with_suffix(".json")
    plots.plot_explanation(explanation, output)
    write_text_atomically(numbers, json.dumps(explanation.to_dict()) + "\n")
    return explanation, output, numbers


def explain_panel(model: Forecaster, panel: Panel, series: int = 0, origin: int | None = None,
                  evaluations: int = SHAPLEY_EVALUATIONS, seed: int = 0) -> Explanation:
    """The explanation of the forecast of series `series` of `panel` from row `origin` (default:
    its end). `evaluations`: the forecasts the attributions may cost (`shapley_values`); `seed`
    draws their orders."""
    length = int(panel.lengths[series])
    origin = length if origin is None else int(origin)
    reading = model.reading(panel, (series, origin))
    horizon, history = model.horizon, reading.history
    future = list(model.schema_.future)
    known = reading.ahead[:, :len(future)]  # the --future values on the steps forecast
    baseline_row = history.mean(axis=0)
    inputs = np.concatenate([history.ravel(), known.ravel()])
    baseline = np.concatenate([np.broadcast_to(baseline_row, history.shape).ravel(),
                               np.broadcast_to(baseline_row[1 + len(model.schema_.features):][:len(future)],
                                               known.shape).ravel()])

    def forecast(cells: np.ndarray) -> np.ndarray:  # (n, cells) -> (n, horizon)
        histories = cells[:, :history.size].reshape(len(cells), *history.shape)
        ahead = np.repeat(reading.ahead[None], len(cells), axis=0)
        ahead[:, :, :len(future)] = cells[:, history.size:].reshape(len(cells), *known.shape)
        return reading.forecast(histories, ahead)

    values, error, permutations = shapley_values(forecast, inputs, baseline, evaluations, seed)
    ends = forecast(np.stack([inputs, baseline]))
    rows = history.shape[0]
    times = panel.times(np.full(rows + horizon, series), np.arange(origin - rows, origin + horizon))
    actual = np.full(horizon, np.nan)
    stop = min(origin + horizon, length)
    actual[:max(0, stop - origin)] = panel.rows(series)[origin:stop, 0]
    split = history.size
    return Explanation(
        series=panel.label(series) if len(panel) > 1 or panel.schema.id_names else "",
        target=model.schema_.target, columns=[*model.schema_.columns, *model.schema_.calendar],
        times=times[:rows], history=history, forecast_times=times[rows:], forecast=ends[0],
        actual=actual, baseline_forecast=ends[1],
        attributions=values[:, :split].reshape(horizon, *history.shape),
        standard_error=error[:, :split].reshape(horizon, *history.shape),
        future=future, ahead_attributions=values[:, split:].reshape(horizon, *known.shape),
        permutations=permutations,
        members=_members(model, panel, series, origin, reading, times[:rows]))


def shapley_values(function, inputs, baseline, evaluations: int = SHAPLEY_EVALUATIONS,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Baseline Shapley values of `function` ((n, cells) -> (n, outputs)) at `inputs` (cells,)
    against `baseline` (cells,): (outputs, cells) values, their standard errors, and the number of
    orders drawn.

    Each order of the cells that differ from the baseline switches them one at a time from the
    baseline to `inputs`; a cell's value is the mean change of `function` when it is switched.
    Orders come in pairs, one the reverse of the other; as many pairs as `evaluations` calls of
    `function` on one row allow (4 to MOST_PAIRS). For every order the changes add up to
    function(inputs) - function(baseline), so the values do too; the standard error is that of the
    mean over pairs."""
    inputs, baseline = np.asarray(inputs, dtype="float64"), np.asarray(baseline, dtype="float64")
    varying = np.flatnonzero(inputs != baseline)  # a cell at its baseline contributes nothing
    ends = np.asarray(function(np.stack([inputs, baseline])), dtype="float64")
    outputs = ends.shape[1]
    values = np.zeros((outputs, len(inputs)))
    error = np.zeros((outputs, len(inputs)))
    if len(varying) == 0:
        return values, error, 0
    cells = len(varying)
    pairs = int(np.clip(evaluations // (2 * (cells + 1)), 4, MOST_PAIRS))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(cells) for _ in range(pairs)]
    sequences = [sequence for order in orders for sequence in (order, order[::-1])]
    switched = np.tri(cells + 1, cells, -1, dtype=bool)  # row j: the first j cells of an order switched
    changes = np.empty((len(sequences), outputs, cells))  # each order's change at each cell
    group = max(1, SHAPLEY_BATCH // (cells + 1))  # orders whose forecasts are computed together
    for start in range(0, len(sequences), group):
        batch = sequences[start:start + group]
        states = np.broadcast_to(baseline, (len(batch), cells + 1, len(baseline))).copy()
        for i, sequence in enumerate(batch):
            columns = varying[sequence]
            states[i][:, columns] = np.where(switched, inputs[columns], baseline[columns])
        results = np.asarray(function(states.reshape(-1, len(baseline))), dtype="float64")
        steps = np.diff(results.reshape(len(batch), cells + 1, outputs), axis=1)
        for i, sequence in enumerate(batch):
            changes[start + i][:, sequence] = steps[i].T
    per_pair = (changes[0::2] + changes[1::2]) / 2
    values[:, varying] = per_pair.mean(axis=0)
    error[:, varying] = per_pair.std(axis=0, ddof=1) / np.sqrt(pairs)
    return values, error, 2 * pairs


def _members(model: Forecaster, panel: Panel, series: int, origin: int, reading,
             times: pd.DatetimeIndex) -> list[Member]:
    """Each member, and for a network run by the NumPy engine its layers over the window."""
    windows = reading.windows()
    samples = _sample_origins(model, panel, series, origin)
    sampled = reading.windows(model.histories(panel, samples, model.history_needed()),
                              model.inputs_ahead(panel, samples)) if len(samples) >= 3 else None
    members = []
    for m, ((network, representation), window) in enumerate(zip(reading.members, windows, strict=True)):
        label = member_label(network, representation.scaling)
        if isinstance(network, NumpyModel) and label == representation.scaling:  # a network
            label = f"{plots.LABELS.get(model.settings_.model, model.settings_.model)} ({label} scaling)"
        member = Member(label, times[len(times) - window.shape[1]:])
        if isinstance(network, NumpyModel):
            _, traces = network.trace(window)
            others = network.trace(sampled[m]) if sampled is not None else None
            member.layers = [_layer(trace, others, i)
                             for i, trace in enumerate(traces)]
        members.append(member)
    return members


def _layer(trace, sampled, index: int) -> Layer:
    """A traced layer of one window, its units ordered by `sampled` ((outputs, traces) of the
    network over origins of the series), or by their last hidden state where too few origins."""
    arrays = {name: values[0] for name, values in trace.arrays.items()}
    if trace.kind == "MultiHeadAttention":
        return Layer(trace.path, trace.kind, arrays)
    last = arrays["hidden"][-1]
    correlation = None
    if sampled is not None:
        outputs, traces = sampled
        hidden = traces[index].arrays["hidden"][:, -1, :]  # (origins, units)
        correlation = _correlation(hidden, outputs.mean(axis=1))
        order = np.argsort(-correlation, kind="stable")
    else:
        order = np.argsort(-last, kind="stable")
    return Layer(trace.path, trace.kind, {name: values[:, order].T for name, values in arrays.items()},
                 order, None if correlation is None else correlation[order])


def _correlation(columns: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(units,) the correlation of each column of (n, units) with `target` (n,); 0 where either
    does not vary."""
    columns = columns - columns.mean(axis=0)
    target = target - target.mean()
    spread = np.sqrt((columns ** 2).sum(axis=0) * (target ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (columns * target[:, None]).sum(axis=0) / spread
    return np.where(spread > 0, correlation, 0.0)


def _sample_origins(model: Forecaster, panel: Panel, series: int, origin: int) -> np.ndarray:
    """(n, 2) up to CORRELATION_ORIGINS origins of `series`, evenly spaced from its first to the
    explained one, each with its horizon inside the series (the explained one too)."""
    first = model.history_needed()
    last = min(origin, int(panel.lengths[series]) - model.horizon)
    rows = np.unique(np.linspace(first, last, CORRELATION_ORIGINS).round().astype(np.int64)) \
        if last >= first else np.zeros(0, dtype=np.int64)
    rows = np.union1d(rows, [origin]) if origin + model.horizon <= panel.lengths[series] else rows
    return np.column_stack([np.full(len(rows), series), rows])


def _one_series(panel: Panel, series) -> int:
    """The series to explain: the first, or the one `series` (ids) names."""
    if not series:
        return 0
    found = panel.find(series)
    if len(found) != 1:
        raise UserError(f"--series names {count(len(found), 'series')} ({', '.join(series)}); "
                        f"explain takes one. Pass a single id.")
    return int(found[0])


def _origin_row(model: Forecaster, panel: Panel, series: int, origin) -> int | None:
    """The row of series `series` where the forecast starts: at the time `origin` (its first
    forecast step), or None for right after the series' end."""
    if origin is None:
        return None
    stamp = panel.timestamp(origin, "--origin")
    index = panel.index(series)
    row = int(index.searchsorted(stamp))
    needed, length = model.history_needed(), int(panel.lengths[series])
    end = panel.times([series], [length])[0]
    if row == length and stamp != end:
        what = f"series {panel.label(series)}" if len(panel) > 1 else panel.source
        raise UserError(
            f"--origin {origin} is after the end of {what} ({_written(panel, index[-1])}); the latest "
            f"origin is the step right after it, {_written(panel, end)}. Pass an earlier time, or "
            f"leave --origin out.")
    if row < length and index[row] != stamp:
        raise UserError(
            f"--origin {origin} is not a timestamp of the series (frequency "
            f"{panel.schema.frequency}); the nearest are {_written(panel, index[max(row - 1, 0)])} and "
            f"{_written(panel, index[row])}.")
    if row < needed:
        raise UserError(
            f"--origin {origin} has {row} rows before it; this model reads the last {needed}. Pass "
            f"{_written(panel, index[needed]) if needed < length else 'a later time'} or later.")
    return row


def _written(panel: Panel, stamp) -> str:
    """A time as the file writes its times."""
    return str(format_times(pd.DatetimeIndex([stamp]), panel.schema.time_kind, panel.schema.time_format)[0])


def _numbers(values) -> list | float | None:
    """An array as nested lists of numbers with 6 significant digits (NaN as null)."""
    array = np.asarray(values, dtype="float64")
    if array.ndim == 0:
        return float(f"{array:.6g}") if np.isfinite(array) else None
    return [_numbers(item) for item in array] if array.ndim > 1 else \
        [float(f"{x:.6g}") if np.isfinite(x) else None for x in array]


def _iso(times) -> list:
    return [pd.Timestamp(t).isoformat() for t in times]
