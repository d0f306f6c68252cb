"""Times: parsing a time column, its frequency, the regular grid, season lengths and calendar inputs."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.api import types
from pandas.tseries import offsets

from forecaster.errors import UserError, count, place

# Season length (steps per natural cycle) of calendar frequencies, business days before days.
_CALENDAR_SEASONS = (
    (offsets.BusinessDay, 5),
    (offsets.Day, 7),
    (offsets.Week, 52),
    ((offsets.MonthBegin, offsets.MonthEnd, offsets.BusinessMonthBegin, offsets.BusinessMonthEnd), 12),
    ((offsets.QuarterBegin, offsets.QuarterEnd, offsets.BQuarterBegin, offsets.BQuarterEnd), 4),
)


def parse_times(column: pd.Series, name: str, path) -> tuple[pd.DatetimeIndex, str]:
    """Timestamps of a time column and how it writes them: "datetime", "year" or "yyyymmdd".

    Text is "datetime": dates and times, and the periods pandas does not read (see `_PERIODS`):
    quarters (1998 Q1: its first day), ISO weeks (1991-W06: its Monday; 2017-W03-1: that day)
    and month names (Jan 1987, 1987 January: the first day of the month).
    """
    if column.isna().any():
        line = column.index[int(np.argmax(column.isna().to_numpy()))]
        raise UserError(
            f"time column {name!r} of {path} is empty on {place(column.index)} {line}; every row "
            f"needs a time. "
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
            f"dates ({place(column.index)} {bad.index[0]}: {bad.iloc[0].item()!r}); use dates like "
            f"2010-01-01, or "
            f"choose another column with --time-col.")
    if types.is_datetime64_any_dtype(column):
        return pd.DatetimeIndex(column), "datetime"
    parsed = read_datetimes(column)
    if parsed is not None and parsed.isna().any():  # e.g. a cell "NaT" parses as no time at all
        position = int(np.argmax(parsed.isna().to_numpy()))
        raise UserError(
            f"time column {name!r} of {path} does not parse as dates: {place(column.index)} "
            f"{column.index[position]} holds {column.iloc[position]!r}. Expected one format "
            f"throughout, such as 2010-01-01 or "
            f"2010-01-01 13:00; fix that cell or choose another column with --time-col.")
    if parsed is None:
        offsets_ = _two_offsets(column)
        if offsets_ is not None:
            (first, first_offset), (second, second_offset) = offsets_
            raise UserError(
                f"time column {name!r} of {path} mixes UTC offsets: {place(column.index)} {first} is "
                f"at {first_offset} and {place(column.index)} {second} at {second_offset}; expected "
                f"one offset "
                f"throughout (or none). Convert the times to UTC (e.g. 2010-01-01T13:00Z) or to one "
                f"offset.")
        coerced = read_datetimes(column, errors="coerce")
        failed = coerced.isna() if coerced is not None else pd.Series(True, index=column.index)
        _refuse_periods(column, name, path, failed)
        position = int(np.argmax(failed.to_numpy()))
        raise UserError(
            f"time column {name!r} of {path} does not parse as dates: {place(column.index)} "
            f"{column.index[position]} holds {column.iloc[position]!r}. Expected one format "
            f"throughout, such as 2010-01-01 or 2010-01-01 13:00 (all with the same UTC offset, if "
            f"any); fix that cell or choose another column with --time-col.")
    return pd.DatetimeIndex(parsed), "datetime"


def read_datetimes(column: pd.Series, errors: str = "raise"):
    """Parse text as datetimes with one format inferred month first (01/02/2021 is 2 January),
    then as ISO 8601, then with one format inferred day first (13.01.2021, 25/12/2021); None if
    none works. A column that reads either way is read month first. With errors="coerce", the
    reading that leaves the fewest cells unparsed (NaT), the earliest of equals.

    Periods (quarters, ISO weeks, month names; see `_read_periods`) are tried first."""
    best = _read_periods(column, errors)
    if errors == "raise" and best is not None:
        return best
    if best is not None and not best.isna().any():
        return best
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


# Periods that forecasting users export and pandas does not read (or reads one cell at a time),
# each one regular expression for a whole cell, matched ignoring case. A quarter is its first day
# (1998 Q2: 1998-04-01), an ISO week its Monday (1991-W06: 1991-02-04) or, with a weekday from 1
# (Monday) to 7, that day (2017-W03-2: 2017-01-17), a month its first day (Jan 1987: 1987-01-01).
_PERIODS = {
    "quarter": r"(?P<year>[12]\d{3})(?P<sep>[ -]?)(?P<letter>Q)(?P<number>\d)",
    "week": r"(?P<year>[12]\d{3})(?P<sep>[ -]?)(?P<letter>W)(?P<number>\d\d)(?P<day>-\d)?",
    "year month": r"(?P<year>[12]\d{3})(?P<sep>[ /-]?)(?P<name>[A-Z]{3,9})",
    "month year": r"(?P<name>[A-Z]{3,9})(?P<sep>[ /-]?)(?P<year>[12]\d{3})",
}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTHS = {**{name.lower(): number for number, name in enumerate(_MONTH_NAMES, 1)},
           **{name[:3].lower(): number for number, name in enumerate(_MONTH_NAMES, 1)}}
# What a pattern may hold beyond strftime: %q the quarter (1 to 4), %G %V %u the ISO year, week
# (01 to 53) and weekday (1 to 7), %^b %^B the month's name in capitals (JAN, JANUARY).
_OWN_DIRECTIVES = re.compile(r"%(q|G|V|u|\^b|\^B)")
_NOT_A_TIME = np.datetime64("NaT", "us")


def _read_periods(column: pd.Series, errors: str = "raise") -> pd.Series | None:
    """Text periods as their first days (datetime64), or None if the column does not hold them.

    The first cell that reads as a period sets the layout (1998 Q1, 1998-Q1 and 1998Q1 are three;
    q and Q are one); cells in another layout, or naming a period that does not exist (1998 Q5,
    2021 W53: 2021 has 52 ISO weeks) are NaT with errors="coerce", and make the result None with
    errors="raise". Each distinct cell is read once, so a long column costs one pass to factorize.
    """
    head = column.iloc[: 1 if errors == "raise" else 100]  # most columns are not periods: say so fast
    if _period_cells(head.dropna())["time"].isna().all():
        return None
    codes, distinct = pd.factorize(column)  # distinct cells in order of first appearance
    cells = _period_cells(pd.Series(np.asarray(distinct, dtype=object)))
    found = cells["time"].notna().to_numpy()
    if not found.any():
        return None
    times = cells["time"].where(cells["layout"] == cells["layout"].iloc[int(np.argmax(found))])
    values = np.append(times.to_numpy(dtype="datetime64[us]"), _NOT_A_TIME)[codes]  # NaN: code -1
    parsed = pd.Series(values, index=column.index)
    if errors == "raise" and parsed.isna().any():
        return None
    return parsed


def _period_cells(cells: pd.Series) -> pd.DataFrame:
    """For each cell: "time", its first day (NaT unless it is a period that exists), and "layout",
    what must be the same in every cell of a column (the kind of period and its separators)."""
    time = pd.Series(_NOT_A_TIME, index=cells.index)
    layout = pd.Series("", index=cells.index, dtype=object)
    if cells.empty:
        return pd.DataFrame({"time": time, "layout": layout})
    text = cells.map(str).str.strip()
    for kind, regex in _PERIODS.items():
        parts = text.str.extract(f"^(?:{regex})$", flags=re.IGNORECASE).dropna(subset=["year"])
        if parts.empty:
            continue
        year = parts["year"].astype("int64").to_numpy()
        if kind == "quarter":
            number = parts["number"].astype("int64").to_numpy()
            found = _month_starts(year, 3 * number - 2, (number >= 1) & (number <= 4))
        elif kind == "week":
            day = parts["day"].fillna("-1").str[1:].astype("int64").to_numpy()
            found = _iso_days(year, parts["number"].astype("int64").to_numpy(), day)
        else:
            month = parts["name"].str.lower().map(_MONTHS)
            found = _month_starts(year, month.fillna(1).astype("int64").to_numpy(),
                                  month.notna().to_numpy())
        time[parts.index] = found
        shape = kind + "|" + parts["sep"]
        if "letter" in parts:
            shape = shape + "|" + parts["letter"].str.upper()
        if "day" in parts:
            shape = shape + "|" + parts["day"].notna().map({True: "day", False: ""})
        layout[parts.index] = shape
    return pd.DataFrame({"time": time, "layout": layout})


def _month_starts(year: np.ndarray, month: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(cells,) datetime64[us]: the first day of each year and month (1 to 12), NaT where not valid."""
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return np.where(valid, months.astype("datetime64[us]"), _NOT_A_TIME)


def _iso_days(year: np.ndarray, week: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """(cells,) datetime64[us]: the day of each ISO year, week and weekday (1 Monday to 7 Sunday),
    NaT where there is no such day (week 0, week 53 of a year of 52 weeks, weekday 8)."""
    first, following = _first_iso_monday(year), _first_iso_monday(year + 1)
    weeks = (following - first) // 7  # 52 or 53
    days = first + 7 * (week - 1) + weekday - 1
    valid = (week >= 1) & (week <= weeks) & (weekday >= 1) & (weekday <= 7)
    return np.where(valid, days.astype("datetime64[D]").astype("datetime64[us]"), _NOT_A_TIME)


def _first_iso_monday(year: np.ndarray) -> np.ndarray:
    """(cells,) int64 days since 1970-01-01 of the Monday of ISO week 1: the week of 4 January."""
    january_4 = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype("int64") + 3
    return january_4 - (january_4 + 3) % 7  # 1970-01-01 was a Thursday: (0 + 3) % 7 = 3


def _refuse_periods(column: pd.Series, name: str, path, failed: pd.Series) -> None:
    """The UserError for a column of periods (as `_read_periods` reads them) with a cell that is
    not one, when no other reading does better; nothing otherwise."""
    periods = _read_periods(column, errors="coerce")
    if periods is None or periods.isna().sum() > failed.sum():
        return
    position = int(np.argmax(periods.isna().to_numpy()))  # the first cell that is no period
    example = int(np.argmax(periods.notna().to_numpy()))  # the first that is, setting the layout
    value, first = column.iloc[position], str(column.iloc[example]).strip()
    layout = _period_cells(pd.Series([first]))["layout"].iloc[0]
    expected = {"quarter": "quarters Q1 to Q4",
                "week": "ISO weeks W01 to W52 (W53 only in years that have one)"}.get(
        layout.split("|")[0], "English month names (Jan or January)")
    if layout.endswith("|day"):
        expected += ", each with a weekday 1 (Monday) to 7"
    reason = _missing_week(str(value)) if layout.startswith("week") else ""
    raise UserError(
        f"time column {name!r} of {path} does not parse as dates: {place(column.index)} "
        f"{column.index[position]} holds {value!r}{reason}. Expected {expected}, written one way "
        f"throughout like {place(column.index)} "
        f"{column.index[example]}'s {first!r}; fix that cell or choose another column with "
        f"--time-col.")


def _missing_week(cell: str) -> str:
    """', but ISO year 2021 has 52 weeks' for a cell naming week 53 of a year without one."""
    parts = re.fullmatch(_PERIODS["week"], cell.strip(), flags=re.IGNORECASE)
    if parts is None or int(parts["number"]) != 53:
        return ""
    year = np.array([int(parts["year"])])
    if (_first_iso_monday(year + 1) - _first_iso_monday(year))[0] // 7 == 53:
        return ""
    return f", but ISO year {parts['year']} has 52 weeks"


def _period_patterns(cell: str) -> list[str]:
    """The patterns (see `_OWN_DIRECTIVES`) that may write a period cell as it is written."""
    for kind, regex in _PERIODS.items():
        parts = re.fullmatch(regex, cell, flags=re.IGNORECASE)
        if parts is None:
            continue
        if kind == "quarter":
            return [f"%Y{parts['sep']}{parts['letter']}%q"]
        if kind == "week":
            return [f"%G{parts['sep']}{parts['letter']}%V{'-%u' if parts['day'] else ''}"]
        months = ("%b", "%B", "%^b", "%^B")
        if kind == "year month":
            return [f"%Y{parts['sep']}{month}" for month in months]
        return [f"{month}{parts['sep']}%Y" for month in months]
    return []


def _strftime(time: pd.Timestamp, pattern: str) -> str:
    """strftime, and the directives strftime lacks or spells by platform (`_OWN_DIRECTIVES`)."""
    def own(directive: re.Match) -> str:
        week = time.isocalendar()
        return {"q": str(time.quarter), "G": str(week.year), "V": f"{week.week:02d}",
                "u": str(week.weekday), "^b": _MONTH_NAMES[time.month - 1][:3].upper(),
                "^B": _MONTH_NAMES[time.month - 1].upper()}[directive.group(1)]

    return time.strftime(_OWN_DIRECTIVES.sub(own, pattern))


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
    no single one (for example, a mixture of formats). Periods add directives of their own
    (`_OWN_DIRECTIVES`): 1998 Q1 is "%Y Q%q", 1991-W06 "%G-W%V", 2017-W03-1 "%G-W%V-%u"."""
    from pandas.tseries.api import guess_datetime_format

    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return None
    first = str(column.iloc[0]).strip()
    sample = column.iloc[: min(len(column), 50)].astype(str).str.strip()
    written = read_datetimes(sample)
    if written is None:
        return None
    for pattern in _period_patterns(first):
        if [_strftime(time, pattern) for time in written] == sample.tolist():
            return pattern
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
    hour, business days, month starts or ends with a missing month, ...). Months, quarters and
    years are calendar steps: 2020-01-31, 2020-02-29 and 2020-03-31 are a month apart, and a
    message says "1 month", not 29 or 31 days.
    """
    if len(index) < 3:
        raise UserError(
            f"{path} has {len(index)} rows; at least 3 are needed to tell the frequency, and many "
            f"more to train. Use a longer file.")
    frequency = _infer_freq(index)
    if frequency is not None:
        return frequency
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    months = _usual_months(index)
    usual = _usual_text(step, months)
    if (index[-1] - index[0]) / step > 3 * len(index):  # no grid to build: far more steps than rows
        first, last = index[0], index[-1]
        span = (_months_text((last.year - first.year) * 12 + last.month - first.month) if months
                else _span_text(last - first))
        raise UserError(
            f"{path} has irregular timestamps: the most common step is {usual}, but the "
            f"{len(index)} rows span {span}, so a regular grid would more than double them. "
            f"Expected one row per regular step (gaps are fine); resample the data first.")
    fits = []
    for candidate in _candidate_frequencies(index, step, months):
        grid = pd.date_range(index[0], index[-1], freq=candidate)
        on_grid = index.isin(grid)
        if on_grid.all() and len(grid) <= 2 * len(index):
            return candidate
        fits.append((int(on_grid.sum()), candidate, on_grid, len(grid)))
    held, candidate, on_grid, steps = max(fits, key=lambda fit: fit[0])  # the first of equals
    day = _usual_day(index) if months and 2 * held < len(index) else None
    if day is not None:
        on_day = index[index.day == day]
        first = on_day[0]
        apart = {1: "a month", 12: "a year"}.get(months, usual)
        raise UserError(
            f"{path} has rows {apart} apart, on day {day} of the month ({_listed(on_day, 2)}), but "
            f"forecaster's monthly, quarterly and yearly steps fall on the first or the last day "
            f"of a month. Write the times as months ({first:%Y-%m} for {first:%Y-%m-%d}) or as "
            f"the first day of each month.")
    if on_grid.all():  # every timestamp on the grid, but most of its steps missing
        raise UserError(
            f"{path} has irregular timestamps: the most common step is {usual}, but its "
            f"{len(index)} rows are spread over {steps} such steps, so filling the gaps would more "
            f"than double them. Expected one row per regular step (gaps are fine); resample the "
            f"data first.")
    off_grid = index[~_on_usual_phase(index, candidate, on_grid)]
    raise UserError(
        f"{path} has irregular timestamps: the most common step is {usual}{_grid_text(candidate)}"
        f", but {count(len(off_grid), 'timestamp')} {'is' if len(off_grid) == 1 else 'are'} off "
        f"that grid: {_listed(off_grid)}. Expected one row per regular step (gaps are fine); "
        f"remove or fix those rows, or resample the data first.")


_MONTH_KINDS = (offsets.MonthBegin, offsets.MonthEnd, offsets.BusinessMonthBegin,
                offsets.BusinessMonthEnd)
_QUARTER_KINDS = (offsets.QuarterBegin, offsets.QuarterEnd, offsets.BQuarterBegin,
                  offsets.BQuarterEnd)
_YEAR_KINDS = (offsets.YearBegin, offsets.YearEnd, offsets.BYearBegin, offsets.BYearEnd)
_MONTH_CODES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _candidate_frequencies(index: pd.DatetimeIndex, step: pd.Timedelta, months: int) -> list[str]:
    """The grids that sorted, unique timestamps may lie on, the likeliest first: calendar months,
    quarters or years when the most common step is `months` whole months (0: it is not), else
    steps of the most common length `step`."""
    monthly = ["MS", "ME", "BMS", "BME"]
    if months:  # anchored where most rows are; the default anchors (QS-JAN, YE-DEC) unwritten
        if months % 12 == 0:
            month = int(pd.Series(index.month).mode().iloc[0])
            yearly = ["YS" + (f"-{_MONTH_CODES[month - 1]}" if month != 1 else ""),
                      "YE" + (f"-{_MONTH_CODES[month - 1]}" if month != 12 else "")]
            return yearly if months == 12 else [f"{months // 12}{name}" for name in yearly] + yearly
        if months == 3:
            place = int(pd.Series((index.month - 1) % 3).mode().iloc[0])  # 0: Jan, Apr, Jul, Oct
            return ["QS" + (f"-{_MONTH_CODES[place]}" if place else ""),
                    "QE" + (f"-{_MONTH_CODES[9 + place]}" if place != 2 else ""), *monthly]
        # steps of several months may be months with gaps
        return monthly if months == 1 else [f"{months}MS", f"{months}ME", *monthly]
    days = step / pd.Timedelta("1D")
    if 28 <= days <= 31:
        return monthly
    if 89 <= days <= 92:
        return ["QS", "QE"]
    if 365 <= days <= 366:
        return ["YS", "YE"]
    if step == pd.Timedelta("1D") and (index.day_of_week < 5).all():
        return ["B", "D"]
    if step % pd.Timedelta("7D") == pd.Timedelta(0) and step > pd.Timedelta(0):
        weeks = step // pd.Timedelta("7D")
        day = index[0].day_name()[:3].upper()
        return [f"{weeks}W-{day}" if weeks > 1 else f"W-{day}"]
    if step % pd.Timedelta("1D") == pd.Timedelta(0) and step > pd.Timedelta(0):
        return ["D" if days == 1 else f"{int(days)}D"]  # pandas 3 would spell one day "24h"
    return [pd.tseries.frequencies.to_offset(step).freqstr]


def _month_steps(index: pd.DatetimeIndex) -> np.ndarray:
    """(len(index) - 1,) whole calendar months from each timestamp to the next; 0 where the two
    are not whole months apart: at the same time of day, on the same day of the month, or both on
    the last day of theirs (2020-01-31, 2020-02-29), or on its first or last weekday."""
    dates = index.normalize()
    time_of_day = (index - dates).to_numpy()
    days = index.day.to_numpy()
    last = np.asarray(index.is_month_end)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # offsets applied one timestamp at a time, in some versions
        last_weekday = np.asarray(dates == dates + offsets.BMonthEnd(0))
        first_weekday = np.asarray(dates == dates + offsets.BMonthBegin(0))

    def both(flags: np.ndarray) -> np.ndarray:
        return flags[:-1] & flags[1:]

    months = ((index.year - index.year[0]) * 12 + index.month).to_numpy()
    whole = ((days[:-1] == days[1:]) | both(last) | (last[1:] & (days[:-1] > days[1:]))
             | both(last_weekday) | both(first_weekday)) & (time_of_day[:-1] == time_of_day[1:])
    return np.where(whole, np.diff(months), 0)


def _usual_months(index: pd.DatetimeIndex) -> int:
    """The most common step between sorted, unique timestamps if it is whole calendar months
    (see `_month_steps`): 1 for monthly data, 3 quarterly, 12 yearly; 0 if it is not."""
    months = _month_steps(index)
    spans = (index[1:] - index[:-1]).to_numpy().astype("timedelta64[ns]").astype(np.int64)
    codes = np.where(months > 0, -months, spans)  # each step: -months if whole months, else its length
    values, first, counts = np.unique(codes, return_index=True, return_counts=True)
    usual = values[np.lexsort((first, -counts))[0]]  # the most common; of equals, the first seen
    return int(-usual) if usual < 0 else 0


def _usual_text(step: pd.Timedelta, months: int) -> str:
    """The most common step in words: whole months as months or years ("1 month", "3 months",
    "1 year"), a step of about that length as "about 1 month (30 days)", others as "1 hour"."""
    if months:
        return _months_text(months)
    days = step / pd.Timedelta("1D")
    for low, high, about in ((28, 31, 1), (59, 62, 2), (89, 92, 3), (181, 184, 6), (365, 366, 12)):
        if low <= days <= high:
            return f"about {_months_text(about)} ({_span_text(step)})"
    week = pd.Timedelta("7D")
    return count(step // week, "week") if step % week == pd.Timedelta(0) else _span_text(step)


def _months_text(months: int) -> str:
    return count(months // 12, "year") if months % 12 == 0 else count(months, "month")


def _span_text(span: pd.Timedelta) -> str:
    """A length of time in words: "1 day", "7 days", "1 hour", "40 minutes", "1 microsecond";
    "about 65744 days" for a long one that is no whole number of those."""
    for unit, noun in (("1D", "day"), ("1h", "hour"), ("1min", "minute"), ("1s", "second"),
                       ("1ms", "millisecond"), ("1us", "microsecond")):
        size = pd.Timedelta(unit)
        if span >= pd.Timedelta("1D") and size < pd.Timedelta("1h"):
            break  # a day or more: whole days or hours, else about so many days
        if span >= size and span % size == pd.Timedelta(0):
            return count(int(span // size), noun)
    if span >= pd.Timedelta("1D"):
        return f"about {count(round(span / pd.Timedelta('1D')), 'day')}"
    return str(span)


def step_text(frequency: str) -> str:
    """One step of a frequency in words: "1 hour", "1 day", "1 business day", "1 week",
    "1 month", "3 months" (quarterly), "1 year"; the alias itself for other frequencies."""
    offset = to_offset(frequency)
    if isinstance(offset, offsets.Day):  # not a Tick in pandas 3
        return count(offset.n, "day")
    if isinstance(offset, offsets.Tick):
        return _span_text(pd.Timedelta(offset))
    if isinstance(offset, offsets.BusinessDay):
        return count(offset.n, "business day")
    if isinstance(offset, offsets.Week):
        return count(offset.n, "week")
    for kinds, months in ((_MONTH_KINDS, 1), (_QUARTER_KINDS, 3), (_YEAR_KINDS, 12)):
        if isinstance(offset, kinds):
            return _months_text(months * offset.n)
    return repr(frequency)


def _steps_between(first: pd.Timestamp, last: pd.Timestamp, frequency: str) -> float:
    """About how many steps of `frequency` lie from `first` to `last`, counted without building
    the grid: calendar months for monthly, quarterly and yearly steps, else lengths of time."""
    offset = to_offset(frequency)
    for kinds, months in ((_MONTH_KINDS, 1), (_QUARTER_KINDS, 3), (_YEAR_KINDS, 12)):
        if isinstance(offset, kinds):
            return ((last.year - first.year) * 12 + last.month - first.month) / (months * offset.n)
    days = (last - first) / pd.Timedelta("1D")  # past the calendar steps: 292 years of ns overflow
    if isinstance(offset, offsets.Day | offsets.Tick):
        return (last - first) / pd.Timedelta(offset)
    if isinstance(offset, offsets.BusinessDay):
        return days * 5 / 7 / offset.n
    if isinstance(offset, offsets.Week):
        return days / 7 / offset.n
    return days


def _grid_text(frequency: str) -> str:
    """Where the steps of a calendar frequency fall, to follow its step in a message: ", on the
    first day of a month", ", on the last day of March, June, September and December"; "" for
    steps of a fixed length."""
    offset = to_offset(frequency)
    if isinstance(offset, offsets.MonthBegin | offsets.MonthEnd):
        return f", on the {'first' if isinstance(offset, offsets.MonthBegin) else 'last'} day of a month"
    if isinstance(offset, offsets.BusinessMonthBegin | offsets.BusinessMonthEnd):
        return (f", on the {'first' if isinstance(offset, offsets.BusinessMonthBegin) else 'last'} "
                f"weekday of a month")
    if isinstance(offset, offsets.QuarterBegin | offsets.QuarterEnd):
        names = [_MONTH_NAMES[(offset.startingMonth - 1 + 3 * k) % 12] for k in range(4)]
        names = sorted(names, key=_MONTH_NAMES.index)
        which = "first" if isinstance(offset, offsets.QuarterBegin) else "last"
        return f", on the {which} day of {', '.join(names[:3])} and {names[3]}"
    if isinstance(offset, offsets.YearBegin):
        return f", on 1 {_MONTH_NAMES[offset.month - 1]}"
    if isinstance(offset, offsets.YearEnd):
        return f", on the last day of {_MONTH_NAMES[offset.month - 1]}"
    return ""


def _on_usual_phase(index: pd.DatetimeIndex, frequency: str, on_grid: np.ndarray) -> np.ndarray:
    """(len(index),) bool: True where a timestamp lies on the grid of `frequency`. A grid of a
    fixed step (hours, days) is laid through the most common position within a step, so that
    one stray first row does not put every other row off it; `on_grid` (laid from the first
    timestamp) stands for calendar grids."""
    offset = to_offset(frequency)
    if not isinstance(offset, offsets.Day | offsets.Tick):
        return on_grid
    length = pd.Timedelta(offset).value
    since = (index - index[0]).to_numpy().astype("timedelta64[ns]").astype(np.int64)
    phases, counts = np.unique(since % length, return_counts=True)
    return since % length == phases[int(np.argmax(counts))]


def _usual_day(index: pd.DatetimeIndex) -> int | None:
    """The day of the month (2 to 28) that most timestamps fall on, or None."""
    days, counts = np.unique(index.day, return_counts=True)
    day = int(days[np.argmax(counts)])
    return day if 1 < day <= 28 and 2 * counts.max() > len(index) else None


def _listed(stamps: pd.DatetimeIndex, most: int = 3) -> str:
    """The first few timestamps, as dates when they all are, then how many more: "2019-05-15,
    2019-10-15, 2020-03-15 and 2 more"."""
    stamps = pd.DatetimeIndex(stamps)
    dates = stamps.tz is None and (stamps == stamps.normalize()).all()
    shown = [f"{stamp:%Y-%m-%d}" if dates else str(stamp) for stamp in stamps[:most]]
    more = f" and {len(stamps) - most} more" if len(stamps) > most else ""
    return ", ".join(shown) + more


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
    steps = _steps_between(frame.index[0], frame.index[-1], frequency)
    if steps > max(1_000_000, 100 * len(frame)):
        raise UserError(
            f"{path} has {len(frame)} rows from {frame.index[0]} to {frame.index[-1]}; at one row "
            f"per step of {step_text(frequency)} ({frequency!r}) that is about {int(steps):,} "
            f"steps, so nearly all would be missing. Expected rows that cover that span; remove "
            f"the stray rows far from the others.")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=frequency, name=frame.index.name)
    off_grid = _off_grid(frame.index, grid)
    if off_grid.any():
        stamps = frame.index[off_grid]
        which = (f"a timestamp {_listed(stamps)} that is" if len(stamps) == 1 else
                 f"{count(len(stamps), 'timestamp')} that are")
        raise UserError(
            f"{path} has {which} not on the {frequency!r} grid the model uses (one row per step of "
            f"{step_text(frequency)}{_grid_text(frequency)}){'' if len(stamps) == 1 else ': '}"
            f"{'' if len(stamps) == 1 else _listed(stamps)}; expected one row per step. Resample "
            f"the file to that frequency.")
    if len(grid) == len(frame):  # every step present (on the grid, sorted, no duplicates): as is
        return frame
    return frame.reindex(grid)


def _off_grid(index: pd.DatetimeIndex, grid: pd.DatetimeIndex) -> np.ndarray:
    """(len(index),) bool: True where a timestamp is not on `grid` (sorted); by binary search
    for sorted timestamps (hashing ten million of them takes seconds)."""
    if not index.is_monotonic_increasing or index.tz != grid.tz:
        return ~index.isin(grid)
    stamps, points = index.as_unit(grid.unit).asi8, grid.asi8
    if len(stamps) == len(points):  # every step there, or as many off the grid as missing
        return stamps != points
    found = np.minimum(points.searchsorted(stamps), len(points) - 1)
    return points[found] != stamps


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
    position = {"hour": times.hour + times.minute / 60, "weekday": times.day_of_week,
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
    found, unit = duplicate_timestamps(index, lines), place(lines)
    if found:
        (stamp, lines), more = found[0], len(found) - 1
        others = f" (and {count(more, 'more repeated timestamp')})" if more else ""
        raise UserError(
            f"{path} has duplicate timestamps: {stamp} appears on {unit}s "
            f"{', '.join(map(str, lines))}{others}. Expected one row per time step; remove or "
            f"aggregate the duplicates.")


def format_times(times: pd.DatetimeIndex, kind: str, pattern: str | None = None) -> list:
    """Timestamps written the way the input file wrote them: years, yyyymmdd, the file's own text
    pattern (`text_time_format`; when writing with it reads back the same times: 1998 Q2 for the
    quarter starting 1998-04-01, but ISO text for a day inside it), or else ISO text."""
    if kind == "year":
        return [int(t.year) for t in times]
    if kind == "yyyymmdd":
        return [int(t.strftime("%Y%m%d")) for t in times]
    if pattern is not None:
        written = [_strftime(t, pattern) for t in times]
        try:
            read = _read_periods(pd.Series(written, dtype=object))
            if read is None:
                read = pd.to_datetime(written, format=pattern.replace("Z", "%z"))
            same = (pd.DatetimeIndex(read) == times).all()
        except (ValueError, TypeError):
            same = False
        if same:
            return written
    if (times == times.normalize()).all() and times.tz is None:
        return [t.strftime("%Y-%m-%d") for t in times]
    return [t.isoformat(sep=" ") for t in times]
