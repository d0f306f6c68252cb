"""Backtest the default model against every baseline on each bundled data set: `make benchmark`.

For each data set below, train with the product's default settings (no tuning), then run
`forecaster.evaluation.evaluate` on the held-out test split: a stride-1 rolling-origin backtest in
which every origin is forecast from earlier rows only, by the model and by every baseline. Prints
one markdown table (a row per data set and forecaster) and writes it, with the full results, to
<output-dir>/backtests.md and <output-dir>/backtests.json.

    python -m benchmarks.backtests                        # all data sets, as in the README
    python -m benchmarks.backtests --only elnino --epochs 1   # a quick check
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from forecaster.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
LEVELS = (80, 95)


@dataclass(frozen=True)
class DataSet:
    name: str
    csv: Path
    overrides: dict  # the settings a user must give for this file; nothing else is changed


DATA_SETS = (
    DataSet("seattle-temps", ROOT / "data" / "seattle-temps.csv", {}),
    DataSet("elnino", ROOT / "data" / "elnino-monthly.csv", {}),
    DataSet("seattle-weather", ROOT / "data" / "seattle-weather.csv", {"target": "temp_max"}),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.backtests",
        description="Train the default model on each bundled data set and backtest it against "
                    "every baseline over the held-out test split; print one markdown table.")
    parser.add_argument("--only", choices=[data_set.name for data_set in DATA_SETS],
                        help="run this data set only")
    parser.add_argument("--epochs", type=int,
                        help="most epochs to train, for quick runs (default: the product's, 40)")
    parser.add_argument("--output-dir", dest="output_dir", default="reports/benchmark",
                        help="where backtests.json, backtests.md and each data set's report go "
                             "(default reports/benchmark)")
    parser.add_argument("--models-dir", dest="models_dir", default="models/benchmark",
                        help="where each data set's model folder goes (default models/benchmark)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    chosen = [data_set for data_set in DATA_SETS if args.only in (None, data_set.name)]
    try:
        results = run(chosen, Path(args.output_dir), Path(args.models_dir), epochs=args.epochs)
    except UserError as error:
        print(f"benchmark: error: {error}", file=sys.stderr)
        return 2
    print()
    print(results["table"])
    print(f"\nwrote {results['json_path']} and {results['markdown_path']}")
    return 0


def run(data_sets, output_dir: Path, models_dir: Path, epochs: int | None = None) -> dict:
    """Train and backtest each data set; write backtests.json and backtests.md to `output_dir`.

    Returns {"table": markdown, "results": [one dict per data set], "json_path", "markdown_path"}.
    """
    from forecaster.artifacts import check_output_dir, load_bundle, write_text_atomically
    from forecaster.config import load_config
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    output_dir = check_output_dir(output_dir, "--output-dir")
    started = time.perf_counter()
    results = []
    for number, data_set in enumerate(data_sets, 1):
        settings = load_config(overrides={
            "csv": str(data_set.csv), "model_dir": str(models_dir / data_set.name), "epochs": epochs,
            **data_set.overrides})
        flags = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in data_set.overrides.items())
        print(f"[{number}/{len(data_sets)}] {data_set.name}: training on {data_set.csv.name} "
              f"{flags or '(no flags)'}, default settings, seed {settings.seed}", flush=True)
        trained = train(settings, verbose=0)
        print(f"    trained in {trained.seconds:.1f} s: scaling {trained.scaling}, best epoch "
              f"{trained.best_epoch} of {trained.epochs_run}, time_steps {trained.time_steps}, "
              f"horizon {trained.horizon}", flush=True)
        clock = time.perf_counter()
        report = evaluate(trained.model_dir, output_dir=output_dir / data_set.name, levels=LEVELS).report
        seconds = time.perf_counter() - clock
        print(f"    backtested {report['origins']} origins ({report['scored_range'][0]} to "
              f"{report['scored_range'][1]}) in {seconds:.1f} s", flush=True)
        results.append({
            "data_set": data_set.name,
            "csv": str(data_set.csv.relative_to(ROOT)),
            "flags": flags,
            "target": report["target"],
            "frequency": load_bundle(trained.model_dir).metadata["frequency"],
            "time_steps": trained.time_steps,
            "horizon": trained.horizon,
            "origins": report["origins"],
            "scored_range": report["scored_range"],
            "season_length": report["season_length"],
            "scaling": trained.scaling,
            "epochs_run": trained.epochs_run,
            "best_epoch": trained.best_epoch,
            "train_seconds": trained.seconds,
            "backtest_seconds": seconds,
            "model": next(iter(report["models"])),
            "metrics": {name: metrics["overall"] for name, metrics in report["models"].items()},
            "coverage": {level: coverage["empirical"]
                         for level, coverage in report.get("coverage", {}).items()},
            "settings": dataclasses.replace(settings, csv=str(data_set.csv.relative_to(ROOT))).to_dict(),
            "model_dir": str(trained.model_dir),
            "report_dir": str(output_dir / data_set.name),
        })
    table = markdown_table(results)
    summary = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
        "seconds": time.perf_counter() - started,
        "data_sets": results,
    }
    json_path = write_text_atomically(output_dir / "backtests.json", json.dumps(summary, indent=2) + "\n")
    markdown_path = write_text_atomically(output_dir / "backtests.md", table + "\n")
    return {"table": table, "results": results, "json_path": json_path, "markdown_path": markdown_path}


COLUMNS = ("data set", "frequency", "time_steps/horizon", "origins", "forecaster", "MAE", "RMSE",
           "MASE", "skill vs seasonal naive", "80% coverage", "95% coverage", "train s")


def markdown_table(results: list[dict]) -> str:
    """One row per data set and forecaster, the model first; the lowest MAE of each data set in
    bold. The data set's columns are filled on its model row; MAE and RMSE are in the target's
    units; coverage (of the conformal intervals) and training time are the model's."""
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 or i == 4 else "---:" for i in range(len(COLUMNS))) + "|"]
    for result in results:
        best = min(metrics["mae"] for metrics in result["metrics"].values())
        for name, metrics in result["metrics"].items():
            is_model = name == result["model"]
            mae = f"{metrics['mae']:.4g}"
            cells = [
                f"{result['data_set']} ({result['target']})" if is_model else "",
                result["frequency"] if is_model else "",
                f"{result['time_steps']}/{result['horizon']}" if is_model else "",
                str(result["origins"]) if is_model else "",
                name,
                f"**{mae}**" if metrics["mae"] == best else mae,
                f"{metrics['rmse']:.4g}",
                f"{metrics['mase']:.3f}",
                f"{metrics['skill']:+.3f}",
                *(f"{100 * result['coverage'][str(level)]:.1f}%" if is_model else "" for level in LEVELS),
                f"{result['train_seconds']:.0f}" if is_model else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
