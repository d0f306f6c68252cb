"""Backtest named configurations against the baselines, statistical references and the classic
recipe: `make benchmark`.

The series: the bundled real data sets (hourly Seattle temperatures, monthly El Niño, daily Seattle
weather, daily US births, monthly US electricity, weekly US gasoline, yearly sunspots, and the last
four years of the electricity file with a 12-month horizon: a few years of monthly data) and six
generated ones with known structure (`benchmarks.series`), whose best achievable error is known.
The configurations ("variants"): `default`, the product's defaults, and `classic`, the classic
Keras recipe (levels standardised with training statistics, MSE loss), or any given with
`--variant NAME=key=value,key=value`.

Each variant trains its own model on each series (models/benchmark/<variant>/<series>), then
`forecaster.evaluation.evaluate` backtests it over the held-out test split with stride 1: every
origin is forecast from earlier rows only, by the model and by every baseline. On the same origins
and steps the benchmark scores its own references (`benchmarks.references`): seasonal naive at the
calendar season of the frequency, and AutoETS, AutoARIMA and (hourly) MSTL from statsforecast,
each fitted once on the rows before the test split. A training the product refuses (a UserError)
is a failed row, and the run goes on.

Reported per series and variant: the model's MAE and its ratio to seasonal naive (calendar
season), naive, the best reference or baseline and the best achievable MAE on the same origins;
then, per variant, the criteria that choose the defaults, each met or not with the series that
miss it: within 10% of the best reference or baseline on every series, within 5% of the best
achievable on every generated series, within 5% of naive on the random walk, and the geometric
mean across series of MAE / seasonal-naive MAE (over every series, and over the six series the
benchmark began with). Prints markdown and writes it, with the full results, to
<output-dir>/backtests.md and backtests.json; the generated series go to <output-dir>/series/.

    python -m benchmarks.backtests                                  # everything, as in docs/benchmarks.md
    python -m benchmarks.backtests --only random-walk --epochs 1    # a quick check
    python -m benchmarks.backtests --only elnino --variant default --variant mae=loss=mae,units=32
    python -m benchmarks.backtests --no-references                  # without statsforecast
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks import references as refs
from benchmarks import series as generated
from forecaster.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
GEOMETRIC_MEAN_GOAL = 0.85  # geometric mean of MAE / seasonal-naive MAE across all series: below
WITHIN = 1.05  # at most 5% worse than naive on the random walk, and than the best achievable MAE
WITHIN_REFERENCE = 1.10  # at most 10% worse than the best statistical reference or baseline


@dataclass(frozen=True)
class DataSet:
    name: str
    csv: Path | None  # None for a generated series: written to <output-dir>/series/ first
    overrides: dict  # the settings a user must give for this file; nothing else is changed
    known: generated.Synthetic | None = None  # the generator, whose best forecast is known
    last_rows: int | None = None  # only the last rows of `csv`, written to <output-dir>/series/


BUNDLED = (
    DataSet("seattle-temps", DATA / "seattle-temps.csv", {}),
    DataSet("elnino", DATA / "elnino-monthly.csv", {}),
    DataSet("seattle-weather", DATA / "seattle-weather.csv", {"target": "temp_max"}),
    DataSet("us-births-daily", DATA / "us-births-daily.csv", {}),
    DataSet("us-electricity-monthly", DATA / "us-electricity-monthly.csv", {}),
    DataSet("us-gasoline-weekly", DATA / "us-gasoline-weekly.csv", {}),
    DataSet("sunspots-yearly", DATA / "sunspots-yearly.csv", {}),
    # a few years of monthly data: the last 48 months, forecast a year ahead
    DataSet("us-electricity-4y", DATA / "us-electricity-monthly.csv", {"horizon": 12}, last_rows=48),
)
DATA_SETS = BUNDLED + tuple(DataSet(s.name, None, {}, s) for s in generated.GENERATED)
# The series of the earlier runs (geometric mean 0.607 on 2026-12-01), kept comparable.
ORIGINAL = ("seattle-temps", "elnino", "seattle-weather", "trend-season", "random-walk", "nonlinear-ar")

# The classic Keras recipe: every column standardised with the training split's statistics, the
# model forecasting the level, MSE loss. Edit here if the settings that express it change.
CLASSIC = {"scaling": "global", "loss": "mse"}
BUILT_IN = {"default": {}, "classic": CLASSIC}
RESERVED = ("csv", "model_dir")  # set by the benchmark for each series and variant
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def parse_variant(text: str) -> tuple[str, dict]:
    """'NAME=key=value,key=value' -> (NAME, {key: value}); a bare built-in name ('default',
    'classic') -> its overrides. Values become int, float, True/False ('true', 'false') or text;
    dashes in keys become underscores (time-steps = time_steps)."""
    name, has_overrides, rest = text.partition("=")
    if not _NAME.fullmatch(name) or name == "series":
        raise argparse.ArgumentTypeError(
            f"variant name {name!r} is not allowed; use lower-case letters, digits, '-', '_' or "
            f"'.' (not 'series'), as in --variant mae=loss=mae.")
    if not has_overrides:
        if name not in BUILT_IN:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a built-in variant ({', '.join(BUILT_IN)}); give its settings "
                f"as NAME=key=value,key=value, e.g. --variant {name}=loss=mae,units=32.")
        return name, dict(BUILT_IN[name])
    known = {field.name for field in dataclasses.fields(_settings_class())} - set(RESERVED)
    overrides = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, has_value, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not has_value or key not in known:
            raise argparse.ArgumentTypeError(
                f"variant {name!r}: {item!r} is not key=value with a known setting; known settings "
                f"are {', '.join(sorted(known))}.")
        overrides[key] = _parse_value(value.strip())
    return name, overrides


def _parse_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _settings_class():
    from forecaster.config import Settings

    return Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.backtests",
        description="Train each variant on each series (bundled and generated) and backtest it "
                    "against the baselines over the held-out test split; print markdown tables.")
    parser.add_argument("--only", action="append", choices=[data_set.name for data_set in DATA_SETS],
                        help="run this series only; repeatable (default: every series)")
    parser.add_argument("--variant", dest="variants", action="append", type=parse_variant,
                        metavar="NAME[=key=value,...]",
                        help="a configuration to train: 'default' or 'classic' (built in), or "
                             "NAME=key=value,... with settings as in a config file, e.g. "
                             "mae=loss=mae,units=32; repeatable (default: default and classic)")
    parser.add_argument("--epochs", type=int,
                        help="most epochs to train, for quick runs; overrides every variant's "
                             "(default: the product's, 40)")
    parser.add_argument("--output-dir", dest="output_dir", default="reports/benchmark",
                        help="where backtests.json, backtests.md, the generated series and each "
                             "report go (default reports/benchmark)")
    parser.add_argument("--models-dir", dest="models_dir", default="models/benchmark",
                        help="where each variant's model folders go (default models/benchmark)")
    parser.add_argument("--no-references", dest="references", action="store_false",
                        help="skip the statistical references (AutoETS, AutoARIMA, MSTL: "
                             "statsforecast); seasonal naive at the calendar season is still scored")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    given = args.variants or [(name, dict(overrides)) for name, overrides in BUILT_IN.items()]
    variants = dict(given)
    chosen = [data_set for data_set in DATA_SETS if not args.only or data_set.name in args.only]
    try:
        if len(variants) < len(given):
            raise UserError("two --variant options have the same name; give each its own name.")
        check_variants(variants)
        results = run(chosen, variants, Path(args.output_dir), Path(args.models_dir),
                      epochs=args.epochs, references=args.references)
    except UserError as error:
        print(f"benchmark: error: {error}", file=sys.stderr)
        return 2
    print()
    print(results["markdown"])
    print(f"\nwrote {results['json_path']} and {results['markdown_path']}")
    return 0


def check_variants(variants: dict) -> None:
    """Raise UserError, naming the variant, if any variant's settings are out of range."""
    from forecaster.config import load_config

    for name, overrides in variants.items():
        try:
            load_config(overrides=overrides)
        except UserError as error:
            raise UserError(f"variant {name!r}: {error}") from None


@dataclass
class Plan:
    """What a benchmark run does besides training each variant: where it writes, whether it fits
    the statistical references, and the references already scored (shared by the variants that
    score the same origins)."""

    output_dir: Path
    models_dir: Path
    epochs: int | None = None  # caps every variant's epochs (a quick run)
    references: bool = True  # fit AutoETS, AutoARIMA and MSTL (statsforecast)
    scored: dict = dataclasses.field(default_factory=dict)  # (series, rows fitted, origins) -> scores


def run(data_sets, variants: dict, output_dir: Path, models_dir: Path, epochs: int | None = None,
        references: bool = True) -> dict:
    """Train and backtest each variant on each data set; write backtests.json and backtests.md.

    Returns {"markdown", "results": [one dict per data set], "criteria": {variant: dict},
    "json_path", "markdown_path"}.
    """
    from forecaster.files import check_output_dir, write_text_atomically

    output_dir = check_output_dir(output_dir, "--output-dir")
    plan = Plan(output_dir, models_dir, epochs, references)
    started = time.perf_counter()
    names = [data_set.name for data_set in data_sets if data_set.known]
    written = generated.write_all(output_dir / "series", names) if names else {}
    written.update({data_set.name: write_last_rows(data_set, output_dir / "series")
                    for data_set in data_sets if data_set.last_rows})
    results = []
    for number, data_set in enumerate(data_sets, 1):
        csv = written.get(data_set.name, data_set.csv)
        result = {"data_set": data_set.name, "kind": "generated" if data_set.known else "bundled",
                  "csv": _relative(csv), "variants": {}}
        if data_set.last_rows:
            result["source"] = f"the last {data_set.last_rows} rows of {_relative(data_set.csv)}"
        if data_set.known:
            result["formula"], result["sigma"] = data_set.known.formula, data_set.known.sigma
        for variant, overrides in variants.items():
            print(f"[{number}/{len(data_sets)}] {data_set.name}, variant {variant} "
                  f"({_flags(overrides) or 'no overrides'}):", flush=True)
            try:
                scored = backtest_variant(data_set, csv, variant, overrides, plan)
            except UserError as error:  # the product refused this series: a failed row
                print(f"    failed: {error}", flush=True)
                scored = {"failed": str(error)}
            result["variants"][variant] = scored
            for key in ("target", "frequency", "time_steps", "horizon", "origins", "flags"):
                if key in scored:
                    result.setdefault(key, scored[key])
        results.append(result)
    criteria = judge(results, list(variants))
    markdown = markdown_table(results, list(variants)) + "\n\n" + criteria_table(criteria, variants)
    summary = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "seconds": time.perf_counter() - started,
        "goals": {"geometric_mean_below": GEOMETRIC_MEAN_GOAL, "within": WITHIN,
                  "within_reference": WITHIN_REFERENCE},
        "variants": variants,
        "criteria": criteria,
        "data_sets": results,
    }
    json_path = write_text_atomically(output_dir / "backtests.json", json.dumps(summary, indent=2) + "\n")
    markdown_path = write_text_atomically(output_dir / "backtests.md", markdown + "\n")
    return {"markdown": markdown, "results": results, "criteria": criteria, "json_path": json_path,
            "markdown_path": markdown_path}


def write_last_rows(data_set: DataSet, folder: Path) -> Path:
    """Write the header and the last `data_set.last_rows` lines of its CSV, unchanged, to
    <folder>/<name>.csv; return that path."""
    lines = Path(data_set.csv).read_text(encoding="utf-8").splitlines()
    if len(lines) <= data_set.last_rows:
        raise ValueError(f"{data_set.csv} has {len(lines) - 1} rows; {data_set.name} takes the last "
                         f"{data_set.last_rows}.")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data_set.name}.csv"
    path.write_text("\n".join([lines[0], *lines[-data_set.last_rows:]]) + "\n", encoding="utf-8")
    return path


def variant_settings(data_set: DataSet, csv: Path, overrides: dict, model_dir: Path,
                     epochs: int | None = None):
    """The settings a variant trains with on a data set: the data set's own, then the variant's;
    `epochs` (the --epochs of a quick run), when given, caps every variant."""
    from forecaster.config import load_config

    capped = {} if epochs is None else {"epochs": epochs}
    return load_config(overrides={**data_set.overrides, **overrides, **capped, "csv": str(csv),
                                  "model_dir": str(model_dir)})


def backtest_variant(data_set: DataSet, csv: Path, variant: str, overrides: dict, plan: Plan) -> dict:
    """Train one variant on one data set, backtest it with `evaluate`, score the references on
    the same origins; one result dict. A UserError from training or evaluating propagates."""
    from forecaster.artifacts import load_bundle
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    settings = variant_settings(data_set, csv, overrides, plan.models_dir / variant / data_set.name,
                                plan.epochs)
    trained = train(settings, verbose=0)
    print(f"    trained in {trained.seconds:.1f} s: scaling {trained.scaling}, best epoch "
          f"{trained.best_epoch} of {trained.epochs_run}, time_steps {trained.time_steps}, "
          f"horizon {trained.horizon}", flush=True)
    clock = time.perf_counter()
    report_dir = plan.output_dir / variant / data_set.name
    report = evaluate(trained.model_dir, output_dir=report_dir).report  # 80% and 95% intervals
    seconds = time.perf_counter() - clock
    bundle = load_bundle(trained.model_dir)
    metrics = {name: scores["overall"] for name, scores in report["models"].items()}
    model = next(iter(metrics))
    frequency = bundle.metadata_["frequency"]
    result = {
        "target": report["target"],
        "frequency": frequency,
        "flags": _flags(data_set.overrides),
        "time_steps": trained.time_steps,
        "horizon": trained.horizon,
        "origins": report["origins"],
        "scored_range": report["scored_range"],
        "season_length": report["season_length"],
        "model": model,
        "mae": metrics[model]["mae"],
        "scaling": trained.scaling,
        "val_mae_by_scaling": trained.candidates,
        "epochs_run": trained.epochs_run,
        "best_epoch": trained.best_epoch,
        "train_seconds": trained.seconds,
        "backtest_seconds": seconds,
        "metrics": metrics,
        "coverage": {level: coverage["empirical"] for level, coverage in report.get("coverage", {}).items()},
        "settings": dataclasses.replace(settings, csv=_relative(csv)).to_dict(),
        "model_dir": str(trained.model_dir),
        "report_dir": str(report_dir),
    }
    scored = scored_rows(bundle, csv, report)
    key = (data_set.name, scored.fit_end, int(scored.origins[0]), len(scored.origins), bundle.horizon)
    if key not in plan.scored:
        plan.scored[key] = refs.score_references(
            scored.history, scored.truth, scored.fit_end, scored.origins, frequency,
            references=None if plan.references else [])
        if not plan.references:
            plan.scored[key]["not_run"] = "skipped (--no-references)"
    result["references"] = plan.scored[key]
    result["best_reference"] = best_reference(metrics, result["references"])
    if data_set.known:
        result["best"] = best_achievable(data_set.known, scored)
    result["ratios"] = {name: ratios(scores["mae"], result) for name, scores in metrics.items()}
    print(f"    backtested {report['origins']} origins in {seconds:.1f} s: MAE {result['mae']:.4g}, "
          f"{result['ratios'][model]['seasonal_naive']:.3f} of seasonal naive (season "
          f"{result['references']['calendar_season']}), {result['ratios'][model]['best_reference']:.3f} "
          f"of the best reference or baseline ({result['best_reference']['name']})", flush=True)
    return result


@dataclass(frozen=True)
class Scored:
    """The rows a backtest scored: the history the forecasts read and the truth they are scored on."""

    history: np.ndarray  # (rows,) the target, missing values filled as the product fills them
    truth: np.ndarray  # (origins, horizon) the actual values; NaN where the file had none (not scored)
    fit_end: int  # the first row of the test split: the references are fitted on the rows before
    origins: np.ndarray  # (origins,) the row of each scored forecast's first step


def scored_rows(bundle, csv: Path, report: dict) -> Scored:
    """The origins `evaluate` scored, rebuilt from its report: stride 1, up to the last origin with
    a whole horizon of rows after it, as many as it counted; checked against its first timestamp."""
    import pandas as pd

    from forecaster.data import format_times, read_panel

    panel = read_panel(csv, schema=bundle.schema_)
    rows, horizon = int(panel.lengths[0]), bundle.horizon
    fit_end = int(panel.rows_before(pd.Timestamp(bundle.metadata_["split_times"]["test"]))[0])
    origins = np.arange(rows - horizon + 1 - report["origins"], rows - horizon + 1)
    first = format_times(panel.index(0)[origins[:1]], panel.schema.time_kind, panel.schema.time_format)
    if origins[0] < fit_end or str(first[0]) != str(report["scored_range"][0]):
        raise RuntimeError(f"the backtest scored {report['origins']} origins from "
                           f"{report['scored_range'][0]}, but they were rebuilt from {first[0]} (test "
                           f"split from row {fit_end}); benchmarks.backtests is out of date.")
    history = panel.values(0, bundle.settings_.fill)[:, 0]
    return Scored(history, refs.actuals(panel.rows(0)[:, 0], origins, horizon), fit_end, origins)


def best_reference(metrics: dict, references: dict) -> dict:
    """The lowest MAE among the baselines (naive, the product's seasonal naive, seasonal naive at
    the calendar season) and the statistical references that ran: {"name", "mae"}."""
    candidates = {"naive": metrics["naive"]["mae"], "seasonal_naive": metrics["seasonal_naive"]["mae"],
                  _calendar_label(references): references["seasonal_naive"]["mae"],
                  **{name: scores["mae"] for name, scores in references["references"].items()
                     if "mae" in scores}}
    name = min(candidates, key=candidates.get)
    return {"name": name, "mae": candidates[name]}


def ratios(mae: float, scored: dict) -> dict:
    """`mae` over seasonal naive at the calendar season, naive, the best reference or baseline and
    (generated series) the best achievable MAE, all on the same origins."""
    return {"seasonal_naive": _ratio(mae, scored["references"]["seasonal_naive"]["mae"]),
            "naive": _ratio(mae, scored["metrics"]["naive"]["mae"]),
            "best_reference": _ratio(mae, scored["best_reference"]["mae"]),
            "best": _ratio(mae, scored.get("best", {}).get("mae"))}


def best_achievable(known: generated.Synthetic, scored: Scored) -> dict:
    """The best forecast's MAE on the same origins and steps as the backtest ("mae"), and its
    expected value there ("expected"; exact for the first `exact_steps` steps, Monte Carlo after)."""
    horizon = scored.truth.shape[1]
    errors = np.abs(scored.truth - known.best_forecast(scored.history, scored.origins, horizon))
    expected = known.best_mae(horizon, scored.origins)
    return {"mae": float(errors.mean()), "mae_per_step": errors.mean(axis=0).tolist(),
            "expected": float(np.mean(expected)), "expected_per_step": expected,
            "exact_steps": known.exact_steps(horizon)}


def judge(results: list[dict], variants: list[str]) -> dict:
    """Per variant, each criterion's numbers and whether its goal is met (None where no series it
    covers was run). A series whose training failed misses every criterion that covers it.

    vs_best_reference: MAE / best reference or baseline per series (goal <= WITHIN_REFERENCE);
    vs_best_achievable: MAE / best achievable per generated series (goal <= WITHIN);
    random_walk_vs_naive (goal <= WITHIN); geometric_mean_vs_seasonal_naive over every series
    scored and geometric_mean_original over the ORIGINAL ones (goal < GEOMETRIC_MEAN_GOAL);
    beats_classic: per series, MAE below classic's (None without a classic variant).
    """
    criteria = {}
    for variant in variants:
        runs = {r["data_set"]: r["variants"][variant] for r in results}
        kinds = {r["data_set"]: r["kind"] for r in results}
        failed = [name for name, s in runs.items() if "failed" in s]
        scored = {name: s for name, s in runs.items() if "failed" not in s}
        to_naive = {name: s["ratios"][s["model"]]["seasonal_naive"] for name, s in scored.items()}
        original = {name: ratio for name, ratio in to_naive.items() if name in ORIGINAL}
        vs_reference = {name: s["ratios"][s["model"]]["best_reference"] for name, s in scored.items()}
        vs_best = {name: s["ratios"][s["model"]]["best"] for name, s in scored.items() if "best" in s}
        generated_failed = [name for name in failed if kinds[name] == "generated"]
        walk = scored.get("random-walk")
        random_walk = walk["ratios"][walk["model"]]["naive"] if walk else None
        beats = None
        if "classic" in variants and variant != "classic":
            beats = {r["data_set"]: _beats(r["variants"][variant], r["variants"]["classic"]) for r in results}
        geometric, geometric_original = _geometric_mean(to_naive), _geometric_mean(original)
        original_failed = [name for name in failed if name in ORIGINAL]
        criteria[variant] = {
            "failed": failed,
            "failed_generated": generated_failed,
            "vs_best_reference": vs_reference,
            "vs_best_achievable": vs_best,
            "random_walk_vs_naive": random_walk,
            "vs_seasonal_naive": to_naive,
            "geometric_mean_vs_seasonal_naive": geometric,
            "series": len(to_naive),
            "geometric_mean_original": geometric_original,
            "original_series": len(original),
            "beats_classic": beats,
            "goals_met": {
                "within_reference": _all_within(vs_reference, WITHIN_REFERENCE, failed),
                "best_achievable": _all_within(vs_best, WITHIN, generated_failed),
                "random_walk": (False if "random-walk" in failed else
                                None if random_walk is None else random_walk <= WITHIN),
                "geometric_mean": _below(geometric, failed),
                "geometric_mean_original": _below(geometric_original, original_failed),
                "beats_classic_everywhere": None if beats is None else all(beats.values()),
            },
        }
    return criteria


def _beats(mine: dict, classic: dict) -> bool:
    if "failed" in mine:
        return False
    return "failed" in classic or mine["mae"] < classic["mae"]


def _geometric_mean(ratios: dict) -> float | None:
    return float(math.exp(np.mean(np.log(list(ratios.values()))))) if ratios else None


def _all_within(ratios: dict, goal: float, failed: list) -> bool | None:
    if not ratios and not failed:
        return None
    return not failed and all(ratio <= goal for ratio in ratios.values())


def _below(geometric: float | None, failed: list) -> bool | None:
    if geometric is None and not failed:
        return None
    return not failed and geometric is not None and geometric < GEOMETRIC_MEAN_GOAL


COLUMNS = ("series", "frequency", "time_steps/horizon", "origins", "forecaster", "MAE",
           "MAE / seasonal naive", "MAE / naive", "MAE / best reference or baseline",
           "MAE / best achievable", "scaling kept", "train s", "reference s", "note")


def markdown_table(results: list[dict], variants: list[str]) -> str:
    """One row per data set and forecaster: each variant's model (or its failure), each variant's
    ridge, naive and the product's seasonal naive, then the benchmark's references (seasonal naive
    at the calendar season, the statistical references with their fit + forecast seconds) and, for
    a generated series, its best forecast (the true model), all on the same origins. The data set's
    columns are filled on its first row; baselines and references come from the first variant that
    ran; the lowest MAE of each data set (the true model aside) is in bold."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i in (0, 1, 4, 10, 13) else "---:" for i in range(len(COLUMNS))) + "|"]
    for result in results:
        ran = [scored for scored in result["variants"].values() if "failed" not in scored]
        first = ran[0] if ran else None
        rows = []  # (label, MAE or None, the variant's result the ratios read, model or None, note)
        for variant, scored in result["variants"].items():
            if "failed" in scored:
                rows.append((variant, None, None, None, f"failed: {scored['failed']}"))
            else:
                rows.append((variant, scored["mae"], scored, scored, ""))
        rows += [(f"ridge ({variant})", scored["metrics"]["ridge"]["mae"], scored, None, "")
                 for variant, scored in result["variants"].items() if "failed" not in scored]
        if first:
            rows += [(name, first["metrics"][name]["mae"], first, None,
                      f"season {first['season_length']}" if name == "seasonal_naive" else "")
                     for name in ("naive", "seasonal_naive")]
            rows += _reference_rows(first)
        best = min((mae for _, mae, *_ in rows if mae is not None), default=None)
        for number, (label, mae, scored, model, note) in enumerate(rows):
            lines.append(_row(result, number == 0, label, mae, best, scored, model, note))
        if first and "best" in first:
            label = f"true model (expected {first['best']['expected']:.4g})"
            lines.append(_row(result, False, label, first["best"]["mae"], None, first, None, ""))
    return "\n".join(lines)


def _reference_rows(scored: dict) -> list[tuple]:
    found = scored["references"]
    rows = [(_calendar_label(found), found["seasonal_naive"]["mae"], scored, None, "")]
    for name, reference in found["references"].items():
        fitted = reference["fit_rows"]
        note = f"{reference['note']}; fitted on rows {fitted[0]}-{fitted[1] - 1}"
        if "failed" in reference:
            rows.append((name, None, None, reference, f"failed: {reference['failed']}"))
        else:
            rows.append((name, reference["mae"], scored, reference, note))
    if found["not_run"]:
        rows.append(("statistical references", None, None, None, f"not run: {found['not_run']}"))
    return rows


def _calendar_label(references: dict) -> str:
    return f"seasonal naive (calendar, {references['calendar_season']})"


def _row(result: dict, first: bool, label: str, mae: float | None, best: float | None,
         scored: dict | None, timed: dict | None, note: str) -> str:
    """One table row; `scored` is the variant result the ratios divide by (None: no MAE), `timed`
    the variant's result (train s) or a reference's (reference s)."""
    found = ratios(mae, scored) if scored is not None and mae is not None else {}
    text = "" if mae is None else f"{mae:.4g}"
    cells = [
        f"{result['data_set']} ({result['target']})" if first and "target" in result else
        result["data_set"] if first else "",
        result.get("frequency", "") if first else "",
        f"{result['time_steps']}/{result['horizon']}" if first and "horizon" in result else "",
        str(result.get("origins", "")) if first else "",
        label,
        ("failed" if note.startswith("failed") else "") if mae is None else
        f"**{text}**" if mae == best else text,
        _fixed(found.get("seasonal_naive")),
        _fixed(found.get("naive")),
        _fixed(found.get("best_reference")),
        _fixed(found.get("best")),
        timed["scaling"] if timed and "scaling" in timed else "",
        f"{timed['train_seconds']:.0f}" if timed and "train_seconds" in timed else "",
        f"{timed['seconds']:.1f}" if timed and "train_seconds" not in timed and "seconds" in timed else "",
        note.replace("|", "/").replace("\n", " "),
    ]
    return "| " + " | ".join(cells) + " |"


# "series that miss it": for a geometric mean, the series worse than seasonal naive (above 1)
CRITERIA_COLUMNS = ("variant", "criterion", "goal", "result", "met", "series that miss it")


def criteria_table(criteria: dict, variants: dict) -> str:
    """Per variant, one row per criterion: its goal, the number, met or not and the series that
    miss it (a failed series misses every criterion that covers it)."""
    lines = ["| " + " | ".join(CRITERIA_COLUMNS) + " |", "|---|---|---|---|---|---|"]
    for variant, numbers in criteria.items():
        failed, met = numbers["failed"], numbers["goals_met"]
        rows = [
            ("MAE / best statistical reference or baseline, every series", f"<= {WITHIN_REFERENCE:.2f}",
             _worst(numbers["vs_best_reference"]), met["within_reference"],
             _misses(numbers["vs_best_reference"], WITHIN_REFERENCE, failed)),
            ("MAE / best achievable, every generated series", f"<= {WITHIN:.2f}",
             _worst(numbers["vs_best_achievable"]), met["best_achievable"],
             _misses(numbers["vs_best_achievable"], WITHIN, numbers["failed_generated"])),
            ("random walk: MAE / naive", f"<= {WITHIN:.2f}", _fixed(numbers["random_walk_vs_naive"]),
             met["random_walk"], "random-walk" if met["random_walk"] is False else ""),
            ("geometric mean of MAE / seasonal naive (calendar season), every series",
             f"< {GEOMETRIC_MEAN_GOAL}", _over(numbers["geometric_mean_vs_seasonal_naive"],
                                                numbers["series"]),
             met["geometric_mean"], _misses(numbers["vs_seasonal_naive"], 1.0, failed)),
            ("the same, the six original series (0.607 on 2026-12-01)", f"< {GEOMETRIC_MEAN_GOAL}",
             _over(numbers["geometric_mean_original"], numbers["original_series"]),
             met["geometric_mean_original"],
             _misses({name: ratio for name, ratio in numbers["vs_seasonal_naive"].items()
                      if name in ORIGINAL}, 1.0, [name for name in failed if name in ORIGINAL])),
        ]
        beats = numbers["beats_classic"]
        if beats is not None:
            lost = [name for name, ok in beats.items() if not ok]
            rows.append(("MAE below classic's", "every series",
                         f"{len(beats) - len(lost)} of {len(beats)}", met["beats_classic_everywhere"],
                         ", ".join(lost)))
        for number, (criterion, goal, value, ok, misses) in enumerate(rows):
            name = f"{variant} ({_flags(variants[variant]) or 'defaults'})" if number == 0 else ""
            verdict = "" if ok is None else "met" if ok else "**not met**"
            lines.append("| " + " | ".join([name, criterion, goal, value, verdict, misses]) + " |")
    return "\n".join(lines)


def _worst(ratios: dict) -> str:
    if not ratios:
        return ""
    name = max(ratios, key=ratios.get)
    return f"worst {ratios[name]:.3f} ({name})"


def _misses(ratios: dict, goal: float, failed: list) -> str:
    over = [f"{name} {ratio:.3f}" for name, ratio in ratios.items() if ratio > goal]
    return ", ".join(over + [f"{name} (failed)" for name in failed])


def _over(geometric: float | None, series: int) -> str:
    return "" if geometric is None else f"{geometric:.3f} over {series} series"


def _fixed(number: float | None) -> str:
    return "" if number is None else f"{number:.3f}"


def _ratio(value: float, reference: float | None) -> float | None:
    return value / reference if reference else None


def _flags(overrides: dict) -> str:
    return " ".join(f"--{key.replace('_', '-')} {value}" for key, value in overrides.items())


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
