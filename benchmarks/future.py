"""Inputs known ahead (`train --future`): `make future`.

Two data sets, each trained with the default settings three ways: the inputs known ahead given
with `--future`, the same columns as past inputs only (`--features`), and neither; each model
evaluated on the held-out test split (`forecaster.evaluation.evaluate`: every origin of every
series, every step) beside seasonal naive.

    promotions  generated: 12 shops whose daily sales respond to a promotion flag and a
                temperature, both known for the days forecast; the structure and the noise are
                known, so the best achievable error is too
    us-births   the bundled daily US births (CDC, 1994-2003) with a `holiday` column: 1 on the US
                federal holidays as pandas' USFederalHolidayCalendar lists them (observed days),
                a calendar known years ahead

Prints a markdown table and writes it, with every number, to <output-dir>/future.md and
future.json.

    python -m benchmarks.future                   # the default settings
    python -m benchmarks.future --epochs 5        # a quicker look
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.many_series import geometric_mean_ratio

SHOPS, DAYS = 12, 3 * 365
NOISE = 0.03  # each shop's noise, a share of its level: the best forecast's error
ROOT = Path(__file__).resolve().parent.parent
DATA_SETS = ("promotions", "us-births")


def promotions(shops: int = SHOPS, days: int = DAYS, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """(the long table shop, day, sales, promo, temp; each shop's best achievable MAE). Sales: a
    level (20 to 2,000) times a weekly profile, plus a lift of 15-40% of the level on promotion days
    (about one day in five, in runs), plus 1.5% of the level per degree above the mean temperature
    (a yearly cycle and weather noise), plus Gaussian noise of NOISE of the level: knowing the
    promotion and the temperature of a day, the best forecast misses by the noise alone."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    frames, best = [], {}
    temp = 12 + 9 * np.sin(2 * np.pi * (t - 100) / 365.25) + rng.normal(0, 3, days)  # one city
    for k in range(shops):
        level = float(np.exp(rng.uniform(np.log(20), np.log(2000))))
        weekly = 1 + 0.25 * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        starts = rng.random(days) < 0.06  # promotions of 2 to 5 days
        promo = np.zeros(days)
        for day in np.flatnonzero(starts):
            promo[day:day + rng.integers(2, 6)] = 1.0
        lift = rng.uniform(0.15, 0.4)
        sales = level * (weekly + lift * promo + 0.015 * (temp - temp.mean())
                         + rng.normal(0, NOISE, days))
        name = f"shop{k:02d}"
        frames.append(pd.DataFrame({"shop": name, "day": pd.date_range("2021-01-01", periods=days,
                                                                       freq="D").strftime("%Y-%m-%d"),
                                    "sales": sales.round(3), "promo": promo, "temp": temp.round(2)}))
        best[name] = level * NOISE * math.sqrt(2 / math.pi)  # E|noise|
    return pd.concat(frames, ignore_index=True), best


def births_with_holidays() -> pd.DataFrame:
    """The bundled daily births with a `holiday` flag from pandas' US federal holiday calendar."""
    from pandas.tseries.holiday import USFederalHolidayCalendar

    table = pd.read_csv(ROOT / "data" / "us-births-daily.csv")
    days = pd.to_datetime(table["date"])
    holidays = USFederalHolidayCalendar().holidays(days.min(), days.max())
    return table.assign(holiday=days.isin(holidays).astype(float))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.future",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, help="cap the epochs (default: the settings' own)")
    parser.add_argument("--only", action="append", choices=DATA_SETS, help="a data set (repeatable)")
    parser.add_argument("--output-dir", default="reports/future")
    args = parser.parse_args(argv)
    from forecaster.artifacts import load_bundle
    from forecaster.config import load_config
    from forecaster.evaluation import evaluate
    from forecaster.training import train

    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.only or DATA_SETS:
        print(f"== {name}", flush=True)
        if name == "promotions":
            table, best = promotions()
            reading, inputs = {"id_col": ("shop",), "target": "sales"}, ("promo", "temp")
        else:
            table, best = births_with_holidays(), None
            reading, inputs = {"target": "births"}, ("holiday",)
        csv = output / f"{name}.csv"
        table.to_csv(csv, index=False)
        found = {}
        for label, extra in ((f"--future {','.join(inputs)}", {"future": inputs}),
                             (f"--features {','.join(inputs)}", {"features": inputs}),
                             ("neither", {})):
            started = time.perf_counter()
            folder = output / f"{name}-{len(found)}"
            overrides = {"csv": str(csv), "model_dir": str(folder / "model"), **reading, **extra,
                         **({"epochs": args.epochs} if args.epochs else {})}
            run = train(load_config(overrides=overrides), verbose=0)
            seconds = time.perf_counter() - started
            report = evaluate(run.model_dir, output_dir=folder / "report", levels=()).report
            kind = load_bundle(run.model_dir).settings_.model
            mae, naive = _maes(report, kind), _maes(report, "seasonal_naive")
            found[label] = {"scaling": run.scaling, "seconds": seconds, "time_steps": run.time_steps,
                            "horizon": run.horizon, "mae": mae,
                            "vs_seasonal_naive": geometric_mean_ratio(mae, naive),
                            **({"vs_best": geometric_mean_ratio(mae, best)} if best else {})}
            print(f"   {label}: {run.scaling}, MAE / seasonal naive "
                  f"{found[label]['vs_seasonal_naive']:.3f} ({seconds:.0f} s)", flush=True)
        found["seasonal naive"] = {"mae": naive, "vs_seasonal_naive": 1.0,
                                   **({"vs_best": geometric_mean_ratio(naive, best)} if best else {})}
        results[name] = found
    text = markdown(results)
    (output / "future.md").write_text(text + "\n", encoding="utf-8")
    (output / "future.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\n" + text)
    print(f"wrote {output / 'future.md'} and {output / 'future.json'}")
    return 0


def _maes(report: dict, name: str) -> dict:
    """{series: test MAE} of one forecaster: per series for a panel, else {"all": overall}."""
    if "per_series" in report:
        return {series: scores[name]["mae"] for series, scores in report["per_series"].items()}
    return {"all": report["models"][name]["overall"]["mae"]}


def markdown(results: dict) -> str:
    rows = ["| data set, test split | inputs | members kept | MAE / seasonal naive (geometric mean "
            "over series) | MAE / best achievable |", "|---|---|---|---:|---:|"]
    for name, found in results.items():
        for label, r in found.items():
            best = f"{r['vs_best']:.2f}" if "vs_best" in r else "–"
            rows.append(f"| {name} | {label} | {r.get('scaling', '–')} | {r['vs_seasonal_naive']:.3f} "
                        f"| {best} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
