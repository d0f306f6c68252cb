"""Figures written straight to PNG files (matplotlib's object API: no pyplot, no global state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import dates
from matplotlib.figure import Figure

PICTURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")
# Forecasters by name: the model (under its kind) and the baselines. The model is drawn in blue.
LABELS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN", "transformer": "Transformer",
          "dense": "dense network", "naive": "naive (last value)", "seasonal_naive": "seasonal naive",
          "mean": "training mean", "drift": "drift", "ridge": "ridge (linear)"}
COLOURS = {"naive": "tab:orange", "seasonal_naive": "tab:green", "mean": "tab:gray",
           "drift": "tab:red", "ridge": "tab:brown"}
MODEL_COLOUR = "tab:blue"


def plot_predictions(times, truth, forecasts: dict, mae_by_step: dict, target: str, path,
                     shown: int = 200) -> Path:
    """Held-out truth against each forecaster's 1-step forecasts (and the model's last step) over
    the last `shown` origins, and the mean absolute error by horizon step over all of them.

    `times` are the timestamps of each origin's first forecast step; `truth` and every forecast
    have shape (origins, horizon).
    """
    truth = np.asarray(truth)
    origins, horizon = truth.shape
    model = next(iter(forecasts))  # the model comes first; the rest are baselines
    tail = slice(max(0, origins - shown), origins)
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=(2, 1))
    top.plot(times[tail], truth[tail, 0], color="black", linewidth=1.6, label="actual")
    for name, forecast in forecasts.items():
        main = name == model
        top.plot(times[tail], forecast[tail, 0], color=COLOURS.get(name, MODEL_COLOUR),
                 linewidth=1.3 if main else 1, alpha=1 if main else 0.6, zorder=3 if main else 2,
                 label=f"{LABELS.get(name, name)}, 1 step ahead")
    if horizon > 1:
        # The forecast made horizon - 1 steps earlier for the same timestamp.
        late = slice(max(horizon - 1, tail.start), origins)
        top.plot(times[late], forecasts[model][late.start - horizon + 1: origins - horizon + 1,
                                               horizon - 1],
                 color="tab:purple", linewidth=1.3, linestyle="--", zorder=4,
                 label=f"{LABELS.get(model, model)}, {horizon} steps ahead")
    top.set_title(f"{target}: forecasts against held-out actual values (last {tail.stop - tail.start} "
                  f"of {origins} forecast origins)")
    _time_axis(top)
    top.set_ylabel(target)
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    steps = np.arange(1, horizon + 1)
    for name, mae in mae_by_step.items():
        main = name == model
        bottom.plot(steps, mae, marker="o", markersize=4 if main else 3,
                    color=COLOURS.get(name, MODEL_COLOUR), linewidth=2 if main else 1.2,
                    zorder=3 if main else 2, label=LABELS.get(name, name))
    every = np.concatenate([np.asarray(mae, dtype=float) for mae in mae_by_step.values()])
    every = every[np.isfinite(every) & (every > 0)]
    if every.size and every.max() > 20 * every.min():  # keep close forecasters apart
        bottom.set_yscale("log")
    bottom.set_title(f"mean absolute error by horizon step, all {origins} origins")
    bottom.set_xlabel("steps ahead")
    bottom.set_ylabel(f"MAE ({target})")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _save(figure, path)


def plot_fan_chart(history_times, history, future_times, forecast, intervals: dict, target: str,
                   path) -> Path:
    """The end of the history (four horizons' worth, at least 24 steps), the forecast after it, and
    its prediction intervals shaded around it (none when `intervals` is empty).

    `intervals` maps a level in percent (80, 95, ...) to a (lower, upper) pair, each the length of
    `forecast`; wider levels are drawn lighter and underneath. An empty dict draws no bands.
    """
    forecast = np.asarray(forecast, dtype=float)
    bands = {}
    for level, (lower, upper) in intervals.items():
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        if lower.shape != forecast.shape or upper.shape != forecast.shape:
            raise ValueError(
                f"the {level}% interval has bounds of shapes {lower.shape} and {upper.shape}; "
                f"expected {forecast.shape}, one value per forecast step.")
        bands[level] = lower, upper
    shown = min(len(history), max(4 * len(forecast), 24))
    history_times, history = history_times[-shown:], np.asarray(history)[-shown:]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(history_times, history, color="black", linewidth=1.2, label="history")
    levels = sorted(bands, key=float, reverse=True)  # widest first, so narrower ones lie on top
    for rank, level in enumerate(levels):
        lower, upper = bands[level]
        axes.fill_between(future_times, lower, upper, color="tab:blue", linewidth=0,
                          alpha=0.35 - 0.2 * (len(levels) - 1 - rank) / max(len(levels) - 1, 1),
                          zorder=1 + rank / 10,
                          label=f"{level}% interval")
    axes.plot(future_times, forecast, color="tab:blue", linewidth=1.6, marker="o", markersize=3,
              zorder=3, label="forecast")
    axes.axvline(history_times[-1], color="tab:gray", linestyle=":", linewidth=1)
    shaded = f" with {' and '.join(f'{level}%' for level in reversed(levels))} intervals" if levels else ""
    steps = f"{len(forecast)} step{'' if len(forecast) == 1 else 's'}"
    axes.set_title(f"{target}: forecast of the next {steps}{shaded}")
    _time_axis(axes)
    axes.set_ylabel(target)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _save(figure, path)


def plot_loss_curves(history: dict, path, best_epoch: int | None = None, loss: str = "mse") -> Path:
    """Training and validation loss per epoch (numbered from 1), from Keras's History.history;
    `loss` names the training loss (mse, mae or huber) on the y axis.

    The y axis is logarithmic when every loss is positive. `best_epoch` (numbered from 1) is marked
    with a dotted line; None or 0 (training's "no validation loss") marks nothing.
    """
    curves = {name: np.asarray(history[name], dtype=float) for name in ("loss", "val_loss")
              if len(history.get(name, ())) > 0}
    if not curves:
        raise ValueError(
            f"the training history has the keys {sorted(history)}; expected a non-empty 'loss' "
            f"list (Keras's History.history).")
    epochs = max(len(values) for values in curves.values())
    if best_epoch is not None and not 0 <= best_epoch <= epochs:
        raise ValueError(f"best_epoch is {best_epoch}; expected an epoch from 1 to {epochs}, or None.")
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    styles = {"loss": ("training", "tab:blue"), "val_loss": ("validation", "tab:orange")}
    for name, values in curves.items():
        label, colour = styles[name]
        axes.plot(np.arange(1, len(values) + 1), values, color=colour, linewidth=1.5,
                  marker="o" if len(values) <= 30 else None, markersize=3, label=label)
    if best_epoch:
        name = "val_loss" if "val_loss" in curves else "loss"
        best = curves[name]
        value = f", {styles[name][0]} loss {best[best_epoch - 1]:.4g}" if best_epoch <= len(best) else ""
        axes.axvline(best_epoch, color="tab:gray", linestyle=":", linewidth=1.5,
                     label=f"best epoch: {best_epoch}{value}")
    values = np.concatenate(list(curves.values()))
    finite = values[np.isfinite(values)]
    if finite.size and (finite > 0).all():
        axes.set_yscale("log")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"training and validation loss over {epochs} epochs")
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"loss ({'Huber' if loss == 'huber' else loss.upper()}, scaled units)")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return _save(figure, path)


def plot_residual_histogram(residuals: dict, target: str, path) -> Path:
    """Overlaid histograms, on shared bins, of each forecaster's residuals (actual − forecast, in
    the user's units; NaN dropped). A forecaster centred on 0 is unbiased; a narrow one is accurate.
    """
    kept = {}
    for name, values in residuals.items():
        values = np.ravel(np.asarray(values, dtype=float))
        kept[name] = values[np.isfinite(values)]
    pooled = np.concatenate([np.zeros(0), *kept.values()])
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.subplots()
    if pooled.size:
        bins = np.histogram_bin_edges(pooled, bins="auto")
        if len(bins) > 61:
            bins = np.histogram_bin_edges(pooled, bins=60)
        model = next(iter(kept))  # the model comes first; the rest are baselines
        for name, values in kept.items():
            main = name == model
            label = LABELS.get(name, name)
            colour = COLOURS.get(name, MODEL_COLOUR)
            if not values.size:
                axes.plot([], [], color=colour, label=f"{label} (no values)")
                continue
            axes.hist(values, bins=bins, histtype="step", color=colour,
                      linewidth=2 if main else 1.2, zorder=3 if main else 2,
                      label=f"{label} (n={values.size}, mean {values.mean():+.3g})")
    else:
        axes.text(0.5, 0.5, "no finite residuals to show", transform=axes.transAxes, ha="center",
                  va="center", color="tab:gray")
    axes.axvline(0, color="black", linestyle="--", linewidth=1, zorder=4, label="zero error")
    axes.set_title(f"{target}: distribution of forecast errors, all horizon steps")
    axes.set_xlabel(f"actual − forecast ({target})")
    axes.set_ylabel("count")
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


def plot_comparison(rows: list, target: str, path) -> Path:
    """Bars of test MAE for each model and baseline, and of training seconds per epoch."""
    models = [row for row in rows if row["kind"] == "model"]
    figure = Figure(figsize=(11, 0.9 + 0.45 * len(rows) + 0.35 * len(models)), layout="constrained")
    accuracy, speed = figure.subplots(1, 2, width_ratios=(3, 2))
    names = [LABELS.get(row["name"], row["name"]) for row in rows][::-1]
    colours = [COLOURS.get(row["name"], MODEL_COLOUR) for row in rows][::-1]
    maes = [row["mae"] for row in rows][::-1]
    bars = accuracy.barh(names, maes, color=colours)
    accuracy.bar_label(bars, labels=[f"{m:.4g}" for m in maes], padding=3, fontsize="small")
    accuracy.set_title(f"{target}: mean absolute error on the test split (lower is better)")
    accuracy.set_xlabel(f"MAE ({target})")
    accuracy.margins(x=0.15)
    model_names = [LABELS.get(row["name"], row["name"]) for row in models][::-1]
    per_epoch = [row["seconds_per_epoch"] for row in models][::-1]
    bars = speed.barh(model_names, per_epoch, color=MODEL_COLOUR)
    speed.bar_label(bars, labels=[f"{s:.2f} s" for s in per_epoch], padding=3, fontsize="small")
    speed.set_title("training time per epoch")
    speed.set_xlabel("seconds per epoch (median)")
    speed.margins(x=0.2)
    return _save(figure, path)


def plot_series_scores(per_series: dict, model: str, path, reference: str = "seasonal_naive") -> Path:
    """Each series' MASE of the model against that of `reference` (one point per series; below the
    diagonal the model is the better of the two), and the model's MASE per series, sorted."""
    names = list(per_series)
    ours = np.array([per_series[name][model]["mase"] for name in names], dtype=float)
    theirs = np.array([per_series[name][reference]["mase"] for name in names], dtype=float)
    figure = Figure(figsize=(11, 4.8), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.scatter(theirs, ours, s=14, color=MODEL_COLOUR, alpha=0.7)
    finite = np.concatenate([ours, theirs])
    finite = finite[np.isfinite(finite)]
    if finite.size:
        low, high = finite.min(), finite.max()
        left.plot([low, high], [low, high], color="black", linewidth=1, linestyle="--")
    beats = int(np.sum(ours < theirs))
    left.set_title(f"{LABELS.get(model, model)} beats {LABELS.get(reference, reference)} on {beats} of "
                   f"{len(names)} series")
    left.set_xlabel(f"{LABELS.get(reference, reference)} MASE")
    left.set_ylabel(f"{LABELS.get(model, model)} MASE")
    order = np.argsort(ours)
    right.plot(np.arange(1, len(names) + 1), ours[order], marker="o", markersize=3, color=MODEL_COLOUR,
               label=LABELS.get(model, model))
    right.plot(np.arange(1, len(names) + 1), theirs[order], marker="o", markersize=3, linewidth=0.8,
               color=COLOURS.get(reference, "tab:green"), label=LABELS.get(reference, reference))
    right.set_title("MASE of each series, sorted by the model's")
    right.set_xlabel("series (best to worst)")
    right.set_ylabel("MASE")
    right.legend(fontsize="small")
    return _save(figure, path)


# What a recurrent layer's heatmaps show, in this order, each with its colour scale: a gate lies in
# [0, 1], a candidate and a hidden state in [-1, 1] (tanh), a cell state is unbounded.
GATE_ARRAYS = {
    "LSTM": ("forget_gate", "input_gate", "output_gate", "cell", "hidden"),
    "GRU": ("update_gate", "reset_gate", "candidate", "hidden"),
    "SimpleRNN": ("hidden",),
}
_GATES = ("forget_gate", "input_gate", "output_gate", "update_gate", "reset_gate")


def plot_explanation(explanation, path) -> Path:
    """`forecaster.explanation.Explanation` drawn: the history read and the forecast (with the
    forecast from the flat baseline history); each row's attribution summed over the horizon
    steps (bars, stacked by column) and per horizon step (a heatmap), in the target's units; then,
    for the first network member with layers, its last layer over its window: gate and state
    heatmaps per unit with each gate's mean over units as lines (LSTM, GRU, SimpleRNN), or the
    attention weights of each head (transformer). Every panel over time shares one time axis."""
    e = explanation
    target = e.target if not e.series else f"{e.target} of {e.series}"
    member = next((m for m in e.members if m.layers), None)
    layer = member.layers[-1] if member else None
    recurrent = layer is not None and layer.kind in GATE_ARRAYS
    names = GATE_ARRAYS.get(layer.kind, ()) if recurrent else ()
    gates = [name for name in names if name in _GATES]
    attention = layer is not None and not recurrent
    heights = [2.2, 1.5, 1.2, *([1.0] * len(names)), *([0.9] if gates else []), *([2.6] if attention else [])]
    figure = Figure(figsize=(11, sum(heights) + 0.8), layout="constrained")
    grid = figure.add_gridspec(len(heights), 1, height_ratios=heights)
    top = figure.add_subplot(grid[0])
    timed = [top]  # the panels over time, one axis
    times, forecast_times = e.times, e.forecast_times
    top.plot(times, e.history[:, 0], color="black", linewidth=1.2, marker="o", markersize=2.5,
             label="history read")
    top.plot(forecast_times, e.forecast, color=MODEL_COLOUR, linewidth=1.6, marker="o", markersize=3,
             label="forecast")
    top.plot(forecast_times, e.baseline_forecast, color="tab:gray", linestyle="--", linewidth=1.2,
             label="forecast from the history held flat")
    if np.isfinite(e.actual).any():
        top.plot(forecast_times, e.actual, color="black", linestyle="none", marker="x", markersize=5,
                 label="actual")
    top.axvline(times[-1], color="tab:gray", linestyle=":", linewidth=1)
    start = f"{forecast_times[0]:%Y-%m-%d %H:%M}".replace(" 00:00", "")
    top.set_title(f"{target}: the forecast of {len(e.forecast)} steps from {start}, and what it rests on")
    top.set_ylabel(e.target)
    top.legend(fontsize="small")
    bars = figure.add_subplot(grid[1], sharex=top)
    timed.append(bars)
    summed = e.attributions.sum(axis=0)  # (rows, columns)
    width = _step_width(times) * 0.8
    below, above = np.zeros(len(times)), np.zeros(len(times))
    for c, column in enumerate(e.columns):
        values = summed[:, c]
        if not np.any(values):
            continue
        base = np.where(values >= 0, above, below)
        bars.bar(times, values, width=width, bottom=base, label=column,
                 color=MODEL_COLOUR if c == 0 else None)
        above, below = above + np.maximum(values, 0), below + np.minimum(values, 0)
    for c, column in enumerate(e.future):
        bars.bar(forecast_times, e.ahead_attributions.sum(axis=0)[:, c], width=width, hatch="//",
                 alpha=0.6, label=f"{column} on the steps forecast")
    bars.axhline(0, color="black", linewidth=0.8)
    bars.set_title(f"what each row adds to the forecast, summed over its {len(e.forecast)} steps: "
                   f"{float(e.total().sum()):+.4g} in all = forecast - the flat history's",
                   fontsize="medium")
    bars.set_ylabel(e.target)
    if len(e.columns) > 1 or e.future:
        bars.legend(fontsize="small")
    steps = figure.add_subplot(grid[2], sharex=top)
    timed.append(steps)
    per_step = e.attributions.sum(axis=2)  # (horizon, rows)
    reach = float(np.abs(per_step).max()) or 1.0
    mesh = steps.pcolormesh(_edges(times), np.arange(len(e.forecast) + 1) + 0.5, per_step,
                            cmap="RdBu_r", vmin=-reach, vmax=reach)
    figure.colorbar(mesh, ax=steps, label=e.target, pad=0.01)
    steps.set_ylabel("step ahead")
    steps.invert_yaxis()
    steps.set_title("the same for each step ahead (red raises it, blue lowers it)", fontsize="medium")
    row = 3
    if recurrent:
        window = member.window_times
        ordered = "units by correlation with the network's output" if layer.correlation is not None \
            else "units by last state"
        for name in names:
            axes = figure.add_subplot(grid[row], sharex=top)
            timed.append(axes)
            values = layer.arrays[name]
            if name in _GATES:
                scale = {"cmap": "viridis", "vmin": 0, "vmax": 1}
            else:
                reach = 1.0 if name != "cell" else float(np.abs(values).max()) or 1.0
                scale = {"cmap": "RdBu_r", "vmin": -reach, "vmax": reach}
            mesh = axes.pcolormesh(_edges(window), np.arange(values.shape[0] + 1), values, **scale)
            figure.colorbar(mesh, ax=axes, pad=0.01)
            axes.set_ylabel("unit")
            axes.invert_yaxis()
            axes.set_title(f"{member.label}, layer {layer.path}: {name.replace('_', ' ')} ({ordered})",
                           fontsize="medium")
            row += 1
        if gates:
            lines = figure.add_subplot(grid[row], sharex=top)
            timed.append(lines)
            for name in gates:
                lines.plot(window, layer.arrays[name].mean(axis=0), marker="o", markersize=2.5,
                           label=name.replace("_", " "))
            lines.set_ylim(0, 1)
            lines.set_ylabel("mean")
            lines.set_title("each gate's mean over the units", fontsize="medium")
            lines.legend(fontsize="small", ncols=len(gates))
    for axes in timed[:-1]:
        axes.tick_params(labelbottom=False)
    _time_axis(timed[-1])
    if attention:
        weights = layer.arrays["attention"]  # (heads, query steps, key steps)
        cells = grid[row].subgridspec(1, len(weights))
        for head, values in enumerate(weights):
            axes = figure.add_subplot(cells[0, head])
            mesh = axes.pcolormesh(values, cmap="viridis", vmin=0, vmax=float(values.max()) or 1.0)
            axes.invert_yaxis()
            axes.set_title(f"{member.label}, {layer.path}, head {head + 1}", fontsize="small")
            axes.set_xlabel("step attended to (the forecast reads the last row)" if head == 0 else
                            "step attended to")
            axes.xaxis.get_major_locator().set_params(integer=True)
            axes.yaxis.get_major_locator().set_params(integer=True)
            if head == 0:
                axes.set_ylabel("step of the window")
        figure.colorbar(mesh, ax=axes, pad=0.01, label="attention weight")

    return _save(figure, path)


def _step_width(times) -> float:
    """The width of one time step in matplotlib's date units (days)."""
    numbers = dates.date2num(times)
    return float(np.median(np.diff(numbers))) if len(numbers) > 1 else 1.0


def _edges(times) -> np.ndarray:
    """The edges (len + 1) of cells centred on `times`, as datetimes, for pcolormesh."""
    numbers = dates.date2num(times)
    step = _step_width(times)
    return dates.num2date(np.concatenate([numbers - step / 2, numbers[-1:] + step / 2]))
