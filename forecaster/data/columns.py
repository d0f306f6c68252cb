"""Columns: which column is the time, which the target, and numbers read from text cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types

from forecaster.data.times import parse_times, read_datetimes
from forecaster.errors import UserError, count, listing, place

TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds", "year", "month", "period")


def find_time_column(raw: pd.DataFrame, path, exclude=()) -> str:
    """The one column that parses as dates, integer years or yyyymmdd integers, among those not
    in `exclude` (columns given other roles)."""
    names = [c for c in raw.columns if c not in exclude]
    text = [c for c in names if _is_text_or_datetime(raw[c]) and _parses(raw[c])]
    candidates = text or [c for c in names
                          if types.is_integer_dtype(raw[c]) and raw[c].is_unique and _parses(raw[c])]
    if len(candidates) > 1:
        named = [c for c in candidates if c.lower() in TIME_NAMES]
        if len(named) == 1:
            return named[0]
        raise UserError(
            f"{path} has several columns that parse as times: {listing(candidates)}; choose one "
            f"with --time-col.")
    if not candidates:
        for name in names:  # a time column with a flaw: say what the flaw is
            if name.lower() in TIME_NAMES or _mostly_times(raw[name]):
                parse_times(raw[name], name, path)
                return name  # a time column all the same (integer years that repeat)
        raise UserError(
            f"{path} has no column that parses as dates or years (columns: "
            f"{listing(raw.columns)}); expected ISO dates like 2010-01-01 or 2010-01-01 13:00, "
            f"integer years or yyyymmdd integers. Name the column with --time-col.")
    return candidates[0]


def _parses(column: pd.Series) -> bool:
    if column.isna().all():
        return False
    if types.is_string_dtype(column) or types.is_object_dtype(column):  # each distinct text once, in
        column = pd.Series(pd.unique(column), dtype=column.dtype)  # order: the first sets the format
    try:
        parse_times(column, "", "")
    except UserError:
        return False
    return True


def find_target(raw: pd.DataFrame, path, exclude=()) -> str:
    """The one numeric column besides the time column (columns with no value at all are skipped)."""
    candidates = [c for c in raw.columns
                  if c not in exclude and raw[c].notna().any() and is_numeric_like(raw[c])]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        for name in raw.columns:
            if name not in exclude and (pd.to_numeric(raw[name], errors="coerce").notna().any()
                                        or _decimal_commas(raw[name])):
                to_numbers(raw[name], name, path)  # partly numbers: say which cells are not
        raise UserError(
            f"{path} has no numeric column to forecast besides {listing(exclude)} (columns: "
            f"{listing(raw.columns)}); add one, or name it with --target.")
    raise UserError(
        f"{path} has several numeric columns: {listing(candidates)}; choose the one to forecast "
        f"with --target (and add others as inputs with --features).")


def text_cells(column: pd.Series) -> np.ndarray:
    """(rows,) bool: True where a cell holds something other than a number or nothing (empty
    cells, and the markers pandas reads as missing such as NA and n/a, are not text)."""
    if types.is_bool_dtype(column):
        return column.notna().to_numpy()
    if types.is_numeric_dtype(column):
        return np.zeros(len(column), dtype=bool)
    return column.notna().to_numpy() & ~_number_cells(column)


def _number_cells(column: pd.Series) -> np.ndarray:
    """(rows,) bool: True where a cell of a text column reads as a number (`pd.to_numeric`). Each
    distinct value is read once: an id column of ten million cells holds a few thousand."""
    codes, distinct = pd.factorize(column, sort=False)  # an empty cell: -1
    numbers = np.append(pd.to_numeric(pd.Series(distinct), errors="coerce").notna().to_numpy(), False)
    return numbers[codes]  # -1, an empty cell: the False appended


def to_numbers(column: pd.Series, name: str, path, dtype: str = "float64") -> pd.Series:
    """A numeric column as floats of `dtype` (not copied where it is already that); text or
    infinity in it is a UserError naming the line."""
    if types.is_bool_dtype(column):
        raise UserError(
            f"column {name!r} of {path} holds true/false values; expected numbers. Choose a "
            f"numeric column.")
    if types.is_numeric_dtype(column):  # no text to look for, nothing to parse
        numbers = column.astype(dtype)
        return _checked_numbers(numbers, column, name, path)
    text = text_cells(column)
    if text.any():
        position = int(np.argmax(text))
        value = column.iloc[position]
        hint = " (a decimal comma? write 12.5, not 12,5)" if "," in str(value) else ""
        more = int(text.sum()) - 1
        others = f", and {more} more {'cells hold' if more != 1 else 'cell holds'} text" if more else ""
        raise UserError(
            f"column {name!r} of {path} has text where numbers are expected: {place(column.index)} "
            f"{column.index[position]} holds {value!r}{hint}{others}. Fix or empty those cells "
            f"(empty cells count as missing), or choose another column.")
    numbers = pd.to_numeric(column, errors="coerce").astype(dtype)
    return _checked_numbers(numbers, column, name, path)


def _checked_numbers(numbers: pd.Series, column: pd.Series, name: str, path) -> pd.Series:
    """`numbers` read from `column`, or a UserError for infinity or no number at all."""
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        position = int(np.argmax(infinite))
        more = int(infinite.sum()) - 1
        others = f" (and {count(more, 'more ' + place(column.index))})" if more else ""
        raise UserError(
            f"column {name!r} of {path} is infinite on {place(column.index)} "
            f"{column.index[position]}{others}; "
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


def require_columns(raw: pd.DataFrame, path, names) -> None:
    """A UserError naming the first of `names` that is not a column of `raw`."""
    for name in names:
        if name not in raw.columns:
            raise UserError(
                f"{path} has no column {name!r}; its columns are {listing(raw.columns)}. Check "
                f"the spelling (names are case-sensitive).")


def _is_text_or_datetime(column: pd.Series) -> bool:
    return (types.is_string_dtype(column) or types.is_object_dtype(column)
            or types.is_datetime64_any_dtype(column))


def is_numeric_like(column: pd.Series) -> bool:
    """Numeric, or text whose non-empty cells are mostly numbers (stray text is reported later)."""
    if types.is_bool_dtype(column):
        return False
    if types.is_numeric_dtype(column):
        return True
    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return False
    present = column.notna().to_numpy()
    return bool(present.any()) and _number_cells(column)[present].mean() >= 0.8


def _decimal_commas(column: pd.Series) -> bool:
    """Text whose non-empty cells are mostly numbers written with a decimal comma (12,5)."""
    if not (types.is_string_dtype(column) or types.is_object_dtype(column)):
        return False
    present = column.dropna().astype(str)
    if len(present) == 0 or not present.str.contains(",", regex=False).any():
        return False
    return is_numeric_like(present.str.replace(",", ".", regex=False))


def _mostly_times(column: pd.Series) -> bool:
    """Text (not numbers) of which at least half the non-empty cells parse as dates."""
    present = column.dropna()
    if (len(present) == 0 or is_numeric_like(column)
            or not (types.is_string_dtype(column) or types.is_object_dtype(column))):
        return False
    parsed = read_datetimes(present, errors="coerce")
    return parsed is not None and parsed.notna().mean() >= 0.5
