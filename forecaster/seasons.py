"""Seasonal periods found in the training rows: which cycles the data really holds.

The frequency only suggests candidates (hourly: a day of 24 steps and a week of 168; half-hourly 48
and 336; daily 7 and 365; weekly 52; monthly 12; quarterly 4); the training split decides which are
real. A candidate is tested only where the training rows hold at least `MIN_CYCLES` of it.

- The shortest real period: the autocorrelation of the series' first differences at that lag is at
  least `MIN_AUTOCORRELATION` (differences, so that a trend does not pass for a cycle; a random walk
  or daily weather with no weekly rhythm has none).
- A longer one (a week besides a day): also real by that test, and seasonal naive at its lag errs
  at most `LONGER_GAIN` times as much as at the best period kept so far (the week must tell
  something the day does not: a weekday/weekend difference does, a smooth drift does not).
- Too short to test the calendar season of the frequency (fewer than `MIN_CYCLES` years of
  monthly data): that season is kept untested, as the frequency suggests it.
- Data with no calendar cycle (yearly): a long, irregular cycle, such as the ~11-year sunspot
  cycle, is the first peak of the differences' autocorrelation after a trough at most
  -`MIN_AUTOCORRELATION` (an oscillation), when that peak is at least `MIN_CYCLE_PEAK`.

With many series, each series is measured on its own and the median across series decides, so
that every series counts alike. The primary period (`Seasons.season`) is the kept one whose
seasonal naive errs least: the seasonal-naive baseline's lag and the `change` representation's
reference. MASE keeps its own, fixed scale: the calendar season of the frequency (see
`mase_season`), whatever the data shows, so that scores stay comparable between models and runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.tseries import offsets

from forecaster.data import season_length

MIN_CYCLES = 3  # cycles of a period the training rows must hold for it to be tested
MIN_AUTOCORRELATION = 0.2  # of the first differences at the period's lag
LONGER_GAIN = 0.9  # a longer period's seasonal-naive MAE, at most this share of the best kept one's
MIN_CYCLE_PEAK = 0.1  # the autocorrelation at a long cycle's peak, after a trough of -0.2
LONGEST_CYCLE = 60  # steps: the longest irregular cycle looked for in data with no calendar cycle
MOST_SERIES = 1000  # series measured at most (evenly spread over the panel); the rest are alike
MOST_ROWS = 50_000  # each series' last training rows measured at most


@dataclass(frozen=True)
class Seasons:
    """What was found: the periods kept (ascending), the primary one, and the evidence."""

    periods: tuple[int, ...]  # the real periods, ascending; () when none
    season: int  # the primary period (1 when none): seasonal naive's lag
    evidence: dict = field(default_factory=dict)  # period -> {"autocorrelation", "relative_mae"}
    cycle: bool = False  # the period is an irregular cycle found by search, not a calendar one

    def describe(self) -> str:
        """'24 and 168 steps (kept: 168)', 'none', 'an irregular cycle of about 11 steps'."""
        if not self.periods:
            return "none found"
        if self.evidence.get(self.season, {}).get("untested"):
            return f"{self.season} steps (the frequency's; too few cycles to test)"
        if self.cycle:
            return f"an irregular cycle of about {self.season} steps"
        names = " and ".join(str(p) for p in self.periods)
        more = f"; seasonal naive at {self.season}" if len(self.periods) > 1 else ""
        return f"{names} steps{more}"

    def to_dict(self) -> dict:
        return {"periods": list(self.periods), "season": self.season, "cycle": self.cycle,
                "evidence": {str(k): v for k, v in self.evidence.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> Seasons:
        return cls(tuple(int(p) for p in values["periods"]), int(values["season"]),
                   {int(k): v for k, v in values.get("evidence", {}).items()},
                   bool(values.get("cycle", False)))


def candidate_periods(frequency: str) -> tuple[int, ...]:
    """The calendar periods worth testing at a frequency, ascending: a day and a week of sub-daily
    steps, a week and a year of days, a year of weeks, months or quarters; () for yearly data."""
    offset = pd.tseries.frequencies.to_offset(frequency)
    if isinstance(offset, offsets.Day):
        return tuple(p for p in (7 // offset.n, 365 // offset.n) if p >= 2)
    if isinstance(offset, offsets.BusinessDay):
        return tuple(p for p in (5 // offset.n, 261 // offset.n) if p >= 2)
    if isinstance(offset, offsets.Tick) and pd.Timedelta(offset) < pd.Timedelta("1D"):
        step = pd.Timedelta(offset)
        cycles = (["1h"] if step <= pd.Timedelta("5min") else []) + ["1D", "7D"]
        return tuple(int(p) for p in (pd.Timedelta(c) // step for c in cycles) if p >= 2)
    season = season_length(frequency)
    return (season,) if season >= 2 else ()


def mase_season(frequency: str) -> int:
    """MASE's season: the calendar season of the frequency (24 hourly, 7 daily, 52 weekly,
    12 monthly, 4 quarterly, 1 yearly), fixed whatever periods the data shows."""
    return season_length(frequency)


def find_seasons(series, frequency: str, share=None) -> Seasons:
    """The real periods of `series`, a list of 1-D arrays (each series' training values in order,
    missing values filled), at `frequency`. With `share` (`forecaster.sharing.Share`), `series`
    are this worker's, and what is measured on them is gathered from every worker: the periods
    found are those one process finds on all the series."""
    gather = (lambda value: [value]) if share is None else share.gather
    total = len(series) if share is None else share.total
    positions = np.arange(len(series)) if share is None else share.positions
    measured_series = np.arange(total)
    if total > MOST_SERIES:
        measured_series = np.linspace(0, total - 1, MOST_SERIES).round().astype(int)
    series = [np.asarray(series[k], dtype="float64")[-MOST_ROWS:]
              for k in np.flatnonzero(np.isin(positions, measured_series))]
    longest = max(gather(max((len(values) for values in series), default=0)))
    count = int(sum(gather(len(series))))
    candidates = [p for p in candidate_periods(frequency) if MIN_CYCLES * p < longest]
    local = {period: [_measure(values, period) for values in series if MIN_CYCLES * period < len(values)]
             for period in candidates}
    found = gather(local)
    kept, evidence = [], {}
    best_mae = None
    for period in candidates:
        measured = [m for part in found for m in part[period]]
        if not measured:
            continue
        correlation = float(np.median([m[0] for m in measured]))
        relative = float(np.median([m[1] for m in measured]))  # seasonal-naive MAE / naive MAE
        evidence[period] = {"autocorrelation": round(correlation, 3), "relative_mae": round(relative, 3)}
        if correlation < MIN_AUTOCORRELATION:
            continue
        if best_mae is not None and relative > LONGER_GAIN * best_mae:
            continue
        kept.append(period)
        best_mae = relative if best_mae is None else min(best_mae, relative)
    if kept:
        primary = min(kept, key=lambda p: evidence[p]["relative_mae"])
        return Seasons(tuple(kept), primary, evidence)
    calendar = season_length(frequency)
    if calendar >= 2 and calendar not in evidence and calendar < longest:
        # Too few cycles to test it: a short file keeps the season its frequency suggests.
        return Seasons((calendar,), calendar, {calendar: {"untested": True}})
    if not candidate_periods(frequency):
        cycles = [found for part in gather([_cycle(values) for values in series])
                  for found in part if found]
        if cycles and len(cycles) * 2 > count:  # most series oscillate
            period = int(round(float(np.median(cycles))))
            return Seasons((period,), period, {period: {"series_with_cycle": len(cycles)}}, cycle=True)
    return Seasons((), 1, evidence)


def _measure(values: np.ndarray, period: int) -> tuple[float, float]:
    """(autocorrelation of the first differences at `period`, in-sample seasonal-naive MAE at
    `period` over naive's) for one series."""
    differences = np.diff(values)
    correlation = _autocorrelation(differences, [period])[0]
    naive = float(np.mean(np.abs(differences)))
    seasonal = float(np.mean(np.abs(values[period:] - values[:-period])))
    return correlation, seasonal / naive if naive > 0 else (1.0 if seasonal == 0 else np.inf)


def _cycle(values: np.ndarray) -> int | None:
    """The length of an irregular cycle in one series, or None: the first peak (at least
    MIN_CYCLE_PEAK) of its differences' autocorrelation after a trough of at most
    -MIN_AUTOCORRELATION, among lags up to a third of the series and LONGEST_CYCLE."""
    most = min(LONGEST_CYCLE, (len(values) - 1) // MIN_CYCLES)
    if most < 4:
        return None
    correlation = _autocorrelation(np.diff(values), range(1, most + 1))
    trough = None
    for lag in range(2, most):
        r = correlation[lag - 1]
        if trough is None:
            if r <= -MIN_AUTOCORRELATION and r <= correlation[lag - 2] and r <= correlation[lag]:
                trough = lag
        elif r >= MIN_CYCLE_PEAK and r >= correlation[lag - 2] and r >= correlation[lag]:
            return lag
    return None


def _autocorrelation(values: np.ndarray, lags) -> list[float]:
    """The sample autocorrelation of `values` at each lag (0 for a constant series)."""
    centred = values - values.mean()
    total = float(np.dot(centred, centred))
    if total == 0:
        return [0.0 for _ in lags]
    return [float(np.dot(centred[lag:], centred[:-lag])) / total if 0 < lag < len(values) else 0.0
            for lag in lags]
