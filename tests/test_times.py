"""Time columns of periods (quarters, ISO weeks, month names): read, framed and written back alike."""

import pandas as pd
import pytest

from forecaster.data.columns import find_time_column
from forecaster.data.reading import read_table
from forecaster.data.times import format_times, infer_frequency, parse_times, text_time_format, to_offset
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
