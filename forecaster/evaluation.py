"""Score forecasts against held-out truth, next to the naive and seasonal-naive baselines.

Every metric is in the target's own units (sMAPE in percent, MASE as a ratio). Targets that were
missing from the file and filled in are not scored: a forecast is never judged against an
interpolated value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


@dataclass
class Evaluation:
    """Scores of the model and the baselines on held-out data, and where they were written."""

    report: dict  # what metrics.json holds
    metrics_path: Path
    plot_path: Path

    def table(self) -> str:
        """The overall metrics and MAE per horizon step as aligned text."""
        return format_table(self.report)


def evaluate(model_dir, csv=None, output_dir=None) -> Evaluation:
    """Score the bundle in `model_dir` on its held-out test split, or on the tail of `csv`.

    Without `csv`, the training file is read again and the test split is the one recorded at
    training time. With `csv`, the scored tail is the last `test_fraction` of its rows (or
    `val_fraction` if the model was trained with no test split), at least one horizon long.
    Writes metrics.json and predictions.png to `output_dir` (default reports/<model name>).
    """
    from forecaster.artifacts import check_output_dir, load_bundle, write_text_atomically
    from forecaster.data import read_series
    from forecaster.forecasting import format_times
    from forecaster.models import naive_forecast, seasonal_naive_forecast
    from forecaster.plots import plot_predictions
    from forecaster.windows import make_windows, split_origins

    output_dir = check_output_dir(output_dir or Path("reports") / Path(model_dir).name, "--output-dir")
    bundle = load_bundle(model_dir)
    settings, metadata = bundle.settings, bundle.metadata
    time_steps, horizon, season = settings.time_steps, settings.horizon, metadata["season_length"]
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
        share = settings.test_fraction or settings.val_fraction
        test_start = rows - max(horizon, int(round(rows * share)))
        val_start = test_start
    representation = bundle.representation
    first_origin = max(representation.first_origin(time_steps), season)  # baselines need a season
    origins = split_origins(rows, horizon, val_start, test_start, first_origin)["test"]
    if len(origins) == 0:
        raise UserError(
            f"{source} has {rows} rows, too few to score the model: it needs {time_steps} rows of "
            f"history before a tail of at least {horizon} rows. Use a longer file.")

    values = series.values(settings.fill, segments=(val_start, test_start))
    inputs = make_windows(representation.model_inputs(values), time_steps, horizon)[0]
    outputs = bundle.model.predict(inputs[origins - time_steps], batch_size=1024, verbose=0)
    target = values[:, 0]
    forecasts = {
        "lstm": representation.decode(outputs, target, origins),
        "naive": naive_forecast(target, origins, horizon),
        "seasonal_naive": seasonal_naive_forecast(target, origins, horizon, season),
    }
    rows_of = origins[:, None] + np.arange(horizon)[None, :]
    truth, observed = target[rows_of], series.observed[rows_of]
    scale = seasonal_mae_scale(target[:val_start], season)
    report = {
        "model_dir": str(model_dir),
        "csv": str(source),
        "target": bundle.schema.target,
        "scored_range": format_times(index[[origins[0], rows - 1]], bundle.schema.time_kind,
                                     bundle.schema.time_format),
        "origins": int(len(origins)),
        "horizon": horizon,
        "season_length": season,
        "scaling": representation.scaling,
        "scored_values": int(observed.sum()),
        "models": {name: score(truth, forecast, observed, scale)
                   for name, forecast in forecasts.items()},
    }
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = output_dir / "metrics.json"
    plot_path = output_dir / "predictions.png"
    plot_predictions(index[origins], truth, forecasts,
                     {name: m["per_step"]["mae"] for name, m in report["models"].items()},
                     bundle.schema.target, plot_path)
    write_text_atomically(metrics_path, json.dumps(report, indent=2) + "\n")
    return Evaluation(report, metrics_path, plot_path)


def format_table(report: dict) -> str:
    """Overall metrics per model, then MAE per horizon step, as plain aligned text."""
    models = report["models"]
    lines = [
        f"{report['target']}: {report['origins']} forecasts of {report['horizon']} steps from "
        f"{report['scored_range'][0]} to {report['scored_range'][1]} (units of "
        f"{report['target']!r}; MASE relative to seasonal naive in training, season "
        f"{report['season_length']})",
        f"{'model':<16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>10}{'MASE':>8}",
    ]
    for name, result in models.items():
        o = result["overall"]
        lines.append(
            f"{name:<16}{o['mae']:>10.4g}{o['rmse']:>10.4g}{o['smape']:>10.3g}{o['mase']:>8.3f}")
    lines.append("")
    lines.append(f"{'MAE by step':<12}" + "".join(f"{name:>16}" for name in models))
    for step in range(report["horizon"]):
        lines.append(f"{step + 1:<12}" + "".join(
            f"{result['per_step']['mae'][step]:>16.4g}" for result in models.values()))
    return "\n".join(lines)


def _row_of(index, stamp: str, source) -> int:
    import pandas as pd

    position = index.get_indexer([pd.Timestamp(stamp)])[0]
    if position < 0:
        raise UserError(
            f"{source} no longer contains {stamp}, where the model's held-out split began; the "
            f"file changed since training. Pass the new file with --csv, or retrain.")
    return int(position)
