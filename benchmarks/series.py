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

    daily-weekly  hourly: a daily profile that differs between weekdays and weekends (so the
                  168-hour week is a real cycle) plus AR(1) noise u[t] = 0.7 u[t-1] + e[t]. From
                  origin o the best forecast of step h is the profile plus the noise's decay,
                  signal[o+h-1] + 0.7^h (y[o-1] - signal[o-1]); its expected MAE at step h is
                  sigma * sqrt((1 - 0.7^(2h)) / (1 - 0.7^2)) * sqrt(2 / pi).
    trend-multiplicative  monthly: (level + slope t) * a fixed 12-month pattern * (1 + e[t]): the
                  seasonal swing and the noise grow with the level. The best forecast under
                  absolute error is the signal (the median); its expected MAE at row t is
                  signal[t] * sigma * sqrt(2 / pi), which grows along the series, so the best MAE
                  at step h is the mean of that over the rows scored at step h (the test split's,
                  when the origins are not given).
    quasi-cycle   yearly, 1700 to 1989: a stationary AR(2) around 50 whose complex roots make an
                  irregular cycle of about 11 years, like the sunspots. The best forecast is the
                  AR(2) conditional mean, by recursion from the last two values; its expected MAE
                  at step h is sigma * sqrt(psi_0^2 + ... + psi_(h-1)^2) * sqrt(2 / pi), with psi
                  the AR(2)'s moving-average weights.

Each best forecast and its expected MAE is in closed form, the threshold autoregression's after its
first step aside (simulated). The benchmark scores each series at the horizon its model was
trained with, whatever that is; `best_mae(horizon, origins)` works for any horizon.

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
TEST_SHARE = 0.15  # the share of rows `best_mae` averages over when no origins are given


class Synthetic:
    """One generated series: a time column and one value column, with its best forecast."""

    name: str
    column: str  # the value column's name
    time_column = "date"
    frequency: str  # "h" hourly, "D" daily, "MS" monthly (month starts), "YS" yearly
    start: str  # the first timestamp
    rows: int
    seed: int
    sigma: float  # standard deviation of the Gaussian noise (of each step, for the random walk)
    horizon: int  # the horizon series.json describes (one season, or one cycle of yearly data);
    #               the benchmark scores at the horizon the trained model used instead
    formula: str

    def values(self) -> np.ndarray:
        """(rows,) the series, the same on every call."""
        raise NotImplementedError

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        """(len(origins), horizon) the best forecast of rows o ... o + horizon - 1 from rows before
        each origin o (the true model's conditional mean, or median where they differ)."""
        raise NotImplementedError

    def best_mae(self, horizon: int, origins=None) -> list[float]:
        """The expected MAE of the best forecast at each step 1 ... horizon, over the forecasts
        from `origins` (rows of the first step; default: every origin whose steps lie in the
        last TEST_SHARE of the rows). Only a series whose noise grows with its level reads them."""
        raise NotImplementedError

    def exact_steps(self, horizon: int) -> int:
        """How many of the leading steps of `best_mae` are exact (the rest are Monte Carlo)."""
        return horizon

    def default_origins(self, horizon: int) -> np.ndarray:
        """(origins,) the forecasts whose steps all lie in the last TEST_SHARE of the rows."""
        first = self.rows - int(round(self.rows * TEST_SHARE))
        return np.arange(first, self.rows - horizon + 1)

    def times(self) -> list[str]:
        """The time column: "2021-01-01 00:00" for hourly rows, "2015-01-01" for daily ones and
        month starts, "1700" for years."""
        if self.frequency in ("h", "D"):
            stamps = np.datetime64(self.start, "m") + np.arange(self.rows) * np.timedelta64(1, self.frequency)
            text = np.datetime_as_string(stamps, unit="m")
            return [t.replace("T", " ") if self.frequency == "h" else t[:10] for t in text]
        unit = {"MS": "M", "YS": "Y"}[self.frequency]
        text = np.datetime_as_string(np.datetime64(self.start, unit) + np.arange(self.rows), unit=unit)
        return [f"{t}-01" for t in text] if unit == "M" else list(text)

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

    def best_mae(self, horizon: int, origins=None) -> list[float]:
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

    def best_mae(self, horizon: int, origins=None) -> list[float]:
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

    def best_mae(self, horizon: int, origins=None) -> list[float]:
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


class DailyWeekly(Synthetic):
    name, column, frequency, start = "daily-weekly", "demand", "h", "2021-01-04 00:00"  # a Monday
    rows, seed, sigma, horizon = 3360, 13, 1.0, 24  # 20 weeks of hours
    phi = 0.7  # the noise's AR(1) coefficient
    # (level, amplitude, hour of the peak): weekdays, then Saturday and Sunday
    weekday, weekend = (100.0, 20.0, 14), (85.0, 8.0, 17)
    formula = ("100 + 20 cos(2 pi (hour - 14) / 24) Monday to Friday, 85 + 8 cos(2 pi (hour - 17) / 24) "
               "Saturday and Sunday, plus u[t] = 0.7 u[t-1] + e[t], e ~ N(0, 1) i.i.d. (u stationary "
               "from the first row); t in hours from Monday 2021-01-04 00:00")

    def signal(self, rows) -> np.ndarray:
        t = np.arange(rows)
        hour, weekend = t % 24, (t // 24) % 7 >= 5
        level, amplitude, peak = (np.where(weekend, b, a) for a, b in zip(self.weekday, self.weekend,
                                                                          strict=True))
        return level + amplitude * np.cos(2 * np.pi * (hour - peak) / 24)

    def values(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        noise = rng.normal(0, self.sigma, self.rows)
        noise[0] /= math.sqrt(1 - self.phi**2)  # the stationary spread, so row 0 is like any other
        for t in range(1, self.rows):
            noise[t] += self.phi * noise[t - 1]
        return self.signal(self.rows) + noise

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        origins = np.asarray(origins)
        rows = origins[:, None] + np.arange(horizon)[None, :]
        signal = self.signal(max(rows.max(), origins.max()) + 1)
        last = np.asarray(values, dtype="float64")[origins - 1] - signal[origins - 1]
        return signal[rows] + self.phi ** np.arange(1, horizon + 1)[None, :] * last[:, None]

    def best_mae(self, horizon: int, origins=None) -> list[float]:
        return [self.sigma * math.sqrt((1 - self.phi ** (2 * h)) / (1 - self.phi**2)) * SQRT_2_OVER_PI
                for h in range(1, horizon + 1)]


class TrendMultiplicative(Synthetic):
    name, column, frequency, start = "trend-multiplicative", "sales", "MS", "2010-01-01"
    rows, seed, sigma, horizon = 144, 17, 0.03, 12  # 12 years of months
    level, slope = 100.0, 0.5
    factors = (0.85, 0.82, 0.90, 0.97, 1.03, 1.12, 1.20, 1.18, 1.06, 0.98, 0.92, 0.97)  # Jan ... Dec
    formula = ("(100 + 0.5 t) * s[t mod 12] * (1 + e[t]), s = (0.85, 0.82, 0.90, 0.97, 1.03, 1.12, "
               "1.20, 1.18, 1.06, 0.98, 0.92, 0.97) for January to December (mean 1), "
               "e ~ N(0, 0.03^2) i.i.d., t in months from 2010-01")

    def signal(self, rows) -> np.ndarray:
        t = np.arange(rows)
        return (self.level + self.slope * t) * np.asarray(self.factors)[t % 12]

    def values(self) -> np.ndarray:
        noise = np.random.default_rng(self.seed).normal(0, self.sigma, self.rows)
        return self.signal(self.rows) * (1 + noise)

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        rows = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
        return self.signal(rows.max() + 1)[rows]

    def best_mae(self, horizon: int, origins=None) -> list[float]:
        """Step h: the mean over the origins o of signal[o + h - 1] * sigma * sqrt(2 / pi), the
        expected absolute error of the median at each row scored at that step."""
        origins = self.default_origins(horizon) if origins is None else np.asarray(origins)
        rows = origins[:, None] + np.arange(horizon)[None, :]
        scale = self.signal(rows.max() + 1)[rows] * self.sigma * SQRT_2_OVER_PI
        return [float(x) for x in scale.mean(axis=0)]

    def fitted_forecast(self, values, origins, horizon: int, fit_end: int) -> np.ndarray:
        """The true form fitted on rows before `fit_end`: (a + b t) * s[t mod 12] by alternating
        least squares (the level and slope given the factors, the factors given the level), each
        forecast the fitted signal at its rows."""
        y = np.asarray(values, dtype="float64")[:fit_end]
        t = np.arange(fit_end)
        factors = np.ones(12)
        for _ in range(100):
            design = np.column_stack([np.ones(fit_end), t]) * factors[t % 12][:, None]
            level, slope = np.linalg.lstsq(design, y, rcond=None)[0]
            trend = level + slope * t
            factors = np.array([np.sum((y * trend)[t % 12 == m]) / np.sum((trend**2)[t % 12 == m])
                                for m in range(12)])
        rows = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
        return (level + slope * rows) * factors[rows % 12]


class QuasiCycle(Synthetic):
    name, column, frequency, start = "quasi-cycle", "count", "YS", "1700"
    time_column = "year"
    # 1700 to 1989 (pandas 2's nanosecond timestamps cannot subtract two more than 292 years apart);
    # series.json describes one cycle ahead
    rows, seed, sigma, horizon = 290, 19, 4.0, 11
    mean, radius, period = 50.0, 0.9, 11
    burn_in = 300  # steps simulated and dropped before the first row, so row 0 is stationary
    formula = ("y[t] = 50 + x[t], x[t] = 2 r cos(2 pi / 11) x[t-1] - r^2 x[t-2] + e[t] with r = 0.9 "
               "(phi1 = 1.514, phi2 = -0.81: a cycle of about 11 steps), e ~ N(0, 4^2) i.i.d., "
               "t in years from 1700")

    @property
    def phi(self) -> tuple[float, float]:
        return 2 * self.radius * math.cos(2 * math.pi / self.period), -self.radius**2

    def values(self) -> np.ndarray:
        phi1, phi2 = self.phi
        noise = np.random.default_rng(self.seed).normal(0, self.sigma, self.rows + self.burn_in)
        x = np.zeros(len(noise))
        for t in range(2, len(x)):
            x[t] = phi1 * x[t - 1] + phi2 * x[t - 2] + noise[t]
        return self.mean + x[self.burn_in:]

    def best_forecast(self, values, origins, horizon: int) -> np.ndarray:
        """The conditional mean: x[o-1] and x[o-2] known, each later x its AR(2) mean."""
        phi1, phi2 = self.phi
        x = np.asarray(values, dtype="float64") - self.mean
        return self.mean + _ar2_recursion(x, origins, horizon, phi1, phi2, 0.0)

    def psi(self, count: int) -> list[float]:
        """The first `count` moving-average weights: psi_0 = 1, psi_1 = phi1,
        psi_j = phi1 psi_(j-1) + phi2 psi_(j-2)."""
        phi1, phi2 = self.phi
        weights = [1.0, phi1]
        while len(weights) < count:
            weights.append(phi1 * weights[-1] + phi2 * weights[-2])
        return weights[:count]

    def best_mae(self, horizon: int, origins=None) -> list[float]:
        squares = np.cumsum(np.square(self.psi(horizon)))
        return [float(self.sigma * math.sqrt(total) * SQRT_2_OVER_PI) for total in squares]

    def fitted_forecast(self, values, origins, horizon: int, fit_end: int) -> np.ndarray:
        """The true form fitted on rows before `fit_end`: an AR(2) with an intercept by least
        squares, forecast by recursion from the last two values before each origin."""
        y = np.asarray(values, dtype="float64")
        design = np.column_stack([y[1:fit_end - 1], y[:fit_end - 2], np.ones(fit_end - 2)])
        phi1, phi2, constant = np.linalg.lstsq(design, y[2:fit_end], rcond=None)[0]
        return _ar2_recursion(y, origins, horizon, phi1, phi2, constant)


def _ar2_recursion(y, origins, horizon: int, phi1: float, phi2: float, constant: float) -> np.ndarray:
    """(len(origins), horizon) an AR(2)'s forecasts by recursion from y[o-2] and y[o-1]:
    each step constant + phi1 * previous + phi2 * the one before."""
    origins = np.asarray(origins)
    before, last = y[origins - 2], y[origins - 1]
    forecast = np.empty((len(origins), horizon))
    for step in range(horizon):
        before, last = last, constant + phi1 * last + phi2 * before
        forecast[:, step] = last
    return forecast


GENERATED = (TrendSeason(), RandomWalk(), ThresholdAR(), DailyWeekly(), TrendMultiplicative(),
             QuasiCycle())


def by_name(name: str) -> Synthetic:
    for series in GENERATED:
        if series.name == name:
            return series
    raise ValueError(f"no generated series is called {name!r}; the generated series are "
                     f"{', '.join(s.name for s in GENERATED)}.")


def write_csv(series: Synthetic, folder) -> Path:
    """Write `series` to <folder>/<name>.csv (its time column and its value column); return the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{series.name}.csv"
    lines = [f"{series.time_column},{series.column}"]
    lines += [f"{time},{value:.6f}" for time, value in zip(series.times(), series.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_all(folder, names=None) -> dict[str, Path]:
    """Write the generated series (all, or those in `names`) and series.json, which describes each
    and records its best achievable MAE at the horizon it names (over the last TEST_SHARE of the
    rows). Returns name -> CSV path."""
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
