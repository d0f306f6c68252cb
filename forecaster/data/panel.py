"""The regular series: one row per time step, missing values filled only once the splits are known.

The result is a `Panel`: one series or many (long format with id columns, or wide format with a
column per series), each on the regular grid of the file's one frequency (missing timestamps
inserted as NaN rows), plus the `Schema` that says which columns mean what. A single series is a
panel of one. Missing values are left as NaN here
and filled by `fill_missing` once the caller knows where the splits fall, so that no value from a
later split leaks into an earlier one.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types

from forecaster.data.columns import (
    check_target_varies,
    find_target,
    find_time_column,
    is_numeric_like,
    require_columns,
    to_numbers,
)
from forecaster.data.reading import read_table, release_memory
from forecaster.data.times import (
    calendar,
    calendar_names,
    duplicate_timestamps,
    infer_frequency,
    parse_times,
    regularise,
    text_time_format,
    to_offset,
)
from forecaster.errors import UserError, count, listing, place

WIDE_ID = "series"  # the id column of a wide file's series in every output: the column names
EXAMPLES = 3  # offenders quoted in a message, before "and N more"


@dataclass(frozen=True)
class Schema:
    """What the columns of a file mean; saved in the bundle and checked against forecast input.

    A long file names its series in `id_columns` (one key over all of them); a wide file holds one
    series per column of `wide` and its ids are those column names (written as WIDE_ID); a file
    with neither is one series.
    """

    time_column: str
    target: str  # the column forecast; for a wide file, "value" (its series are `wide`)
    features: tuple[str, ...]  # extra input columns besides the target (past values only)
    time_kind: str  # how the file writes time: "datetime", "year" or "yyyymmdd"
    frequency: str  # pandas offset alias, e.g. "h", "D", "MS"
    time_format: str | None = None  # strftime pattern of text times ("%Y-%m"), to write them back
    calendar: tuple[str, ...] = ()  # calendar inputs derived from the timestamps (see `calendar`)
    id_columns: tuple[str, ...] = ()  # long format: the columns whose values name a series
    wide: tuple[str, ...] = ()  # wide format: the columns that are each one series
    static: tuple[str, ...] = ()  # long format: columns constant within each series, as inputs
    future: tuple[str, ...] = ()  # inputs known ahead (a promotion, a price): their values over
    #                               the forecast steps are inputs too (`Panel.future`)

    @property
    def columns(self) -> tuple[str, ...]:
        """The model's input columns, target first (a wide file's target is each of `wide`), then
        the features (past values), then the inputs known ahead."""
        return (self.target, *self.features, *self.future)

    @property
    def file_columns(self) -> tuple[str, ...]:
        """The columns of the file that are read: time, ids, the target(s), features."""
        targets = self.wide or (self.target,)
        return (self.time_column, *self.id_columns, *targets, *self.features, *self.future,
                *self.static)

    @property
    def id_names(self) -> tuple[str, ...]:
        """The id columns of an output file: the input's own, WIDE_ID for a wide file, or none."""
        return self.id_columns or ((WIDE_ID,) if self.wide else ())

    def to_dict(self) -> dict:
        values = asdict(self)
        for name in ("features", "calendar", "id_columns", "wide", "static", "future"):
            values[name] = list(values[name])
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Schema:
        values = {key: value for key, value in values.items() if key != "id_column"}  # reserved once
        return cls(**{**values, **{name: tuple(values.get(name, ()))
                                    for name in ("features", "calendar", "id_columns", "wide",
                                                 "static", "future")}})


@dataclass
class Panel:
    """Many regular series (or one) on one frequency; series k holds rows offsets[k]:offsets[k+1]
    of `raw`, one row per step from its first observation to its last, NaN where a value or a
    whole timestamp was missing. Columns: `schema.columns` (target first, then the features)."""

    schema: Schema
    source: str  # the file it came from, for messages
    ids: list  # each series' id: a str, or a tuple of str for several id columns
    starts: pd.DatetimeIndex  # each series' first timestamp
    offsets: np.ndarray  # (series + 1,) int64
    raw: np.ndarray  # (rows, columns) float64
    missing_timestamps: np.ndarray  # (series,) steps each series' grid lacked in the file
    left_out: list = field(default_factory=list)  # (id, reason) of series read but not kept
    statics: dict = field(default_factory=dict)  # static column -> (series,) its value per series:
    #                                              floats for a numeric column, else text
    empty_rows: int = 0  # rows of the file dropped as holding no value (every target and feature
    #                      cell empty) off the grid, at a repeated time or with no id (`read_panel`)
    order: np.ndarray | None = None  # (series,) the line of each series' first row in the file:
    #                                  where it stands among all of them, for a share (`read_panel`)
    future: np.ndarray | None = None  # (series, steps, len(schema.future)) float32: the values of
    #   the inputs known ahead on the steps after each series' last target value (rows of the file
    #   with those and no target, or a future file: `with_future`), NaN where not given

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        """(series,) rows of each series."""
        return np.diff(self.offsets)

    @property
    def ends(self) -> pd.DatetimeIndex:
        """Each series' last timestamp."""
        return self.times(np.arange(len(self)), self.lengths - 1)

    def index(self, k: int = 0) -> pd.DatetimeIndex:
        """The timestamps of series k."""
        return pd.date_range(self.starts[k], periods=int(self.lengths[k]), freq=self.schema.frequency,
                             name=self.schema.time_column)

    def times(self, series, rows) -> pd.DatetimeIndex:
        """The timestamps of `rows` (counted from each one's series start; they may run past its
        end) of `series`, two arrays of the same shape, flattened."""
        series, rows = np.ravel(series), np.ravel(rows)
        frequency = self.schema.frequency
        begin = pd.date_range(self.starts.min(), self.starts.max(), freq=frequency)
        start = begin.get_indexer(self.starts)
        size = int(start.max() + (rows.max() if len(rows) else 0) + 1)
        grid = pd.date_range(self.starts.min(), periods=size, freq=frequency,
                             name=self.schema.time_column)
        return grid[start[series] + rows]

    def timestamp(self, value, flag: str) -> pd.Timestamp:
        """`value` (text such as 2010-11-01, or a timestamp) as a time of this panel (in its time
        zone, if it has one); a UserError naming `flag` when it is not a time."""
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise UserError(f"{flag} {value!r} is not a timestamp; use, e.g., 2010-11-01.") from None
        if stamp.tz is None and self.starts.tz is not None:
            stamp = stamp.tz_localize(self.starts.tz)
        return stamp

    def rows_before(self, stamp: pd.Timestamp) -> np.ndarray:
        """(series,) how many rows of each series lie before the time `stamp`."""
        frequency = self.schema.frequency
        grid = pd.date_range(self.starts.min(), max(self.ends.max(), stamp), freq=frequency)
        return np.clip(grid.searchsorted(stamp) - grid.get_indexer(self.starts), 0, self.lengths)

    def rows(self, k: int = 0) -> np.ndarray:
        """(rows, columns) of series k in the user's units, NaN where missing (a view)."""
        return self.raw[self.offsets[k]:self.offsets[k + 1]]

    def frame(self, k: int = 0) -> pd.DataFrame:
        """Series k as a frame on its DatetimeIndex, columns `schema.columns`."""
        return pd.DataFrame(self.rows(k), index=self.index(k), columns=list(self.schema.columns))

    def observed(self, k: int | None = None) -> np.ndarray:
        """(rows,) bool: True where the file had a target value, for series k (or every row)."""
        target = self.raw[:, 0] if k is None else self.rows(k)[:, 0]
        return ~np.isnan(target)

    @property
    def missing_values(self) -> int:
        """Missing target values of every series, including those at inserted timestamps."""
        return int(np.isnan(self.raw[:, 0]).sum())

    def values(self, k: int, fill: str, segments=()) -> np.ndarray:
        """(rows, columns) of series k in the user's units (float32, as held), target first, then
        the features, missing values filled within each segment (see `fill_missing`), then the
        calendar inputs."""
        filled = fill_missing(self.rows(k), fill, segments, names=self.schema.columns)
        if not self.schema.calendar:
            return filled
        return np.hstack([filled, calendar(self.index(k), self.schema.calendar).astype(filled.dtype)])

    def label(self, k: int) -> str:
        """Series k's id as text: 'store 1, item 7' style for several id columns."""
        return id_text(self.ids[k])

    def select(self, keep) -> Panel:
        """The panel of the series `keep` (indices, or a (series,) bool mask), in that order."""
        keep = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=int)
        lengths = self.lengths[keep]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = (np.concatenate([np.arange(self.offsets[k], self.offsets[k + 1]) for k in keep])
                if len(keep) else np.zeros(0, dtype=int))
        return Panel(self.schema, self.source, [self.ids[k] for k in keep], self.starts[keep],
                     offsets, self.raw[rows], self.missing_timestamps[keep], list(self.left_out),
                     {name: values[keep] for name, values in self.statics.items()}, self.empty_rows,
                     None if self.order is None else self.order[keep],
                     None if self.future is None else self.future[keep])

    def find(self, wanted, flag: str = "--series") -> np.ndarray:
        """Indices of the series named in `wanted` (ids as text; several id columns joined by ','
        as in 'S1,A'), in that order; a UserError naming the unknown ones."""
        if not self.schema.id_names:
            raise UserError(
                f"{flag} names {', '.join(str(name) for name in wanted)}, but {self.source} holds one "
                f"series (the model was trained without --id-col or several --target); leave {flag} "
                f"out.")
        position = {id_text(name): k for k, name in enumerate(self.ids)}
        width = len(self.schema.id_columns)
        names = [str(name).strip() for name in wanted]
        if width > 1:  # "a,b,c,d" with two id columns: ('a','b'), ('c','d')
            names = [", ".join(names[i:i + width]) for i in range(0, len(names), width)]
        unknown = [name for name in names if name not in position]
        if unknown:
            raise UserError(
                f"{flag} names {count(len(unknown), 'series')} not in {self.source}: "
                f"{_first(unknown)}; its series are {_first([self.label(k) for k in range(len(self))])}. "
                f"Check the spelling (ids are case-sensitive).")
        return np.array([position[name] for name in names], dtype=int)


def id_text(value) -> str:
    """A series id as text: the id itself, or several id columns' values joined by ', '."""
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def parse_names(value) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] -> ('a', 'b'); empty names are dropped."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def read_panel(
    path: str | Path,
    time_column: str | None = None,
    target=None,
    features=(),
    id_columns=(),
    schema: Schema | None = None,
    with_calendar: bool = False,
    table: pd.DataFrame | None = None,
    static=(),
    share: tuple[int, int] | None = None,
    future=(),
) -> Panel:
    """Read `path` (a CSV file, or a pandas DataFrame of the same columns) into a Panel: one
    series, many in long format (`id_columns`), or many in wide format (`target` naming several
    columns, or "all").

    Columns are found automatically where unambiguous; pass `schema` (from a trained bundle) to
    require the same columns and frequency as at training time. `with_calendar` adds the calendar
    inputs that vary at the data's frequency (a schema brings its own). `table` is the file as
    `read_table` gives it, for a caller that has read it already (it is not changed). Each series
    starts at its first observed target value and ends at its last: empty values before and after
    are not data. A series with no value at all is left out (`Panel.left_out`). `static` names
    columns of a long file that are constant within each series (a category, a size), read once
    per series (`Panel.statics`). `share` = (worker, workers) keeps only the series of a long file
    that `owner` gives that worker, and records where each stands in the file (`Panel.order`).
    `future` names inputs known ahead: like features, but a series' rows after its last target
    value that hold them are not cut off: they are the values of the steps to forecast
    (`Panel.future`).

    A row that holds no value (its target, or every target of a wide file, and every feature
    empty) is not data either where it would stop the file being read: off the grid of the rows
    with values when the times of every row are irregular (a dividend date among month starts,
    `2019-03-15,,`), at a time its series has another row for, or with no id. Such rows are
    dropped before the frequency is inferred and duplicates are looked for, and counted in
    `Panel.empty_rows` (see `stray_empty_rows`). A row with no value on the grid is a missing
    value, as is an empty cell of a row with values; neither makes a series of its own (a series
    with no value at all is left out and named).
    """
    if isinstance(path, pd.DataFrame):  # the library's own long (or wide) frame: rows as lines
        table = path.reset_index(drop=True).set_axis(np.arange(len(path)) + 2, axis=0)
        table.columns = [str(c) for c in table.columns]
        path = "the data frame"
    keep = None if share is None else _share_rows(parse_names(id_columns), share)
    raw = read_table(path, keep) if table is None else table
    if share is not None and raw.empty:
        raise UserError(
            f"worker {share[0]} of {share[1]} holds no series of {path}: each worker trains on the "
            f"series whose id hashes to it, and none hashes to this one; run on fewer workers.")
    written = raw.attrs.get("time_text", {})  # a time column's first cells, where Arrow read times
    if schema is not None:
        time_column, features, id_columns = schema.time_column, schema.features, schema.id_columns
        target, static, future = schema.wide or schema.target, schema.static, schema.future
        missing = [c for c in schema.file_columns if c not in raw.columns]
        if missing:
            raise UserError(
                f"{path} lacks column(s) {', '.join(map(repr, missing))} that the model was trained "
                f"on; it has {listing(raw.columns)}. Pass a CSV with the training columns.")
    features, id_columns, static = parse_names(features), parse_names(id_columns), parse_names(static)
    future = parse_names(future)
    _refuse_two_roles(features, future)
    inputs = (*features, *future)  # read alike; only where a series ends differs
    targets = parse_names(target)
    if static and not id_columns:
        raise UserError(
            f"--static {','.join(static)} names columns constant within each series of a long file, "
            f"but no --id-col names its series; pass --id-col (a wide file has no per-series "
            f"columns).")
    every = targets == ("all",) and "all" not in raw.columns
    if id_columns and (len(targets) > 1 or every):
        raise UserError(
            f"--id-col {','.join(id_columns)} reads a long file (one target column, a row per "
            f"series and time), but --target names several columns (a wide file, a series per "
            f"column); pass one of the two.")
    require_columns(raw, path, [*([time_column] if time_column else []), *id_columns,
                                *([] if every else targets), *inputs, *static])
    named = (*id_columns, *([] if every else targets), *inputs, *static)
    time_column = time_column or find_time_column(raw, path, exclude=named)
    times, time_kind = parse_times(raw[time_column], time_column, path)
    if every:
        targets = tuple(c for c in raw.columns if c not in (time_column, *inputs)
                        and raw[c].notna().any() and is_numeric_like(raw[c]))
        if not targets:
            raise UserError(
                f"--target all found no numeric column in {path} besides the time column and "
                f"features (columns: {listing(raw.columns)}); name the series' columns with --target.")
    if not id_columns and len(targets) <= 1:
        # with no target named yet, it will be a numeric column: a row empty in all of them is no data
        used = (*targets, *inputs) if targets else [
            c for c in raw.columns if c != time_column and (c in inputs or is_numeric_like(raw[c]))]
        real = ~rows_without_values(raw, used)
        if times[real].has_duplicates:
            _refuse_repeated_times(raw[real], times[real], time_column, (*targets, *inputs), path)
    if not targets:
        targets = (find_target(raw, path, exclude=(time_column, *id_columns, *static)),)
    for name in targets:
        if name == time_column or name in inputs or name in id_columns or name in static:
            raise UserError(
                f"--target {name!r} is also used as the time column, an id or a feature; pick a "
                f"different column for each role.")
    wide = targets if len(targets) > 1 or every else ()
    # the file's line numbers (see `read_table`), or row numbers: a RangeIndex for the usual file,
    # made an array only where rows are dropped or reordered
    lines = raw.index
    unit = place(raw.index)
    numbers = {name: to_numbers(raw[name], name, path, "float32").to_numpy()
               for name in (*targets, *inputs)}
    if schema is None:
        check_target_varies(np.concatenate([numbers[name] for name in targets]),
                            targets[0] if len(targets) == 1 else "all series'", path)
    empty = np.logical_and.reduce([np.isnan(numbers[name]) for name in (*targets, *inputs)])
    nameless = np.zeros(len(raw), dtype=bool)
    if id_columns:  # a row with no value and no id belongs to no series: it goes before the ids
        nameless = empty & raw[list(id_columns)].isna().any(axis=1).to_numpy()
    # a series whose rows all hold no value is still named (and left out); wide rows: one key each
    codes, ids = series_codes(raw[~nameless] if nameless.any() else raw, id_columns, path)
    file_order = None
    if share is not None:  # the worker's own series, and the row of each one's first row
        if not id_columns:
            raise ValueError("a share of the series is read from a long file only (id_columns)")
        mine = owner(ids, share[1]) == share[0]
        rows = np.flatnonzero(~nameless)
        # series are numbered in order of first appearance: each starts where the numbers first rise
        first = np.asarray(lines[rows[np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)]])
        keep = nameless.copy()
        keep[rows] = mine[codes]
        ids, file_order = [ids[k] for k in np.flatnonzero(mine)], first[mine]
        codes = (np.cumsum(mine) - 1)[codes[mine[codes]]]
        if not keep.all():
            raw, times, lines, empty, nameless = (raw[keep], times[keep], lines[keep], empty[keep],
                                                  nameless[keep])
            numbers = {name: cells[keep] for name, cells in numbers.items()}

    def infer(unique: pd.DatetimeIndex) -> str:
        return _frequency(unique, schema, time_kind, time_column, path)

    drop = nameless.copy()
    if nameless.any():
        drop[~nameless] = stray_empty_rows(times[~nameless], codes, empty[~nameless], infer)
    else:  # the usual file: no copy of the times
        drop = stray_empty_rows(times, codes, empty, infer)
    # rows with no id are dropped by every worker of a share and counted by the first
    empty_rows = int(drop.sum()) - (int(nameless.sum()) if share is not None and share[0] else 0)
    if drop.any():
        raw, times, lines, empty = raw[~drop], times[~drop], lines[~drop], empty[~drop]
        numbers = {name: found[~drop] for name, found in numbers.items()}
        codes = codes[~drop[~nameless]]
    time_format = None
    if time_kind == "datetime":
        time_format = text_time_format(pd.Series(written[time_column], dtype="str")
                                       if time_column in written else raw[time_column])
    # static values are read from the rows that hold values
    statics = {name: _static(raw[name][~empty], name, codes[~empty], ids, path) for name in static}
    if wide:
        ids = list(targets)
        codes = np.repeat(np.arange(len(targets)), len(raw))
        stamps = np.tile(times.asi8, len(targets))
        lines = np.tile(np.asarray(lines), len(targets))
        values = _stacked([np.concatenate([numbers[name] for name in targets]),
                           *[np.tile(numbers[name], len(targets)) for name in inputs]])
    else:
        stamps = times.asi8
        values = _stacked([numbers[name] for name in (*targets, *inputs)])
    del raw, numbers  # a long file's text cells go now: only the numbers and times are kept
    release_memory()
    step = np.diff(codes)
    if not ((step > 0) | ((step == 0) & (np.diff(stamps) >= 0))).all():  # sorted files (the
        order = np.lexsort((stamps, codes))  # usual case) are not sorted or copied
        codes, stamps, lines, values = codes[order], stamps[order], np.asarray(lines)[order], values[order]
    del step
    _refuse_duplicate_pairs(codes, stamps, lines, ids, times, path, unit)
    unique = _stamps_index(_sorted_unique(stamps), times)
    frequency = _frequency(unique, schema, time_kind, time_column, path)
    grid = _grid(unique, frequency, path)
    positions = _grid_positions(grid, frequency, stamps, unique.unit)
    target_name = "value" if wide else targets[0]
    names = _calendar_names(schema, with_calendar, frequency, path)
    schema = Schema(time_column, target_name, tuple(features), time_kind, frequency, time_format,
                    names, tuple(id_columns), tuple(wide), tuple(static), tuple(future))
    panel = _assemble(schema, str(path), ids, codes, positions, grid, values, statics, file_order)
    panel.empty_rows = empty_rows
    return panel


def with_future(panel: Panel, path) -> Panel:
    """`panel` whose values known ahead (`Panel.future`) are those of the file `path`
    (`--future-csv`): one row per series and step after that series' last target value, with the
    history's time column, its id columns (none for one series; a wide file's rows hold the values
    of every series) and every column of `schema.future`. Rows at or before a series' end are the
    history's, and not read; an empty cell stays missing (the forecast names it, never fills it)."""
    schema = panel.schema
    raw = read_table(path)
    require_columns(raw, path, [schema.time_column, *schema.id_columns, *schema.future])
    times, time_kind = parse_times(raw[schema.time_column], schema.time_column, path)
    if time_kind != schema.time_kind:
        raise UserError(
            f"{path} writes time as {time_kind} values in column {schema.time_column!r}, but the "
            f"history writes {schema.time_kind} values. Use the history's format.")
    lines = np.asarray(raw.index)
    if schema.id_columns:
        codes, ids = series_codes(raw, schema.id_columns, path)
        position = {id_text(name): k for k, name in enumerate(panel.ids)}
        found = np.array([position.get(id_text(name), -1) for name in ids], dtype=np.int64)
        unknown = [id_text(name) for name, k in zip(ids, found, strict=True) if k < 0]
        if unknown:
            raise UserError(
                f"{path} names {count(len(unknown), 'series')} not in the history {panel.source}: "
                f"{_first(unknown)}; expected the history's ids in {listing(schema.id_columns)}. "
                f"Check the spelling, or leave those rows out.")
        series = found[codes]
    else:  # one series, or a wide file's: each row holds the values of every series
        series = np.zeros(len(raw), dtype=np.int64)
        if len(panel) > 1:
            series = np.repeat(np.arange(len(panel)), len(raw))
            times, lines = times[np.tile(np.arange(len(raw)), len(panel))], np.tile(lines, len(panel))
    ends = panel.ends
    frequency = schema.frequency
    grid = pd.date_range(min(ends.min(), times.min()), max(ends.max(), times.max()), freq=frequency)
    at = grid.get_indexer(times)
    if (at < 0).any():
        off = np.flatnonzero(at < 0)
        raise UserError(
            f"{path} has {count(len(off), 'time')} off the history's {frequency!r} steps "
            f"({times[off[0]]} on {place(raw.index)} {lines[off[0]]}); expected one row per series "
            f"and step after the history's end.")
    steps = at - grid.get_indexer(ends)[series] - 1  # 0: the first step after its series' end
    ahead = steps >= 0
    key = series[ahead] * (int(steps.max(initial=0)) + 1) + steps[ahead]
    repeated = pd.Index(key).duplicated()
    if repeated.any():
        i = int(np.flatnonzero(ahead)[np.argmax(repeated)])
        raise UserError(
            f"{path} has two rows for series {panel.label(series[i])!r} at {times[i]} ({place(raw.index)} "
            f"{lines[i]}); expected one row per series and step. Remove the duplicates.")
    future = np.full((len(panel), int(steps.max(initial=-1)) + 1, len(schema.future)), np.nan,
                     dtype=np.float32)
    for c, name in enumerate(schema.future):
        cells = to_numbers(raw[name], name, path, "float32").to_numpy()
        if len(panel) > 1 and not schema.id_columns:
            cells = np.tile(cells, len(panel))
        future[series[ahead], steps[ahead], c] = cells[ahead]
    return replace(panel, future=future)


def stray_empty_rows(times: pd.DatetimeIndex, codes: np.ndarray, empty: np.ndarray, infer) -> np.ndarray:
    """(rows,) bool: the rows that hold no value (`empty`) and are not data, to drop.

    A row whose series (`codes`) and time another row holds (one with values, or an earlier one
    without) is never data, and never a duplicate. The others stay, as missing values, when the
    times of every row are regular (`infer`: sorted unique times -> frequency, a UserError if there
    is none): a file that reads with them reads as it did. When they are not, the times of the
    rows with values set the frequency, and a row with no value off their grid (a dividend date,
    2019-03-15, among month starts), or before the first of them or after the last, goes; if those
    times are not regular either, every row with no value goes, and they are refused.
    """
    stray = np.zeros(len(times), dtype=bool)
    if not empty.any():
        return stray
    stamps = times.asi8
    order = np.lexsort((empty, stamps, codes))  # in each (series, time), rows with values first
    repeat = np.concatenate([[False], (np.diff(codes[order]) == 0) & (np.diff(stamps[order]) == 0)])
    stray[order[repeat & empty[order]]] = True
    try:
        infer(times[~stray].unique().sort_values())
        return stray
    except UserError:
        pass
    valued = times[~empty].unique().sort_values()
    try:
        frequency = infer(valued)
    except UserError:
        return empty
    if len(valued) < 3:  # a trained model's frequency, taken as it is for so short a history
        return stray | (empty & ((times < valued[0]) | (times > valued[-1])))
    grid = pd.date_range(valued[0], valued[-1], freq=frequency)
    return stray | (empty & ~times.isin(grid))


def rows_without_values(table: pd.DataFrame, columns) -> np.ndarray:
    """(rows,) bool: True where every cell of `columns` is empty (or a marker pandas reads as
    missing, such as NA): a row that holds no value (which `stray_empty_rows` may drop)."""
    if not len(columns):
        return np.zeros(len(table), dtype=bool)
    return table[list(columns)].isna().all(axis=1).to_numpy()


def _static(column: pd.Series, name: str, codes: np.ndarray, ids: list, path) -> np.ndarray:
    """(series,) the one value of a static column in each series: floats when every cell is a
    number, else text; a UserError naming a series where it is empty or changes. A series with no
    row here (every row of it held no value) gets NaN, or None for text."""
    _refuse_empty(column, f"static column {name!r} of {path}", "a static input needs its value on "
                  "every row of its series. Fill those cells, or leave the column out of --static")
    numeric = types.is_numeric_dtype(column) and not types.is_bool_dtype(column)
    cells, distinct = pd.factorize(column.to_numpy()) if numeric else _text_codes(column)
    first = np.full(len(ids), len(distinct), dtype=np.int64)
    last = np.full(len(ids), -1, dtype=np.int64)
    np.minimum.at(first, codes, cells)
    np.maximum.at(last, codes, cells)
    present = last >= 0
    changes = np.flatnonzero(present & (first != last))
    if len(changes):
        k = int(changes[0])
        other = int(np.flatnonzero((codes == k) & (cells != first[k]))[0])
        raise UserError(
            f"static column {name!r} of {path} changes within series {id_text(ids[k])!r}: it holds "
            f"{distinct[first[k]]!r}, and {distinct[cells[other]]!r} on {place(column.index)} "
            f"{column.index[other]} "
            f"({len(changes)} series change, in all); a static input is one value per "
            f"series. Use --features for a value that changes over time.")
    values = np.asarray(distinct)[np.where(present, first, 0)]
    values = values.astype("float64") if numeric else values.astype(object)
    values[~present] = np.nan if numeric else None
    return values


def _refuse_empty(column: pd.Series, what: str, fix: str) -> None:
    """A UserError naming the first few empty cells of `column` (by line) and how many there are."""
    empty = column.isna().to_numpy()
    if empty.any():
        lines = column.index[empty]
        raise UserError(f"{what} is empty on {count(len(lines), place(column.index))} "
                        f"({_first(lines.tolist())}); "
                        f"{fix}.")


def series_codes(raw: pd.DataFrame, id_columns, path) -> tuple[np.ndarray, list]:
    """(rows,) series number of each row, in order of first appearance, and each series' id.

    Each id column is numbered by its distinct values first and only those are made text, so
    nothing is held per row as a Python object; values equal once stripped are one id."""
    if not id_columns:
        return np.zeros(len(raw), dtype=np.int32), ["series"]
    key, labels = np.zeros(len(raw), dtype=np.int64), []
    for name in id_columns:
        column = raw[name]
        _refuse_empty(column, f"id column {name!r} of {path}", "every row needs its series' id. Fill "
                      "those cells or delete the rows")
        codes, names = _text_codes(column)
        if len(labels) and np.prod([len(found) for found in labels], dtype=float) * len(names) > 2**62:
            raise UserError(f"{path} has too many distinct ids in {listing(id_columns)} to number "
                            f"them; expected fewer series.")
        key = key * len(names) + codes
        labels.append(names)
    codes, keys = pd.factorize(key, sort=False)
    parts = []
    for names in reversed(labels):  # each series' code in every id column, last column first
        keys, part = np.divmod(keys, len(names))
        parts.append(names[part])
    codes = codes.astype(np.int32)  # half the memory of int64: fewer than 2**31 series
    if len(labels) == 1:
        return codes, [str(name) for name in parts[0]]
    return codes, [tuple(str(p) for p in reversed(row)) for row in zip(*parts, strict=True)]


def _share_rows(id_columns: tuple, share: tuple[int, int]):
    """`read_table`'s `keep` for a share: the rows whose id `owner` gives worker share[0] of
    share[1], and those with an empty id (which every worker checks alike)."""

    def keep(columns: dict) -> np.ndarray:
        found = [columns.get(name) for name in id_columns]
        rows = len(next(iter(columns.values())))
        if not id_columns or any(cells is None for cells in found):
            return np.ones(rows, dtype=bool)  # the reader names the missing column
        frame = pd.DataFrame({name: cells if isinstance(cells, pd.Series) else cells.to_pandas()
                              for name, cells in zip(id_columns, found, strict=True)})
        named = ~frame.isna().any(axis=1).to_numpy()
        mask = np.ones(rows, dtype=bool)
        if named.any():  # the ids as `read_panel` makes them, numbered by their distinct values
            codes, ids = series_codes(frame[named], id_columns, "")
            mask[named] = (owner(ids, share[1]) == share[0])[codes]
        return mask

    return keep


def owner(ids, workers: int) -> np.ndarray:
    """(series,) the worker (0 to workers - 1) that holds each of `ids` when several train one
    model (`--distribute multiworker`): a stable hash of the id as text (CRC-32) modulo `workers`,
    the same on every machine and in every run."""
    return np.array([zlib.crc32(id_text(name).encode("utf-8")) % workers for name in ids],
                    dtype=np.int64)


def _text_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(rows,) number of each cell's value as stripped text, in order of first appearance, and
    those texts (an object array): distinct values are found before any is made text."""
    codes, uniques = pd.factorize(column, sort=False)
    merged, names = pd.factorize(pd.Index(uniques).astype(str).str.strip(), sort=False)
    return merged[codes], np.asarray(names, dtype=object)


def _refuse_repeated_times(raw: pd.DataFrame, times: pd.DatetimeIndex, time_column: str, used,
                           path) -> None:
    """A one-file-one-series read whose timestamps repeat: name the column that looks like a
    series id (text, or whole numbers that repeat) and makes (column, time) unique, or else the two
    that do together, and the flag to pass; or the first repeated timestamps."""
    pool = []
    for name in raw.columns:
        column = raw[name]
        if name in (time_column, *used) or column.isna().any() or types.is_bool_dtype(column):
            continue
        text = not is_numeric_like(column) and (types.is_string_dtype(column)
                                                 or types.is_object_dtype(column))
        if (text or types.is_integer_dtype(column)) and 1 < column.nunique() <= len(column) // 2:
            pool.append((not text, name))  # text first, then whole numbers, in file order
    pool = [name for _, name in sorted(pool, key=lambda item: item[0])][:8]

    def unique(names) -> bool:
        keys = pd.DataFrame({**{name: raw[name].to_numpy() for name in names}, "time": times.asi8})
        return not keys.duplicated().any()

    candidates = [(name,) for name in pool if unique((name,))]
    if not candidates:
        order = list(raw.columns).index
        candidates = sorted((tuple(sorted(pair, key=order)) for pair in itertools.combinations(pool, 2)
                             if unique(pair)), key=lambda pair: [order(name) for name in pair])
    found = duplicate_timestamps(times, raw.index.to_numpy())
    stamp, lines = found[0]
    repeated = (f"{count(len(found), 'timestamp')} {'appears' if len(found) == 1 else 'appear'} "
                f"more than once ({stamp} on {place(raw.index)}s {_first(lines)})")
    if candidates:
        best, others = candidates[0], [",".join(found) for found in candidates[1:]]
        what = f"column {best[0]!r} tells" if len(best) == 1 else \
            f"columns {best[0]!r} and {best[1]!r} together tell"
        raise UserError(
            f"{path} holds several series: {repeated}, and {what} them apart"
            f"{f' (as would {_first(others)})' if others else ''}. Pass --id-col {','.join(best)} "
            f"to train one model over all of them.")
    raise UserError(
        f"{path} has duplicate timestamps: {repeated}. Expected one row per time step (or, for "
        f"many series, an id column named with --id-col); remove or aggregate the duplicates.")


def _stacked(columns: list, block: int = 1 << 16) -> np.ndarray:
    """np.column_stack of equally long float32 columns, a block of rows at a time: each block is
    written while it is in the cache (five times faster on ten million rows)."""
    rows = len(columns[0])
    if len(columns) == 1 and columns[0].dtype == np.float32 and columns[0].flags.writeable:
        return np.ascontiguousarray(columns[0]).reshape(rows, 1)  # one column: itself, no copy
    values = np.empty((rows, len(columns)), dtype=np.float32)
    for start in range(0, rows, block):
        values[start:start + block] = np.stack([column[start:start + block] for column in columns], axis=1)
    return values


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting: numpy 2.4's hashed np.unique took 19.6 s on ten million hourly
    timestamps (hashing is slow on such evenly spaced integers), sorting 0.3 s."""
    if len(values) < 2 or (values[1:] > values[:-1]).all():
        return values  # one series' times, sorted and unique
    ordered = np.sort(values)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])] if len(ordered) else ordered


def _stamps_index(stamps: np.ndarray, times: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Integer timestamps taken from `times.asi8` back as timestamps, in its unit and time zone."""
    index = pd.DatetimeIndex(np.asarray(stamps, dtype=np.int64).astype(f"datetime64[{times.unit}]"))
    return index.tz_localize("UTC").tz_convert(times.tz) if times.tz is not None else index


def _refuse_duplicate_pairs(codes, stamps, lines, ids, times, path, unit: str = "line") -> None:
    """A UserError naming the first (series, time) pair that appears twice, its lines, and how
    many pairs repeat. `codes`, `stamps` and `lines` are sorted by series, then time."""
    repeated = (codes[1:] == codes[:-1]) & (stamps[1:] == stamps[:-1])
    if not repeated.any():
        return
    first = int(np.argmax(repeated))
    same = (codes == codes[first]) & (stamps == stamps[first])
    stamp = _stamps_index(stamps[first:first + 1], times)[0]
    pairs = int((repeated & ~np.concatenate([[False], repeated[:-1]])).sum())
    more = f" ({count(pairs - 1, 'more repeated pair')})" if pairs > 1 else ""
    who = f"series {id_text(ids[codes[first]])!r} has" if len(ids) > 1 else f"{path} has"
    raise UserError(
        f"{who} two rows for {stamp}: {unit}s {_first(sorted(lines[same].tolist()))}{more}. Expected "
        f"one row per series and time step; remove or aggregate the duplicates.")


def _frequency(unique: pd.DatetimeIndex, schema: Schema | None, time_kind: str, time_column: str,
               path) -> str:
    """The file's one frequency, from the timestamps of all its series together; with a schema,
    it must be the schema's."""
    if schema is None:
        return infer_frequency(unique, path)
    if time_kind != schema.time_kind:
        raise UserError(
            f"{path} writes time as {time_kind} values in column {time_column!r}, but the "
            f"model was trained on {schema.time_kind} values. Use the training format.")
    frequency = infer_frequency(unique, path) if len(unique) >= 3 else schema.frequency
    if to_offset(frequency) != to_offset(schema.frequency):
        raise UserError(
            f"{path} has one row per {frequency!r} step, but the model was trained on "
            f"{schema.frequency!r} data; pass a history at the training frequency (resample "
            f"it), or train a model on this frequency.")
    return schema.frequency


def _grid(unique: pd.DatetimeIndex, frequency: str, path) -> pd.DatetimeIndex:
    """Every step from the file's first timestamp to its last; each timestamp must lie on it."""
    empty = pd.DataFrame(index=unique)
    return regularise(empty, frequency, path).index


def _grid_positions(grid: pd.DatetimeIndex, frequency: str, stamps: np.ndarray,
                    unit: str) -> np.ndarray:
    """(rows,) where each of `stamps` (integers in `unit`, every one on `grid`, whose step is
    `frequency`) lies on the grid: by arithmetic for a fixed step (hours, days), else by binary
    search (months)."""
    offset = to_offset(frequency)
    if isinstance(offset, pd.offsets.Tick) and len(grid):
        start = grid[:1].as_unit(unit).asi8[0]
        return (stamps - start) // (pd.Timedelta(offset) // pd.Timedelta(1, unit))
    return grid.as_unit(unit).asi8.searchsorted(stamps)


def _calendar_names(schema: Schema | None, with_calendar: bool, frequency: str, path) -> tuple:
    if schema is not None:
        return schema.calendar
    if not with_calendar:
        return ()
    names = calendar_names(frequency)
    if not names:
        raise UserError(
            f"--calendar adds inputs that repeat within a year (hour, weekday, month), but "
            f"{path} has one row per {frequency!r} step, where none of them varies; drop "
            f"--calendar.")
    return names


def _assemble(schema: Schema, source: str, ids: list, codes: np.ndarray, positions: np.ndarray,
              grid: pd.DatetimeIndex, values: np.ndarray, statics: dict, order=None) -> Panel:
    """The Panel from rows sorted by series then time: `positions` on the file's `grid`. Each
    series runs from its first observed target value to its last; one with none is left out.
    `order`: (series,) where each stands in the file (`Panel.order`), or None."""
    series = len(ids)
    bounds = np.searchsorted(codes, np.arange(series + 1))  # series k: rows bounds[k]:bounds[k + 1]
    observed = np.flatnonzero(~np.isnan(values[:, 0]))
    begin, end = np.searchsorted(observed, bounds[:-1]), np.searchsorted(observed, bounds[1:]) - 1
    kept = end >= begin  # a series with an observed target value
    left_out = [(ids[k], "no target value") for k in np.flatnonzero(~kept)]
    first_row, last_row = observed[begin[kept]], observed[end[kept]]  # of each kept series
    first, last = positions[first_row], positions[last_row]
    lengths = last - first + 1
    present = last_row - first_row + 1
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if kept.all() and (present == np.diff(bounds)).all() and (present == lengths).all():
        table = values  # every row is data and every step is there: nothing to move
    else:
        inside = np.zeros(len(codes) + 1, dtype=np.int8)  # +1 at each run's start, -1 after it
        np.add.at(inside, first_row, 1)
        np.add.at(inside, last_row + 1, -1)
        inside = np.cumsum(inside[:-1]).astype(bool)
        renumber = np.cumsum(kept) - 1
        codes = renumber[codes[inside]]
        table = np.full((int(offsets[-1]), values.shape[1]), np.nan, dtype=np.float32)
        table[offsets[codes] + positions[inside] - first[codes]] = values[inside]
    future = None
    if schema.future:  # each kept series' rows after its last target value: the steps ahead
        after = bounds[1:][kept] - last_row - 1  # how many rows each has after it
        series = np.repeat(np.arange(len(after)), after)
        rows = np.repeat(last_row + 1, after) + np.arange(after.sum()) - np.repeat(
            np.cumsum(after) - after, after)
        steps = positions[rows] - last[series] - 1
        future = np.full((len(after), int(steps.max()) + 1 if len(steps) else 0, len(schema.future)),
                         np.nan, dtype=np.float32)
        future[series, steps] = values[rows, -len(schema.future):]
    return Panel(schema, source, [ids[k] for k in np.flatnonzero(kept)], grid[first], offsets, table,
                 lengths - present, left_out, {name: found[kept] for name, found in statics.items()},
                 order=None if order is None else order[kept], future=future)


def _refuse_two_roles(features, future) -> None:
    both = [name for name in future if name in features]
    if both:
        raise UserError(
            f"{listing(both)} {'is' if len(both) == 1 else 'are'} named both in --features (past "
            f"values only) and in --future (known ahead); name each column once: --future if its "
            f"values for the forecast steps are known, else --features.")


def _first(items, most: int = EXAMPLES) -> str:
    """The first few of `items` joined by ', ', then how many more: 'a, b, c and 4 more'."""
    items = [str(item) for item in items]
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


def fill_missing(values: np.ndarray, method: str, segments=(), names=()) -> np.ndarray:
    """Fill NaN in a (rows, columns) array, never carrying a value back across a segment start.

    `segments` are row indices where a new split starts. Inside a segment, "interpolate" draws
    straight lines between known values; a gap at the start of a segment takes the last value
    before it (the past), and only a gap at the very start of the series takes the first value
    after it. "ffill" repeats the last known value. "error" refuses any missing value.
    """
    values = np.asarray(values)
    values = values if values.dtype in (np.float32, np.float64) else values.astype("float64")
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


def split_points(rows: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Row indices where validation and test start: train = [0, a), val = [a, b), test = [b, rows)."""
    test_rows = int(round(rows * test_fraction))
    val_rows = int(round(rows * val_fraction))
    return rows - test_rows - val_rows, rows - test_rows


@dataclass(frozen=True)
class Splits:
    """One cutoff in time for every series: training before `val_time`, validation from it, test
    from `test_time`; and where those fall in each series, counted in rows from its start."""

    val_time: pd.Timestamp
    test_time: pd.Timestamp  # one step after the last time when there is no test split
    val_start: np.ndarray  # (series,) first validation row of each series (its length if none)
    test_start: np.ndarray  # (series,) first test row of each series

    def span(self, panel: Panel, name: str) -> list[str] | None:
        """[first, last] timestamp of a split over all series as ISO text, or None if empty."""
        lengths = panel.lengths
        begin, end = {"train": (np.zeros_like(lengths), self.val_start),
                      "validation": (self.val_start, self.test_start),
                      "test": (self.test_start, lengths)}[name]
        present = np.flatnonzero(end > begin)
        if len(present) == 0:
            return None
        first = min(panel.index(k)[begin[k]] for k in present)
        last = max(panel.index(k)[end[k] - 1] for k in present)
        return [first.isoformat(), last.isoformat()]


def time_splits(panel: Panel, val_fraction: float, test_fraction: float, val_start=None,
                test_start=None) -> Splits:
    """Validation and test are the last fractions of the file's time range (all series together),
    or start at the timestamps `val_start` / `test_start`; each series is cut at the same times."""
    frequency = panel.schema.frequency
    first, last = panel.starts.min(), panel.ends.max()
    grid = pd.date_range(first, last, freq=frequency)
    val_row, test_row = split_points(len(grid), val_fraction, test_fraction)
    rows = {"val": val_row, "test": test_row}
    for name, given in (("val", val_start), ("test", test_start)):
        if given is not None:
            rows[name] = _grid_row(grid, given, f"--{name}-start", panel.source)
    if rows["test"] < rows["val"]:
        raise UserError(
            f"--test-start {grid[min(rows['test'], len(grid) - 1)]} comes before the validation "
            f"start {grid[min(rows['val'], len(grid) - 1)]}; expected validation, then test.")
    beyond = pd.date_range(last, periods=2, freq=frequency)[1]
    times = {name: grid[row] if row < len(grid) else beyond for name, row in rows.items()}
    offset = grid.get_indexer(panel.starts)
    lengths = panel.lengths
    return Splits(times["val"], times["test"], np.clip(rows["val"] - offset, 0, lengths),
                  np.clip(rows["test"] - offset, 0, lengths))


def _grid_row(grid: pd.DatetimeIndex, given, flag: str, source) -> int:
    """The first row of `grid` at or after the timestamp `given`."""
    try:
        stamp = pd.Timestamp(given)
    except (ValueError, TypeError):
        raise UserError(f"{flag} {given!r} is not a timestamp; use, e.g., 2010-11-01.") from None
    if stamp.tz is None and grid.tz is not None:
        stamp = stamp.tz_localize(grid.tz)
    if not grid[0] < stamp <= grid[-1]:
        raise UserError(
            f"{flag} {given} is outside the time range of {source}, {grid[0]} to {grid[-1]}; "
            f"choose a time inside it.")
    return int(grid.searchsorted(stamp))
