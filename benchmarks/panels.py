"""Synthetic panels (many series in one long table) with known structure, for benchmarking one
global model over many series: what the best forecast of each series is, and how small its error
can be, is known.

Every panel is a long frame with columns `series` (text ids "s00", "s01", ...), `date` (timestamps)
and `value`, sorted by series then date, plus a `truth` frame with one row per series that says
how each was made. All series of a panel share one seasonal shape, tied to the calendar so that it
lines up across series whatever their start:

    phase j    hour of day (hourly, period 24), day of week (daily, Monday = 0, period 7) or month
               of year (monthly, January = 0, period 12)
    shape(j)   sin(2 pi j / period) + 0.5 cos(4 pi j / period); it averages 0 over one period

A seasonal series k is  value[t] = level_k + amplitude_k * shape(phase of t) + e[t],
e ~ N(0, sigma_k^2) i.i.d., with scale_k running from 1 to 1000 on a log scale (shuffled across
series), level_k = 10 scale_k, amplitude_k = 2 scale_k and sigma_k = scale_k * U(0.2, 0.6). Its
signal is deterministic, so the best forecast at any horizon is the signal itself and its expected
MAE is sigma_k * sqrt(2 / pi) at every step.

A random-walk series is  value[0] = level_k, value[t] = value[t-1] + e[t], e ~ N(0, sigma_k^2),
with no season (truth.amplitude 0; it may wander below zero). Its best forecast is the last
value, with expected MAE sigma_k * sqrt(2 h / pi) at step h.

    shared_season   30 daily (or hourly) series: ragged starts, a few ending early, two random
                    walks among the seasonal ones, and three series of only 10 rows (too short for
                    one window).
    short_seasons   200 monthly (or daily, hourly) seasonal series of only 2 to 3 seasons each:
                    too short to learn the season from one series, which is why a model is pooled
                    across them.

Everything is drawn from numpy's default_rng(seed), so the same seed gives the same panel.

    python -m benchmarks.panels                                   # writes reports/benchmark/panels/
    python -m benchmarks.panels --output-dir /tmp/panels
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
PERIODS = {"h": 24, "D": 7, "MS": 12}  # frequency -> season length in steps
START = "2022-01-01"  # the first timestamp of every panel's calendar


class Panel(NamedTuple):
    """A generated panel: `frame` (series, date, value) and `truth`, one row per series with
    columns series, kind ("seasonal" or "random-walk"), too_short, start, end, rows, scale, level,
    amplitude, sigma and best_mae (the expected MAE of the best one-step-ahead forecast)."""

    frame: pd.DataFrame
    truth: pd.DataFrame


def period(frequency: str) -> int:
    """The season length in steps: 24 hourly ("h"), 7 daily ("D"), 12 monthly ("MS")."""
    if frequency not in PERIODS:
        raise ValueError(f"frequency {frequency!r} is not one of {', '.join(PERIODS)}.")
    return PERIODS[frequency]


def phase(dates, frequency: str) -> np.ndarray:
    """(len(dates),) the position of each timestamp in its season: hour, weekday or month - 1."""
    period(frequency)
    dates = pd.DatetimeIndex(dates)
    if frequency == "h":
        return np.asarray(dates.hour)
    return np.asarray(dates.day_of_week if frequency == "D" else dates.month - 1)


def shape(dates, frequency: str) -> np.ndarray:
    """(len(dates),) the shared seasonal shape at each timestamp (averages 0 over one season)."""
    angle = 2 * np.pi * phase(dates, frequency) / period(frequency)
    return np.sin(angle) + 0.5 * np.cos(2 * angle)


def best_forecast(truth_row, last_value: float, dates, frequency: str) -> np.ndarray:
    """(len(dates),) the best forecast of one series at `dates`: its signal if seasonal, else the
    last observed value (`last_value`, ignored for a seasonal series)."""
    if truth_row["kind"] == "random-walk":
        return np.full(len(dates), float(last_value))
    return truth_row["level"] + truth_row["amplitude"] * shape(dates, frequency)


def best_mae(truth: pd.DataFrame, horizon: int) -> np.ndarray:
    """(len(truth), horizon) the expected MAE of the best forecast of each series at steps
    1 ... horizon: sigma sqrt(2 / pi) throughout for a seasonal series, sigma sqrt(2 h / pi) at
    step h for a random walk."""
    steps = np.arange(1, horizon + 1)
    growth = np.where(truth["kind"].to_numpy()[:, None] == "random-walk", np.sqrt(steps), 1.0)
    return truth["sigma"].to_numpy()[:, None] * SQRT_2_OVER_PI * growth


def _scales(rng, n_series: int) -> np.ndarray:
    """(n_series,) 1 ... 1000, evenly spaced on a log scale, in a random order."""
    return rng.permutation(np.logspace(0, 3, n_series))


def _simulate(rng, kinds, starts, ends, calendar, frequency: str, too_short=None) -> Panel:
    """Draw each series k over calendar[starts[k]:ends[k]]; see the module docstring."""
    scales = _scales(rng, len(kinds))
    too_short = np.zeros(len(kinds), dtype=bool) if too_short is None else too_short
    width = len(str(len(kinds) - 1))
    frames, rows = [], []
    for k, (kind, start, end, scale, short) in enumerate(
            zip(kinds, starts, ends, scales, too_short, strict=True)):
        dates = calendar[start:end]
        sigma = scale * rng.uniform(0.2, 0.6)
        level, amplitude = 10 * scale, (0.0 if kind == "random-walk" else 2 * scale)
        noise = rng.normal(0, sigma, len(dates))
        if kind == "random-walk":
            noise[0] = 0.0
            values = level + np.cumsum(noise)
        else:
            values = level + amplitude * shape(dates, frequency) + noise
        name = f"s{k:0{width}d}"
        frames.append(pd.DataFrame({"series": name, "date": dates, "value": values}))
        rows.append({"series": name, "kind": str(kind), "too_short": bool(short), "start": dates[0],
                     "end": dates[-1], "rows": len(dates), "scale": scale, "level": level,
                     "amplitude": amplitude, "sigma": sigma, "best_mae": sigma * SQRT_2_OVER_PI})
    return Panel(pd.concat(frames, ignore_index=True), pd.DataFrame(rows))


def shared_season(n_series: int = 30, length: int = 730, frequency: str = "D", n_random_walks: int = 2,
                  n_too_short: int = 3, short_rows: int = 10, seed: int = 0) -> Panel:
    """A ragged panel of `n_series` series on a calendar of `length` steps from 2022-01-01.

    Series start anywhere in the first half of the calendar; all end on its last step except
    n_series // 5 of the long ones, which stop 1 ... length // 10 steps early. `n_random_walks`
    series are random walks; `n_too_short` are seasonal with only `short_rows` rows, ending on the
    last step (truth.too_short). Which series is which is drawn at random. Every long series has
    at least 0.4 * length rows.
    """
    if n_random_walks + n_too_short > n_series:
        raise ValueError(f"n_random_walks + n_too_short = {n_random_walks + n_too_short} exceeds "
                         f"n_series = {n_series}; ask for more series or fewer special ones.")
    if not 0 < short_rows < length // 2:
        raise ValueError(f"short_rows = {short_rows} must be between 1 and length // 2 - 1 = "
                         f"{length // 2 - 1}.")
    period(frequency)
    rng = np.random.default_rng(seed)
    calendar = pd.date_range(START, periods=length, freq=frequency)
    role = rng.permutation(["random-walk"] * n_random_walks + ["short"] * n_too_short
                           + ["seasonal"] * (n_series - n_random_walks - n_too_short))
    starts = rng.integers(0, length // 2 + 1, n_series)
    ends = np.full(n_series, length)
    long = np.flatnonzero(role != "short")
    early = rng.choice(long, size=min(n_series // 5, len(long)), replace=False)
    ends[early] -= rng.integers(1, max(length // 10, 1) + 1, len(early))
    starts[role == "short"] = length - short_rows
    kinds = np.where(role == "random-walk", "random-walk", "seasonal")
    return _simulate(rng, kinds, starts, ends, calendar, frequency, too_short=role == "short")


def short_seasons(n_series: int = 200, seasons: tuple[int, int] = (2, 3), frequency: str = "MS",
                  seed: int = 0) -> Panel:
    """`n_series` seasonal series, each seasons[0] ... seasons[1] seasons long (rows drawn per
    series from seasons[0] * period ... seasons[1] * period: 24 to 36 months by default), all
    ending on the same step, so their starts differ. No random walks and none too short by design;
    truth.too_short is False throughout."""
    low, high = seasons
    if not 1 <= low <= high:
        raise ValueError(f"seasons = {seasons} must be (low, high) with 1 <= low <= high.")
    rng = np.random.default_rng(seed)
    season = period(frequency)
    length = high * season
    calendar = pd.date_range(START, periods=length, freq=frequency)
    starts = length - rng.integers(low * season, high * season + 1, n_series)
    kinds = np.full(n_series, "seasonal")
    return _simulate(rng, kinds, starts, np.full(n_series, length), calendar, frequency)


def write_csv(panel: Panel, folder, name: str) -> Path:
    """Write <folder>/<name>.csv (series, date, value) and <folder>/<name>-truth.csv; return the
    first path. Dates are written "YYYY-MM-DD", or "YYYY-MM-DD HH:MM" when any has a time."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dates = pd.DatetimeIndex(panel.frame["date"])
    date_format = "%Y-%m-%d" if (dates == dates.normalize()).all() else "%Y-%m-%d %H:%M"
    path = folder / f"{name}.csv"
    panel.frame.to_csv(path, index=False, date_format=date_format, float_format="%.6f")
    panel.truth.to_csv(folder / f"{name}-truth.csv", index=False, date_format=date_format,
                       float_format="%.6f")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.panels",
        description="Write the benchmark's generated panels (long CSV: series, date, value) and, "
                    "beside each, the truth of every series (its kind, level, scale and noise).")
    parser.add_argument("--output-dir", dest="output_dir", default="reports/benchmark/panels",
                        help="where the CSV files go (default reports/benchmark/panels)")
    args = parser.parse_args(argv)
    for name, panel in {"shared-season": shared_season(), "short-seasons": short_seasons()}.items():
        print(f"{name}: {write_csv(panel, args.output_dir, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
