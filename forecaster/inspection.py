"""What forecaster sees in a CSV, problems included: the report behind `forecaster inspect`.

`inspect` runs the checks of `forecaster.data` one by one and collects what each finds instead of
stopping at the first: the columns and their types, the time column, target and features it
would choose, the time range and frequency, gaps, duplicate timestamps, missing values,
non-numeric cells and constant columns. `problems` are the messages `train` would stop with (each
says how to fix it); `notes` are findings that `train` handles by itself (gaps and missing values
are filled). Rows that hold no value (every target and feature cell empty) and that `train` drops
(off the grid of the rows with values, at a repeated time, with no id) are counted and left out of
the rest of the report. Only a file that cannot be read as a table at all is a UserError.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types

from forecaster import data
from forecaster.config import Settings
from forecaster.data.panel import rows_without_values, series_codes, stray_empty_rows
from forecaster.errors import UserError, listing
from forecaster.seasons import find_seasons

EXAMPLES = 3  # non-numeric cells quoted per column
LARGEST = 5  # gaps and duplicate timestamps listed


@dataclass(frozen=True)
class Column:
    """One column of the file as forecaster reads it."""

    name: str
    kind: str  # "number", "text", "numbers and text", "true/false", "empty", or for the time
    #            column how it writes time: "datetime", "year", "yyyymmdd"
    role: str  # "time", "target", "feature" or "" (not read)
    missing: int  # empty cells, and cells pandas reads as missing (NA, n/a, null, ...)
    text_cells: int  # non-numeric cells listed: in the target, a feature, or a mostly numeric column
    examples: tuple[tuple[int, str], ...]  # (line, cell) of the first few of those
    constant: str | None  # the one value of a column whose non-missing cells are all equal


@dataclass(frozen=True)
class Gap:
    """A run of missing timestamps between two rows of the file."""

    first: pd.Timestamp  # the first missing timestamp
    last: pd.Timestamp  # the last missing timestamp
    missing: int  # timestamps missing, first to last


@dataclass(frozen=True)
class Series:
    """The series of a file as `train` would read them: many in a long or wide file, or one."""

    count: int
    id_columns: tuple[str, ...]  # the id column(s) of an output: the file's own, or "series" (wide)
    lengths: tuple[int, int, int]  # rows per series: min, median, max
    starts: tuple[pd.Timestamp, pd.Timestamp]  # earliest and latest first timestamp
    ends: tuple[pd.Timestamp, pd.Timestamp]  # earliest and latest last timestamp
    left_out: tuple[tuple[str, str], ...]  # (id, why) of the series that hold no value, the first few
    left_out_count: int
    with_missing: int  # series with at least one missing target value
    most_missing: tuple[tuple[str, int], ...]  # (id, missing values) of the worst, at most LARGEST


@dataclass
class Inspection:
    """What `read_panel` would see in a file, and every problem found on the way."""

    path: str
    rows: int  # data rows (comment and blank lines not counted)
    columns: tuple[Column, ...]
    time_column: str | None
    time_kind: str | None  # "datetime", "year" or "yyyymmdd"; None if the times do not parse
    target: str | None
    features: tuple[str, ...]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    frequency: str | None  # pandas alias, e.g. "h"
    missing_timestamps: int  # steps of the regular grid with no row
    gaps: tuple[Gap, ...]  # the largest (at most LARGEST), largest first
    gap_count: int
    duplicates: tuple[tuple[pd.Timestamp, tuple[int, ...]], ...]  # (timestamp, its lines), the first few
    duplicate_count: int  # timestamps that appear more than once
    problems: tuple[str, ...]  # what would stop `train`, each saying how to fix it
    notes: tuple[str, ...]  # findings `train` handles by itself
    series: Series | None = None  # the series found (None when the file cannot be read as series)
    empty_rows: int = 0  # rows that hold no value (every target and feature cell empty) and that
    #                      train drops (see `data.panel.stray_empty_rows`); left out of the rest
    empty_lines: tuple[int, ...] = ()  # the lines of the first few of those
    seasons: str | None = None  # the seasonal periods train would find in the training rows
    unit: str = "line"  # what the numbers above count: a CSV's lines, a Parquet file's rows

    @property
    def ready(self) -> bool:
        """True when `train` would read the file without an error."""
        return not self.problems

    def text(self) -> str:
        """The report as the CLI prints it."""
        return format_inspection(self)


def inspect(path, time_column: str | None = None, target: str | None = None,
            features: tuple[str, ...] = (), id_columns: tuple[str, ...] = ()) -> Inspection:
    """Inspect the CSV at `path` with the same column choices as `train` (None: found automatically);
    `target` may name several columns (or "all") of a wide file, `id_columns` those of a long one.

    Raises UserError only when the file cannot be read as a table (missing, a folder, empty, binary,
    not UTF-8, ragged rows); every other problem is listed in the report.
    """
    raw = data.read_table(path)
    problems: list[str] = []

    def attempt(check, *arguments):
        try:
            return check(*arguments)
        except UserError as error:
            problems.append(str(error))
            return None

    given = (time_column, target, tuple(features), tuple(id_columns))
    targets = data.parse_names(target)
    wide = len(targets) > 1 or (targets == ("all",) and "all" not in raw.columns)
    for name in (time_column, *(() if wide and targets == ("all",) else targets), *features,
                 *id_columns):
        if name is not None and name not in raw.columns:
            attempt(data.require_columns, raw, path, [name])
    time_column = time_column if time_column in raw.columns else None
    target = target if target in raw.columns else None
    features = tuple(f for f in features if f in raw.columns)
    named = (*id_columns, *targets, *features)
    time_column = time_column or attempt(data.find_time_column, raw, path, named)
    parsed = attempt(data.parse_times, raw[time_column], time_column, path) if time_column else None
    times, time_kind = parsed if parsed is not None else (None, None)
    if wide:
        target = None
    else:
        target = target or attempt(data.find_target, raw, path,
                                   (*id_columns, *((time_column,) if time_column else ())))
    for name in (target, *features):
        if name is not None and name != time_column:
            values = attempt(data.to_numbers, raw[name], name, path)
            if name == target and values is not None:
                attempt(data.check_target_varies, values.to_numpy(), name, path)
    roles = {**{f: "feature" for f in features}, **{i: "id" for i in id_columns},
             **({t: "target" for t in targets if t in raw.columns} if wide else {target: "target"}),
             time_column: "time"}
    used = [name for name in (*roles_of(roles, "target"), *features) if name in raw.columns]
    if not any(roles.get(name) == "target" for name in used):  # no target yet: every other column
        used = [name for name in raw.columns if name not in (time_column, *id_columns)]
    empty = _dropped_rows(raw, times, rows_without_values(raw, used), id_columns, path)
    kept = raw[~empty] if empty.any() else raw
    columns = tuple(_column(kept[name], name, roles.get(name, ""), time_kind) for name in raw.columns)

    start = end = frequency = None
    missing_timestamps, gaps, gap_count, duplicates = 0, (), 0, []
    if times is not None and len(kept):
        index, lines = pd.DatetimeIndex(times)[~empty], kept.index.to_numpy()
        if not (id_columns or wide):  # one series: a repeated timestamp is a problem of its own
            duplicates = data.duplicate_timestamps(index, lines)
        unique = index.unique().sort_values()
        start, end = unique[0], unique[-1]
        frequency = attempt(data.infer_frequency, unique, path)
        if frequency is not None:
            grid = pd.date_range(start, end, freq=frequency)
            on_grid = grid.get_indexer(unique)
            if (on_grid >= 0).all():
                missing_timestamps = len(grid) - len(unique)
                gap_count, gaps = _gaps(grid, on_grid)
    series = seasons = None
    try:  # what train would say: its first problem, or none
        panel = data.read_panel(path, given[0], given[1], given[2], given[3], table=raw)
        series = _series(panel)
        seasons = _seasons(panel)
    except UserError as error:
        if str(error) not in problems:
            problems.append(str(error))
    return Inspection(
        str(path), len(raw), columns, time_column, time_kind,
        target if not wide else ",".join(roles_of(roles, "target")), features, start, end,
        frequency, missing_timestamps, gaps, gap_count,
        tuple((stamp, tuple(lines)) for stamp, lines in duplicates[:LARGEST]), len(duplicates),
        tuple(problems), tuple(_notes(columns, missing_timestamps, gap_count)
                               + _known_ahead(raw, times, target, id_columns, roles)), series,
        int(empty.sum()), tuple(int(line) for line in raw.index[empty][:EXAMPLES]), seasons,
        data.place(raw.index))


def _dropped_rows(raw: pd.DataFrame, times, empty: np.ndarray, id_columns, path) -> np.ndarray:
    """(rows,) bool: the rows with no value (`empty`) that `read_panel` drops: with no id, or
    as `data.panel.stray_empty_rows` finds them; none when the times do not parse."""
    if times is None or not empty.any():
        return np.zeros(len(raw), dtype=bool)
    ids = raw[[name for name in id_columns if name in raw.columns]]
    drop = empty & ids.isna().any(axis=1).to_numpy()  # no id: no series
    codes = (pd.factorize(pd.MultiIndex.from_frame(ids.astype(str)))[0] if len(ids.columns)
             else np.zeros(len(raw), dtype=np.int64))
    rest = ~drop
    drop[rest] = stray_empty_rows(pd.DatetimeIndex(times)[rest], codes[rest], empty[rest],
                                  lambda unique: data.infer_frequency(unique, path))
    return drop


def roles_of(roles: dict, role: str) -> list[str]:
    return [name for name, given in roles.items() if given == role]


def _seasons(panel: data.Panel) -> str:
    """The seasonal periods `train` finds with the default splits, in words."""
    defaults = Settings()
    splits = data.time_splits(panel, defaults.val_fraction, defaults.test_fraction)
    training = [panel.values(k, defaults.fill, segments=(splits.val_start[k], splits.test_start[k]))[
        :splits.val_start[k], 0] for k in range(len(panel))]
    return find_seasons([rows for rows in training if len(rows)], panel.schema.frequency).describe()


def _series(panel: data.Panel) -> Series:
    lengths = panel.lengths
    ends = panel.ends
    missing = np.array([int(np.isnan(panel.rows(k)[:, 0]).sum()) for k in range(len(panel))])
    worst = [k for k in np.argsort(-missing, kind="stable")[:LARGEST] if missing[k] > 0]
    return Series(
        len(panel), panel.schema.id_names,
        (int(lengths.min()), int(np.median(lengths)), int(lengths.max())),
        (panel.starts.min(), panel.starts.max()), (ends.min(), ends.max()),
        tuple((data.id_text(name), why) for name, why in panel.left_out[:LARGEST]),
        len(panel.left_out), int((missing > 0).sum()),
        tuple((panel.label(k), int(missing[k])) for k in worst))


def _column(column: pd.Series, name: str, role: str, time_kind: str | None) -> Column:
    missing = int(column.isna().sum())
    if role == "time":
        return Column(name, time_kind or "text", role, missing, 0, (), None)
    present = column.dropna()
    text = data.text_cells(column)
    if types.is_bool_dtype(column):
        kind = "true/false"
    elif len(present) == 0:
        kind = "empty"
    elif not text.any():
        kind = "number"
    elif text.sum() == len(present):
        kind = "text"
    else:
        kind = "numbers and text"
    listed = (np.flatnonzero(text) if kind == "numbers and text" or role not in ("", "id")
              else np.zeros(0, dtype=int))
    examples = tuple((int(column.index[p]), str(column.iloc[p])) for p in listed[:EXAMPLES])
    values = pd.to_numeric(present) if kind == "number" else present.astype(str).str.strip()
    constant = str(present.iloc[0]).strip() if len(present) > 1 and values.nunique() == 1 else None
    return Column(name, kind, role, missing, len(listed), examples, constant)


def _gaps(grid: pd.DatetimeIndex, on_grid: np.ndarray) -> tuple[int, tuple[Gap, ...]]:
    """The number of gaps, and the largest (at most LARGEST: largest first, then earliest).
    `on_grid`: the grid positions of the file's sorted, unique timestamps."""
    steps = np.diff(on_grid)
    at = np.flatnonzero(steps > 1)
    largest = sorted(at, key=lambda i: (-steps[i], i))[:LARGEST]
    return len(at), tuple(Gap(grid[on_grid[i] + 1], grid[on_grid[i + 1] - 1], int(steps[i] - 1))
                          for i in largest)


def _notes(columns, missing_timestamps: int, gap_count: int) -> list[str]:
    notes = []
    if missing_timestamps:
        notes.append(f"{data.count(missing_timestamps, 'missing timestamp')} in "
                     f"{data.count(gap_count, 'gap')}: train inserts them and fills their values "
                     f"(--fill, default interpolate)")
    for column in columns:
        if column.role in ("target", "feature") and column.missing:
            notes.append(f"{column.name!r} has {data.count(column.missing, 'missing value')}: train "
                         f"fills those inside a series (--fill, default interpolate; --fill error "
                         f"refuses them); empty values before a series' first value or after its "
                         f"last are not data")
        if column.role == "feature" and column.constant is not None:
            notes.append(f"feature {column.name!r} is constant ({column.constant}): it adds nothing "
                         f"to the model; drop it from --features")
    return notes


def _known_ahead(raw: pd.DataFrame, times, target: str | None, id_columns, roles: dict) -> list[str]:
    """The note naming the numeric columns that look known ahead: a value on every row where the
    target has one, and values on rows after the target's last value (of the row's series)."""
    if target is None or times is None or target not in raw.columns:
        return []
    has = pd.to_numeric(raw[target], errors="coerce").notna().to_numpy()
    stamps = pd.Series(np.asarray(pd.DatetimeIndex(times).asi8))
    try:
        codes = series_codes(raw, id_columns, "")[0]  # numbered as train numbers them
    except UserError:  # an empty id: a problem listed already
        return []
    last = stamps.where(has).groupby(codes).transform("max").to_numpy()
    after = stamps.to_numpy() > np.nan_to_num(last, nan=np.inf)
    if not after.any():
        return []
    found = []
    for name in raw.columns:
        if roles.get(name) in ("time", "target", "id"):
            continue
        values = pd.to_numeric(raw[name], errors="coerce") if not types.is_bool_dtype(raw[name]) else None
        if values is not None and values[has].notna().all() and values[after].notna().any():
            found.append(name)
    if not found:
        return []
    return [f"{listing(found)} {'has' if len(found) == 1 else 'have'} a value on every row with "
            f"a target value and on rows after the target's last: known ahead, as a planned "
            f"promotion or a price is; train --future {','.join(found)} gives the model their "
            f"values on the steps it forecasts (forecast then needs them: those rows, or "
            f"--future-csv)"]


def format_inspection(report: Inspection) -> str:
    """The report as lines of text: the columns, the facts, then what would stop `train`."""
    width = max(len(c.name) for c in report.columns)
    stamps = [report.start, report.end, *(t for g in report.gaps for t in (g.first, g.last)),
              *(t for t, _ in report.duplicates),
              *((*report.series.starts, *report.series.ends) if report.series else ())]
    dates = all(t == t.normalize() for t in stamps if t is not None)

    def when(stamp: pd.Timestamp) -> str:
        text = str(stamp)
        return text.removesuffix(" 00:00:00") if dates else text

    lines = [f"{report.path}: {data.count(report.rows, 'row')}, {data.count(len(report.columns), 'column')}"]
    for column in report.columns:
        role = f" ({column.role})" if column.role else ""
        missing = f", {column.missing} missing" if column.missing else ""
        lines.append(f"  {column.name:<{width}}  {column.kind}{role}{missing}")

    def fact(label: str, value) -> None:
        lines.append(f"{label:<15}{value}")

    time = f" ({report.time_kind})" if report.time_kind else ""
    fact("time column", f"{report.time_column!r}{time}" if report.time_column else "none found")
    fact("target", repr(report.target) if report.target else "none chosen")
    fact("features", ", ".join(map(repr, report.features)) or "none")
    if report.time_kind:
        fact("time range", f"{when(report.start)} to {when(report.end)}")
        if report.frequency is None:
            fact("frequency", "none inferred")
        else:
            fact("frequency", f"{report.frequency!r} (calendar season: "
                              f"{data.count(data.season_length(report.frequency), 'step')})")
            if report.seasons is not None:
                fact("seasons", f"{report.seasons} (in the default training split)")
            largest = "; ".join(f"{when(g.first)} to {when(g.last)} ({g.missing})" if g.missing > 1
                                else f"{when(g.first)} (1)" for g in report.gaps)
            fact("gaps", f"{data.count(report.missing_timestamps, 'missing timestamp')} in "
                         f"{data.count(report.gap_count, 'gap')}; largest: {largest}"
                 if report.gaps else "none")
        listed = "; ".join(f"{when(stamp)} on {report.unit}s {', '.join(map(str, found))}"
                           for stamp, found in report.duplicates)
        more = report.duplicate_count - len(report.duplicates)
        fact("duplicates", f"{data.count(report.duplicate_count, 'timestamp')}: {listed}"
                           f"{f'; and {more} more' if more else ''}" if report.duplicates else "none")
    found = report.series
    if found is not None and (found.count > 1 or found.id_columns):
        fact("series", f"{found.count} (ids in {', '.join(map(repr, found.id_columns))}); rows per "
                       f"series {found.lengths[0]} / {found.lengths[1]} / {found.lengths[2]} "
                       f"(min / median / max)")
        fact("starts", f"{when(found.starts[0])} to {when(found.starts[1])}")
        fact("ends", f"{when(found.ends[0])} to {when(found.ends[1])}")
        if found.left_out_count:
            fact("left out", f"{found.left_out_count}: " + "; ".join(
                f"{name} ({why})" for name, why in found.left_out))
        fact("per series", "no missing target value" if not found.with_missing else
             f"{found.with_missing} with missing target values; most: " + ", ".join(
                 f"{name} {missing}" for name, missing in found.most_missing))
    more = report.empty_rows - len(report.empty_lines)
    empty_lines = ", ".join(map(str, report.empty_lines)) + (f" and {more} more" if more else "")
    fact("empty rows", f"{report.empty_rows} dropped (no target or feature value, and off the grid, "
                       f"at a repeated time or with no id): "
                       f"{report.unit}{'s' if report.empty_rows > 1 else ''} {empty_lines}"
         if report.empty_rows else "none")
    fact("missing values", ", ".join(f"{c.name} {c.missing}" for c in report.columns if c.missing)
         or "none")
    fact("non-numeric", "; ".join(
        f"{c.name}: {data.count(c.text_cells, 'cell')} ("
        + ", ".join(f"{report.unit} {line} {cell!r}" for line, cell in c.examples)
        + (", ..." if c.text_cells > len(c.examples) else "") + ")"
        for c in report.columns if c.text_cells) or "none")
    fact("constant", ", ".join(f"{c.name} (all {c.constant})" for c in report.columns
                               if c.constant is not None) or "none")
    lines += [f"note: {note}" for note in report.notes]
    if report.problems:
        lines.append(f"train would stop on {data.count(len(report.problems), 'problem')}:")
        lines += [f"  - {problem}" for problem in report.problems]
    else:
        lines.append("train can read this file.")
    return "\n".join(lines)
