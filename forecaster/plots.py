"""Figures written straight to PNG files (matplotlib's object API: no pyplot, no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

LABELS = {"lstm": "LSTM", "naive": "naive (last value)", "seasonal_naive": "seasonal naive"}


def plot_predictions(times, truth, forecasts: dict, mae_by_step: dict, target: str, path) -> Path:
    """Held-out truth against each forecaster's 1-step and last-step forecasts, and MAE by step.

    `times` are the timestamps of each origin's first forecast step; `truth` and every forecast
    have shape (origins, horizon).
    """
    truth = np.asarray(truth)
    horizon = truth.shape[1]
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=(2, 1))
    top.plot(times, truth[:, 0], color="black", linewidth=1.4, label="actual")
    top.plot(times, forecasts["lstm"][:, 0], color="tab:blue", linewidth=1,
             label="LSTM, 1 step ahead")
    if horizon > 1:
        shifted = times[horizon - 1:]
        top.plot(shifted, forecasts["lstm"][: len(shifted), horizon - 1], color="tab:orange",
                 linewidth=1, label=f"LSTM, {horizon} steps ahead")
    if "seasonal_naive" in forecasts:
        top.plot(times, forecasts["seasonal_naive"][:, 0], color="tab:gray", linewidth=0.8,
                 alpha=0.7, label="seasonal naive, 1 step ahead")
    top.set_title(f"{target}: forecasts on held-out data against the actual values")
    top.set_xlabel("time")
    top.set_ylabel(target)
    top.legend(loc="best", fontsize="small")
    steps = np.arange(1, horizon + 1)
    for name, mae in mae_by_step.items():
        bottom.plot(steps, mae, marker="o", markersize=3, label=LABELS.get(name, name))
    bottom.set_title("mean absolute error by horizon step")
    bottom.set_xlabel("steps ahead")
    bottom.set_ylabel(f"MAE ({target})")
    bottom.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_forecast(history_times, history, future_times, forecast, target: str, path) -> Path:
    """The tail of the history and the forecast after it."""
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(history_times, history, color="black", linewidth=1.2, label="history")
    axes.plot(future_times, forecast, color="tab:blue", linewidth=1.6, marker="o", markersize=3,
              label="forecast")
    axes.axvline(history_times[-1], color="tab:gray", linestyle=":", linewidth=1)
    axes.set_title(f"{target}: forecast of the next {len(forecast)} steps")
    axes.set_xlabel("time")
    axes.set_ylabel(target)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def _save(figure: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(temporary, dpi=110)
    temporary.replace(path)
    return path
