"""Time columns of periods (quarters, ISO weeks, month names): read, framed and written back alike;
and steps of months, quarters and years, told and named as calendar steps."""

import pandas as pd
import pytest

from forecaster.data.columns import find_time_column
from forecaster.data.reading import read_table
from forecaster.data.times import (
    format_times,
    infer_frequency,
    parse_times,
    regularise,
    step_text,
    text_time_format,
    to_offset,
)
from forecaster.errors import UserError
from tests.conftest import write_csv


def read_times(tmp_path, cells):
    """(times, time_kind, time_format, frequency) of a CSV whose time column `period` holds `cells`,
    found among a text column and a numeric one as training finds it."""
    rows = "".join(f"{cell},store_A,{number}\n" for number, cell in enumerate(cells))
    raw = read_table(write_csv(tmp_path, "period,store,sales\n" + rows))
    name = find_time_column(raw, "series.csv")
    assert name == "period"
    times, kind = parse_times(raw[name], name, "series.csv")
    pattern = text_time_format(raw[name]) if kind == "datetime" else None
    return times, kind, pattern, infer_frequency(times, "series.csv")


# The file's first three cells, its first day, frequency and pattern, and the next two cells.
STYLES = [
    (("1998 Q1", "1998 Q2", "1998 Q3"), "1998-01-01", "QS", "%Y Q%q", ["1998 Q4", "1999 Q1"]),
    (("1998Q1", "1998Q2", "1998Q3"), "1998-01-01", "QS", "%YQ%q", ["1998Q4", "1999Q1"]),
    (("1998-Q1", "1998-Q2", "1998-Q3"), "1998-01-01", "QS", "%Y-Q%q", ["1998-Q4", "1999-Q1"]),
    (("1998-q1", "1998-q2", "1998-q3"), "1998-01-01", "QS", "%Y-q%q", ["1998-q4", "1999-q1"]),
    (("1991 W06", "1991 W07", "1991 W08"), "1991-02-04", "W-MON", "%G W%V", ["1991 W09", "1991 W10"]),
    (("1991-W06", "1991-W07", "1991-W08"), "1991-02-04", "W-MON", "%G-W%V", ["1991-W09", "1991-W10"]),
    (("1991W06", "1991W07", "1991W08"), "1991-02-04", "W-MON", "%GW%V", ["1991W09", "1991W10"]),
    (("2017-W03-1", "2017-W03-2", "2017-W03-3"), "2017-01-16", "D", "%G-W%V-%u",
     ["2017-W03-4", "2017-W03-5"]),
    (("2017-W03-1", "2017-W04-1", "2017-W05-1"), "2017-01-16", "W-MON", "%G-W%V-%u",
     ["2017-W06-1", "2017-W07-1"]),
    (("1987 Jan", "1987 Feb", "1987 Mar"), "1987-01-01", "MS", "%Y %b", ["1987 Apr", "1987 May"]),
    (("Jan 1987", "Feb 1987", "Mar 1987"), "1987-01-01", "MS", "%b %Y", ["Apr 1987", "May 1987"]),
    (("1987-01", "1987-02", "1987-03"), "1987-01-01", "MS", "%Y-%m", ["1987-04", "1987-05"]),
    (("1987 January", "1987 February", "1987 March"), "1987-01-01", "MS", "%Y %B",
     ["1987 April", "1987 May"]),
    (("January 1987", "February 1987", "March 1987"), "1987-01-01", "MS", "%B %Y",
     ["April 1987", "May 1987"]),
    (("JAN 1987", "FEB 1987", "MAR 1987"), "1987-01-01", "MS", "%^b %Y", ["APR 1987", "MAY 1987"]),
]


@pytest.mark.parametrize(("cells", "start", "frequency", "pattern", "following"), STYLES)
def test_each_period_style_is_read_and_written_back_alike(tmp_path, cells, start, frequency,
                                                         pattern, following):
    times, kind, found_pattern, found_frequency = read_times(tmp_path, cells)
    assert kind == "datetime" and found_pattern == pattern
    assert times.tolist() == pd.date_range(start, periods=3, freq=frequency).tolist()
    assert to_offset(found_frequency) == to_offset(frequency)  # QS is also spelled QS-JAN
    assert format_times(times, kind, pattern) == list(cells)
    following_times = pd.date_range(times[-1], periods=3, freq=found_frequency)[1:]
    assert format_times(following_times, kind, pattern) == following


@pytest.mark.parametrize(("cell", "step", "written"), [
    ("1998 Q1", "QS", "1998 Q2"), ("1998Q1", "QS", "1998Q2"), ("1998-Q1", "QS", "1998-Q2"),
    ("1991 W06", "W-MON", "1991 W07"), ("2017-W03-1", "D", "2017-W03-2"),
    ("1987 Jan", "MS", "1987 Feb"), ("Jan 1987", "MS", "Feb 1987"), ("1987-01", "MS", "1987-02"),
])
def test_the_next_period_is_written_like_the_file(cell, step, written):
    column = pd.Series([cell])
    times, kind = parse_times(column, "period", "series.csv")
    following = pd.date_range(times[0], periods=2, freq=step)[1:]
    assert format_times(following, kind, text_time_format(column)) == [written]


@pytest.mark.parametrize(("cells", "frequency"), [
    (("1998 Q1", "1998 Q2", "1998 Q4", "1999 Q1"), "QS"),
    (("1991-W06", "1991-W07", "1991-W09", "1991-W10"), "W-MON"),
    (("Jan 1987", "Feb 1987", "Apr 1987", "May 1987"), "MS"),
])
def test_a_missing_period_keeps_the_frequency(tmp_path, cells, frequency):
    assert read_times(tmp_path, cells)[3] == frequency


def test_week_53_is_read_in_a_year_that_has_one(tmp_path):
    times, _, pattern, frequency = read_times(tmp_path, ("2020 W52", "2020 W53", "2021 W01"))
    assert times.tolist() == [pd.Timestamp(day) for day in ("2020-12-21", "2020-12-28", "2021-01-04")]
    assert frequency == "W-MON" and format_times(times[1:2], "datetime", pattern) == ["2020 W53"]


@pytest.mark.parametrize(("cells", "phrase"), [
    (("2021 W52", "2021 W53", "2022 W01"),
     "line 3 holds '2021 W53', but ISO year 2021 has 52 weeks. Expected ISO weeks W01 to W52"),
    (("1998 Q1", "1998 Q2", "1998 Q5"),
     "does not parse as dates: line 4 holds '1998 Q5'. Expected quarters Q1 to Q4, written one way "
     "throughout like line 2's '1998 Q1'; fix that cell"),
    (("1998 Q1", "1998Q2", "1998 Q3"), "line 3 holds '1998Q2'. Expected quarters Q1 to Q4"),
    (("1991 W06", "1991 W07", "1991 W54"), "does not parse as dates: line 4 holds '1991 W54'"),
    (("2017-W03-1", "2017-W03-2", "2017-W03-8"), "line 4 holds '2017-W03-8'. Expected ISO weeks W01 "
     "to W52 (W53 only in years that have one), each with a weekday 1 (Monday) to 7"),
    (("1987 Jan", "1987 Feb", "1987 Foo"), "line 4 holds '1987 Foo'. Expected English month names"),
])
def test_a_cell_that_is_no_period_is_refused_naming_its_line(tmp_path, cells, phrase):
    with pytest.raises(UserError, match=phrase.replace("(", r"\(").replace(")", r"\)")) as error:
        read_times(tmp_path, cells)
    assert "\n" not in str(error.value)


def test_codes_that_only_resemble_periods_are_not_times(tmp_path):
    rows = "2020-01-01,SKU 2020,store_A,2020abc,1\n2020-01-02,MAR2020-X,store_B,1998 Q,2\n"
    raw = read_table(write_csv(tmp_path, "day,code,store,batch,sales\n" + rows))
    assert find_time_column(raw, "series.csv") == "day"
    with pytest.raises(UserError, match="line 2 holds 'SKU 2020'. Expected one format throughout"):
        parse_times(raw["code"], "code", "series.csv")


def test_a_time_inside_a_period_is_written_as_iso_text():
    assert format_times(pd.DatetimeIndex(["1998-04-02"]), "datetime", "%Y Q%q") == ["1998-04-02"]
    assert format_times(pd.DatetimeIndex(["1991-02-12"]), "datetime", "%G W%V") == ["1991-02-12"]


def test_lower_case_month_names_are_read_but_written_as_iso_text():
    column = pd.Series(["jan 1987", "feb 1987", "mar 1987"])
    times, kind = parse_times(column, "period", "series.csv")
    assert times[2] == pd.Timestamp("1987-03-01") and text_time_format(column) is None


# Steps of months, quarters and years


def refusal(stamps) -> str:
    """The message infer_frequency refuses `stamps` (date strings) with."""
    with pytest.raises(UserError) as error:
        infer_frequency(pd.DatetimeIndex(stamps), "prices.csv")
    return str(error.value)


@pytest.mark.parametrize(("start", "frequency"), [
    ("2020-01-31", "ME"), ("2020-01-01", "MS"), ("2020-01-31", "BME"), ("2020-01-01", "BMS"),
    ("2020-02-01", "QS-FEB"), ("2020-02-29", "QE-NOV"), ("2000-07-01", "YS-JUL"), ("2000-12-31", "YE"),
    ("2020-01-01", "2MS"),
])
def test_calendar_steps_with_missing_ones_keep_their_frequency(start, frequency):
    stamps = pd.date_range(start, periods=12, freq=frequency).delete([3, 7])
    assert infer_frequency(stamps, "prices.csv") == frequency


def test_month_ends_read_as_monthly():
    stamps = pd.DatetimeIndex(["2020-01-31", "2020-02-29", "2020-03-31", "2020-05-31", "2020-06-30"])
    assert infer_frequency(stamps, "prices.csv") == "ME"


def test_an_irregular_monthly_file_names_its_step_in_months_and_the_stray_timestamps():
    stamps = [*pd.date_range("2019-01-01", periods=24, freq="MS").strftime("%Y-%m-%d"),
              "2019-05-15", "2019-10-15", "2020-03-15", "2020-08-20"]
    assert refusal(sorted(stamps)) == (
        "prices.csv has irregular timestamps: the most common step is 1 month, on the first day of "
        "a month, but 4 timestamps are off that grid: 2019-05-15, 2019-10-15, 2020-03-15 and 1 "
        "more. Expected one row per regular step (gaps are fine); remove or fix those rows, or "
        "resample the data first.")


def test_an_irregular_quarterly_file_names_its_step_in_months_and_its_months():
    stamps = ["2000-01-01", "2000-04-01", "2000-07-01", "2000-10-01", "2001-02-10", "2001-04-01"]
    assert refusal(stamps).startswith(
        "prices.csv has irregular timestamps: the most common step is 3 months, on the first day of "
        "January, April, July and October, but 1 timestamp is off that grid: 2001-02-10. ")


def test_a_yearly_file_too_sparse_for_a_grid_says_years():
    assert refusal(["1900-01-01", "1901-01-01", "1902-01-01", "1990-01-01"]).startswith(
        "prices.csv has irregular timestamps: the most common step is 1 year, but the 4 rows span "
        "90 years, so a regular grid would more than double them.")


def test_mid_month_stamps_are_refused_saying_how_to_write_them():
    stamps = pd.date_range("2020-01-01", periods=12, freq="MS") + pd.Timedelta("14D")
    assert refusal(stamps) == (
        "prices.csv has rows a month apart, on day 15 of the month (2020-01-15, 2020-02-15 and 10 "
        "more), but forecaster's monthly, quarterly and yearly steps fall on the first or the last "
        "day of a month. Write the times as months (2020-01 for 2020-01-15) or as the first day of "
        "each month.")


def test_an_hourly_file_names_the_stray_hour_even_when_it_comes_first():
    stamps = ["2021-01-01 00:30", *pd.date_range("2021-01-01 01:00", periods=5, freq="h").astype(str)]
    assert refusal(stamps).startswith(
        "prices.csv has irregular timestamps: the most common step is 1 hour, but 1 timestamp is "
        "off that grid: 2021-01-01 00:30:00. ")


@pytest.mark.parametrize(("frequency", "text"), [
    ("h", "1 hour"), ("15min", "15 minutes"), ("D", "1 day"), ("B", "1 business day"),
    ("W-SUN", "1 week"), ("MS", "1 month"), ("ME", "1 month"), ("QS", "3 months"),
    ("YS", "1 year"), ("2YE", "2 years"),
])
def test_a_step_in_words(frequency, text):
    assert step_text(frequency) == text


def test_timestamps_off_the_grid_of_a_model_are_named_with_its_step():
    frame = pd.DataFrame(index=pd.DatetimeIndex(["2020-01-01", "2020-02-01", "2020-02-15",
                                                 "2020-03-20", "2020-04-01"]))
    with pytest.raises(UserError) as error:
        regularise(frame, "MS", "history.csv")
    assert str(error.value) == (
        "history.csv has 2 timestamps that are not on the 'MS' grid the model uses (one row per "
        "step of 1 month, on the first day of a month): 2020-02-15, 2020-03-20; expected one row "
        "per step. Resample the file to that frequency.")


def test_a_monthly_file_mostly_gaps_says_how_many_months_it_spreads_over():
    assert refusal(["2020-01-01", "2020-02-01", "2020-03-01", "2020-11-01"]) == (
        "prices.csv has irregular timestamps: the most common step is 1 month, but its 4 rows are "
        "spread over 11 such steps, so filling the gaps would more than double them. Expected one "
        "row per regular step (gaps are fine); resample the data first.")
