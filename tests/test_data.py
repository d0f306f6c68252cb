"""Reading, validating and regularising CSVs; filling gaps; season lengths; split points."""

import warnings

import numpy as np
import pandas as pd
import pytest

from forecaster.data import (
    calendar,
    calendar_names,
    fill_missing,
    read_panel,
    season_length,
    split_points,
    text_time_format,
)
from forecaster.errors import UserError
from tests.conftest import write_csv

NAN = np.nan


DAILY = "date,load\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n2020-01-04,4\n2020-01-05,5\n"


# Reading and auto-detection


def test_two_columns_find_time_and_target(tmp_path):
    panel = read_panel(write_csv(tmp_path, DAILY))
    assert (panel.schema.time_column, panel.schema.target) == ("date", "load")
    assert panel.schema.features == ()
    assert panel.schema.time_kind == "datetime"
    assert panel.schema.frequency == "D"
    assert panel.frame(0)["load"].tolist() == [1, 2, 3, 4, 5]
    assert panel.frame(0).index[0] == pd.Timestamp("2020-01-01")
    assert int(panel.missing_timestamps.sum()) == 0
    assert panel.source == str(tmp_path / "series.csv")


def test_slash_dates_with_hours(tmp_path):
    path = write_csv(tmp_path, "when,load\n2010/01/01 00:00,1\n2010/01/01 01:00,2\n2010/01/01 02:00,3\n")
    panel = read_panel(path)
    assert panel.schema.time_column == "when"
    assert panel.schema.frequency == "h"
    assert panel.frame(0).index[2] == pd.Timestamp("2010-01-01 02:00")


def test_integer_years(tmp_path):
    panel = read_panel(write_csv(tmp_path, "year,sales\n2000,1.5\n2001,2.5\n2002,3.5\n"))
    assert panel.schema.time_kind == "year"
    assert panel.schema.frequency.startswith("Y")
    assert panel.frame(0).index.tolist() == [pd.Timestamp(f"{y}-01-01") for y in (2000, 2001, 2002)]
    assert panel.frame(0)["sales"].tolist() == [1.5, 2.5, 3.5]


def test_yyyymmdd_integers(tmp_path):
    panel = read_panel(write_csv(tmp_path, "day,sales\n20200101,1.5\n20200102,2.5\n20200103,3.5\n"))
    assert panel.schema.time_kind == "yyyymmdd"
    assert panel.schema.frequency == "D"
    assert panel.frame(0).index[1] == pd.Timestamp("2020-01-02")


def test_unsorted_rows_are_sorted(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-03,3\n2020-01-01,1\n2020-01-02,2\n")
    panel = read_panel(path)
    assert panel.frame(0).index.is_monotonic_increasing
    assert panel.frame(0)["load"].tolist() == [1, 2, 3]


def test_missing_hour_becomes_a_nan_row(tmp_path):
    path = write_csv(
        tmp_path,
        "date,load\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 03:00,4\n2020-01-01 04:00,5\n",
    )
    panel = read_panel(path)
    assert panel.schema.frequency == "h"
    assert int(panel.missing_timestamps.sum()) == 1
    assert len(panel.frame(0)) == 5
    assert panel.frame(0).index[2] == pd.Timestamp("2020-01-01 02:00")
    assert np.isnan(panel.frame(0)["load"].iloc[2])
    assert panel.observed(0).tolist() == [True, True, False, True, True]
    assert panel.missing_values == 1


def test_monthly_with_a_missing_month_is_month_start(tmp_path):
    path = write_csv(
        tmp_path, "month,v\n2020-01-01,1\n2020-02-01,2\n2020-04-01,4\n2020-05-01,5\n2020-06-01,6\n"
    )
    panel = read_panel(path)
    assert panel.schema.frequency == "MS"
    assert int(panel.missing_timestamps.sum()) == 1
    assert panel.frame(0).index[2] == pd.Timestamp("2020-03-01")


def test_business_days(tmp_path):
    # Friday 5 January 2024, then Monday 8 to Friday 12, then Monday 15.
    days = ["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12",
            "2024-01-15"]
    text = "date,v\n" + "".join(f"{day},{i}\n" for i, day in enumerate(days))
    panel = read_panel(write_csv(tmp_path, text))
    assert panel.schema.frequency == "B"
    assert int(panel.missing_timestamps.sum()) == 0


def test_named_target_and_features(tmp_path):
    text = "date,load,temp,wind\n2020-01-01,1,10,5\n2020-01-02,2,20,6\n2020-01-03,3,30,7\n"
    panel = read_panel(write_csv(tmp_path, text), target="load", features=("wind",))
    assert panel.schema.columns == ("load", "wind")
    assert panel.frame(0).columns.tolist() == ["load", "wind"]
    assert panel.values(0, "interpolate").tolist() == [[1, 5], [2, 6], [3, 7]]


# Every UserError of reading


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_panel(tmp_path / "nope.csv")


def test_directory(tmp_path):
    with pytest.raises(UserError, match="is a directory"):
        read_panel(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(UserError, match="is empty"):
        read_panel(write_csv(tmp_path, ""))


def test_header_only(tmp_path):
    with pytest.raises(UserError, match="has a header but no rows"):
        read_panel(write_csv(tmp_path, "date,load\n"))


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("date,place\n2020-01-01,café\n".encode("latin-1"))
    with pytest.raises(UserError, match="is not UTF-8 text"):
        read_panel(path)


def test_ragged_rows(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-02,2,5\n2020-01-03,3\n")
    with pytest.raises(UserError, match="not a well-formed CSV") as caught:
        read_panel(path)
    assert "line 3" in str(caught.value)


def test_ragged_first_row(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1,5\n2020-01-02,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match="not a well-formed CSV"):
        read_panel(path)


def test_several_numeric_columns(tmp_path):
    path = write_csv(tmp_path, "date,a,b\n2020-01-01,1,2\n2020-01-02,2,3\n2020-01-03,3,4\n")
    with pytest.raises(UserError, match="several numeric columns: 'a', 'b'") as caught:
        read_panel(path)
    assert "--target" in str(caught.value)


def test_no_time_column(tmp_path):
    path = write_csv(tmp_path, "label,load\nfoo,1\nbar,2\nbaz,3\n")
    with pytest.raises(UserError, match="no column that parses as dates") as caught:
        read_panel(path)
    assert "--time-col" in str(caught.value)


def test_several_time_columns(tmp_path):
    path = write_csv(
        tmp_path,
        "start,end,load\n2020-01-01,2020-01-02,1\n2020-01-02,2020-01-03,2\n2020-01-03,2020-01-04,3\n",
    )
    with pytest.raises(UserError, match="several columns that parse as times: 'start', 'end'") as caught:
        read_panel(path)
    assert "--time-col" in str(caught.value)


def test_several_time_columns_one_named_like_time(tmp_path):
    path = write_csv(
        tmp_path,
        "date,end,load\n2020-01-01,2020-01-02,1\n2020-01-02,2020-01-03,2\n2020-01-03,2020-01-04,3\n",
    )
    assert read_panel(path).schema.time_column == "date"


@pytest.mark.parametrize("arguments", [{"time_column": "when"}, {"target": "when"},
                                       {"features": ("when",)}])
def test_named_column_that_does_not_exist(tmp_path, arguments):
    with pytest.raises(UserError, match="has no column 'when'; its columns are 'date', 'load'"):
        read_panel(write_csv(tmp_path, DAILY), **arguments)


def test_text_in_the_target(tmp_path):
    path = write_csv(tmp_path, DAILY.replace("2020-01-03,3", "2020-01-03,--"))
    with pytest.raises(UserError) as caught:
        read_panel(path)
    message = str(caught.value)
    assert "column 'load'" in message and "line 4 holds '--'" in message
    assert "decimal comma" not in message


def test_decimal_comma_in_the_target(tmp_path):
    path = write_csv(tmp_path, DAILY.replace("2020-01-02,2", '2020-01-02,"12,5"'))
    with pytest.raises(UserError) as caught:
        read_panel(path)
    message = str(caught.value)
    assert "column 'load'" in message and "line 3 holds '12,5'" in message
    assert "decimal comma" in message


def test_infinite_value(tmp_path):
    path = write_csv(tmp_path, DAILY.replace("2020-01-02,2", "2020-01-02,inf"))
    with pytest.raises(UserError, match="column 'load' of .* is infinite on line 3"):
        read_panel(path)


def test_duplicate_timestamps(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n2020-01-03,4\n")
    with pytest.raises(UserError, match=r"duplicate timestamps: 1 timestamp appears more than once "
                                        r"\(2020-01-01 00:00:00 on lines 2, 4\)"):
        read_panel(path)


def test_irregular_timestamps(tmp_path):
    path = write_csv(
        tmp_path,
        "date,load\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 02:30,3\n"
        "2020-01-01 03:00,4\n2020-01-01 04:00,5\n",
    )
    with pytest.raises(UserError, match="irregular timestamps"):
        read_panel(path)


def test_empty_time_cell(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match="time column 'date' of .* is empty on line 3"):
        read_panel(path, time_column="date")


def test_unparseable_date(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\nyesterday,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match="does not parse as dates: line 3 holds 'yesterday'"):
        read_panel(path, time_column="date")


def test_integers_that_are_not_times(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match="time column 'load' .* neither years nor yyyymmdd"):
        read_panel(path, time_column="load")


def test_integers_that_are_not_times_quote_the_plain_value(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match=r"\(line 2: 1\)"):
        read_panel(path, time_column="load")


def test_no_numeric_column(tmp_path):
    path = write_csv(tmp_path, "date,label\n2020-01-01,a\n2020-01-02,b\n2020-01-03,c\n")
    with pytest.raises(UserError, match="no numeric column to forecast besides 'date'"):
        read_panel(path)


def test_true_false_target(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,true\n2020-01-02,false\n2020-01-03,true\n")
    with pytest.raises(UserError, match="column 'load' .* holds true/false values"):
        read_panel(path, target="load")


def test_empty_target(tmp_path):
    path = write_csv(tmp_path, "date,load,x\n2020-01-01,,1\n2020-01-02,,2\n2020-01-03,,3\n")
    with pytest.raises(UserError, match="column 'load' of .* is empty"):
        read_panel(path, target="load")


def test_too_few_rows_to_tell_the_frequency(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-02,2\n")
    with pytest.raises(UserError, match="has 2 rows; at least 3 are needed"):
        read_panel(path)


def test_target_also_a_feature(tmp_path):
    path = write_csv(tmp_path, "date,load,temp\n2020-01-01,1,9\n2020-01-02,2,8\n2020-01-03,3,7\n")
    with pytest.raises(UserError, match="--target 'load' is also used"):
        read_panel(path, target="load", features=("load",))


# Reading with the schema of a trained model


def test_schema_reuses_columns_and_frequency(tmp_path):
    first = read_panel(write_csv(tmp_path, "date,load,temp\n2020-01-01,1,9\n2020-01-02,2,8\n"
                                           "2020-01-03,3,7\n", name="train.csv"),
                       target="load", features=("temp",))
    later = read_panel(write_csv(tmp_path, "date,temp,load\n2021-05-01,5,50\n2021-05-02,6,60\n",
                                 name="later.csv"), schema=first.schema)
    assert later.schema == first.schema
    assert later.values(0, "error").tolist() == [[50, 5], [60, 6]]


def test_schema_requires_the_same_columns(tmp_path):
    first = read_panel(write_csv(tmp_path, "date,load,temp\n2020-01-01,1,9\n2020-01-02,2,8\n"
                                           "2020-01-03,3,7\n", name="train.csv"),
                       target="load", features=("temp",))
    with pytest.raises(UserError, match="lacks column\\(s\\) 'temp' that the model was trained on"):
        read_panel(write_csv(tmp_path, DAILY, name="later.csv"), schema=first.schema)


def test_schema_requires_the_same_time_format(tmp_path):
    first = read_panel(write_csv(tmp_path, "date,load\n20200101,1.5\n20200102,2.5\n20200103,3.5\n",
                                 name="train.csv"))
    with pytest.raises(UserError, match="writes time as datetime values .* trained on yyyymmdd"):
        read_panel(write_csv(tmp_path, DAILY, name="later.csv"), schema=first.schema)


def test_schema_requires_the_same_grid(tmp_path):
    first = read_panel(write_csv(tmp_path, DAILY, name="train.csv"))
    later = write_csv(tmp_path, "date,load\n2020-01-01 00:00,1\n2020-01-01 12:00,2\n", name="later.csv")
    with pytest.raises(UserError, match="timestamp 2020-01-01 12:00:00 that is not on the 'D' grid"):
        read_panel(later, schema=first.schema)


# fill_missing


def column(*values):
    return np.array(values, dtype="float64")[:, None]


def test_interpolate_within_a_segment():
    assert fill_missing(column(1, NAN, NAN, 4), "interpolate")[:, 0].tolist() == [1, 2, 3, 4]


def test_gap_at_a_segment_start_is_filled_from_the_past():
    # A new segment starts at row 4: rows 3 and 4 take 3 (the past), not a line towards 6.
    filled = fill_missing(column(1, NAN, 3, NAN, NAN, 6, NAN, 8), "interpolate", segments=(4,))
    assert filled[:, 0].tolist() == [1, 2, 3, 3, 3, 6, 7, 8]


def test_leading_gap_is_back_filled():
    assert fill_missing(column(NAN, NAN, 3, NAN, 5), "interpolate")[:, 0].tolist() == [3, 3, 3, 4, 5]


def test_ffill():
    assert fill_missing(column(NAN, 2, NAN, NAN, 5), "ffill")[:, 0].tolist() == [2, 2, 2, 2, 5]


def test_fill_leaves_input_untouched_and_returns_it_when_complete():
    values = column(1, NAN, 3)
    fill_missing(values, "interpolate")
    assert np.isnan(values[1, 0])
    assert fill_missing(column(1, 2), "error").tolist() == [[1], [2]]


def test_fill_error_names_the_column_and_row():
    values = np.array([[1.0, 2.0], [2.0, NAN]])
    with pytest.raises(UserError, match="temp is missing at row 1 .* --fill is 'error'"):
        fill_missing(values, "error", names=("load", "temp"))


# season_length and split_points


@pytest.mark.parametrize(
    ("frequency", "season"),
    [("h", 24), ("15min", 96), ("D", 7), ("B", 5), ("W-SUN", 52), ("MS", 12), ("QS-JAN", 4),
     ("YS-JAN", 1)],
)
def test_season_length(frequency, season):
    assert season_length(frequency) == season


def test_split_points():
    assert split_points(100, 0.15, 0.15) == (70, 85)
    assert split_points(100, 0.15, 0.0) == (85, 100)



def test_a_missing_day_keeps_daily_frequency_and_weekly_season(tmp_path):
    dates = pd.date_range("2021-01-01", periods=60, freq="D").delete(40)
    path = tmp_path / "daily.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "sales": np.arange(59.0)}).to_csv(path, index=False)
    panel = read_panel(path)
    assert panel.schema.frequency == "D" and season_length(panel.schema.frequency) == 7
    assert int(panel.missing_timestamps.sum()) == 1


def test_semicolon_separated_file_is_read(tmp_path):
    path = write_csv(tmp_path, "date;load\n2020-01-01;1\n2020-01-02;2\n2020-01-03;3\n")
    panel = read_panel(path)
    assert panel.schema.target == "load" and panel.frame(0)["load"].tolist() == [1.0, 2.0, 3.0]


def test_every_text_cell_is_counted(tmp_path):
    path = write_csv(tmp_path, 'date,load\n2020-01-01,1\n2020-01-02,--\n2020-01-03,x\n2020-01-04,"12,5"\n')
    with pytest.raises(UserError, match="line 3 holds '--', and 2 more cells hold text"):
        read_panel(path)


@pytest.mark.parametrize(("first", "second", "pattern"), [
    ("2001-01", "2001-02", "%Y-%m"),
    ("12/31/2023", "01/01/2024", "%m/%d/%Y"),
    ("2024-03-01T00:15:00Z", "2024-03-01T00:30:00Z", "%Y-%m-%dT%H:%M:%SZ"),
    ("2010/01/01 00:00", "2010/01/01 01:00", "%Y/%m/%d %H:%M"),
    ("13.01.2024", "14.01.2024", "%d.%m.%Y"),
    ("31/12/2023", "01/01/2024", "%d/%m/%Y"),
])
def test_the_time_style_of_the_file_is_remembered(tmp_path, first, second, pattern):
    path = write_csv(tmp_path, f"date,load\n{first},1\n{second},2\n")
    assert text_time_format(pd.read_csv(path)["date"]) == pattern


@pytest.mark.parametrize("style", ["%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y %H:%M"])
def test_day_first_dates_are_read_day_first_without_warnings(tmp_path, style):
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    rows = "".join(f"{day.strftime(style)};{number}\n" for number, day in enumerate(days))
    path = write_csv(tmp_path, "Day;Units sold\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas's "Parsing dates in %d/%m/%Y format" included
        panel = read_panel(path)  # the time column is found, not named
    assert panel.schema.time_column == "Day" and panel.schema.frequency == "D"
    assert (panel.frame(0).index == days).all() and panel.schema.time_format == style


def test_dates_that_read_either_way_are_read_month_first(tmp_path):
    path = write_csv(tmp_path, "date,load\n01/02/2024,1\n01/03/2024,2\n01/04/2024,3\n")
    assert read_panel(path).frame(0).index[0] == pd.Timestamp("2024-01-02")


def test_calendar_inputs_are_sines_and_cosines_of_the_clock():
    times = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 06:00", "2024-01-04 12:00"])
    values = calendar(times, ("hour_sin", "hour_cos", "weekday_sin"))
    np.testing.assert_allclose(values[:, 0], [0.0, 1.0, 0.0], atol=1e-12)  # 0h, 6h, 12h
    np.testing.assert_allclose(values[:, 1], [1.0, 0.0, -1.0], atol=1e-12)
    # 2024-01-01 is a Monday (0); 2024-01-04 a Thursday (3).
    np.testing.assert_allclose(values[:, 2], [0.0, 0.0, np.sin(2 * np.pi * 3 / 7)], atol=1e-12)


@pytest.mark.parametrize(("frequency", "cycles"), [
    ("h", ["hour", "weekday", "month"]), ("D", ["weekday", "month"]), ("B", ["weekday", "month"]),
    ("W-SUN", ["month"]), ("MS", ["month"]), ("YS-JAN", [])])
def test_calendar_inputs_are_those_that_vary_at_the_frequency(frequency, cycles):
    assert calendar_names(frequency) == tuple(f"{c}_{w}" for c in cycles for w in ("sin", "cos"))


def test_calendar_on_yearly_data_is_refused(tmp_path):
    path = write_csv(tmp_path, "year,load\n2001,1\n2002,2\n2003,3\n2004,4\n")
    with pytest.raises(UserError, match="where none of them varies; drop --calendar"):
        read_panel(path, with_calendar=True)


def test_calendar_columns_follow_the_target_and_features(tmp_path):
    path = write_csv(tmp_path, "date,load\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n")
    panel = read_panel(path, with_calendar=True)
    assert panel.schema.calendar == ("weekday_sin", "weekday_cos", "month_sin", "month_cos")
    values = panel.values(0, "interpolate")
    assert values.shape == (3, 5) and values[:, 0].tolist() == [1.0, 2.0, 3.0]


# Messy but valid files read the same series as a clean one


HOURS = [f"2021-01-01 {hour:02d}:00" for hour in range(12)]
LOADS = [f"{10 + hour % 5}.5" for hour in range(12)]
PAIRS = list(zip(HOURS, LOADS, strict=True))
ROWS = [f"{time},{load}" for time, load in PAIRS]
CLEAN = "time,load\n" + "".join(f"{row}\n" for row in ROWS)


@pytest.mark.parametrize(("name", "content"), [
    ("unsorted rows", "time,load\n" + "\n".join(ROWS[6:] + ROWS[:6]) + "\n"),
    ("newest first", "time,load\n" + "\n".join(reversed(ROWS)) + "\n"),
    ("byte-order mark", "\ufeff" + CLEAN),
    ("CRLF line endings", CLEAN.replace("\n", "\r\n")),
    ("quoted fields", '"time","load"\n' + "".join(f'"{t}","{v}"\n' for t, v in PAIRS)),
    ("comment lines", "# exported 2021-02-01\n# load in MW\ntime,load\n" + "\n".join(ROWS[:5])
     + "\n# a note between rows\n\n" + "\n".join(ROWS[5:]) + "\n"),
    ("extra unused columns", "time,load,note,blank\n" + "".join(f"{row},ok,\n" for row in ROWS)),
    ("a trailing comma on every line", "time,load,\n" + "".join(f"{row},\n" for row in ROWS)),
    ("rows of empty cells at the end", CLEAN + ",\n,\n"),
    ("spaces after the commas", "time, load\n" + "".join(f"{t}, {v}\n" for t, v in PAIRS)),
    ("BOM, CRLF and a comment together", "\ufeff# c\r\ntime,load\r\n" + "\r\n".join(ROWS) + "\r\n"),
    ("no newline at the end", CLEAN.rstrip("\n")),
    ("semicolons", CLEAN.replace(",", ";")),
    ("tabs", CLEAN.replace(",", "\t")),
])
def test_messy_but_valid_files_read_the_same_series(tmp_path, name, content):
    clean = read_panel(write_csv(tmp_path, CLEAN, name="clean.csv"))
    messy = read_panel(write_csv(tmp_path, content, name="messy.csv"))
    assert messy.schema == clean.schema
    pd.testing.assert_frame_equal(messy.frame(0), clean.frame(0))


def test_weekday_only_daily_series_is_business_days(tmp_path):
    days = pd.bdate_range("2024-01-01", periods=40).delete([5, 17])  # two holidays
    text = "date,v\n" + "".join(f"{day:%Y-%m-%d},{i}\n" for i, day in enumerate(days[::-1]))
    panel = read_panel(write_csv(tmp_path, text))
    assert panel.schema.frequency == "B" and season_length(panel.schema.frequency) == 5
    assert int(panel.missing_timestamps.sum()) == 2 and len(panel.frame(0)) == 40


def test_missing_markers_count_as_missing_values(tmp_path):
    path = write_csv(tmp_path, DAILY.replace("2020-01-02,2", "2020-01-02,n/a").replace(
        "2020-01-04,4", "2020-01-04,NA"))
    assert read_panel(path).missing_values == 2


def test_line_numbers_count_comment_and_blank_lines(tmp_path):
    path = write_csv(tmp_path, "# a comment\n\ndate,load\n2020-01-01,1\n# another\n2020-01-02,--\n")
    with pytest.raises(UserError, match="line 6 holds '--'"):
        read_panel(path)


# More UserErrors of reading


def test_utf16_text(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(DAILY.encode("utf-16"))
    with pytest.raises(UserError, match="is UTF-16 text; expected UTF-8"):
        read_panel(path)


def test_utf16_text_without_a_byte_order_mark(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(DAILY.encode("utf-16-le"))
    with pytest.raises(UserError, match="looks like UTF-16 text"):
        read_panel(path)


def test_binary_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="holds binary data"):
        read_panel(path)


def test_spreadsheet_instead_of_csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(UserError, match=r"is a ZIP archive \(an Excel .xlsx workbook\?\)"):
        read_panel(path)


def test_not_utf8_names_the_line_and_byte(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("date,load\n2020-01-01,1\n2020-01-02,2 \xb0C\n".encode("latin-1"))
    with pytest.raises(UserError, match="line 3 holds the byte 0xb0"):
        read_panel(path)


def test_only_comments(tmp_path):
    with pytest.raises(UserError, match="holds only comment or blank lines"):
        read_panel(write_csv(tmp_path, "# nothing here\n\n"))


def test_short_row(tmp_path):
    path = write_csv(tmp_path, "date,load,temp\n2020-01-01,1,5\n2020-01-02,2\n2020-01-03,3,7\n")
    with pytest.raises(UserError, match="line 3 has 2 fields but the header has 3"):
        read_panel(path)


def test_space_separated_file(tmp_path):
    path = write_csv(tmp_path, "date load\n2020-01-01 1\n2020-01-02 2\n2020-01-03 3\n")
    with pytest.raises(UserError, match=r"has one column, 'date load' \(it looks separated by spaces\)"):
        read_panel(path)


def test_decimal_commas_with_semicolons(tmp_path):
    path = write_csv(tmp_path, "date;load\n2020-01-01;1,5\n2020-01-02;2,5\n2020-01-03;3,5\n")
    with pytest.raises(UserError, match="line 2 holds '1,5' \\(a decimal comma\\?"):
        read_panel(path)


def test_mixed_utc_offsets(tmp_path):
    path = write_csv(tmp_path, "time,load\n2021-03-28 00:00+01:00,1\n2021-03-28 01:00+01:00,2\n"
                               "2021-03-28 03:00+02:00,3\n")
    with pytest.raises(UserError, match="mixes UTC offsets: line 2 is at \\+01:00 and line 4 at \\+02:00"):
        read_panel(path)


def test_unparseable_date_found_without_time_col(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\nyesterday,2\n2020-01-03,3\n")
    with pytest.raises(UserError, match="does not parse as dates: line 3 holds 'yesterday'"):
        read_panel(path)


def test_constant_target(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,4.5\n2020-01-02,\n2020-01-03,4.5\n2020-01-04,4.5\n")
    with pytest.raises(UserError, match="column 'load' of .* is constant: all 3 values are 4.5"):
        read_panel(path)


def test_constant_history_is_fine_for_a_trained_model(tmp_path):
    first = read_panel(write_csv(tmp_path, DAILY, name="train.csv"))
    flat = write_csv(tmp_path, "date,load\n2021-01-01,3\n2021-01-02,3\n2021-01-03,3\n", name="flat.csv")
    assert read_panel(flat, schema=first.schema).frame(0)["load"].tolist() == [3, 3, 3]


def test_every_repeated_timestamp_is_counted(tmp_path):
    path = write_csv(tmp_path, "date,load\n2020-01-01,1\n2020-01-01,2\n2020-01-02,3\n2020-01-02,4\n"
                               "2020-01-03,5\n")
    with pytest.raises(UserError, match=r"duplicate timestamps: 2 timestamps appear more than once "
                                        r"\(2020-01-01 00:00:00 on lines 2, 3\)"):
        read_panel(path)


def test_rows_after_comment_and_blank_lines_are_named_by_their_line(tmp_path):
    path = write_csv(tmp_path, "# header below\ndate,load\n2020-01-01,1\n\n2020-01-02,2,9\n2020-01-03,3\n")
    with pytest.raises(UserError, match="line 5 has 3 fields but the header has 2"):
        read_panel(path)
    path = write_csv(tmp_path, "date,load,temp\n# note\n2020-01-01,1,5\n\n2020-01-02,2\n")
    with pytest.raises(UserError, match="line 5 has 2 fields but the header has 3"):
        read_panel(path)


@pytest.mark.parametrize("cell", ["1e400", "NaT"])
def test_a_cell_that_parses_as_no_time(tmp_path, cell):
    path = write_csv(tmp_path, f"time,load\n2020-01-01,1\n{cell},2\n2020-01-03,3\n")
    with pytest.raises(UserError, match=f"does not parse as dates: line 3 holds '{cell}'"):
        read_panel(path, time_column="time")


def test_timestamps_far_apart_are_irregular_without_building_the_grid(tmp_path):
    path = write_csv(tmp_path, "time,load\n2020-01-01 00:00:00.000001,1\n2020-01-01 00:00:00.000002,2\n"
                               "2020-01-01 00:00:00.000003,3\n2200-01-01,4\n")
    with pytest.raises(UserError, match="irregular timestamps: .* the 4 rows span"):
        read_panel(path)


def test_a_history_far_longer_than_its_rows_is_refused(tmp_path):
    first = read_panel(write_csv(tmp_path, "time,load\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n"
                                           "2020-01-01 02:00,3\n", name="train.csv"))
    later = write_csv(tmp_path, "time,load\n1900-01-01 00:00,1\n2020-01-01 01:00,2\n", name="later.csv")
    with pytest.raises(UserError, match="about 1,051,897 steps, so nearly all would be missing"):
        read_panel(later, schema=first.schema)


# Rows that hold no value


def dividend_csv(tmp_path):
    """Month starts of 2019 with a price and a volume, and on the 15th of March, June and
    September a row with every value empty (a dividend date): lines 5, 9 and 13."""
    rows = []
    for month in range(1, 13):
        rows.append(f"2019-{month:02d}-01,{10 + month / 10:.1f},{100 + month}\n")
        if month in (3, 6, 9):
            rows.append(f"2019-{month:02d}-15,,\n")
    return write_csv(tmp_path, "date,price,volume\n" + "".join(rows), name="prices.csv")


def test_empty_rows_off_the_grid_are_dropped_and_counted(tmp_path):
    panel = read_panel(dividend_csv(tmp_path), target="price", features="volume")
    assert panel.schema.frequency == "MS" and panel.lengths.tolist() == [12]
    assert panel.empty_rows == 3 and panel.missing_values == 0
    assert panel.index(0)[[0, -1]].strftime("%Y-%m-%d").tolist() == ["2019-01-01", "2019-12-01"]
    assert panel.rows(0)[2].tolist() == np.float32([10.3, 103.0]).tolist()  # held as float32


def test_an_empty_row_on_the_grid_is_a_missing_value(tmp_path):
    panel = read_panel(write_csv(tmp_path, DAILY.replace("2020-01-03,3", "2020-01-03,")))
    assert panel.schema.frequency == "D" and panel.empty_rows == 0
    np.testing.assert_array_equal(panel.rows(0)[:, 0], [1, 2, NAN, 4, 5])
    assert panel.missing_timestamps.tolist() == [0]


def test_a_row_with_some_values_empty_stays(tmp_path):
    text = ("date,price,volume\n2020-01-01,1,10\n2020-01-02,,20\n2020-01-02 07:00,,\n"
            "2020-01-03,3,30\n2020-01-04,4,40\n")
    panel = read_panel(write_csv(tmp_path, text), target="price", features="volume")
    assert panel.schema.frequency == "D" and panel.empty_rows == 1
    np.testing.assert_array_equal(panel.rows(0), [[1, 10], [NAN, 20], [3, 30], [4, 40]])


def test_an_empty_row_at_the_time_of_a_row_with_values_is_no_duplicate(tmp_path):
    text = DAILY.replace("2020-01-03,3\n", "2020-01-03,3\n2020-01-03,\n2020-01-04,\n")
    panel = read_panel(write_csv(tmp_path, text))
    assert panel.empty_rows == 2 and panel.rows(0)[:, 0].tolist() == [1, 2, 3, 4, 5]


def test_empty_rows_do_not_hide_irregular_rows_with_values(tmp_path):
    text = "date,price\n" + "".join(f"2019-{month:02d}-01,{month}\n" for month in range(1, 13)) \
        + "2019-06-15,\n2019-07-20,7.5\n"
    with pytest.raises(UserError, match="the most common step is 1 month, on the first day of a "
                                        "month, but 1 timestamp is off that grid: 2019-07-20. "):
        read_panel(write_csv(tmp_path, text))


def test_a_dividend_row_in_every_month_still_reads_as_monthly(tmp_path):
    rows = "".join(f"2019-{month:02d}-01,{month}\n2019-{month:02d}-15,\n" for month in range(1, 13))
    panel = read_panel(write_csv(tmp_path, "date,price\n" + rows))
    assert panel.schema.frequency == "MS" and panel.lengths.tolist() == [12]
    assert panel.empty_rows == 12 and panel.missing_values == 0
