"""Backtest named configurations against the baselines and the classic recipe: `make benchmark`.

The series: the three bundled data sets and three generated ones with known structure
(`benchmarks.series`: a trend with a daily season, a random walk, a threshold autoregression),
whose best achievable error is known. The configurations ("variants"): `default`, the product's
defaults, and `classic`, the classic Keras recipe (levels standardised with training statistics,
MSE loss), or any given with `--variant NAME=key=value,key=value`.

Each variant trains its own model on each series (models/benchmark/<variant>/<series>), then
`forecaster.evaluation.evaluate` backtests it over the held-out test split with stride 1: every
origin is forecast from earlier rows only, by the model and by every baseline. Reported per series
and variant: the model's MAE and its ratio to the seasonal-naive, naive and best achievable MAE on
the same origins; then, per variant, the criteria that choose the defaults: the geometric mean
across series of MAE / seasonal-naive MAE, the series on which it beats `classic`, its ratio to
naive on the random walk and to the best achievable MAE on the generated series. Prints markdown
and writes it, with the full results, to <output-dir>/backtests.md and backtests.json; the
generated series go to <output-dir>/series/.

    python -m benchmarks.backtests                                  # everything, as in docs/benchmarks.md
    python -m benchmarks.backtests --only random-walk --epochs 1    # a quick check
    python -m benchmarks.backtests --only elnino --variant default --variant mae=loss=mae,units=32
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

from benchmarks import series as generated
from forecaster.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
GEOMETRIC_MEAN_GOAL = 0.85  # geometric mean of MAE / seasonal-naive MAE across all series: below
WITHIN = 1.05  # at most 5% worse than naive on the random walk, and than the best achievable MAE


@dataclass(frozen=True)
class DataSet:
    name: str
    csv: Path | None  # None for a generated series: written to <output-dir>/series/ first
    overrides: dict  # the settings a user must give for this file; nothing else is changed
    known: generated.Synthetic | None = None  # the generator, whose best forecast is known


BUNDLED = (
    DataSet("seattle-temps", ROOT / "data" / "seattle-temps.csv", {}),
    DataSet("elnino", ROOT / "data" / "elnino-monthly.csv", {}),
    DataSet("seattle-weather", ROOT / "data" / "seattle-weather.csv", {"target": "temp_max"}),
)
DATA_SETS = BUNDLED + tuple(DataSet(s.name, None, {}, s) for s in generated.GENERATED)

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
                      epochs=args.epochs)
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


def run(data_sets, variants: dict, output_dir: Path, models_dir: Path, epochs: int | None = None) -> dict:
    """Train and backtest each variant on each data set; write backtests.json and backtests.md.

    Returns {"markdown", "results": [one dict per data set], "criteria": {variant: dict},
    "json_path", "markdown_path"}.
    """
    from forecaster.files import check_output_dir, write_text_atomically

    output_dir = check_output_dir(output_dir, "--output-dir")
    started = time.perf_counter()
    names = [data_set.name for data_set in data_sets if data_set.known]
    written = generated.write_all(output_dir / "series", names) if names else {}
    results = []
    for number, data_set in enumerate(data_sets, 1):
        csv = data_set.csv or written[data_set.name]
        result = {"data_set": data_set.name, "kind": "generated" if data_set.known else "bundled",
                  "csv": _relative(csv), "variants": {}}
        if data_set.known:
            result["formula"], result["sigma"] = data_set.known.formula, data_set.known.sigma
        for variant, overrides in variants.items():
            print(f"[{number}/{len(data_sets)}] {data_set.name}, variant {variant} "
                  f"({_flags(overrides) or 'no overrides'}):", flush=True)
            scored = backtest_variant(data_set, csv, variant, overrides, output_dir, models_dir, epochs)
            result["variants"][variant] = scored
            for key in ("target", "frequency", "time_steps", "horizon", "origins", "flags"):
                result.setdefault(key, scored[key])
        results.append(result)
    criteria = judge(results, list(variants))
    markdown = markdown_table(results, list(variants)) + "\n\n" + criteria_table(criteria, variants)
    summary = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "seconds": time.perf_counter() - started,
        "goals": {"geometric_mean_below": GEOMETRIC_MEAN_GOAL, "within": WITHIN},
        "variants": variants,
        "criteria": criteria,
        "data_sets": results,
    }
    json_path = write_text_atomically(output_dir / "backtests.json", json.dumps(summary, indent=2) + "\n")
    markdown_path = write_text_atomically(output_dir / "backtests.md", markdown + "\n")
    return {"markdown": markdown, "results": results, "criteria": criteria, "json_path": json_path,
            "markdown_path": markdown_path}


def variant_settings(data_set: DataSet, csv: Path, overrides: dict, model_dir: Path,
                     epochs: int | None = None):
    """The settings a variant trains with on a data set: the data set's own, then the variant's;
    `epochs` (the --epochs of a quick run), when given, caps every variant."""
    from forecaster.config import load_config

    capped = {} if epochs is None else {"epochs": epochs}
    return load_config(overrides={**data_set.overrides, **overrides, **capped, "csv": str(csv),
                                  "model_dir": str(model_dir)})


def backtest_variant(data_set: DataSet, csv: Path, variant: str, overrides: dict, output_dir: Path,
                     models_dir: Path, epochs: int | None) -> dict:
    """Train one variant on one data set, backtest it with `evaluate`; one result dict."""
    from forecaster.artifacts import load_bundle
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    settings = variant_settings(data_set, csv, overrides, models_dir / variant / data_set.name, epochs)
    trained = train(settings, verbose=0)
    print(f"    trained in {trained.seconds:.1f} s: scaling {trained.scaling}, best epoch "
          f"{trained.best_epoch} of {trained.epochs_run}, time_steps {trained.time_steps}, "
          f"horizon {trained.horizon}", flush=True)
    clock = time.perf_counter()
    report_dir = output_dir / variant / data_set.name
    report = evaluate(trained.model_dir, output_dir=report_dir).report  # 80% and 95% intervals
    seconds = time.perf_counter() - clock
    bundle = load_bundle(trained.model_dir)
    metrics = {name: scores["overall"] for name, scores in report["models"].items()}
    model = next(iter(report["models"]))
    result = {
        "target": report["target"],
        "frequency": bundle.metadata_["frequency"],
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
    if data_set.known:
        result["best"] = best_achievable(data_set.known, bundle, csv, report)
    reference = {"seasonal_naive": metrics["seasonal_naive"]["mae"], "naive": metrics["naive"]["mae"],
                 "best": result.get("best", {}).get("mae")}
    result["ratios"] = {name: {key: _ratio(scores["mae"], value) for key, value in reference.items()}
                        for name, scores in metrics.items()}
    print(f"    backtested {report['origins']} origins in {seconds:.1f} s: MAE {result['mae']:.4g}, "
          f"{result['ratios'][model]['seasonal_naive']:.3f} of seasonal naive", flush=True)
    return result


def best_achievable(known: generated.Synthetic, bundle, csv: Path, report: dict) -> dict:
    """The best forecast's MAE on the same origins and steps as the backtest ("mae"), and its
    expected value ("expected"; exact for the first `exact_steps` steps, Monte Carlo after)."""
    from forecaster.data import read_panel, split_points
    from forecaster.evaluation import earliest_origin
    from forecaster.windows import split_origins

    settings, horizon = bundle.settings_, bundle.horizon
    values = read_panel(csv, schema=bundle.schema_).rows(0)[:, 0]
    val_start, test_start = split_points(len(values), settings.val_fraction, settings.test_fraction)
    origins = split_origins(len(values), horizon, val_start, test_start, earliest_origin(bundle))["test"]
    if len(origins) != report["origins"]:
        raise RuntimeError(f"the backtest scored {report['origins']} origins but {len(origins)} were "
                           f"rebuilt for the best forecast; benchmarks.backtests is out of date.")
    rows = origins[:, None] + np.arange(horizon)[None, :]
    errors = np.abs(values[rows] - known.best_forecast(values, origins, horizon))
    expected = known.best_mae(horizon)
    return {"mae": float(errors.mean()), "mae_per_step": errors.mean(axis=0).tolist(),
            "expected": float(np.mean(expected)), "expected_per_step": expected,
            "exact_steps": known.exact_steps(horizon)}


def judge(results: list[dict], variants: list[str]) -> dict:
    """Per variant: the geometric mean across data sets of MAE / seasonal-naive MAE, the data sets
    on which its MAE is below `classic`'s (None without a classic variant), its MAE / naive on
    the random walk and MAE / best achievable on each generated series (None where not run),
    and whether each goal is met."""
    criteria = {}
    for variant in variants:
        scored = {r["data_set"]: r["variants"][variant] for r in results}
        ratios = [s["ratios"][s["model"]]["seasonal_naive"] for s in scored.values()]
        geometric_mean = float(math.exp(np.mean(np.log(ratios))))
        beats = None
        if "classic" in variants and variant != "classic":
            beats = {r["data_set"]: r["variants"][variant]["mae"] < r["variants"]["classic"]["mae"]
                     for r in results}
        walk = scored.get("random-walk")
        random_walk = walk["ratios"][walk["model"]]["naive"] if walk else None
        vs_best = {name: s["ratios"][s["model"]]["best"] for name, s in scored.items() if "best" in s}
        criteria[variant] = {
            "geometric_mean_vs_seasonal_naive": geometric_mean,
            "series": len(ratios),
            "beats_classic": beats,
            "random_walk_vs_naive": random_walk,
            "vs_best_achievable": vs_best,
            "goals_met": {
                "geometric_mean": geometric_mean < GEOMETRIC_MEAN_GOAL,
                "beats_classic_everywhere": None if beats is None else all(beats.values()),
                "random_walk": None if random_walk is None else random_walk <= WITHIN,
                "best_achievable": all(r <= WITHIN for r in vs_best.values()) if vs_best else None,
            },
        }
    return criteria


COLUMNS = ("series", "frequency", "time_steps/horizon", "origins", "forecaster", "MAE",
           "MAE / seasonal naive", "MAE / naive", "MAE / best achievable", "scaling kept", "train s")


def markdown_table(results: list[dict], variants: list[str]) -> str:
    """One row per data set and forecaster: each variant's model, each variant's ridge, naive,
    seasonal naive and, for a generated series, its best forecast (the true model) on the same
    origins. The data set's columns are filled on its first row; baselines come from the first
    variant's backtest; the lowest MAE of each data set (the true model aside) is in bold."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i in (0, 1, 4, 9) else "---:" for i in range(len(COLUMNS))) + "|"]
    for result in results:
        first = result["variants"][variants[0]]
        rows = [(variant, scored, scored["model"]) for variant, scored in result["variants"].items()]
        rows += [(f"ridge ({variant})", scored, "ridge") for variant, scored in result["variants"].items()]
        rows += [(name, first, name) for name in ("naive", "seasonal_naive")]
        best = min(scored["metrics"][key]["mae"] for _, scored, key in rows)
        for number, (label, scored, key) in enumerate(rows):
            lines.append(_row(result, number == 0, label, scored["metrics"][key]["mae"], best,
                              scored["ratios"][key], scored if key == scored["model"] else None))
        if "best" in first:
            label = f"true model (expected {first['best']['expected']:.4g})"
            mae = first["best"]["mae"]
            ratios = {"seasonal_naive": _ratio(mae, first["metrics"]["seasonal_naive"]["mae"]),
                      "naive": _ratio(mae, first["metrics"]["naive"]["mae"]), "best": 1.0}
            lines.append(_row(result, False, label, mae, None, ratios, None))
    return "\n".join(lines)


def _row(result: dict, first: bool, label: str, mae: float, best: float | None, ratios: dict,
         model: dict | None) -> str:
    text = f"{mae:.4g}"
    cells = [
        f"{result['data_set']} ({result['target']})" if first else "",
        result["frequency"] if first else "",
        f"{result['time_steps']}/{result['horizon']}" if first else "",
        str(result["origins"]) if first else "",
        label,
        f"**{text}**" if mae == best else text,
        _fixed(ratios["seasonal_naive"]),
        _fixed(ratios["naive"]),
        _fixed(ratios["best"]),
        model["scaling"] if model else "",
        f"{model['train_seconds']:.0f}" if model else "",
    ]
    return "| " + " | ".join(cells) + " |"


CRITERIA_COLUMNS = ("variant", "settings",
                    f"geometric mean of MAE / seasonal naive (goal < {GEOMETRIC_MEAN_GOAL})",
                    "beats classic on", f"random walk: MAE / naive (goal <= {WITHIN})",
                    f"MAE / best achievable (goal <= {WITHIN})")


def criteria_table(criteria: dict, variants: dict) -> str:
    """One row per variant: the numbers the defaults are chosen by, each with its goal."""
    lines = ["| " + " | ".join(CRITERIA_COLUMNS) + " |", "|---|---|---:|---|---:|---|"]
    for variant, numbers in criteria.items():
        beats = numbers["beats_classic"]
        if beats is None:
            beaten = ""
        else:
            won = [name for name, ok in beats.items() if ok]
            lost = [name for name, ok in beats.items() if not ok]
            beaten = f"{len(won)} of {len(beats)}" + (f" (not {', '.join(lost)})" if lost else "")
        walk = numbers["random_walk_vs_naive"]
        cells = [
            variant,
            _flags(variants[variant]) or "(defaults)",
            f"{numbers['geometric_mean_vs_seasonal_naive']:.3f} over {numbers['series']} series",
            beaten,
            _fixed(walk),
            ", ".join(f"{name} {ratio:.3f}" for name, ratio in numbers["vs_best_achievable"].items()),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


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
