"""Synthetic series with known structure, for the benchmark: what the best possible forecast is,
and how small its error can be, is known for each.

    trend-season  hourly: level + slope * t + a 24-hour sine + Gaussian noise (sigma known). The
                  trend is steep enough that every value of the test split exceeds every value of
                  the training split. The signal is deterministic, so the best forecast is the
                  signal itself and its expected MAE at every step is sigma * sqrt(2 / pi).
    random-walk   daily: the running sum of Gaussian steps (sigma known), like a price. The best
                  forecast is the last value (naive); its expected MAE at step h is
                  sigma * sqrt(2 h / pi).
    nonlinear-ar  daily: a two-regime threshold autoregression (SETAR) with Gaussian noise,
                  y[t] = 1 + 0.8 y[t-1] + e[t] if y[t-1] <= 0, else -1 - 0.5 y[t-1] + e[t].
                  Both slopes are under 1 in size, so it is stationary; a linear model of the
                  last 21 values has about 1.7 times the best one-step MAE. One step ahead the
                  best forecast is the conditional mean, with MAE sigma * sqrt(2 / pi) exactly;
                  further ahead the best forecast under absolute error is the conditional median
                  of the simulated future, and its MAE is estimated by Monte Carlo.

Everything is drawn from fixed seeds with numpy alone, so the files are the same on every run.

    python -m benchmarks.series                                   # writes reports/benchmark/series/
    python -m benchmarks.series --output-dir /tmp/series
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from pathlib import Path

import numpy as np

from forecaster.models import naive_forecast

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class Synthetic:
    """One generated series: a `date` column and one value column, with its best forecast."""

    name: str
    column: str  # the value column's name
    frequency: str  # "h" hourly, "D" daily
    start: str  # the first timestamp
    rows: int
    seed: int
    sigma: float  # standard deviation of the Gaussian noise (of each step, for the random walk)
    horizon: int  # the product's default horizon at this frequency (one season: 24 hourly, 7 daily)
    formula: str

    def values(self) -> np.ndarray:
        """(rows,) the series, the same on every call."""
        raise NotImplementedError

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        """(len(origins), horizon) the best forecast of rows o ... o + horizon - 1 from rows before
        each origin o (the true model's conditional mean, or median where they differ)."""
        raise NotImplementedError

    def best_mae(self, horizon: int) -> list[float]:
        """The expected MAE of the best forecast at each step 1 ... horizon."""
        raise NotImplementedError

    def exact_steps(self, horizon: int) -> int:
        """How many of the leading steps of `best_mae` are exact (the rest are Monte Carlo)."""
        return horizon

    def times(self) -> list[str]:
        """The `date` column: "2021-01-01 00:00" for hourly rows, "2015-01-01" for daily ones."""
        stamps = np.datetime64(self.start, "m") + np.arange(self.rows) * np.timedelta64(1, self.frequency)
        text = np.datetime_as_string(stamps, unit="m")
        return [t.replace("T", " ") if self.frequency == "h" else t[:10] for t in text]

    def describe(self) -> dict:
        best = self.best_mae(self.horizon)
        return {
            "name": self.name, "column": self.column, "frequency": self.frequency,
            "rows": self.rows, "seed": self.seed, "sigma": self.sigma, "formula": self.formula,
            "horizon": self.horizon, "best_mae_per_step": best, "best_mae": float(np.mean(best)),
            "exact_steps": self.exact_steps(self.horizon),
        }


class TrendSeason(Synthetic):
    name, column, frequency, start = "trend-season", "load", "h", "2021-01-01 00:00"
    rows, seed, sigma, horizon = 2400, 7, 0.5, 24
    level, slope, amplitude, period = 20.0, 0.04, 3.0, 24
    formula = "20 + 0.04 t + 3 sin(2 pi t / 24) + e[t], e ~ N(0, 0.5^2) i.i.d., t = 0, 1, ... hours"

    def signal(self, rows) -> np.ndarray:
        t = np.arange(rows, dtype="float64")
        return self.level + self.slope * t + self.amplitude * np.sin(2 * np.pi * t / self.period)

    def values(self) -> np.ndarray:
        noise = np.random.default_rng(self.seed).normal(0, self.sigma, self.rows)
        return self.signal(self.rows) + noise

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        rows = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
        return self.signal(rows.max() + 1)[rows]

    def best_mae(self, horizon: int) -> list[float]:
        return [self.sigma * SQRT_2_OVER_PI] * horizon


class RandomWalk(Synthetic):
    name, column, frequency, start = "random-walk", "price", "D", "2015-01-01"
    rows, seed, sigma, horizon = 2500, 11, 1.0, 7
    formula = "y[0] = 100, y[t] = y[t-1] + e[t], e ~ N(0, 1) i.i.d., t in days"

    def values(self) -> np.ndarray:
        steps = np.random.default_rng(self.seed).normal(0, self.sigma, self.rows)
        steps[0] = 0.0
        return 100.0 + np.cumsum(steps)

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        return naive_forecast(values, origins, horizon)

    def best_mae(self, horizon: int) -> list[float]:
        return [self.sigma * math.sqrt(2 * h / math.pi) for h in range(1, horizon + 1)]


class ThresholdAR(Synthetic):
    name, column, frequency, start = "nonlinear-ar", "value", "D", "2015-01-01"
    rows, seed, sigma, horizon = 2500, 5, 0.5, 7
    formula = ("y[t] = 1 + 0.8 y[t-1] + e[t] if y[t-1] <= 0, else -1 - 0.5 y[t-1] + e[t]; "
               "e ~ N(0, 0.5^2) i.i.d., t in days")
    burn_in = 200  # steps simulated and dropped before the first row, so row 0 is stationary
    paths = 2000  # Monte Carlo futures per starting value, for the steps after the first
    monte_carlo_seed = 1

    @staticmethod
    def mean_next(previous) -> np.ndarray:
        """The conditional mean of y[t] given y[t-1]."""
        previous = np.asarray(previous, dtype="float64")
        return np.where(previous <= 0, 1 + 0.8 * previous, -1 - 0.5 * previous)

    def values(self) -> np.ndarray:
        noise = np.random.default_rng(self.seed).normal(0, self.sigma, self.rows + self.burn_in)
        values = np.zeros(self.rows + self.burn_in)
        for t in range(1, len(values)):
            values[t] = self.mean_next(values[t - 1]) + noise[t]
        return values[self.burn_in:]

    def simulate(self, last, steps: int, rng) -> np.ndarray:
        """(len(last), paths, steps) futures simulated from each last value."""
        last = np.asarray(last, dtype="float64")
        paths = np.empty((len(last), self.paths, steps))
        current = np.repeat(last[:, None], self.paths, axis=1)
        for step in range(steps):
            current = self.mean_next(current) + rng.normal(0, self.sigma, current.shape)
            paths[:, :, step] = current
        return paths

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        last = np.asarray(values, dtype="float64")[np.asarray(origins) - 1]
        forecast = np.median(self.simulate(last, horizon, np.random.default_rng(self.monte_carlo_seed)),
                             axis=1)
        forecast[:, 0] = self.mean_next(last)  # exact: the conditional mean is the median
        return forecast

    def best_mae(self, horizon: int) -> list[float]:
        """Step 1 exact; later steps by Monte Carlo from 1,000 starting values drawn from a long
        run of the model (its stationary distribution), 2,000 futures each."""
        return list(_monte_carlo_mae(self, horizon))

    def long_run(self, rng) -> np.ndarray:
        """50,000 consecutive values of the model, after its burn-in."""
        values = np.zeros(50_000 + self.burn_in)
        noise = rng.normal(0, self.sigma, len(values))
        for t in range(1, len(values)):
            values[t] = self.mean_next(values[t - 1]) + noise[t]
        return values[self.burn_in:]

    def exact_steps(self, horizon: int) -> int:
        return 1


@functools.cache  # ~3 s, asked for once per variant; the same numbers every time (fixed seed)
def _monte_carlo_mae(model: ThresholdAR, horizon: int) -> tuple[float, ...]:
    rng = np.random.default_rng(model.monte_carlo_seed)
    starts = model.long_run(rng)[::50]
    paths = model.simulate(starts, horizon, rng)
    median = np.median(paths, axis=1, keepdims=True)
    later = np.mean(np.abs(paths - median), axis=(0, 1))
    return (model.sigma * SQRT_2_OVER_PI, *(float(x) for x in later[1:]))


GENERATED = (TrendSeason(), RandomWalk(), ThresholdAR())


def by_name(name: str) -> Synthetic:
    for series in GENERATED:
        if series.name == name:
            return series
    raise ValueError(f"no generated series is called {name!r}; the generated series are "
                     f"{', '.join(s.name for s in GENERATED)}.")


def write_csv(series: Synthetic, folder) -> Path:
    """Write `series` to <folder>/<name>.csv (columns `date` and its value column); return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{series.name}.csv"
    lines = [f"date,{series.column}"]
    lines += [f"{time},{value:.6f}" for time, value in zip(series.times(), series.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_all(folder, names=None) -> dict[str, Path]:
    """Write the generated series (all, or those in `names`) and series.json, which describes each
    and records its best achievable MAE at its default horizon. Returns name -> CSV path."""
    folder = Path(folder)
    chosen = [s for s in GENERATED if names is None or s.name in names]
    paths = {series.name: write_csv(series, folder) for series in chosen}
    description = {series.name: {**series.describe(), "csv": paths[series.name].name} for series in chosen}
    (folder / "series.json").write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.series",
        description="Write the benchmark's generated series (CSV) and series.json, which records "
                    "each one's formula and best achievable MAE.")
    parser.add_argument("--output-dir", dest="output_dir", default="reports/benchmark/series",
                        help="where the CSV files go (default reports/benchmark/series)")
    args = parser.parse_args(argv)
    for name, path in write_all(args.output_dir).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
