"""Statistical references for `make benchmark`: AutoETS, AutoARIMA and, for sub-daily data, MSTL
(statsforecast), with seasonal naive at the calendar season, scored on exactly the origins and
steps the product's backtest scored.

Each statistical model is fitted once, on the rows before the test split (what the LSTM's training
and validation saw), then forecasts every test origin from the rows before that origin with its
fitted parameters and nothing refitted (statsforecast's `forward(y=history, h=horizon)`). AutoARIMA
is fitted on at most the last TAIL_ROWS of those rows and MSTL on the last MSTL_WEEKS weeks (its
search, and the decomposition MSTL redoes at every origin, grow with the rows), and each forecast
reads the rows from the start of that tail to the origin. MAE is the mean absolute error over
every origin and step, in the target's units, as the product's. A model that fails, or runs past
CAP_SECONDS (checked after its fit and between origins), is reported as failed with its reason.

statsforecast is a benchmark-only dependency: `pip install -e '.[bench]'` (`make benchmark` does).
Without it the statistical references are reported as not run and seasonal naive still is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries import offsets

CAP_SECONDS = 300.0  # fit + forecast of one reference on one series, at most
TAIL_ROWS = 2000  # AutoARIMA is fitted on at most this many of the latest rows

# The season each frequency's calendar gives, fixed so that runs stay comparable whatever the
# product detects in the data: (offset types, steps in a season).
_CALENDAR = (
    ((offsets.Week,), 52),
    ((offsets.MonthBegin, offsets.MonthEnd), 12),
    ((offsets.QuarterBegin, offsets.QuarterEnd), 4),
    ((offsets.YearBegin, offsets.YearEnd), 1),
)


def calendar_season(frequency: str) -> int:
    """Steps in a calendar season: 24 hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly,
    1 yearly (the seasonal naive of yearly data is naive)."""
    offset = pd.tseries.frequencies.to_offset(frequency)
    if offset == pd.tseries.frequencies.to_offset("h"):
        return 24
    if offset == pd.tseries.frequencies.to_offset("D"):
        return 7
    for kinds, season in _CALENDAR:
        if isinstance(offset, kinds) and offset.n == 1:
            return season
    raise ValueError(f"no calendar season for frequency {frequency!r}; the benchmark knows hourly, "
                     f"daily, weekly, monthly, quarterly and yearly data.")


def daily_steps(frequency: str) -> int | None:
    """Steps in a day for sub-daily data (24 hourly, 48 half-hourly); None for daily or longer."""
    offset = pd.tseries.frequencies.to_offset(frequency)
    if not isinstance(offset, offsets.Tick) or pd.Timedelta(offset) >= pd.Timedelta("1D"):
        return None
    return int(pd.Timedelta("1D") // pd.Timedelta(offset))


def seasonal_naive(values, origins, horizon: int, season: int) -> np.ndarray:
    """(len(origins), horizon): step h (1-based) from origin o is row o + h - 1 - season * ceil(h /
    season), the same point of the last season before o; season 1 is naive."""
    values = np.asarray(values, dtype="float64")
    origins = np.asarray(origins)
    steps = np.arange(1, horizon + 1)
    rows = origins[:, None] + (steps - 1 - season * np.ceil(steps / season).astype(int))[None, :]
    if rows.min(initial=0) < 0:
        raise ValueError(f"seasonal naive needs {season} rows before each origin; the earliest "
                         f"origin is row {int(origins.min())}.")
    return values[rows]


def actuals(values, origins, horizon: int) -> np.ndarray:
    """(len(origins), horizon) rows o ... o + horizon - 1 of `values` (NaN where missing)."""
    origins = np.asarray(origins)
    return np.asarray(values, dtype="float64")[origins[:, None] + np.arange(horizon)[None, :]]


def mean_absolute_error(truth, forecast) -> float:
    """Mean |truth - forecast| over every origin and step with an actual value (truth not NaN)."""
    errors = np.abs(np.asarray(truth, dtype="float64") - np.asarray(forecast, dtype="float64"))
    observed = ~np.isnan(np.asarray(truth, dtype="float64"))
    return float(errors[observed].mean())


@dataclass(frozen=True)
class Reference:
    """A model to fit once and forecast from many origins.

    `build(rows)` returns an unfitted model for a fit on `rows` rows, with `fit(y=(rows,)) ->
    fitted model` and `forward(y=(rows,), h=horizon) -> {"mean": (horizon,)}`: statsforecast's
    interface.
    """

    name: str
    build: Callable[[int], object]
    tail: int | None = None  # fitted on the last `tail` rows before the test split; None: all
    note: str = ""


# STL's LOESS evaluated every few points and interpolated, as R's stl() does by default (its jumps
# for a daily season of hourly data; statsmodels' default evaluates every point, 4 times slower).
STL_JUMPS = {"seasonal_jump": 2, "trend_jump": 5, "low_pass_jump": 3}
MSTL_WEEKS = 6  # MSTL is fitted on the last six weeks: each forecast redoes the decomposition


def statistical_references(frequency: str) -> list[Reference]:
    """AutoETS and AutoARIMA at the calendar season of `frequency`, and MSTL with a daily and a
    weekly season (trend by AutoETS) for sub-daily data. Needs statsforecast."""
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    season = calendar_season(frequency)

    def arima(rows: int):
        # R's auto.arima approximates the likelihood while searching for long or high-frequency
        # series; statsforecast does not by default, and takes minutes on weekly data
        return AutoARIMA(season_length=season, approximation=rows > 150 or season > 12)

    chosen = [
        Reference("AutoETS", lambda rows: AutoETS(season_length=season), note=f"season {season}"),
        Reference("AutoARIMA", arima, TAIL_ROWS, note=f"season {season}"),
    ]
    day = daily_steps(frequency)
    if day:
        chosen.append(Reference(
            "MSTL", lambda rows: MSTL(season_length=[day, 7 * day], trend_forecaster=AutoETS(model="ZZN"),
                                      stl_kwargs=STL_JUMPS),
            MSTL_WEEKS * 7 * day, note=f"seasons {day} and {7 * day}, trend AutoETS"))
    return chosen


def fit_and_forecast(reference: Reference, history, truth, fit_end: int, origins,
                     cap_seconds: float = CAP_SECONDS, clock=time.perf_counter) -> dict:
    """Fit `reference` on history[fit_start:fit_end] (fit_start: `tail` rows back, or 0), forecast
    from each origin o reading history[fit_start:o], and score against `truth`.

    history (rows,): the series (no missing values); truth (origins, horizon): the actual values
    of each origin's steps, NaN where there is none to score; origins (origins,): rows, none
    before fit_end. Returns {"mae", "seconds", "fit_rows": [fit_start, fit_end], "note"}, or
    {"failed": reason, "seconds", ...} when the model raises, forecasts a non-finite value or
    passes `cap_seconds` (checked after the fit and after each origin).
    """
    history = np.asarray(history, dtype="float64")
    origins = np.asarray(origins)
    horizon = np.shape(truth)[1]
    if origins.min() < fit_end:
        raise ValueError(f"origin row {int(origins.min())} is inside the fitted rows (before row "
                         f"{fit_end}); references forecast only after the rows they were fitted on.")
    fit_start = 0 if reference.tail is None else max(0, fit_end - reference.tail)
    described = {"fit_rows": [fit_start, fit_end], "note": reference.note}
    started = clock()
    forecasts = np.empty((len(origins), horizon))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; a failure raises
            model = reference.build(fit_end - fit_start).fit(y=history[fit_start:fit_end])
            for number, origin in enumerate(origins):
                elapsed = clock() - started
                if elapsed > cap_seconds:
                    raise TimeoutError(f"stopped after {elapsed:.0f} s, past the cap of "
                                       f"{cap_seconds:.0f} s, with {number} of {len(origins)} "
                                       f"origins forecast")
                forecasts[number] = np.asarray(model.forward(y=history[fit_start:origin], h=horizon)["mean"])
    except Exception as error:  # any failure of the library is reported on its row, not raised
        return {"failed": f"{type(error).__name__}: {error}", "seconds": clock() - started, **described}
    seconds = clock() - started
    if not np.isfinite(forecasts).all():
        return {"failed": "forecast a value that is not a finite number", "seconds": seconds, **described}
    return {"mae": mean_absolute_error(truth, forecasts), "seconds": seconds, **described}


def score_references(history, truth, fit_end: int, origins, frequency: str,
                     references: list[Reference] | None = None, cap_seconds: float = CAP_SECONDS,
                     log=print) -> dict:
    """Seasonal naive at the calendar season and each statistical reference on these origins
    (arguments as `fit_and_forecast`'s).

    `references`: default statistical_references(frequency), or none when statsforecast is not
    installed ("not_run" then says why). Returns {"calendar_season", "seasonal_naive": {"mae"},
    "references": {name: fit_and_forecast's dict}, "not_run": reason or None}.
    """
    season = calendar_season(frequency)
    horizon = np.shape(truth)[1]
    result = {"calendar_season": season,
              "seasonal_naive": {"mae": mean_absolute_error(
                  truth, seasonal_naive(history, origins, horizon, season))},
              "references": {}, "not_run": None}
    if references is None:
        try:
            references = statistical_references(frequency)
        except ImportError:
            result["not_run"] = "statsforecast is not installed: pip install -e '.[bench]'"
            return result
    for reference in references:
        scored = fit_and_forecast(reference, history, truth, fit_end, origins, cap_seconds)
        result["references"][reference.name] = scored
        outcome = f"MAE {scored['mae']:.4g}" if "mae" in scored else f"failed: {scored['failed']}"
        log(f"    {reference.name} ({reference.note}): {outcome} in {scored['seconds']:.1f} s")
    return result
