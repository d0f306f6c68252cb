"""Data: read a CSV, find its columns, parse its times, and regularise it to one row per time step.

reading (the table and its line numbers) -> times (parsing, frequency, grid, seasons, calendar)
-> columns (time column, target, numbers) -> panel (the regular series, filling, splits).
"""

from forecaster.data.columns import (
    TIME_NAMES,
    check_target_varies,
    find_target,
    find_time_column,
    require_columns,
    text_cells,
    to_numbers,
)
from forecaster.data.panel import (
    WIDE_ID,
    Panel,
    Schema,
    Splits,
    fill_missing,
    id_text,
    parse_names,
    read_panel,
    split_points,
    time_splits,
    with_future,
)
from forecaster.data.reading import read_table
from forecaster.data.times import (
    CALENDAR_CYCLES,
    calendar,
    calendar_names,
    duplicate_timestamps,
    format_times,
    infer_frequency,
    parse_times,
    refuse_duplicates,
    regularise,
    season_length,
    text_time_format,
)
from forecaster.errors import count, place

__all__ = [
    "CALENDAR_CYCLES", "TIME_NAMES", "WIDE_ID", "Panel", "Schema", "Splits", "calendar",
    "calendar_names", "check_target_varies", "count", "duplicate_timestamps", "fill_missing",
    "find_target", "find_time_column", "format_times", "id_text", "infer_frequency", "parse_names",
    "parse_times", "place", "read_panel", "read_table", "refuse_duplicates", "regularise",
    "require_columns", "season_length", "split_points", "text_cells", "text_time_format", "time_splits",
    "to_numbers", "with_future",
]
