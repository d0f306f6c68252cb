"""Do the attributions of `forecaster explain` point where the structure of the data says they
should? `python -m benchmarks.explain`.

Three generated series whose forecast rests on known cells, each trained twice: with the default
settings (which may keep a ridge or a baseline alone) and as the classic LSTM alone (`--scaling
global`, so that the attributions are an LSTM's); the forecast from 20 origins spread over the test split is taken apart, and for each
horizon step we measure the share of the absolute attributions that falls on the cells the best
forecast reads:

    ar1         y' = 0.9 y + noise around a level: the best forecast of every step is a function
                of the last value alone -> the last row
    weekly      each weekday its own level, a random walk that steps once a week, plus noise:
                the best forecast of a day is its weekday's latest level, read from the last
                values on that weekday -> the rows of the window on the same weekday
    promotions  a level plus a lift on promotion days (one day in five, drawn at random, known
                ahead: `--future promo`), plus noise: the best forecast of a day is the level plus
                that day's lift -> that day's promotion, among the promotions of the steps
                forecast (its share of their attributions)

Also: the largest gap between the sum of the attributions and the forecast minus the flat
history's forecast (relative to that difference), and the seconds per explanation (the NumPy
engine, 8,192 forecasts). Prints a markdown table; writes it and the numbers to
<output-dir>/explain.md and explain.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

DAYS = 1200
ORIGINS = 20
DATA_SETS = ("ar1", "weekly", "promotions")
VARIANTS = {"default": [], "LSTM alone": ["--scaling", "global"]}


def generated(name: str, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """(the series as a table day, value[, promo], the extra train flags)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", periods=DAYS, freq="D")
    if name == "ar1":
        value = np.empty(DAYS)
        value[0] = 0.0
        for t in range(1, DAYS):
            value[t] = 0.9 * value[t - 1] + rng.normal(0, 1)
        return pd.DataFrame({"day": days, "value": (100 + 5 * value).round(3)}), []
    if name == "weekly":  # each weekday its own level, a random walk stepping once a week
        levels = 100 + np.cumsum(rng.normal(0, 3, (DAYS // 7 + 2, 7)), axis=0)
        weeks = (days - days[0]).days // 7
        value = levels[weeks, days.day_of_week] + rng.normal(0, 1, DAYS)
        return pd.DataFrame({"day": days, "value": value.round(3)}), []
    promo = (rng.random(DAYS) < 0.2).astype(float)
    value = 100 + 30 * promo + rng.normal(0, 2, DAYS)
    return (pd.DataFrame({"day": days, "value": value.round(3), "promo": promo}),
            ["--future", "promo"])


def shares(name: str, explanation) -> float:
    """The mean over horizon steps of the share of absolute attributions on the expected cells."""
    values = np.abs(explanation.attributions[:, :, 0])  # (horizon, rows) of the target column
    horizon, rows = values.shape
    found = []
    for h in range(horizon):
        if name == "ar1":
            whole = np.abs(explanation.attributions[h]).sum()
            found.append(values[h, -1] / whole if whole else np.nan)
        elif name == "weekly":
            day = explanation.forecast_times[h].day_of_week
            same = np.array([t.day_of_week == day for t in explanation.times])
            whole = np.abs(explanation.attributions[h]).sum()
            found.append(values[h, same].sum() / whole if whole else np.nan)
        else:
            ahead = np.abs(explanation.ahead_attributions[h, :, 0])
            found.append(ahead[h] / ahead.sum() if ahead.sum() else np.nan)
    return float(np.nanmean(found))


def run(name: str, variant: str, folder: Path, epochs: int | None) -> dict:
    from forecaster.artifacts import load_bundle
    from forecaster.cli import main
    from forecaster.data import read_panel
    from forecaster.explanation import explain_panel

    frame, flags = generated(name)
    csv = folder / f"{name}.csv"
    frame.to_csv(csv, index=False)
    model_dir = folder / f"model-{name}-{variant.replace(' ', '-')}"
    extra = [*VARIANTS[variant], *(["--epochs", str(epochs)] if epochs else [])]
    if main(["train", "--csv", str(csv), "--target", "value", "--model-dir", str(model_dir),
             *flags, *extra]) != 0:
        raise SystemExit(f"training on {name} failed")
    model = load_bundle(model_dir)
    panel = read_panel(csv, schema=model.schema_)
    length = int(panel.lengths[0])
    test_start = int(length * 0.85)
    origins = np.linspace(test_start, length - model.horizon, ORIGINS).round().astype(int)
    found, gaps, seconds = [], [], []
    for origin in origins:
        start = time.perf_counter()
        explanation = explain_panel(model, panel, 0, int(origin))
        seconds.append(time.perf_counter() - start)
        found.append(shares(name, explanation))
        change = explanation.forecast - explanation.baseline_forecast
        gaps.append(float(np.max(np.abs(explanation.total() - change) / np.maximum(np.abs(change), 1e-12))))
    return {"data": name, "variant": variant, "members": model.scaling, "time_steps": model.settings_.time_steps,
            "horizon": model.horizon, "share": float(np.mean(found)), "share_low": float(np.min(found)),
            "largest_gap": float(np.max(gaps)), "seconds": float(np.median(seconds)),
            "permutations": explanation.permutations}


def table(results: list[dict]) -> str:
    lines = ["| data | expected cells | settings | members | share of \\|attributions\\| on them "
             "(mean; lowest origin) | largest gap in the sum | seconds per explanation |",
             "|---|---|---|---|---:|---:|---:|"]
    expected = {"ar1": "the last row", "weekly": "rows of the same weekday",
                "promotions": "the step's own promotion, among those ahead"}
    for r in results:
        lines.append(f"| {r['data']} | {expected[r['data']]} | {r['variant']} | {r['members']} | "
                     f"{r['share']:.2f}; {r['share_low']:.2f} | {r['largest_gap']:.1e} | "
                     f"{r['seconds']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="reports/benchmark-explain")
    parser.add_argument("--epochs", type=int, help="most epochs per network (default: train's)")
    parser.add_argument("--only", choices=DATA_SETS, nargs="+", default=list(DATA_SETS))
    args = parser.parse_args(argv)
    folder = Path(args.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    results = [run(name, variant, folder, args.epochs) for name in args.only for variant in VARIANTS]
    text = table(results)
    print(text)
    (folder / "explain.md").write_text(text + "\n")
    (folder / "explain.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
