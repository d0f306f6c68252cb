"""Read a CSV, find its time column and target, and regularise it to one row per time step.

The result is a `Series`: a float frame on a regular DatetimeIndex (missing timestamps inserted as
NaN rows), plus the `Schema` that says which columns mean what. Missing values are left as NaN here
and filled by `fill_missing` once the caller knows where the splits fall, so that no value from a
later split leaks into an earlier one.

The schema carries an `id_column` slot for long-format files holding many series (one global
model); today every file is one series and it is always None.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types
from pandas.tseries import offsets

from forecaster.errors import UserError

TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds", "year", "month", "period")

# Season length (steps per natural cycle) of calendar frequencies, business days before days.
_CALENDAR_SEASONS = (
    (offsets.BusinessDay, 5),
    (offsets.Day, 7),
    (offsets.Week, 52),
    ((offsets.MonthBegin, offsets.MonthEnd, offsets.BusinessMonthBegin, offsets.BusinessMonthEnd), 12),
    ((offsets.QuarterBegin, offsets.QuarterEnd, offsets.BQuarterBegin, offsets.BQuarterEnd), 4),
)


@dataclass(frozen=True)
class Schema:
    """What the columns of a file mean; saved in the bundle and checked against forecast input."""

    time_column: str
    target: str
    features: tuple[str, ...]  # extra input columns besides the target
    time_kind: str  # how the file writes time: "datetime", "year" or "yyyymmdd"
    frequency: str  # pandas offset alias, e.g. "h", "D", "MS"
    time_format: str | None = None  # strftime pattern of text times ("%Y-%m"), to write them back
    calendar: tuple[str, ...] = ()  # calendar inputs derived from the timestamps (see `calendar`)
    id_column: str | None = None  # long format (many series): reserved, always None today

    @property
    def columns(self) -> tuple[str, ...]:
        """The file's columns the model reads, target first."""
        return (self.target, *self.features)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["features"] = list(self.features)
        values["calendar"] = list(self.calendar)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Schema:
        return cls(**{**values, "features": tuple(values["features"]),
                      "calendar": tuple(values.get("calendar", ()))})


@dataclass
class Series:
    """One regular time series: `frame` has a DatetimeIndex at `schema.frequency` and float columns
    `schema.columns` (target first), with NaN where a value or a whole timestamp was missing."""

    frame: pd.DataFrame
    schema: Schema
    source: str  # the file it came from, for messages
    missing_timestamps: int  # rows inserted to make the index regular

    @property
    def observed(self) -> np.ndarray:
        """(rows,) bool: True where the file had a target value (not missing, not inserted)."""
        return self.frame[self.schema.target].notna().to_numpy()

    @property
    def missing_values(self) -> int:
        """Missing target values, including those at inserted timestamps."""
        return int((~self.observed).sum())

    def values(self, fill: str, segments=()) -> np.ndarray:
        """(rows, columns) float64 in the user's units, target first, then the features, missing
        values filled within each segment (see `fill_missing`), then the calendar inputs."""
        filled = fill_missing(self.frame.to_numpy(dtype="float64"), fill, segments,
                              names=self.schema.columns)
        if not self.schema.calendar:
            return filled
        return np.hstack([filled, calendar(self.frame.index, self.schema.calendar)])


def read_series(
    path: str | Path,
    time_column: str | None = None,
    target: str | None = None,
    features: tuple[str, ...] = (),
    schema: Schema | None = None,
    with_calendar: bool = False,
    table: pd.DataFrame | None = None,
) -> Series:
    """Read `path` into a regular Series.

    Columns are found automatically where unambiguous; pass `schema` (from a trained bundle) to
    require the same columns and frequency as at training time. `with_calendar` adds the calendar
    inputs that vary at the data's frequency (a schema brings its own). `table` is the file as
    `read_table` gives it, for a caller that has read it already (it is not changed).
    """
    raw = read_table(path) if table is None else table
    if schema is not None:
        time_column, target, features = schema.time_column, schema.target, schema.features
        missing = [c for c in (time_column, *schema.columns) if c not in raw.columns]
        if missing:
            raise UserError(
                f"{path} lacks column(s) {', '.join(map(repr, missing))} that the model was trained "
                f"on; it has {_listing(raw.columns)}. Pass a CSV with the training columns.")
    time_column = time_column or find_time_column(raw, path)
    require_columns(raw, path, [time_column, *([target] if target else []), *features])
    times, time_kind = parse_times(raw[time_column], time_column, path)
    target = target or find_target(raw, path, exclude=(time_column,))
    if target == time_column or target in features:
        raise UserError(
            f"--target {target!r} is also used as the time column or a feature; pick a different "
            f"column for each role.")
    values = {name: to_numbers(raw[name], name, path).to_numpy() for name in (target, *features)}
    if schema is None:
        check_target_varies(values[target], target, path)
    lines = raw.index.to_numpy()  # the file's line numbers (see `read_table`)
    time_format = text_time_format(raw[time_column]) if time_kind == "datetime" else None
    del raw  # a long file's text cells go now: only the numbers and times are kept
    frame = pd.DataFrame(values, index=pd.DatetimeIndex(times, name=time_column), copy=False)
    del values
    if not frame.index.is_monotonic_increasing:  # sorted files (the usual case) are not copied
        order = np.argsort(frame.index.asi8, kind="stable")
        frame, lines = frame.iloc[order], lines[order]
    refuse_duplicates(frame.index, lines, path)
    if schema is None:
        frequency = infer_frequency(frame.index, path)
    else:
        if time_kind != schema.time_kind:
            raise UserError(
                f"{path} writes time as {time_kind} values in column {time_column!r}, but the "
                f"model was trained on {schema.time_kind} values. Use the training format.")
        frequency = infer_frequency(frame.index, path) if len(frame) >= 3 else schema.frequency
        if _offset(frequency) != _offset(schema.frequency):
            raise UserError(
                f"{path} has one row per {frequency!r} step, but the model was trained on "
                f"{schema.frequency!r} data; pass a history at the training frequency (resample "
                f"it), or train a model on this frequency.")
        frequency = schema.frequency
    regular = regularise(frame, frequency, path)
    if schema is not None:
        names = schema.calendar
    elif with_calendar:
        names = calendar_names(frequency)
        if not names:
            raise UserError(
                f"--calendar adds inputs that repeat within a year (hour, weekday, month), but "
                f"{path} has one row per {frequency!r} step, where none of them varies; drop "
                f"--calendar.")
    else:
        names = ()
    schema = Schema(time_column, target, tuple(features), time_kind, frequency, time_format, names)
    return Series(regular, schema, str(path), len(regular) - len(frame))


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


def read_table(path: str | Path) -> pd.DataFrame:
    """The CSV as pandas reads it, indexed by each row's line number in the file (the header is
    line 1 of a plain file), or a UserError saying why it cannot be read.

    UTF-8 with or without a byte-order mark; Windows or Unix line endings; fields separated by
    commas, or by ';', tabs or '|' when the header has no comma. Lines starting with '#' and blank
    lines are skipped, and so are rows whose cells are all empty. Every other row must have as many
    fields as the header (a trailing separator aside).
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist; pass the path of a CSV file.")
    if not path.is_file():
        raise UserError(f"{path} is a directory, not a file; pass the path of a CSV file.")
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 16)
        _check_text(head, path)  # a binary file or another encoding is refused before it is read
        plain = _plain(path, head)
        data = None if plain else path.read_bytes()
    except OSError as error:
        raise UserError(
            f"{path} cannot be read ({error.strerror}); expected a readable CSV file. Check its "
            f"permissions.") from None
    if plain:  # the usual file: pandas reads it from disk; row i is on line i + 2
        header = _first_line(head)
        numbers = None
    else:  # comment or blank lines: drop them, remembering the line number of each kept line
        lines, numbers = _content_lines(_decode(data, path))
        if not lines:
            what = "holds only comment or blank lines" if data.strip() else "is empty"
            raise UserError(f"{path} {what}; expected a header line and rows of data.")
        header, text = lines[0], "\n".join(lines) + "\n"
    separator = _separator(header)

    def line_of(number: int) -> int:
        """The file's line number of line `number` of what pandas read."""
        return number if numbers is None else numbers[min(number, len(numbers)) - 1]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            raw = pd.read_csv(path if plain else io.StringIO(text), sep=separator, encoding="utf-8-sig",
                              skipinitialspace=True, index_col=False)
    except UnicodeDecodeError:
        _decode(path.read_bytes(), path)  # raises, naming the line
        raise
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty; expected a header line and rows of data.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, OverflowError) as error:
        raise _malformed(path, error, separator, line_of) from None
    rows = len(raw)
    raw.index = pd.Index(np.arange(rows) + 2 if numbers is None or len(numbers) != rows + 1
                         else numbers[1:], name="line")
    _refuse_short_rows(raw, path, header, separator, None if plain else lines, numbers)
    raw.columns = [str(c).strip() for c in raw.columns]
    blank = raw.iloc[:, 0].isna()  # rows whose cells are all empty (",,,"), looked for cheaply
    if blank.any():
        raw = raw[~(blank & raw.isna().all(axis=1))]
    if raw.empty:
        raise UserError(f"{path} has a header but no rows; expected rows of data under it.")
    if len(raw.columns) < 2:
        hint = " (it looks separated by spaces)" if len(header.split()) > 1 else ""
        raise UserError(
            f"{path} has one column, {raw.columns[0]!r}{hint}; expected a time column and a value "
            f"column separated by commas (';', tabs and '|' are recognised too). Save it as a "
            f"comma-separated CSV.")
    return raw


_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}

# The opening bytes of files that are often passed by mistake, and what to do instead.
_SIGNATURES = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?)",
     "Export it as CSV (in Excel: Save As, CSV UTF-8)"),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook", "Export it as CSV (in Excel: Save As, CSV UTF-8)"),
    (b"\x1f\x8b", "gzip-compressed", "Decompress it first (gunzip)"),
    (b"PAR1", "a Parquet file", "Write it as CSV (pandas: read_parquet, then to_csv)"),
    (b"%PDF", "a PDF document", "Pass the CSV itself"),
    (b"\x89PNG", "a PNG image", "Pass the CSV itself"),
)


def _check_text(head: bytes, path: Path) -> None:
    """A UserError if the file's first bytes are not UTF-8 text: another encoding, or binary."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if head.startswith(bom):
            raise UserError(
                f"{path} is {name} text; expected UTF-8. Save it as UTF-8 (in Excel: CSV UTF-8; "
                f"or iconv -f {name} -t UTF-8).")
    for signature, what, fix in _SIGNATURES:
        if head.startswith(signature):
            raise UserError(f"{path} is {what}, not CSV text; expected a CSV file. {fix}.")
    if b"\x00" in head:
        half = max(1, len(head) // 2)
        odd, even = head[1::2].count(0) / half, head[0::2].count(0) / half
        if max(odd, even) > 0.4 and min(odd, even) < 0.05:
            raise UserError(
                f"{path} looks like UTF-16 text (every other byte is zero); expected UTF-8. Save it "
                f"as UTF-8 (in Excel: CSV UTF-8; or iconv -f UTF-16 -t UTF-8).")
        raise UserError(
            f"{path} holds binary data (NUL bytes), not text; expected a CSV text file. Pass the CSV "
            f"itself, or export the data as CSV.")


def _decode(data: bytes, path: Path) -> str:
    """The file's text, or a UserError for bytes that are not UTF-8 text (its first 64 KiB have
    passed `_check_text`)."""
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise UserError(
            f"{path} holds binary data (a NUL byte on line {line}), not text; expected a CSV text "
            f"file. Pass the CSV itself, or export the data as CSV.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8 text: line {line} holds the byte 0x{data[error.start]:02x}, which "
            f"UTF-8 cannot decode (Latin-1 or Windows-1252 text?); expected UTF-8. Save it as UTF-8 "
            f"CSV (or iconv -f latin1 -t UTF-8).") from None


def _plain(path: Path, head: bytes) -> bool:
    """True when pandas can read the file as it is and keep its line numbers: more than one line,
    no comment line and no blank line before the last row (a quick scan for a line break followed
    by '#' or by another line break). `head`, the first 64 KiB, has passed `_check_text`."""
    if not head.strip():
        return False
    first = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t")
    if first.startswith((b"#", b"\n", b"\r")):
        return False
    if b"\n" not in head:  # one line so far, or lines ended by CR alone
        return False
    with open(path, "rb") as file:
        tail, pending = b"", False  # pending: blank lines seen, harmless if nothing follows them
        while chunk := file.read(1 << 22):
            if pending and chunk.strip():
                return False
            block = tail + chunk
            found = _SKIPPED_LINE.search(block)
            if found and block[found.start():].strip():
                return False
            pending, tail = pending or found is not None, chunk[-256:]
    return True


_SKIPPED_LINE = re.compile(rb"\n[ \t]*(?:#|\r?\n)")  # a line break, then a comment or a blank line


def _first_line(head: bytes) -> str:
    line = head.removeprefix(codecs.BOM_UTF8).replace(b"\r", b"\n").split(b"\n", 1)[0]
    return line.decode("utf-8", errors="replace")


def _content_lines(text: str) -> tuple[list[str], list[int]]:
    """The lines that hold the header and rows, and their line numbers in the file (from 1):
    comment lines (starting with '#') and blank lines are dropped; CRLF and CR end lines too."""
    lines, numbers = [], []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(line)
            numbers.append(number)
    return lines, numbers


def _malformed(path, error: Exception, separator: str, line_of) -> UserError:
    """The UserError for a file pandas cannot split into rows."""
    name = _SEPARATOR_NAMES[separator]
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if found:
        expected, line, saw = map(int, found.groups())
        return UserError(
            f"{path} is not a well-formed CSV: line {line_of(line)} has {saw} fields but the header "
            f"has {expected}; expected the same number of {name}-separated fields on every row. "
            f"Fix that row (put quotes around a value that contains a {name}).")
    if isinstance(error, pd.errors.ParserWarning):  # the first row is longer than the header
        return UserError(
            f"{path} is not a well-formed CSV: line {line_of(2)} has more fields than the header; "
            f"expected the same number of {name}-separated fields on every row. Fix that row, or "
            f"name every column in the header.")
    reason = " ".join(str(error).split())
    return UserError(
        f"{path} is not a well-formed CSV ({reason}); expected {name}-separated fields, with quotes "
        f"around values that contain a {name}. Fix the file.")


def _refuse_short_rows(raw: pd.DataFrame, path, header: str, separator: str, lines, numbers) -> None:
    """A UserError for a row with fewer fields than the header (pandas would fill them with NaN).

    Only rows whose last column is empty can be short; their lines are split again to count."""
    names = next(csv.reader([header], delimiter=separator, skipinitialspace=True), [])
    width = len(names) - (len(names) > 1 and not names[-1].strip())  # a trailing separator aside
    if not 0 < width <= len(raw.columns):
        return
    suspects = set(raw.index[raw[raw.columns[width - 1]].isna()])
    if not suspects:
        return
    if lines is None:
        with open(path, encoding="utf-8-sig", newline="") as file:
            found = _short(enumerate(file, 1), suspects, width, separator)
    else:
        found = _short(zip(numbers, lines, strict=True), suspects, width, separator)
    if found:
        (line, fields), more = found[0], len(found) - 1
        name = _SEPARATOR_NAMES[separator]
        others = f" ({count(more, 'more row')} too)" if more else ""
        raise UserError(
            f"{path} is not a well-formed CSV: line {line} has {count(fields, 'field')} "
            f"but the header has {width}{others}; expected the same number of {name}-separated "
            f"fields on every row. Fix that row (an empty value still needs its {name}).")


def _short(numbered_lines, wanted: set, width: int, separator: str) -> list[tuple[int, int]]:
    """(line, fields) of each wanted line that has fewer than `width` fields."""
    found, last = [], max(wanted)
    for number, line in numbered_lines:
        if number in wanted:
            fields = len(next(csv.reader([line.rstrip("\r\n")], delimiter=separator), [""]))
            if fields < width and line.strip():
                found.append((number, fields))
        if number >= last:
            break
    return found


def _separator(header: str) -> str:
    """The comma, unless the header line has none and is split by ';', a tab or '|' instead."""
    if "," in header:
        return ","
    counts = {sep: header.count(sep) for sep in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def find_time_column(raw: pd.DataFrame, path) -> str:
    """The one column that parses as dates, integer years or yyyymmdd integers."""
    text = [c for c in raw.columns if _is_text_or_datetime(raw[c]) and _parses(raw[c])]
    candidates = text or [c for c in raw.columns
                          if types.is_integer_dtype(raw[c]) and raw[c].is_unique and _parses(raw[c])]
    if len(candidates) > 1:
        named = [c for c in candidates if c.lower() in TIME_NAMES]
        if len(named) == 1:
            return named[0]
        raise UserError(
            f"{path} has several columns that parse as times: {_listing(candidates)}; choose one "
            f"with --time-col.")
    if not candidates:
        for name in raw.columns:  # a time column with a flaw: say what the flaw is
            if name.lower() in TIME_NAMES or _mostly_times(raw[name]):
                parse_times(raw[name], name, path)
                return name  # a time column all the same (integer years that repeat)
        raise UserError(
            f"{path} has no column that parses as dates or years (columns: "
            f"{_listing(raw.columns)}); expected ISO dates like 2010-01-01 or 2010-01-01 13:00, "
            f"integer years or yyyymmdd integers. Name the column with --time-col.")
    return candidates[0]


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
    parsed = _to_datetime(column)
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
        coerced = _to_datetime(column, errors="coerce")
        failed = coerced.isna() if coerced is not None else pd.Series(True, index=column.index)
        position = int(np.argmax(failed.to_numpy()))
        raise UserError(
            f"time column {name!r} of {path} does not parse as dates: line "
            f"{column.index[position]} holds {column.iloc[position]!r}. Expected one format "
            f"throughout, such as 2010-01-01 or 2010-01-01 13:00 (all with the same UTC offset, if "
            f"any); fix that cell or choose another column with --time-col.")
    return pd.DatetimeIndex(parsed), "datetime"


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
    written = _to_datetime(sample)
    if written is None:
        return None
    for dayfirst in (False, True):  # the order _to_datetime reads them in
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


def find_target(raw: pd.DataFrame, path, exclude=()) -> str:
    """The one numeric column besides the time column (columns with no value at all are skipped)."""
    candidates = [c for c in raw.columns
                  if c not in exclude and raw[c].notna().any() and _is_numeric_like(raw[c])]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        for name in raw.columns:
            if name not in exclude and (pd.to_numeric(raw[name], errors="coerce").notna().any()
                                        or _decimal_commas(raw[name])):
                to_numbers(raw[name], name, path)  # partly numbers: say which cells are not
        raise UserError(
            f"{path} has no numeric column to forecast besides {_listing(exclude)} (columns: "
            f"{_listing(raw.columns)}); add one, or name it with --target.")
    raise UserError(
        f"{path} has several numeric columns: {_listing(candidates)}; choose the one to forecast "
        f"with --target (and add others as inputs with --features).")


def text_cells(column: pd.Series) -> np.ndarray:
    """(rows,) bool: True where a cell holds something other than a number or nothing (empty
    cells, and the markers pandas reads as missing such as NA and n/a, are not text)."""
    if types.is_bool_dtype(column):
        return column.notna().to_numpy()
    if types.is_numeric_dtype(column):
        return np.zeros(len(column), dtype=bool)
    return (pd.to_numeric(column, errors="coerce").isna() & column.notna()).to_numpy()


def to_numbers(column: pd.Series, name: str, path) -> pd.Series:
    """A float copy of a numeric column; text or infinity in it is a UserError naming the line."""
    if types.is_bool_dtype(column):
        raise UserError(
            f"column {name!r} of {path} holds true/false values; expected numbers. Choose a "
            f"numeric column.")
    text = text_cells(column)
    if text.any():
        position = int(np.argmax(text))
        value = column.iloc[position]
        hint = " (a decimal comma? write 12.5, not 12,5)" if "," in str(value) else ""
        more = int(text.sum()) - 1
        others = f", and {more} more {'cells hold' if more != 1 else 'cell holds'} text" if more else ""
        raise UserError(
            f"column {name!r} of {path} has text where numbers are expected: line "
            f"{column.index[position]} holds {value!r}{hint}{others}. Fix or empty those cells "
            f"(empty cells count as missing), or choose another column.")
    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        position = int(np.argmax(infinite))
        more = int(infinite.sum()) - 1
        others = f" (and {count(more, 'more line')})" if more else ""
        raise UserError(
            f"column {name!r} of {path} is infinite on line {column.index[position]}{others}; "
            f"expected finite numbers. Fix or empty those cells.")
    if numbers.isna().all():
        raise UserError(
            f"column {name!r} of {path} is empty; expected numbers in it. Fill it, or choose "
            f"another column.")
    return numbers.reset_index(drop=True)


def check_target_varies(values: np.ndarray, name: str, path) -> None:
    """Refuse a target whose values (NaN aside) are all equal: there is nothing to learn."""
    present = values[~np.isnan(values)]
    if len(present) > 1 and (present == present[0]).all():
        raise UserError(
            f"column {name!r} of {path} is constant: all {len(present)} values are "
            f"{present[0]:g}; expected a target that varies, since a constant has nothing to "
            f"learn. Choose another column with --target, or check the file.")


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


def regularise(frame: pd.DataFrame, frequency: str, path) -> pd.DataFrame:
    """Reindex to every step from the first timestamp to the last; new rows are NaN."""
    offset = _offset(frequency)
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


def fill_missing(values: np.ndarray, method: str, segments=(), names=()) -> np.ndarray:
    """Fill NaN in a (rows, columns) array, never carrying a value back across a segment start.

    `segments` are row indices where a new split starts. Inside a segment, "interpolate" draws
    straight lines between known values; a gap at the start of a segment takes the last value
    before it (the past), and only a gap at the very start of the series takes the first value
    after it. "ffill" repeats the last known value. "error" refuses any missing value.
    """
    values = np.asarray(values, dtype="float64")
    missing = np.isnan(values)
    if not missing.any():
        return values  # as given: nothing to fill, nothing copied
    if method == "error":
        row, column = np.argwhere(missing)[0]
        name = names[column] if len(names) > column else f"column {column}"
        raise UserError(
            f"{name} is missing at row {row} of the regular series (an empty cell or a missing "
            f"timestamp) and --fill is 'error'; fill the data, or use --fill interpolate or ffill.")
    bounds = [0, *sorted(s for s in segments if 0 < s < len(values)), len(values)]
    frame = pd.DataFrame(values)
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        piece = frame.iloc[start:stop]
        if method == "interpolate":
            piece = piece.interpolate(method="linear", limit_area="inside")
        pieces.append(piece)
    return pd.concat(pieces).ffill().bfill().to_numpy()


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


def count(number: int, noun: str) -> str:
    """'1 row', '2 rows': a number and its noun, for messages."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def split_points(rows: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Row indices where validation and test start: train = [0, a), val = [a, b), test = [b, rows)."""
    test_rows = int(round(rows * test_fraction))
    val_rows = int(round(rows * val_fraction))
    return rows - test_rows - val_rows, rows - test_rows


def _to_datetime(column: pd.Series, errors: str = "raise"):
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


def _parses(column: pd.Series) -> bool:
    if column.isna().all():
        return False
    try:
        parse_times(column, "", "")
    except UserError:
        return False
    return True


def _is_text_or_datetime(column: pd.Series) -> bool:
    return (types.is_string_dtype(column) or types.is_object_dtype(column)
            or types.is_datetime64_any_dtype(column))


def _is_numeric_like(column: pd.Series) -> bool:
    """Numeric, or text whose non-empty cells are mostly numbers (stray text is reported later)."""
    if types.is_bool_dtype(column):
        return False
    if types.is_numeric_dtype(column):
        return True
    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return False
    present = column.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.8


def _decimal_commas(column: pd.Series) -> bool:
    """Text whose non-empty cells are mostly numbers written with a decimal comma (12,5)."""
    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return False
    present = column.dropna().astype(str)
    if len(present) == 0 or not present.str.contains(",", regex=False).any():
        return False
    return _is_numeric_like(present.str.replace(",", ".", regex=False))


def _mostly_times(column: pd.Series) -> bool:
    """Text (not numbers) of which at least half the non-empty cells parse as dates."""
    present = column.dropna()
    if (len(present) == 0 or _is_numeric_like(column)
            or not (types.is_string_dtype(column) or types.is_object_dtype(column))):
        return False
    parsed = _to_datetime(present, errors="coerce")
    return parsed is not None and parsed.notna().mean() >= 0.5


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


def _offset(frequency: str):
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


def require_columns(raw: pd.DataFrame, path, names) -> None:
    """A UserError naming the first of `names` that is not a column of `raw`."""
    for name in names:
        if name not in raw.columns:
            raise UserError(
                f"{path} has no column {name!r}; its columns are {_listing(raw.columns)}. Check "
                f"the spelling (names are case-sensitive).")


def _listing(names) -> str:
    return ", ".join(repr(str(n)) for n in names)
