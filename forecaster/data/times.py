"""Times: parsing a time column, its frequency, the regular grid, season lengths and calendar inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.api import types
from pandas.tseries import offsets

from forecaster.errors import UserError, count

# Season length (steps per natural cycle) of calendar frequencies, business days before days.
_CALENDAR_SEASONS = (
    (offsets.BusinessDay, 5),
    (offsets.Day, 7),
    (offsets.Week, 52),
    ((offsets.MonthBegin, offsets.MonthEnd, offsets.BusinessMonthBegin, offsets.BusinessMonthEnd), 12),
    ((offsets.QuarterBegin, offsets.QuarterEnd, offsets.BQuarterBegin, offsets.BQuarterEnd), 4),
)


def parse_times(column: pd.Series, name: str, path) -> tuple[pd.DatetimeIndex, str]:
    """Timestamps of a time column and how it writes them: "datetime", "year" or "yyyymmdd"."""
    if column.isna().any():
        line = column.index[int(np.argmax(column.isna().to_numpy()))]
        raise UserError(
            f"time column {name!r} of {path} is empty on line {line}; every row needs a time. "
            f"Fill or delete that row.")
    if types.is_integer_dtype(column):
        if column.between(1000, 2999).all():
            return pd.DatetimeIndex(pd.to_datetime(column.astype(str), format="%Y")), "year"
        parsed = pd.to_datetime(column.astype(str), format="%Y%m%d", errors="coerce")
        if column.between(10000101, 29991231).all() and parsed.notna().all():
            return pd.DatetimeIndex(parsed), "yyyymmdd"
        bad = column[parsed.isna()] if parsed.isna().any() else column
        raise UserError(
            f"time column {name!r} of {path} holds integers that are neither years nor yyyymmdd "
            f"dates (line {bad.index[0]}: {bad.iloc[0].item()!r}); use dates like 2010-01-01, or "
            f"choose another column with --time-col.")
    if types.is_datetime64_any_dtype(column):
        return pd.DatetimeIndex(column), "datetime"
    parsed = read_datetimes(column)
    if parsed is not None and parsed.isna().any():  # e.g. a cell "NaT" parses as no time at all
        position = int(np.argmax(parsed.isna().to_numpy()))
        raise UserError(
            f"time column {name!r} of {path} does not parse as dates: line {column.index[position]} "
            f"holds {column.iloc[position]!r}. Expected one format throughout, such as 2010-01-01 or "
            f"2010-01-01 13:00; fix that cell or choose another column with --time-col.")
    if parsed is None:
        offsets_ = _two_offsets(column)
        if offsets_ is not None:
            (first, first_offset), (second, second_offset) = offsets_
            raise UserError(
                f"time column {name!r} of {path} mixes UTC offsets: line {first} is at "
                f"{first_offset} and line {second} at {second_offset}; expected one offset "
                f"throughout (or none). Convert the times to UTC (e.g. 2010-01-01T13:00Z) or to one "
                f"offset.")
        coerced = read_datetimes(column, errors="coerce")
        failed = coerced.isna() if coerced is not None else pd.Series(True, index=column.index)
        position = int(np.argmax(failed.to_numpy()))
        raise UserError(
            f"time column {name!r} of {path} does not parse as dates: line "
            f"{column.index[position]} holds {column.iloc[position]!r}. Expected one format "
            f"throughout, such as 2010-01-01 or 2010-01-01 13:00 (all with the same UTC offset, if "
            f"any); fix that cell or choose another column with --time-col.")
    return pd.DatetimeIndex(parsed), "datetime"


def read_datetimes(column: pd.Series, errors: str = "raise"):
    """Parse text as datetimes with one format inferred month first (01/02/2021 is 2 January),
    then as ISO 8601, then with one format inferred day first (13.01.2021, 25/12/2021); None if
    none works. A column that reads either way is read month first. With errors="coerce", the
    reading that leaves the fewest cells unparsed (NaT), the earliest of equals."""
    best = None
    for fmt, dayfirst in ((None, False), ("ISO8601", False), (None, True)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(column, format=fmt, errors=errors, dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            continue
        if errors == "raise":
            # mixed UTC offsets come back as objects
            return parsed if types.is_datetime64_any_dtype(parsed) else None
        if best is None or parsed.isna().sum() < best.isna().sum():
            best = parsed
        if not best.isna().any():
            break
    return best


def _two_offsets(column: pd.Series):
    """((line, offset), (line, offset)) of the first two different UTC offsets of a text time
    column that parses only when converted to UTC; None otherwise."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.to_datetime(column, format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    seen = {}
    for line, value in column.items():
        try:
            offset = pd.Timestamp(str(value).strip()).utcoffset()
        except (ValueError, TypeError, OverflowError):
            return None
        seen.setdefault(offset, line)
        if len(seen) == 2:
            return tuple((line_, _offset_text(offset_)) for offset_, line_ in seen.items())
    return None


def _offset_text(offset) -> str:
    if offset is None:
        return "no offset"
    sign = "-" if offset < pd.Timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds()) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def text_time_format(column: pd.Series) -> str | None:
    """The strftime pattern that writes a text time column as the file did, or None if there is
    no single one (for example, a mixture of formats)."""
    from pandas.tseries.api import guess_datetime_format

    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return None
    first = str(column.iloc[0]).strip()
    sample = column.iloc[: min(len(column), 50)].astype(str).str.strip()
    written = read_datetimes(sample)
    if written is None:
        return None
    for dayfirst in (False, True):  # the order read_datetimes reads them in
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas's advice to pass dayfirst
            pattern = guess_datetime_format(first, dayfirst=dayfirst)
        if pattern is None:
            continue
        if first.endswith("Z") and pattern.endswith("%z"):
            pattern = pattern[:-2] + "Z"  # UTC written as Z, not +0000
        try:
            if (written.dt.strftime(pattern) == sample).all():
                return pattern
        except (ValueError, NotImplementedError):  # times outside what strftime can write
            return None
    return None


def infer_frequency(index: pd.DatetimeIndex, path) -> str:
    """The pandas frequency alias of sorted, unique timestamps, allowing for gaps.

    Gaps are allowed as long as every timestamp lies on one regular grid (hourly with a missing
    hour, business days, month starts with a missing month, ...).
    """
    if len(index) < 3:
        raise UserError(
            f"{path} has {len(index)} rows; at least 3 are needed to tell the frequency, and many "
            f"more to train. Use a longer file.")
    frequency = _infer_freq(index)
    if frequency is not None:
        return frequency
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    if (index[-1] - index[0]) / step > 3 * len(index):  # no grid to build: far more steps than rows
        example = (f"the {len(index)} rows span {index[-1] - index[0]}, so a regular grid would "
                   f"more than double them")
    else:
        candidates = _candidate_frequencies(index, step)
        for candidate in candidates:
            grid = pd.date_range(index[0], index[-1], freq=candidate)
            if index.isin(grid).all() and len(grid) <= 2 * len(index):
                return candidate
        grid = pd.date_range(index[0], index[-1], freq=candidates[-1])
        off_grid = index[~index.isin(grid)]
        example = f"{off_grid[0]} is off that grid" if len(off_grid) else "filling it would double the rows"
    raise UserError(
        f"{path} has irregular timestamps: the most common step is {step}, but {example}. "
        f"Expected one row per regular step (gaps are fine); resample the data first.")


def _candidate_frequencies(index: pd.DatetimeIndex, step: pd.Timedelta) -> list[str]:
    days = step / pd.Timedelta("1D")
    if 28 <= days <= 31:
        return ["MS", "ME"]
    if 89 <= days <= 92:
        return ["QS", "QE"]
    if 365 <= days <= 366:
        return ["YS", "YE"]
    if step == pd.Timedelta("1D") and (index.dayofweek < 5).all():
        return ["B", "D"]
    if step % pd.Timedelta("7D") == pd.Timedelta(0) and step > pd.Timedelta(0):
        weeks = step // pd.Timedelta("7D")
        day = index[0].day_name()[:3].upper()
        return [f"{weeks}W-{day}" if weeks > 1 else f"W-{day}"]
    if step % pd.Timedelta("1D") == pd.Timedelta(0) and step > pd.Timedelta(0):
        return ["D" if days == 1 else f"{int(days)}D"]  # pandas 3 would spell one day "24h"
    return [pd.tseries.frequencies.to_offset(step).freqstr]


def to_offset(frequency: str):
    return pd.tseries.frequencies.to_offset(frequency)


def _infer_freq(index: pd.DatetimeIndex) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frequency = pd.infer_freq(index)
        except (ValueError, TypeError):
            return None
    if frequency is None:
        return None
    return getattr(frequency, "freqstr", frequency)


def regularise(frame: pd.DataFrame, frequency: str, path) -> pd.DataFrame:
    """Reindex to every step from the first timestamp to the last; new rows are NaN."""
    offset = to_offset(frequency)
    smallest = pd.Timedelta(offset) if isinstance(offset, offsets.Tick) else pd.Timedelta("1D")
    steps = (frame.index[-1] - frame.index[0]) / smallest
    if steps > max(1_000_000, 100 * len(frame)):
        raise UserError(
            f"{path} has {len(frame)} rows from {frame.index[0]} to {frame.index[-1]}; at one row "
            f"per {frequency!r} step that is about {int(steps):,} steps, so nearly all would be "
            f"missing. Expected rows that cover that span; remove the stray rows far from the "
            f"others.")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=frequency, name=frame.index.name)
    off_grid = ~frame.index.isin(grid)
    if off_grid.any():
        stamp = frame.index[int(np.argmax(off_grid))]
        raise UserError(
            f"{path} has a timestamp {stamp} that is not on the {frequency!r} grid the model uses; "
            f"expected one row per step. Resample the file to that frequency.")
    if len(grid) == len(frame):  # every step present (on the grid, sorted, no duplicates): as is
        return frame
    return frame.reindex(grid)


def season_length(frequency: str) -> int:
    """Steps in one natural cycle: 24 for hourly, 7 for daily, 12 for monthly, 1 for yearly.

    Sub-daily data cycles daily (96 steps at most; finer data cycles hourly, or by the minute).
    """
    offset = pd.tseries.frequencies.to_offset(frequency)
    if isinstance(offset, offsets.Tick) and pd.Timedelta(offset) < pd.Timedelta("1D"):
        step = pd.Timedelta(offset)
        for cycle in ("1D", "1h", "1min"):
            steps = pd.Timedelta(cycle) // step
            if steps <= 96:
                return max(1, int(steps))
        return 1
    for kinds, season in _CALENDAR_SEASONS:
        if isinstance(offset, kinds):
            return max(1, season // max(1, offset.n))
    return 1


CALENDAR_CYCLES = {"hour": 24, "weekday": 7, "month": 12}


def calendar_names(frequency: str) -> tuple[str, ...]:
    """The calendar inputs that vary at this frequency: hour of day for sub-daily data, day of week
    for daily and finer, month of year for monthly and finer; each as a sine and a cosine."""
    season = season_length(frequency)
    offset = pd.tseries.frequencies.to_offset(frequency)
    sub_daily = isinstance(offset, offsets.Tick) and pd.Timedelta(offset) < pd.Timedelta("1D")
    daily = isinstance(offset, offsets.Day | offsets.BusinessDay)
    cycles = [*(["hour"] if sub_daily else []), *(["weekday"] if sub_daily or daily else []),
              *(["month"] if season > 1 or sub_daily else [])]
    return tuple(f"{cycle}_{wave}" for cycle in cycles for wave in ("sin", "cos"))


def calendar(times: pd.DatetimeIndex, names) -> np.ndarray:
    """(len(times), len(names)) calendar inputs: e.g. "hour_sin" = sin(2 pi hour / 24). Known for
    any timestamp, so also for the steps being forecast."""
    times = pd.DatetimeIndex(times)
    position = {"hour": times.hour + times.minute / 60, "weekday": times.dayofweek,
                "month": times.month - 1 + (times.day - 1) / times.days_in_month}
    columns = []
    for name in names:
        cycle, wave = name.rsplit("_", 1)
        angle = 2 * np.pi * np.asarray(position[cycle], dtype="float64") / CALENDAR_CYCLES[cycle]
        columns.append(np.sin(angle) if wave == "sin" else np.cos(angle))
    return np.stack(columns, axis=1) if columns else np.zeros((len(times), 0))


def duplicate_timestamps(index: pd.DatetimeIndex, lines) -> list[tuple[pd.Timestamp, list[int]]]:
    """Each timestamp that appears more than once, in time order, with the lines it is on."""
    duplicated = index.duplicated(keep=False)
    if not duplicated.any():
        return []
    found = pd.Series(np.asarray(lines)[duplicated], index=index[duplicated])
    return [(stamp, sorted(group.tolist())) for stamp, group in found.groupby(level=0, sort=True)]


def refuse_duplicates(index: pd.DatetimeIndex, lines, path) -> None:
    """A UserError naming the first repeated timestamp and its lines, if any timestamp repeats."""
    found = duplicate_timestamps(index, lines)
    if found:
        (stamp, lines), more = found[0], len(found) - 1
        others = f" (and {count(more, 'more repeated timestamp')})" if more else ""
        raise UserError(
            f"{path} has duplicate timestamps: {stamp} appears on lines "
            f"{', '.join(map(str, lines))}{others}. Expected one row per time step; remove or "
            f"aggregate the duplicates.")


def format_times(times: pd.DatetimeIndex, kind: str, pattern: str | None = None) -> list:
    """Timestamps written the way the input file wrote them: years, yyyymmdd, the file's own text
    pattern (when writing with it reads back the same times), or else ISO text."""
    if kind == "year":
        return [int(t.year) for t in times]
    if kind == "yyyymmdd":
        return [int(t.strftime("%Y%m%d")) for t in times]
    if pattern is not None:
        written = [t.strftime(pattern) for t in times]
        try:
            same = (pd.DatetimeIndex(pd.to_datetime(written, format=pattern.replace("Z", "%z")))
                    == times).all()
        except (ValueError, TypeError):
            same = False
        if same:
            return written
    if (times == times.normalize()).all() and times.tz is None:
        return [t.strftime("%Y-%m-%d") for t in times]
    return [t.isoformat(sep=" ") for t in times]
