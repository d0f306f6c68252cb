"""Score forecasts against held-out truth, next to the naive and seasonal-naive baselines.

Every metric is in the target's own units (sMAPE in percent, MASE as a ratio); with many series,
each series' metrics are in its own units, and the aggregates are scale-free (MASE, ND). Targets that were
missing from the file and filled in are not scored: a forecast is never judged against an
interpolated value.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster import plots
from forecaster.artifacts import load_bundle
from forecaster.data import Panel, fill_missing, format_times, id_text, read_panel
from forecaster.errors import UserError
from forecaster.estimator import Forecaster, actuals
from forecaster.explanation import explain_panel
from forecaster.files import check_output_dir, write_text_atomically
from forecaster.forecasting import forecast_panel, id_columns
from forecaster.intervals import check_level
from forecaster.parallel import run_by_series
from forecaster.report import EXPLANATION, write_report
from forecaster.scaling import anchor_forecast, seasonal_mae_scale

METRICS = ("mae", "rmse", "smape", "mase")


def mean_absolute_error(truth, forecast, observed=None) -> float:
    """Mean |truth - forecast| over the positions where `observed` is True (all by default)."""
    errors = np.abs(np.asarray(truth, dtype="float64") - np.asarray(forecast, dtype="float64"))
    if observed is not None:
        errors = errors[np.asarray(observed, dtype=bool)]
    return float(errors.mean()) if errors.size else float("nan")


def score(truth, forecast, observed, mase_scale) -> dict:
    """Metrics of (samples, horizon) forecasts, overall and per horizon step. `mase_scale`: the
    series' in-sample seasonal-naive MAE, one number or one per sample (row) when the samples come
    from several series: MASE is then the mean of each error over its own series' scale.

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
    scale = np.broadcast_to(np.asarray(mase_scale, dtype="float64").reshape(-1, 1), errors.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(scale > 0, np.abs(errors) / scale, np.nan)

    def metrics(axis):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a step with no observed value: NaN
            return {
                "mae": np.nanmean(np.abs(errors), axis=axis),
                "rmse": np.sqrt(np.nanmean(errors**2, axis=axis)),
                "smape": 100 * np.nanmean(ratios, axis=axis),
                "mase": np.nanmean(scaled, axis=axis),
            }

    overall = {k: float(v) for k, v in metrics(None).items()}
    per_step = {k: [float(x) for x in v] for k, v in metrics(0).items()}
    return {"overall": overall, "per_step": per_step}


BASELINES = ("naive", "seasonal_naive", "mean", "drift", "ridge")


@dataclass
class Backtest:
    """Forecasts from many origins, each made from the rows before it and nothing after."""

    panel: Panel
    origins: np.ndarray  # (n, 2): series, and the row of its first forecast step
    truth: np.ndarray  # (origins, horizon) actual values; NaN where the file had none
    forecasts: dict  # the model (first, under its kind: "lstm", "gru", ...) and every baseline
    #                  -> (origins, horizon), in each series' units

    @property
    def model(self) -> str:
        """The key of the model's forecasts."""
        return next(iter(self.forecasts))

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.truth)


def backtest(model: Forecaster, panel: Panel, origins, model_dir=None, ray: str | None = None) -> Backtest:
    """Forecast from each origin, (series, row) pairs, with the model and every baseline.

    At each origin only the rows of that series before it are read: missing values are filled
    from those rows alone, as `forecaster forecast` on the file cut at the origin would, and the
    model's forecast is computed by the same method (`Forecaster.predict`), so the two agree to the
    last digit. `ray`: a Ray cluster's address ("auto": a local one) to spread the series over,
    each task loading the bundle in `model_dir` (see `forecaster.parallel`); the same result.
    """
    origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
    arrays = run_by_series(_backtest_arrays, model, model_dir, panel, origins, ray)
    return Backtest(panel, origins, arrays.pop(TRUTH), arrays)


TRUTH = " actual"  # the key of the actual values among a backtest's arrays (no forecast's name)


def _backtest_arrays(model: Forecaster, panel: Panel, origins: np.ndarray) -> dict:
    """{forecast's name: (origins, horizon)} of the model and every baseline, and the actual
    values under TRUTH (see `backtest`)."""
    horizon, season = model.horizon, model.season_
    histories = model.histories(panel, origins, max(season, 1))[..., 0]
    first = panel.raw[panel.offsets[origins[:, 0]], 0]  # each series' first value (observed)
    last, at = histories[:, -1], origins[:, 1]
    forecasts = {
        model.settings_.model: model.predict(panel, origins),
        "naive": anchor_forecast("naive", histories, horizon, season),
        "seasonal_naive": anchor_forecast("seasonal_naive", histories, horizon, season),
        "mean": np.repeat(model.training_means(panel, origins)[:, None], horizon, axis=1),
        "drift": last[:, None] + ((last - first) / np.maximum(at - 1, 1))[:, None]
        * np.arange(1, horizon + 1)[None, :],
        "ridge": model.predict(panel, origins, members=[(model.linear_, model.members_[0][1])]),
    }
    return {**forecasts, TRUTH: actuals(panel, origins, horizon)}


def summarise(result: Backtest, scales, intervals=None, levels=()) -> dict:
    """Metrics of every forecaster, overall and per step, with the skill score against seasonal
    naive (1 - MAE / MAE of seasonal naive) and, for the model, interval coverage per level
    (`intervals`: level -> (lower, upper) of the model's forecasts). `scales` (series,): each
    series' in-sample seasonal-naive MAE. With several series, also each series' metrics and
    their aggregates (`per_series`, `aggregates`)."""
    observed, series = result.observed, result.origins[:, 0]
    scales = np.asarray(scales, dtype="float64")
    models = {name: score(result.truth, forecast, observed, scales[series])
              for name, forecast in result.forecasts.items()}
    reference = models["seasonal_naive"]
    for metrics in models.values():
        metrics["overall"]["skill"] = _skill(metrics["overall"]["mae"], reference["overall"]["mae"])
        metrics["per_step"]["skill"] = [
            _skill(mae, ref) for mae, ref in
            zip(metrics["per_step"]["mae"], reference["per_step"]["mae"], strict=True)]
    summary = {"models": models}
    if intervals:
        summary["coverage"] = {}
        for level, (lower, upper) in intervals.items():
            inside = np.where(observed, (result.truth >= lower) & (result.truth <= upper), np.nan)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                per_step = np.nanmean(inside, axis=0)
            summary["coverage"][str(level)] = {
                "nominal": level / 100, "empirical": float(np.nanmean(inside)),
                "per_step": [float(x) for x in per_step]}
    if len(result.panel) > 1:
        order = np.argsort(series, kind="stable")  # each series' origins together, once
        present, starts = np.unique(series[order], return_index=True)
        summary["per_series"] = {
            result.panel.label(k): {name: score(result.truth[rows], forecast[rows], observed[rows],
                                                scales[k])["overall"]
                                    for name, forecast in result.forecasts.items()}
            for k, rows in zip(present, np.split(order, starts[1:]), strict=True)}
        summary["aggregates"] = _aggregates(summary["per_series"], result)
    return summary


def _aggregates(per_series: dict, result: Backtest) -> dict:
    """Per forecaster: mean and median of the series' MASE, pooled ND (sum of absolute errors over
    sum of absolute actuals) and the share of series on which it beats seasonal naive (MAE)."""
    observed = result.observed
    truth = np.where(observed, result.truth, 0.0)
    aggregates = {}
    for name, forecast in result.forecasts.items():
        mases = np.array([found[name]["mase"] for found in per_series.values()], dtype="float64")
        beats = [found[name]["mae"] < found["seasonal_naive"]["mae"] for found in per_series.values()]
        errors = np.where(observed, np.abs(result.truth - forecast), 0.0)
        total = float(np.abs(truth).sum())
        aggregates[name] = {
            "mean_mase": float(np.nanmean(mases)) if np.isfinite(mases).any() else float("nan"),
            "median_mase": float(np.nanmedian(mases)) if np.isfinite(mases).any() else float("nan"),
            "nd": float(errors.sum() / total) if total > 0 else float("nan"),
            "beats_seasonal_naive": float(np.mean(beats)),
        }
    return aggregates


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


def evaluate(model_dir, csv=None, output_dir=None, levels=DEFAULT_LEVELS, series=None,
             ray: str | None = None) -> Evaluation:
    """Score the bundle in `model_dir` on its held-out test split, or on the tail of `csv`.

    Without `csv`, the training file is read again and the test split starts at the time recorded
    at training. With `csv`, the scored tail is the last `test_fraction` of its time range (or
    `val_fraction` if the model was trained with no test split), at least one horizon long. Every
    origin is a backtest origin: the forecast and each baseline see only earlier rows of their
    series. `series` (ids) restricts it to some series; the figures draw the first of them.
    `ray`: forecast on a Ray cluster (see `backtest`).
    Writes metrics.json, the figures and report.html to `output_dir` (default
    reports/<model name>).
    """
    levels = [check_level(level) for level in levels]
    output_dir = check_output_dir(output_dir or Path("reports") / Path(model_dir).name, "--output-dir")
    model = load_bundle(model_dir)
    settings, metadata = model.settings_, model.metadata_
    source = csv or settings.csv
    panel = _read(model, source, series)
    if csv is None:
        if metadata["splits"]["test"] is None:
            raise UserError(
                f"the model in {model_dir} was trained with --test-fraction 0, so it has no "
                f"held-out test split; pass --csv with data to score it on.")
        history_end = _rows_before(panel, metadata["split_times"]["validation"])
        scored_from = _rows_before(panel, metadata["split_times"]["test"])
    else:
        scored_from = history_end = _rows_before(panel, tail_time(settings, panel))
    origins = _origins(model, panel, scored_from)
    if len(origins) == 0:
        raise UserError(
            f"{source} is too short to score the model: it needs {_needed(model, panel)} rows of "
            f"history before a tail of at least {model.horizon} rows. Use a longer file.")
    result = backtest(model, panel, origins, model_dir, ray)
    report = _report(model, result, source, model_dir, history_end, levels)
    output_dir.mkdir(parents=True, exist_ok=True)
    figures = _figures(model, panel, result, report, output_dir, levels)
    metrics_path = write_text_atomically(output_dir / "metrics.json", json.dumps(report, indent=2) + "\n")
    report_path = write_report(report, figures, output_dir / "report.html")
    return Evaluation(report, metrics_path, output_dir / "predictions.png", figures, report_path)


# The forecasts the report's explanation may cost (`forecaster explain` spends 8,192): as many as
# a backtest of a long test split forecasts, so that it does not outlast the scoring
REPORT_EVALUATIONS = 2048


def _read(model: Forecaster, source, series) -> Panel:
    panel = read_panel(source, schema=model.schema_)
    return panel.select(panel.find(series)) if series else panel


def _figures(model: Forecaster, panel: Panel, result: Backtest, report: dict, output_dir: Path,
             levels) -> dict:
    """Write evaluate's figures for the first series scored (and the pooled errors); returns
    caption -> path."""
    target = model.schema_.target
    k = int(result.origins[0, 0])
    mine = result.origins[:, 0] == k
    index = panel.index(k)
    title = f"{target} of {panel.label(k)}" if len(panel) > 1 else target
    shown = {name: result.forecasts[name][mine] for name in (result.model, "naive", "seasonal_naive")}
    mae_by_step = {name: m["per_step"]["mae"] for name, m in report["models"].items()}
    figures = {
        f"Forecasts against held-out actual values{' of ' + panel.label(k) if len(panel) > 1 else ''}, "
        f"and MAE by horizon step{' (all series)' if len(panel) > 1 else ''}":
            plots.plot_predictions(index[result.origins[mine, 1]], result.truth[mine], shown,
                                   mae_by_step, title, output_dir / "predictions.png"),
        "Errors (actual - forecast) on held-out data":
            plots.plot_residual_histogram(
                {name: (result.truth - result.forecasts[name]).ravel()
                 for name in (result.model, "seasonal_naive", "ridge")},
                target, output_dir / "residuals.png"),
    }
    if model.metadata_["history"].get("loss"):  # none when a baseline alone was kept
        figures["Training and validation loss"] = plots.plot_loss_curves(
            model.metadata_["history"], output_dir / "loss.png",
            model.metadata_.get("best_epoch") or None, model.settings_.loss)
    if "per_series" in report:
        figures.update(_series_figures(panel, result, report, output_dir, target))
    one = panel.select([k])
    ahead = one.future[0, :model.horizon] if one.future is not None else np.zeros((0, 0))
    if model.schema_.future and (len(ahead) < model.horizon or np.isnan(ahead).any()):
        return figures  # the file holds no values known ahead after its end: no forecast to draw
    future = forecast_panel(model, one, levels=levels)
    caption = (f"Forecast after the end of the data with {' and '.join(map(str, levels))}% "
               f"conformal intervals" if levels else "Forecast after the end of the data")
    history = one.values(0, model.settings_.fill)[:, 0]
    intervals = {level: (lower[0], upper[0]) for level, (lower, upper) in future.intervals.items()}
    figures[caption] = plots.plot_fan_chart(index, history, future.times[0], future.values[0],
                                            intervals, title, output_dir / "forecast.png")
    explained = explain_panel(model, one, evaluations=REPORT_EVALUATIONS)
    figures[EXPLANATION] = plots.plot_explanation(explained, output_dir / "explain.png")
    write_text_atomically(output_dir / "explain.json", json.dumps(explained.to_dict()) + "\n")
    report["explanation"] = explained.summary()
    return figures


def _series_figures(panel: Panel, result: Backtest, report: dict, output_dir: Path, target: str) -> dict:
    """With several series: every series' MASE against seasonal naive's, and the forecasts of the
    best and the worst series (by the model's MASE)."""
    per_series = report["per_series"]
    figures = {"Each series' MASE, the model against seasonal naive":
               plots.plot_series_scores(per_series, result.model, output_dir / "series.png")}
    ranked = sorted(per_series, key=lambda name: per_series[name][result.model]["mase"])
    labels = [panel.label(k) for k in range(len(panel))]
    mae_by_step = {name: m["per_step"]["mae"] for name, m in report["models"].items()}
    for which, name in (("best", ranked[0]), ("worst", ranked[-1])):
        k = labels.index(name)
        mine = result.origins[:, 0] == k
        shown = {key: result.forecasts[key][mine] for key in (result.model, "naive", "seasonal_naive")}
        mae = {key: score(result.truth[mine], forecast[mine], result.observed[mine], 1.0)[
            "per_step"]["mae"] for key, forecast in result.forecasts.items()} if mine.any() else mae_by_step
        figures[f"The {which} series by MASE, {name}: forecasts against held-out actual values"] = \
            plots.plot_predictions(panel.index(k)[result.origins[mine, 1]], result.truth[mine], shown,
                                   mae, f"{target} of {name}", output_dir / f"{which}-series.png")
    return figures


def earliest_origin(model: Forecaster, panel: Panel | None = None):
    """The first row a backtest can forecast from: the model's history and a season for the
    seasonal-naive baseline (two rows for drift); per series of `panel` when given (a series not
    seen in training needs enough rows to learn its own statistics)."""
    floor = max(model.season_, 2)
    if panel is None:
        return max(model.history_needed(), floor)
    return np.maximum(model.rows_needed(panel), floor)


def _needed(model: Forecaster, panel: Panel) -> int:
    return int(earliest_origin(model, panel).min())


def _origins(model: Forecaster, panel: Panel, first_rows) -> np.ndarray:
    """(series, row) of every origin from `first_rows` (per series) with a whole horizon of the
    series after it and enough history before it."""
    earliest = earliest_origin(model, panel)
    first_rows = np.broadcast_to(np.asarray(first_rows), (len(panel),))
    pairs = [np.column_stack([np.full(len(rows), k), rows]) for k in range(len(panel))
             for rows in [np.arange(max(int(first_rows[k]), int(earliest[k])),
                                    int(panel.lengths[k]) - model.horizon + 1)]]
    return np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), dtype=np.int64)


def run_backtest(model_dir, csv, start=None, last=None, stride: int = 1, levels=(), series=None,
                 ray: str | None = None):
    """Backtest the bundle on `csv` from many origins; returns (report, table).

    Origins, per series: from the timestamp `start`, or the `last` N possible origins, or (by
    default) those in the last test_fraction of the file's time range (val_fraction if the model
    kept no test split); every `stride`-th one. The table has one row per series, origin and step:
    the id column(s), origin, the time column, step, actual, forecast (the model), each baseline,
    and lower_L/upper_L per interval level. `ray`: forecast on a Ray cluster (see `backtest`).
    """
    levels = [check_level(level) for level in levels]
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise UserError(f"--stride is {stride!r}; expected a whole number of at least 1.")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise UserError(f"--last is {last!r}; expected a whole number of at least 1.")
    model = load_bundle(model_dir)
    panel = _read(model, csv, series)
    horizon = model.horizon
    possible = _origins(model, panel, 0)
    if len(possible) == 0:
        raise UserError(
            f"{csv} is too short to backtest: each origin needs {_needed(model, panel)} rows of "
            f"history and {horizon} rows to forecast.")
    if start is not None:
        first = _rows_before(panel, start, flag="--start")
        origins = possible[possible[:, 1] >= first[possible[:, 0]]]
        if len(origins) == 0:
            latest = max(panel.index(k)[row] for k, row in possible)
            raise UserError(
                f"--start {start} leaves no origin: the last one with {horizon} steps of actual "
                f"values after it is {latest}. Choose an earlier --start.")
    elif last is not None:
        rank = _rank_from_end(possible)
        origins = possible[rank < last]
    else:
        first = _rows_before(panel, tail_time(model.settings_, panel))
        origins = possible[possible[:, 1] >= first[possible[:, 0]]]
    origins = origins[_rank_from_start(origins) % stride == 0]
    history_end = np.array(panel.lengths, dtype=np.int64)  # a series without origins: all of it
    np.minimum.at(history_end, origins[:, 0], origins[:, 1])
    result = backtest(model, panel, origins, model_dir, ray)
    report = _report(model, result, csv, model_dir, history_end, levels)
    rows_of = origins[:, 1][:, None] + np.arange(horizon)[None, :]
    series_of = np.repeat(origins[:, 0], horizon)
    written = panel.schema  # times as the backtested file writes them
    origin_times = panel.times(origins[:, 0], origins[:, 1])
    step_times = panel.times(series_of, rows_of.ravel())
    columns = {
        **id_columns(panel, series_of),
        "origin": np.repeat(format_times(origin_times, written.time_kind, written.time_format), horizon),
        model.schema_.time_column: format_times(step_times, written.time_kind, written.time_format),
        "step": np.tile(np.arange(1, horizon + 1), len(origins)),
        "actual": result.truth.ravel(),
        "forecast": result.forecasts[result.model].ravel(),
        **{name: result.forecasts[name].ravel() for name in BASELINES},
    }
    for level in levels:
        lower, upper = model.bounds(panel, origins, result.forecasts[result.model], level)
        columns[f"lower_{level}"], columns[f"upper_{level}"] = lower.ravel(), upper.ravel()
    return report, pd.DataFrame(columns)


def _rank_from_start(origins: np.ndarray) -> np.ndarray:
    """Each origin's place among its series' origins, 0 for the first (origins sorted by series)."""
    return np.arange(len(origins)) - np.searchsorted(origins[:, 0], origins[:, 0])


def _rank_from_end(origins: np.ndarray) -> np.ndarray:
    """Each origin's place among its series' origins counted from the last (0)."""
    return np.searchsorted(origins[:, 0], origins[:, 0], side="right") - 1 - np.arange(len(origins))


def tail_time(settings, panel: Panel) -> pd.Timestamp:
    """Where the scored tail of a file begins when it has no recorded test split: the last
    test_fraction of its time range (val_fraction if the model kept no test split), at least one
    horizon."""
    share = settings.test_fraction or settings.val_fraction
    first = panel.starts.min()
    last = panel.ends.max()
    grid = pd.date_range(first, last, freq=panel.schema.frequency)
    return grid[max(0, len(grid) - max(settings.horizon, int(round(len(grid) * share))))]


def _rows_before(panel: Panel, stamp, flag: str | None = None) -> np.ndarray:
    """(series,) how many rows of each series come before the time `stamp`."""
    return panel.rows_before(panel.timestamp(stamp, flag))


def _report(model: Forecaster, result: Backtest, source, model_dir, history_end, levels) -> dict:
    """What metrics.json holds: the run described, then every forecaster's scores. MASE scales
    each series' errors by its seasonal naive's in-sample MAE on the rows before `history_end`
    (per series: the training split for evaluate, everything before its first origin for a
    backtest; for a series with no more than a season there, the rows before its first origin)."""
    panel = result.panel
    history_end = np.array(np.broadcast_to(np.asarray(history_end), (len(panel),)), dtype=np.int64)
    first = np.full(len(panel), np.iinfo(np.int64).max)
    np.minimum.at(first, result.origins[:, 0], result.origins[:, 1])
    late = (history_end <= model.mase_season_) & (first < np.iinfo(np.int64).max)
    history_end[late] = np.maximum(history_end[late], first[late])  # the rows before its first origin
    scales = np.array([seasonal_mae_scale(
        fill_missing(panel.rows(k)[:max(int(history_end[k]), 1)], model.settings_.fill)[:, 0],
        model.mase_season_) for k in range(len(panel))])
    forecasts = result.forecasts[result.model]
    intervals = {level: model.bounds(panel, result.origins, forecasts, level) for level in levels}
    return {**_describe(model, result, source, model_dir), **summarise(result, scales, intervals)}


def _describe(model: Forecaster, result: Backtest, source, model_dir) -> dict:
    panel = result.panel
    schema = panel.schema  # times as that file writes them
    origins = result.origins
    starts = panel.times(origins[:, 0], origins[:, 1])
    ends = panel.times(origins[:, 0], origins[:, 1] + model.horizon - 1)
    scored = pd.DatetimeIndex([starts.min(), ends.max()])
    described = {
        "model_dir": str(model_dir),
        "csv": str(source),
        "target": model.schema_.target,
        "scored_range": format_times(scored, schema.time_kind, schema.time_format),
        "origins": int(len(origins)),
        "horizon": model.horizon,
        "season_length": model.season_,
        "seasons": list(model.seasons_.periods),
        "mase_season": model.mase_season_,
        "scaling": model.scaling,
        "scored_values": int(result.observed.sum()),
    }
    if len(panel) > 1:
        described["series"] = len(np.unique(origins[:, 0]))
    if panel.left_out:
        described["left_out"] = [[id_text(name), reason] for name, reason in panel.left_out]
    return described


def format_table(report: dict) -> str:
    """Overall metrics per forecaster, interval coverage, then MAE per horizon step, as text; with
    several series, their aggregates first."""
    models = report["models"]
    many = "series" in report
    lines = [
        f"{report['target']}: {report['origins']} forecasts of {report['horizon']} steps"
        f"{' over ' + str(report['series']) + ' series' if many else ''}, "
        f"{report['scored_range'][0]} to {report['scored_range'][1]}, in "
        f"{'each series' + chr(39) + ' units' if many else 'units of ' + repr(report['target'])}. "
        f"MASE: MAE over the in-sample seasonal-naive MAE (season "
        f"{report.get('mase_season', report['season_length'])}); "
        f"skill: 1 - MAE / seasonal-naive MAE.",
        *([f"{next(iter(models))}: the mean forecast of {', '.join(report['scaling'].split('+'))}, "
           f"chosen on validation (a scaling alone names the network on it; ridge(...) the "
           f"ridge on it)."]
          if "+" in report.get("scaling", "") else []),
    ]
    if many:
        lines.append(f"{'forecaster':<16}{'mean MASE':>10}{'median':>9}{'ND':>8}{'beats sn':>10}")
        for name, found in report["aggregates"].items():
            lines.append(f"{name:<16}{found['mean_mase']:>10.3f}{found['median_mase']:>9.3f}"
                         f"{found['nd']:>8.3f}{100 * found['beats_seasonal_naive']:>9.0f}%")
        lines.append("pooled over every series (MAE and RMSE mix the series' units):")
    lines.append(f"{'forecaster':<16}{'MAE':>10}{'RMSE':>10}{'sMAPE%':>9}{'MASE':>8}{'skill':>8}")
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
