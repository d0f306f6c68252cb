"""The regular series: one row per time step, missing values filled only once the splits are known.

The result is a `Series`: a float frame on a regular DatetimeIndex (missing timestamps inserted as
NaN rows), plus the `Schema` that says which columns mean what. Missing values are left as NaN here
and filled by `fill_missing` once the caller knows where the splits fall, so that no value from a
later split leaks into an earlier one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecaster.data.columns import (
    check_target_varies,
    find_target,
    find_time_column,
    require_columns,
    to_numbers,
)
from forecaster.data.reading import read_table
from forecaster.data.times import (
    calendar,
    calendar_names,
    infer_frequency,
    parse_times,
    refuse_duplicates,
    regularise,
    text_time_format,
    to_offset,
)
from forecaster.errors import UserError, listing


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
                f"on; it has {listing(raw.columns)}. Pass a CSV with the training columns.")
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
        if to_offset(frequency) != to_offset(schema.frequency):
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


def split_points(rows: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Row indices where validation and test start: train = [0, a), val = [a, b), test = [b, rows)."""
    test_rows = int(round(rows * test_fraction))
    val_rows = int(round(rows * val_fraction))
    return rows - test_rows - val_rows, rows - test_rows
