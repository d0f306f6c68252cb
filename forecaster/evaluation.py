"""Score forecasts against held-out truth, next to the naive and seasonal-naive baselines.

Every metric is in the target's own units (sMAPE in percent, MASE as a ratio). Targets that were
missing from the file and filled in are not scored: a forecast is never judged against an
interpolated value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.errors import UserError

METRICS = ("mae", "rmse", "smape", "mase")


def mean_absolute_error(truth, forecast, observed=None) -> float:
    """Mean |truth - forecast| over the positions where `observed` is True (all by default)."""
    errors = np.abs(np.asarray(truth, dtype="float64") - np.asarray(forecast, dtype="float64"))
    if observed is not None:
        errors = errors[np.asarray(observed, dtype=bool)]
    return float(errors.mean()) if errors.size else float("nan")


def seasonal_mae_scale(target, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal-naive forecast (lag `season`) on the
    training rows passed in; the lag-1 naive MAE if that is zero; NaN if the series is constant."""
    target = np.asarray(target, dtype="float64")
    for lag in dict.fromkeys((season, 1)):
        if len(target) > lag:
            scale = float(np.mean(np.abs(target[lag:] - target[:-lag])))
            if scale > 0:
                return scale
    return float("nan")


def score(truth, forecast, observed, mase_scale: float) -> dict:
    """Metrics of (samples, horizon) forecasts, overall and per horizon step.

    Returns {"overall": {metric: value}, "per_step": {metric: [value per step]}}.
    """
    truth = np.asarray(truth, dtype="float64")
    forecast = np.asarray(forecast, dtype="float64")
    observed = np.asarray(observed, dtype=bool)
    errors = np.where(observed, forecast - truth, np.nan)
    denominator = np.abs(truth) + np.abs(forecast)
    ratios = np.divide(2 * np.abs(errors), denominator, out=np.zeros_like(errors),
                       where=denominator > 0)
    ratios[~observed] = np.nan

    def metrics(axis):
        with np.errstate(invalid="ignore"):
            mae = np.nanmean(np.abs(errors), axis=axis)
            return {
                "mae": mae,
                "rmse": np.sqrt(np.nanmean(errors**2, axis=axis)),
                "smape": 100 * np.nanmean(ratios, axis=axis),
                "mase": mae / mase_scale if mase_scale > 0 else mae * np.nan,
            }

    overall = {k: float(v) for k, v in metrics(None).items()}
    per_step = {k: [float(x) for x in v] for k, v in metrics(0).items()}
    return {"overall": overall, "per_step": per_step}


class ConformalIntervals:
    """Split-conformal prediction intervals, calibrated per horizon step on held-out residuals.

    For a level L (percent) and n calibration residuals at a step, the half-width is the
    ceil((n + 1) L / 100)-th smallest absolute residual: over exchangeable data, a fresh forecast's
    interval [forecast - q, forecast + q] covers the actual value with probability >= L%.
    Half-widths are kept for every whole level from 1 to 99, so the bundle stays small.
    """

    LEVELS = range(1, 100)

    def fit(self, errors) -> ConformalIntervals:
        """errors: (samples, horizon) actual - forecast on calibration windows; NaN = not observed."""
        errors = np.abs(np.asarray(errors, dtype="float64"))
        self.counts_ = []
        self.half_widths_ = {}
        for step in range(errors.shape[1]):
            column = np.sort(errors[:, step][~np.isnan(errors[:, step])])
            self.counts_.append(len(column))
            for level in self.LEVELS:
                rank = math.ceil((len(column) + 1) * level / 100)
                width = float(column[rank - 1]) if 0 < rank <= len(column) else float("inf")
                self.half_widths_.setdefault(level, []).append(width)
        return self

    def bounds(self, forecast, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) around `forecast` (..., steps) at a whole `level` from 1 to 99; NaN for
        steps past the calibrated horizon."""
        if not hasattr(self, "half_widths_"):
            raise RuntimeError("these ConformalIntervals are not fitted yet; call fit(errors) first")
        width = np.asarray(self.half_widths_[check_level(level)])
        forecast = np.asarray(forecast, dtype="float64")
        horizon = forecast.shape[-1]
        if horizon > len(width):  # steps past the calibrated horizon have no interval
            width = np.concatenate([width, np.full(horizon - len(width), np.nan)])
        return forecast - width[:horizon], forecast + width[:horizon]

    def to_dict(self) -> dict:
        return {"method": "split conformal, absolute residuals per horizon step",
                "calibration_counts": self.counts_,
                "half_widths": {str(level): widths for level, widths in self.half_widths_.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> ConformalIntervals:
        intervals = cls()
        intervals.counts_ = list(values["calibration_counts"])
        intervals.half_widths_ = {int(level): [float(w) for w in widths]
                                  for level, widths in values["half_widths"].items()}
        return intervals


def check_level(level) -> int:
    """A prediction-interval level as a whole percent from 1 to 99, or a UserError."""
    if isinstance(level, bool) or not float(level).is_integer() or not 1 <= level <= 99:
        raise UserError(f"--level {level!r} is not a whole percent from 1 to 99; use, e.g., --level 80 95.")
    return int(level)


BASELINES = ("naive", "seasonal_naive", "mean", "drift", "ridge")


@dataclass
class Backtest:
    """Forecasts from many origins, each made from the rows before its origin and nothing after."""

    series: object  # forecaster.data.Series
    origins: np.ndarray  # row of each origin's first forecast step
    truth: np.ndarray  # (origins, horizon) actual values; NaN where the file had none
    forecasts: dict  # the model (first, under its kind: "lstm", "gru", ...) and every baseline
    #                  -> (origins, horizon), in the target's units

    @property
    def model(self) -> str:
        """The key of the model's forecasts."""
        return next(iter(self.forecasts))

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.truth)


def backtest(bundle, series, origins) -> Backtest:
    """Forecast from each origin (a row index) with the bundle's model and every baseline.

    At origin o only rows before o are read: missing values are filled from those rows alone, as
    `forecaster forecast` on the file cut at o would, and the model's forecast is computed by the
    same function, so the two agree to the last digit.
    """
    from forecaster.data import calendar, fill_missing
    from forecaster.forecasting import history_needed, predict_next
    from forecaster.models import drift_forecast, seasonal_naive_forecast

    settings, horizon = bundle.settings, bundle.settings.horizon
    season, needed = bundle.metadata["season_length"], history_needed(bundle)
    origins = np.asarray(origins, dtype=int)
    index = series.frame.index
    raw = np.hstack([series.frame.to_numpy(dtype="float64"), calendar(index, series.schema.calendar)])
    complete = ~np.isnan(raw).any(axis=1)
    first_target = float(raw[~np.isnan(raw[:, 0]), 0][0])  # the filled series' first value
    model = settings.model
    forecasts = {name: np.empty((len(origins), horizon)) for name in (model, *BASELINES)}
    for i, origin in enumerate(origins):
        start = max(0, origin - max(needed, season))
        if complete[start:origin].all():
            recent = raw[start:origin]
        else:  # fill from the last complete row before the window: the same values as filling all
            anchor = np.flatnonzero(complete[:start])
            start = int(anchor[-1]) if len(anchor) else 0
            recent = fill_missing(raw[start:origin], settings.fill, names=series.schema.columns)
        target = recent[:, 0]
        at = np.array([len(recent)])
        forecasts[model][i] = predict_next(bundle, recent, index[origin])
        forecasts["naive"][i] = target[-1]
        forecasts["seasonal_naive"][i] = seasonal_naive_forecast(target, at, horizon, season)[0]
        forecasts["mean"][i] = bundle.train_mean
        forecasts["drift"][i] = drift_forecast(first_target, target[-1], origin, horizon)
        forecasts["ridge"][i] = predict_next(bundle, recent, index[origin], predict=bundle.linear.predict)
    rows = origins[:, None] + np.arange(horizon)[None, :]
    return Backtest(series, origins, raw[rows, 0], forecasts)


def summarise(result: Backtest, mase_scale: float, intervals=None, levels=()) -> dict:
    """Metrics of every forecaster, overall and per step, with the skill score against seasonal
    naive (1 - MAE / MAE of seasonal naive) and, for the model, interval coverage per level."""
    observed = result.observed
    models = {name: score(result.truth, forecast, observed, mase_scale)
              for name, forecast in result.forecasts.items()}
    reference = models["seasonal_naive"]
    for metrics in models.values():
        metrics["overall"]["skill"] = _skill(metrics["overall"]["mae"], reference["overall"]["mae"])
        metrics["per_step"]["skill"] = [
            _skill(mae, ref) for mae, ref in
            zip(metrics["per_step"]["mae"], reference["per_step"]["mae"], strict=True)]
    summary = {"models": models}
    if intervals is not None and levels:
        summary["coverage"] = {}
        for level in levels:
            lower, upper = intervals.bounds(result.forecasts[result.model], level)
            inside = np.where(observed, (result.truth >= lower) & (result.truth <= upper), np.nan)
            with np.errstate(invalid="ignore"):
                per_step = np.nanmean(inside, axis=0)
            summary["coverage"][str(level)] = {
                "nominal": level / 100, "empirical": float(np.nanmean(inside)),
                "per_step": [float(x) for x in per_step]}
    return summary


def _skill(mae: float, reference: float) -> float:
    return 1 - mae / reference if reference > 0 else float("nan")


@dataclass
class Evaluation:
    """Scores of the model and the baselines on held-out data, and where they were written."""

    report: dict  # what metrics.json holds
    metrics_path: Path
    plot_path: Path  # predictions against the actual values, and MAE by step
    figures: dict  # caption -> PNG path, every figure written
    report_path: Path  # report.html: the tables and figures in one self-contained file

    def table(self) -> str:
        """The overall metrics and MAE per horizon step as aligned text."""
        return format_table(self.report)


DEFAULT_LEVELS = (80, 95)


def evaluate(model_dir, csv=None, output_dir=None, levels=DEFAULT_LEVELS) -> Evaluation:
    """Score the bundle in `model_dir` on its held-out test split, or on the tail of `csv`.

    Without `csv`, the training file is read again and the test split is the one recorded at
    training time. With `csv`, the scored tail is the last `test_fraction` of its rows (or
    `val_fraction` if the model was trained with no test split), at least one horizon long.
    Every origin is a backtest origin: the forecast and each baseline see only earlier rows.
    Writes metrics.json, the figures and report.html to `output_dir` (default
    reports/<model name>).
    """
    from forecaster.artifacts import check_output_dir, load_bundle, write_text_atomically
    from forecaster.data import read_series
    from forecaster.report import write_report
    from forecaster.windows import split_origins

    levels = [check_level(level) for level in levels]
    output_dir = check_output_dir(output_dir or Path("reports") / Path(model_dir).name, "--output-dir")
    bundle = load_bundle(model_dir)
    settings, metadata = bundle.settings, bundle.metadata
    horizon = settings.horizon
    source = csv or settings.csv
    series = read_series(source, schema=bundle.schema)
    index, rows = series.frame.index, len(series.frame)
    if csv is None:
        if metadata["splits"]["test"] is None:
            raise UserError(
                f"the model in {model_dir} was trained with --test-fraction 0, so it has no "
                f"held-out test split; pass --csv with data to score it on.")
        val_start = _row_of(index, metadata["splits"]["validation"][0], source)
        test_start = _row_of(index, metadata["splits"]["test"][0], source)
    else:
        test_start = val_start = tail_start(settings, rows)
    origins = split_origins(rows, horizon, val_start, test_start, earliest_origin(bundle))["test"]
    if len(origins) == 0:
        raise UserError(
            f"{source} has {rows} rows, too few to score the model: it needs "
            f"{earliest_origin(bundle)} rows of history before a tail of at least {horizon} rows. "
            f"Use a longer file.")

    result = backtest(bundle, series, origins)
    report = _report(bundle, result, source, model_dir, history_end=val_start, levels=levels)
    output_dir.mkdir(parents=True, exist_ok=True)
    figures = _figures(bundle, series, result, report, output_dir, levels)
    metrics_path = write_text_atomically(output_dir / "metrics.json", json.dumps(report, indent=2) + "\n")
    report_path = write_report(report, figures, output_dir / "report.html")
    return Evaluation(report, metrics_path, output_dir / "predictions.png", figures, report_path)


def _figures(bundle, series, result: Backtest, report: dict, output_dir: Path, levels) -> dict:
    """Write evaluate's figures; returns caption -> path."""
    from forecaster import plots
    from forecaster.forecasting import forecast_series

    target, index = bundle.schema.target, series.frame.index
    shown = {name: result.forecasts[name] for name in (result.model, "naive", "seasonal_naive")}
    mae_by_step = {name: m["per_step"]["mae"] for name, m in report["models"].items()}
    figures = {
        "Forecasts against held-out actual values, and MAE by horizon step":
            plots.plot_predictions(index[result.origins], result.truth, shown, mae_by_step, target,
                                   output_dir / "predictions.png"),
        "Errors (actual - forecast) on held-out data":
            plots.plot_residual_histogram(
                {name: (result.truth - result.forecasts[name]).ravel()
                 for name in (result.model, "seasonal_naive", "ridge")},
                target, output_dir / "residuals.png"),
        "Training and validation loss":
            plots.plot_loss_curves(bundle.metadata["history"], output_dir / "loss.png",
                                   bundle.metadata.get("best_epoch") or None, bundle.settings.loss),
    }
    values = series.values(bundle.settings.fill)
    future = forecast_series(bundle, series, levels=levels, values=values)
    caption = (f"Forecast after the end of the data with {' and '.join(map(str, levels))}% "
               f"conformal intervals" if levels else "Forecast after the end of the data")
    figures[caption] = plots.plot_fan_chart(index, values[:, 0],
                                            future.times, future.values, future.intervals, target,
                                            output_dir / "forecast.png")
    return figures


def earliest_origin(bundle) -> int:
    """The first row a backtest can forecast from: the model's history and a season for the
    seasonal-naive baseline (two rows for drift)."""
    from forecaster.forecasting import history_needed

    return max(history_needed(bundle), bundle.metadata["season_length"], 2)


def run_backtest(model_dir, csv, start=None, last=None, stride: int = 1, levels=()):
    """Backtest the bundle on `csv` from many origins; returns (report, table).

    Origins: from the timestamp `start`, or the `last` N possible origins, or (by default) the
    last test_fraction of the rows (val_fraction if the model kept no test split); every
    `stride`-th one. The table has one row per origin and step: origin, the time column, step,
    actual, forecast (the model), each baseline, and lower_L/upper_L per interval level.
    """
    from forecaster.artifacts import load_bundle
    from forecaster.data import format_times, read_series

    levels = [check_level(level) for level in levels]
    if not isinstance(stride, int) or stride < 1:
        raise UserError(f"--stride is {stride!r}; expected a whole number of at least 1.")
    if last is not None and (not isinstance(last, int) or last < 1):
        raise UserError(f"--last is {last!r}; expected a whole number of at least 1.")
    bundle = load_bundle(model_dir)
    settings, schema = bundle.settings, bundle.schema
    series = read_series(csv, schema=schema)
    index, rows, horizon = series.frame.index, len(series.frame), settings.horizon
    possible = np.arange(earliest_origin(bundle), rows - horizon + 1)
    if len(possible) == 0:
        raise UserError(
            f"{csv} has {rows} rows, too few to backtest: each origin needs "
            f"{earliest_origin(bundle)} rows of history and {horizon} rows to forecast.")
    if start is not None:
        try:
            stamp = pd.Timestamp(start)
        except (ValueError, TypeError):
            raise UserError(f"--start {start!r} is not a timestamp; use, e.g., 2010-11-01.") from None
        if stamp.tz is None and index.tz is not None:
            stamp = stamp.tz_localize(index.tz)
        origins = possible[index[possible] >= stamp]
        if len(origins) == 0:
            raise UserError(
                f"--start {start} leaves no origin: the last one with {horizon} steps of actual "
                f"values after it is {index[possible[-1]]}. Choose an earlier --start.")
    elif last is not None:
        origins = possible[-last:]
    else:
        origins = possible[possible >= tail_start(settings, rows)]
    origins = origins[::stride]

    result = backtest(bundle, series, origins)
    report = _report(bundle, result, csv, model_dir, history_end=origins[0], levels=levels)

    steps = np.tile(np.arange(1, horizon + 1), len(origins))
    rows_of = (origins[:, None] + np.arange(horizon)[None, :]).ravel()
    written = series.schema  # times as the backtested file writes them
    columns = {
        "origin": np.repeat(format_times(index[origins], written.time_kind, written.time_format), horizon),
        schema.time_column: format_times(index[rows_of], written.time_kind, written.time_format),
        "step": steps,
        "actual": result.truth.ravel(),
        "forecast": result.forecasts[result.model].ravel(),
        **{name: result.forecasts[name].ravel() for name in BASELINES},
    }
    for level in levels:
        lower, upper = bundle.intervals.bounds(result.forecasts[result.model], level)
        columns[f"lower_{level}"], columns[f"upper_{level}"] = lower.ravel(), upper.ravel()
    return report, pd.DataFrame(columns)


def tail_start(settings, rows: int) -> int:
    """Where the scored tail of a file begins when it has no recorded test split: the last
    test_fraction of its rows (val_fraction if the model kept no test split), at least one horizon."""
    share = settings.test_fraction or settings.val_fraction
    return rows - max(settings.horizon, int(round(rows * share)))


def _report(bundle, result: Backtest, source, model_dir, history_end: int, levels) -> dict:
    """What metrics.json holds: the run described, then every forecaster's scores. MASE is scaled
    by seasonal naive's in-sample MAE on the rows before `history_end` (the training split for
    evaluate, everything before the first origin for a backtest)."""
    from forecaster.data import fill_missing

    history = fill_missing(result.series.frame.to_numpy()[:history_end], bundle.settings.fill)
    scale = seasonal_mae_scale(history[:, 0], bundle.metadata["season_length"])
    return {**_describe(bundle, result, source, model_dir),
            **summarise(result, scale, bundle.intervals, levels)}


def _describe(bundle, result: Backtest, source, model_dir) -> dict:
    from forecaster.data import format_times

    schema, index = result.series.schema, result.series.frame.index  # times as that file writes them
    last_row = result.origins[-1] + bundle.settings.horizon - 1
    return {
        "model_dir": str(model_dir),
        "csv": str(source),
        "target": schema.target,
        "scored_range": format_times(index[[result.origins[0], last_row]], schema.time_kind,
                                     schema.time_format),
        "origins": int(len(result.origins)),
        "horizon": bundle.settings.horizon,
        "season_length": bundle.metadata["season_length"],
        "scaling": bundle.scaling,
        "scored_values": int(result.observed.sum()),
    }


def format_table(report: dict) -> str:
    """Overall metrics per forecaster, interval coverage, then MAE per horizon step, as text."""
    models = report["models"]
    lines = [
        f"{report['target']}: {report['origins']} forecasts of {report['horizon']} steps, "
        f"{report['scored_range'][0]} to {report['scored_range'][1]}, in units of "
        f"{report['target']!r}. MASE: MAE over the in-sample seasonal-naive MAE (season "
        f"{report['season_length']}); skill: 1 - MAE / seasonal-naive MAE.",
        *([f"{next(iter(models))}: the mean forecast of {', '.join(report['scaling'].split('+'))}, "
           f"chosen on validation (a scaling alone names the network on it; ridge(...) the "
           f"ridge on it)."]
          if "+" in report.get("scaling", "") else []),
        f"{'forecaster':<16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>9}{'MASE':>8}{'skill':>8}",
    ]
    for name, result in models.items():
        o = result["overall"]
        lines.append(f"{name:<16}{o['mae']:>10.4g}{o['rmse']:>10.4g}{o['smape']:>9.3g}"
                     f"{o['mase']:>8.3f}{o['skill']:>8.3f}")
    for level, coverage in report.get("coverage", {}).items():
        lines.append(f"{level}% interval: covers {100 * coverage['empirical']:.1f}% of actual values "
                     f"(nominal {level}%)")
    lines.append("")
    lines.append(f"{'MAE by step':<12}" + "".join(f"{name:>15}" for name in models))
    for step in range(report["horizon"]):
        lines.append(f"{step + 1:<12}" + "".join(
            f"{result['per_step']['mae'][step]:>15.4g}" for result in models.values()))
    return "\n".join(lines)


def _row_of(index, stamp: str, source) -> int:
    position = index.get_indexer([pd.Timestamp(stamp)])[0]
    if position < 0:
        raise UserError(
            f"{source} no longer contains {stamp}, where the model's held-out split began; the "
            f"file changed since training. Pass the new file with --csv, or retrain.")
    return int(position)
