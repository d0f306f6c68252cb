"""Figures written straight to PNG files (matplotlib's object API: no pyplot, no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import dates
from matplotlib.figure import Figure

PICTURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")
LABELS = {"lstm": "LSTM", "naive": "naive (last value)", "seasonal_naive": "seasonal naive"}
COLOURS = {"lstm": "tab:blue", "naive": "tab:orange", "seasonal_naive": "tab:green"}


def plot_predictions(times, truth, forecasts: dict, mae_by_step: dict, target: str, path,
                     shown: int = 200) -> Path:
    """Held-out truth against each forecaster's 1-step forecasts (and the model's last step) over
    the last `shown` origins, and the mean absolute error by horizon step over all of them.

    `times` are the timestamps of each origin's first forecast step; `truth` and every forecast
    have shape (origins, horizon).
    """
    truth = np.asarray(truth)
    origins, horizon = truth.shape
    tail = slice(max(0, origins - shown), origins)
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=(2, 1))
    top.plot(times[tail], truth[tail, 0], color="black", linewidth=1.6, label="actual")
    for name, forecast in forecasts.items():
        lstm = name == "lstm"
        top.plot(times[tail], forecast[tail, 0], color=COLOURS.get(name), linewidth=1.3 if lstm else 1,
                 alpha=1 if lstm else 0.6, zorder=3 if lstm else 2,
                 label=f"{LABELS.get(name, name)}, 1 step ahead")
    if horizon > 1:
        # The forecast made horizon - 1 steps earlier for the same timestamp.
        late = slice(max(horizon - 1, tail.start), origins)
        top.plot(times[late], forecasts["lstm"][late.start - horizon + 1: origins - horizon + 1,
                                                 horizon - 1],
                 color="tab:purple", linewidth=1.3, linestyle="--", zorder=4,
                 label=f"LSTM, {horizon} steps ahead")
    top.set_title(f"{target}: forecasts against held-out actual values (last {tail.stop - tail.start} "
                  f"of {origins} forecast origins)")
    _time_axis(top)
    top.set_ylabel(target)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    steps = np.arange(1, horizon + 1)
    for name, mae in mae_by_step.items():
        lstm = name == "lstm"
        bottom.plot(steps, mae, marker="o", markersize=4 if lstm else 3, color=COLOURS.get(name),
                    linewidth=2 if lstm else 1.2, zorder=3 if lstm else 2, label=LABELS.get(name, name))
    bottom.set_title(f"mean absolute error by horizon step, all {origins} origins")
    bottom.set_xlabel("steps ahead")
    bottom.set_ylabel(f"MAE ({target})")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _save(figure, path)


def plot_forecast(history_times, history, future_times, forecast, target: str, path) -> Path:
    """The end of the history (four horizons' worth, at least 24 steps) and the forecast after it."""
    shown = min(len(history), max(4 * len(forecast), 24))
    history_times, history = history_times[-shown:], np.asarray(history)[-shown:]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(history_times, history, color="black", linewidth=1.2, label="history")
    axes.plot(future_times, forecast, color="tab:blue", linewidth=1.6, marker="o", markersize=3,
              label="forecast")
    axes.axvline(history_times[-1], color="tab:gray", linestyle=":", linewidth=1)
    axes.set_title(f"{target}: forecast of the next {len(forecast)} steps")
    _time_axis(axes)
    axes.set_ylabel(target)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _save(figure, path)


def _time_axis(axes) -> None:
    locator = dates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    axes.set_xlabel("time")


def _save(figure: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(temporary, dpi=110)
    temporary.replace(path)
    return path
