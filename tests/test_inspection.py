"""`inspect`: what forecaster sees in a CSV, every problem listed rather than the first raised."""

import numpy as np
import pandas as pd
import pytest

from forecaster.cli import main
from forecaster.errors import UserError
from forecaster.inspection import Gap, inspect
from tests.conftest import write_csv


def hourly_rows(hours, value=lambda hour: f"{10 + hour % 4}.5"):
    return "".join(f"2021-01-01 {hour:02d}:00,{value(hour)},SEA\n" for hour in hours)


# Lines: 1 comment, 2 header, 3-19 hours 0-19 without hours 5, 9 and 10, then hour 3 again and
# hour 4 again (lines 20, 21). Hour 7 holds 'n/a' (missing), hour 12 '--' and hour 14 '12,5'.
MESSY = ("# exported by a logger\ntime,load,station\n"
         + hourly_rows([h for h in range(20) if h not in (5, 9, 10)],
                       lambda h: {7: "n/a", 12: "--", 14: '"12,5"'}.get(h, f"{10 + h % 4}.5"))
         + hourly_rows([3, 4]))


def test_a_messy_file_is_reported_not_refused(tmp_path):
    report = inspect(write_csv(tmp_path, MESSY))
    assert report.rows == 19
    assert [(c.name, c.kind, c.role) for c in report.columns] == [
        ("time", "datetime", "time"), ("load", "numbers and text", "target"), ("station", "text", "")]
    load = report.columns[1]
    assert load.missing == 1 and load.text_cells == 2
    assert load.examples == ((12, "--"), (14, "12,5"))
    assert report.columns[2].constant == "SEA"
    assert (report.time_column, report.time_kind, report.target) == ("time", "datetime", "load")
    assert report.start == pd.Timestamp("2021-01-01 00:00") and report.end == pd.Timestamp("2021-01-01 19:00")
    assert report.frequency == "h"
    assert report.missing_timestamps == 3 and report.gap_count == 2
    assert report.gaps == (Gap(pd.Timestamp("2021-01-01 09:00"), pd.Timestamp("2021-01-01 10:00"), 2),
                           Gap(pd.Timestamp("2021-01-01 05:00"), pd.Timestamp("2021-01-01 05:00"), 1))
    assert report.duplicate_count == 2
    assert report.duplicates == ((pd.Timestamp("2021-01-01 03:00"), (6, 20)),
                                 (pd.Timestamp("2021-01-01 04:00"), (7, 21)))
    assert not report.ready and len(report.problems) == 2
    assert "line 12 holds '--', and 1 more cell holds text" in report.problems[0]
    assert ("duplicate timestamps: 2 timestamps appear more than once (2021-01-01 03:00:00 on lines 6, 20)"
            in report.problems[1])
    assert report.notes == (
        "3 missing timestamps in 2 gaps: train inserts them and fills their values (--fill, default "
        "interpolate)",
        "'load' has 1 missing value: train fills those inside a series (--fill, default "
        "interpolate; --fill error refuses them); empty values before a series' first value or "
        "after its last are not data")


def test_the_printed_report(tmp_path):
    text = inspect(write_csv(tmp_path, MESSY)).text()
    lines = text.splitlines()
    assert lines[0].endswith("series.csv: 19 rows, 3 columns")
    assert lines[1:4] == ["  time     datetime (time)", "  load     numbers and text (target), 1 missing",
                          "  station  text"]
    for line in ["time column    'time' (datetime)", "target         'load'",
                 "time range     2021-01-01 00:00:00 to 2021-01-01 19:00:00",
                 "frequency      'h' (calendar season: 24 steps)",
                 "gaps           3 missing timestamps in 2 gaps; largest: 2021-01-01 09:00:00 to "
                 "2021-01-01 10:00:00 (2); 2021-01-01 05:00:00 (1)",
                 "duplicates     2 timestamps: 2021-01-01 03:00:00 on lines 6, 20; 2021-01-01 04:00:00 "
                 "on lines 7, 21",
                 "missing values load 1",
                 "non-numeric    load: 2 cells (line 12 '--', line 14 '12,5')",
                 "constant       station (all SEA)",
                 "train would stop on 2 problems:"]:
        assert line in lines, line


def test_a_clean_file_is_ready(tmp_path):
    days = pd.bdate_range("2024-01-01", periods=20).delete([3])
    text = "date,v\n" + "".join(f"{day:%Y-%m-%d},{i}\n" for i, day in enumerate(days))
    report = inspect(write_csv(tmp_path, text))
    assert report.ready and report.problems == ()
    assert report.frequency == "B" and report.missing_timestamps == 1
    assert report.gaps == (Gap(pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-04"), 1),)
    text = report.text()
    assert "time range     2024-01-01 to 2024-01-26" in text
    assert "gaps           1 missing timestamp in 1 gap; largest: 2024-01-04 (1)" in text
    assert text.endswith("train can read this file.")


def test_several_numeric_columns_then_a_chosen_target(tmp_path):
    path = write_csv(tmp_path, "date,a,b\n2020-01-01,1,2\n2020-01-02,2,2\n2020-01-03,3,2\n")
    report = inspect(path)
    assert report.target is None and "several numeric columns: 'a', 'b'" in report.problems[0]
    chosen = inspect(path, target="a", features=("b",))
    assert chosen.ready and [c.role for c in chosen.columns] == ["time", "target", "feature"]
    assert chosen.notes == ("feature 'b' is constant (2): it adds nothing to the model; drop it from "
                            "--features",)


def test_a_constant_target_would_stop_train(tmp_path):
    report = inspect(write_csv(tmp_path, "date,load\n2020-01-01,7\n2020-01-02,7\n2020-01-03,7\n"))
    assert report.columns[1].constant == "7"
    assert report.problems == (f"column 'load' of {tmp_path / 'series.csv'} is constant: all 3 values are "
                               f"7; expected a target that varies, since a constant has nothing to learn. "
                               f"Choose another column with --target, or check the file.",)


def test_no_time_column_and_a_missing_named_column(tmp_path):
    report = inspect(write_csv(tmp_path, "label,load\nfoo,1\nbar,2\nbaz,3\n"), target="Load")
    assert report.time_column is None and report.frequency is None and report.target == "load"
    assert "has no column 'Load'" in report.problems[0]
    assert "no column that parses as dates" in report.problems[1]
    assert "frequency" not in report.text()


def test_irregular_timestamps(tmp_path):
    text = "time,load\n" + "".join(f"2021-01-01 {t},{i}\n" for i, t in enumerate(
        ["00:00", "01:00", "02:00", "02:40", "04:00", "05:00"]))
    report = inspect(write_csv(tmp_path, text))
    assert report.frequency is None and "irregular timestamps" in report.problems[0]
    assert "frequency      none inferred" in report.text()


@pytest.mark.parametrize(("content", "message"), [
    (None, "does not exist"), (b"", "is empty"), (b"\x00\x01\x02binary", "holds binary data"),
    ("date,place\n2020-01-01,caf\xe9\n".encode("latin-1"), "is not UTF-8 text")])
def test_a_file_that_cannot_be_read_is_an_error(tmp_path, content, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        inspect(path)


def test_inspect_command_prints_the_report(tmp_path, capsys):
    path = write_csv(tmp_path, MESSY)
    assert main(["inspect", "--csv", str(path), "--target", "load"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: 19 rows, 3 columns\n") and "train would stop on 2 problems:" in out


def test_inspect_command_on_a_missing_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["inspect", "--csv", str(tmp_path / "nope.csv")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"forecaster inspect: error: {tmp_path / 'nope.csv'} does not exist; pass the " \
                           f"path of a CSV or Parquet file.\n"
    assert captured.out == ""


def test_rows_with_no_value_off_the_grid_are_counted_and_left_out(tmp_path, capsys):
    rows = "".join(f"2019-{month:02d}-01,{10 + month},{100 + month}\n"
                   + (f"2019-{month:02d}-15,,\n" if month in (3, 6, 9, 12) else "")
                   for month in range(1, 13))
    path = write_csv(tmp_path, "date,price,volume\n" + rows, name="prices.csv")
    report = inspect(path, target="price", features=("volume",))
    assert report.ready and report.frequency == "MS" and report.rows == 16
    assert report.empty_rows == 4 and report.empty_lines == (5, 9, 13)
    assert report.missing_timestamps == 0 and [c.missing for c in report.columns] == [0, 0, 0]
    lines = report.text().splitlines()
    assert ("empty rows     4 dropped (no target or feature value, and off the grid, at a repeated "
            "time or with no id): lines 5, 9, 13 and 1 more") in lines
    assert main(["inspect", "--csv", str(path), "--target", "price", "--features", "volume"]) == 0
    assert ("\nempty rows     4 dropped (no target or feature value, and off the grid, at a repeated "
            "time or with no id): lines 5, 9, 13 and 1 more\n") in capsys.readouterr().out
    assert "empty rows     none" in inspect(write_csv(tmp_path, "date,v\n2020-01-01,1\n2020-01-02,2\n"
                                                                "2020-01-03,3\n")).text().splitlines()


def test_inspect_counts_the_empty_rows_of_a_long_file_as_train_drops_them(tmp_path):
    text = ("store,date,sales\n" + "".join(f"{store},2021-{month:02d}-01,{month}\n"
                                           for store in "ab" for month in range(1, 5))
            + "a,2021-02-01,\n,2021-03-01,\nb,2021-02-20,\n")
    report = inspect(write_csv(tmp_path, text), id_columns=("store",))
    assert report.ready and report.frequency == "MS" and report.duplicate_count == 0
    assert report.empty_rows == 3 and report.empty_lines == (10, 11, 12)


def test_the_report_names_the_seasonal_periods_train_would_find(tmp_path):
    hours = np.arange(6 * 168)
    weekend = (hours // 24) % 7 >= 5
    load = 100 + np.where(weekend, -15, 0) + np.where(weekend, 4, 10) * np.sin(2 * np.pi * hours / 24)
    noise = np.random.default_rng(0).normal(0, 1, len(hours))
    path = tmp_path / "load.csv"
    pd.DataFrame({"time": pd.date_range("2024-01-01", periods=len(hours), freq="h"),
                  "load": (load + noise).round(3)}).to_csv(path, index=False)
    report = inspect(path)
    assert report.seasons == "24 and 168 steps; seasonal naive at 168"
    assert "seasons        24 and 168 steps; seasonal naive at 168 (in the default training split)" \
        in report.text().splitlines()
