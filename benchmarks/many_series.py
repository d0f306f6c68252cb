"""Many series, one global model: `make panels`.

For each panel, one global model is trained with forecaster's defaults and evaluated on the held-out
test split (`forecaster.evaluation.evaluate`: every origin of every series, every step), then set
against two references on the same origins:

    seasonal naive   per series; the goal is a geometric mean of per-series MAE ratios (model over
                     seasonal naive) below 1
    local LSTMs      the same settings (window, horizon, splits, seed) trained on each series alone,
                     on the panels of short series: pooling should win there (ratio below 1)
    best achievable  on generated panels, the error of the best forecast (known noise)

The panels: `shared-season` (30 daily series at levels 10 to 10,000, ragged starts, three too
short for one window, two random walks among seasonal ones), `short-seasons` (40 monthly series of
3 to 4 years each) and the bundled `us-employment` (the 15 BLS sectors that are not sums of
others, 2006-2015). Prints a markdown table and writes it, with every number, to
<output-dir>/many-series.md and many-series.json.

    python -m benchmarks.many_series                                   # everything
    python -m benchmarks.many_series --only short-seasons --local 5    # a quicker look
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks import panels

ROOT = Path(__file__).resolve().parent.parent
SECTORS = ("mining_and_logging", "construction", "durable_goods", "nondurable_goods",
           "wholesale_trade", "retail_trade", "transportation_and_warehousing", "utilities",
           "information", "financial_activities", "professional_and_business_services",
           "education_and_health_services", "leisure_and_hospitality", "other_services", "government")
PANELS = ("shared-season", "short-seasons", "us-employment")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.many_series",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=PANELS, help="a panel (repeatable)")
    parser.add_argument("--local", type=int, default=40,
                        help="series trained alone per panel of short series, at most (default 40)")
    parser.add_argument("--epochs", type=int, help="cap the epochs (default: the settings' own)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the global model, e.g. series_size=true (repeatable); "
                             "the local LSTMs keep their own")
    parser.add_argument("--output-dir", default="reports/many-series")
    args = parser.parse_args(argv)
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    extra = dict(_setting(item) for item in args.set)
    results = {}
    for name in args.only or PANELS:
        print(f"== {name}", flush=True)
        results[name] = run_panel(name, output / name, args.local, args.epochs, extra)
    table = markdown(results)
    (output / "many-series.md").write_text(table + "\n", encoding="utf-8")
    (output / "many-series.json").write_text(json.dumps(results, indent=2, default=str) + "\n",
                                             encoding="utf-8")
    print("\n" + table)
    print(f"wrote {output / 'many-series.md'} and {output / 'many-series.json'}")
    return 0


def write_panel(name: str, folder: Path) -> tuple[Path, dict, pd.DataFrame | None, bool]:
    """(csv, the settings that read it, the truth of a generated panel, whether to train locals)."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "us-employment":
        return ROOT / "data" / "us-employment.csv", {"target": ",".join(SECTORS)}, None, True
    panel = (panels.shared_season(n_series=30, length=730, frequency="D", seed=0) if name == "shared-season"
             else panels.short_seasons(n_series=40, seasons=(3, 4), frequency="MS", seed=0))
    csv = panels.write_csv(panel, folder, name)
    return csv, {"id_col": ("series",)}, panel.truth, name == "short-seasons"


def _setting(item: str) -> tuple[str, object]:
    """'key=value' -> (key, value as JSON when it reads as JSON: true, 3, 0.5; else text)."""
    key, _, value = item.partition("=")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def run_panel(name: str, folder: Path, local: int, epochs: int | None, extra: dict) -> dict:
    from forecaster.artifacts import load_bundle
    from forecaster.config import load_config
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    csv, reading, truth, with_locals = write_panel(name, folder)
    started = time.perf_counter()
    overrides = {"csv": str(csv), "model_dir": str(folder / "global"), **reading,
                 **({"epochs": epochs} if epochs else {}), **extra}
    run = train(load_config(overrides=overrides), verbose=0)
    seconds = time.perf_counter() - started
    report = evaluate(run.model_dir, output_dir=folder / "global-report", levels=()).report
    model = load_bundle(run.model_dir)
    splits = model.metadata_["split_times"]
    per_series = report["per_series"]
    kind = model.settings_.model
    mae = {series: scores[kind]["mae"] for series, scores in per_series.items()}
    naive = {series: scores["seasonal_naive"]["mae"] for series, scores in per_series.items()}
    result = {
        "csv": str(csv.relative_to(ROOT) if csv.is_relative_to(ROOT) else csv),
        "series": len(per_series), "trained_on": run.series, "scaling": run.scaling,
        "time_steps": run.time_steps, "horizon": run.horizon, "train_seconds": seconds,
        "left_out": model.metadata_["left_out"],
        "vs_seasonal_naive": geometric_mean_ratio(mae, naive),
        "beats_seasonal_naive": report["aggregates"][kind]["beats_seasonal_naive"],
        "mean_mase": report["aggregates"][kind]["mean_mase"],
        "median_mase": report["aggregates"][kind]["median_mase"],
        "mae": mae, "seasonal_naive_mae": naive,
    }
    print(f"   global: {run.series} series trained in {seconds:.0f} s ({run.scaling}); geometric mean "
          f"MAE / seasonal naive {result['vs_seasonal_naive']:.3f} over {len(per_series)} series",
          flush=True)
    if truth is not None:
        best = truth.set_index("series")["best_mae"].to_dict()
        seasonal = [s for s in mae if truth.set_index("series").loc[s, "kind"] == "seasonal"]
        result["vs_best_seasonal"] = geometric_mean_ratio({s: mae[s] for s in seasonal},
                                                          {s: best[s] for s in seasonal})
    if with_locals and local > 0:
        result["local"] = run_locals(csv, reading, model, splits, folder, local, mae, epochs)
    return result


def run_locals(csv: Path, reading: dict, model, splits: dict, folder: Path, most: int, mae: dict,
               epochs: int | None) -> dict:
    """The same settings trained on each series alone (its own file), scored on the same origins."""
    from forecaster.config import load_config
    from forecaster.errors import UserError
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    table = pd.read_csv(csv)
    if "target" in reading:  # wide: a file per column
        names = reading["target"].split(",")[:most]
        files = {name: table[["month", name]] for name in names}
    else:
        names = list(dict.fromkeys(table["series"]))[:most]
        files = {name: table[table["series"] == name].drop(columns="series") for name in names}
    settings = model.settings_
    local_mae, refused = {}, {}
    started = time.perf_counter()
    for number, (name, frame) in enumerate(files.items(), 1):
        path = folder / "local" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        overrides = {"csv": str(path), "model_dir": str(folder / "local" / f"model-{name}"),
                     "time_steps": settings.time_steps, "horizon": settings.horizon,
                     "val_start": splits["validation"], "test_start": splits["test"],
                     **({"epochs": epochs} if epochs else {})}
        try:
            run = train(load_config(overrides=overrides), verbose=0)
            report = evaluate(run.model_dir, output_dir=folder / "local" / f"report-{name}",
                              levels=()).report
            local_mae[name] = report["models"][settings.model]["overall"]["mae"]
        except UserError as error:  # too short to train alone: the reason to pool
            refused[name] = str(error)
        print(f"   local {number}/{len(files)} {name}: "
              f"{local_mae.get(name, 'refused')}", flush=True)
    pooled = {name: mae[name] for name in local_mae if name in mae}
    return {"series": len(files), "trained": len(local_mae), "refused": refused,
            "seconds": time.perf_counter() - started, "mae": local_mae,
            "global_vs_local": geometric_mean_ratio(pooled, local_mae)}


def geometric_mean_ratio(numerator: dict, denominator: dict) -> float:
    """exp(mean(log(numerator[k] / denominator[k]))) over the keys both hold with positive values."""
    logs = [math.log(numerator[k] / denominator[k]) for k in numerator
            if k in denominator and numerator[k] > 0 and denominator[k] > 0
            and math.isfinite(numerator[k]) and math.isfinite(denominator[k])]
    return math.exp(sum(logs) / len(logs)) if logs else float("nan")


def markdown(results: dict) -> str:
    rows = ["| panel | series (trained on) | kept | MAE / seasonal naive (geometric mean) | beats "
            "seasonal naive | median MASE | MAE / best achievable (seasonal series) | global / "
            "local LSTM (geometric mean; locals that could train) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        best = f"{r['vs_best_seasonal']:.3f}" if "vs_best_seasonal" in r else "–"
        local = (f"{r['local']['global_vs_local']:.3f} ({r['local']['trained']} of "
                 f"{r['local']['series']} trained alone)" if "local" in r else "–")
        rows.append(f"| {name} | {r['series']} ({r['trained_on']}) | {r['scaling']} | "
                    f"{r['vs_seasonal_naive']:.3f} | {100 * r['beats_seasonal_naive']:.0f}% | "
                    f"{r['median_mase']:.3f} | {best} | {local} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
