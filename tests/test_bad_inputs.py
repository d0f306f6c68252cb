"""Every kind of bad input: exit status 2, one line on stderr that says what was received, what
was expected and how to fix it, no traceback, and nothing written. Then random CSV text fed to the
loader: it reads a series or raises UserError, never anything else."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from forecaster.cli import main
from forecaster.data import read_panel
from forecaster.errors import UserError
from forecaster.inspection import inspect
from tests.conftest import write_hourly_csv


def hourly(rows: int = 60, values=None, start: str = "2021-01-01") -> str:
    times = pd.date_range(start, periods=rows, freq="h").strftime("%Y-%m-%d %H:%M")
    values = [f"{10 + np.sin(i):.3f}" for i in range(rows)] if values is None else values
    return "time,load\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values, strict=True))


def with_cell(line: int, cell: str, text: str | None = None) -> str:
    """`hourly()` with the value on file line `line` (the header is line 1) replaced by `cell`."""
    lines = (text or hourly()).splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].split(",")[0] + f",{cell}\n"
    return "".join(lines)


GOOD = hourly()
LATIN_1 = ("time,load,place\n" + "".join(f"{line},Montr\xe9al\n" for line in GOOD.splitlines()[1:])).encode(
    "latin-1")

# (id, file content: text, bytes, None for no file, "folder" for a folder; extra flags; key phrase)
TRAIN_CASES = [
    ("missing file", None, [], "does not exist; pass the path of a CSV or Parquet file"),
    ("a folder", "folder", [], "is a directory, not a file"),
    ("empty file", "", [], "is empty; expected a header line and rows of data"),
    ("only comments", "# nothing yet\n\n", [], "holds only comment or blank lines"),
    ("header with no rows", "time,load\n", [], "has a header but no rows"),
    ("binary", bytes(range(256)) * 8, [], "holds binary data (NUL bytes), not text"),
    ("Excel workbook", b"PK\x03\x04" + bytes(300), [], "is a ZIP archive (an Excel .xlsx workbook?)"),
    ("latin-1", LATIN_1, [], "is not UTF-8 text: line 2 holds the byte 0xe9"),
    ("UTF-16", GOOD.encode("utf-16"), [], "is UTF-16 text; expected UTF-8"),
    ("UTF-16 without BOM", GOOD.encode("utf-16-le"), [], "looks like UTF-16 text"),
    ("ragged row", GOOD.replace("2021-01-01 05:00,", "2021-01-01 05:00,1,"), [],
     "line 7 has 3 fields but the header has 2"),
    ("short row", with_cell(9, "").replace("2021-01-01 07:00,\n", "2021-01-01 07:00\n"), [],
     "line 9 has 1 field but the header has 2"),
    ("space separated", GOOD.replace(",", " "), [],
     "has one column, 'time load' (it looks separated by spaces)"),
    ("semicolons and decimal commas", GOOD.replace(",", ";").replace(".", ","), [],
     "line 2 holds '10,000' (a decimal comma? write 12.5, not 12,5)"),
    ("unknown --target", GOOD, ["--target", "Load"], "has no column 'Load'; its columns are 'time', 'load'"),
    ("unknown --time-col", GOOD, ["--time-col", "date"], "has no column 'date'"),
    ("unknown --features", GOOD, ["--features", "temp"], "has no column 'temp'"),
    ("target all text", hourly(values=["high", "low"] * 30), [], "has no numeric column to forecast"),
    ("--target all text", hourly(values=["high", "low"] * 30), ["--target", "load"],
     "line 2 holds 'high', and 59 more cells hold text"),
    ("target with --", with_cell(5, "--"), [], "line 5 holds '--'. Fix or empty those cells"),
    ("target with a decimal comma", with_cell(5, '"12,5"'), [], "line 5 holds '12,5' (a decimal comma?"),
    ("target with n/a and --", with_cell(7, "--", with_cell(5, "n/a")), [], "line 7 holds '--'"),
    ("target all empty", hourly(values=[""] * 60), ["--target", "load"], "column 'load' of"),
    ("target infinite", with_cell(6, "inf"), [], "is infinite on line 6; expected finite numbers"),
    ("target -inf", with_cell(8, "-inf", with_cell(6, "inf")), [], "is infinite on line 6 (and 1 more line)"),
    ("target constant", hourly(values=["5"] * 60), [], "is constant: all 60 values are 5"),
    ("target true/false", hourly(values=["true", "false"] * 30), ["--target", "load"], "holds true/false"),
    ("unparseable time", GOOD.replace("2021-01-01 05:00", "yesterday"), [],
     "does not parse as dates: line 7 holds 'yesterday'"),
    ("empty time", GOOD.replace("2021-01-01 05:00", ""), [], "is empty on line 7; every row needs a time"),
    ("mixed UTC offsets", "time,load\n2021-03-28 00:00+01:00,1\n2021-03-28 01:00+01:00,2\n"
                          "2021-03-28 03:00+02:00,3\n2021-03-28 04:00+02:00,4\n", [],
     "mixes UTC offsets: line 2 is at +01:00 and line 4 at +02:00"),
    ("duplicate timestamps", GOOD + "2021-01-01 03:00,12\n", [],
     "duplicate timestamps: 1 timestamp appears more than once (2021-01-01 03:00:00 on lines 5, 62)"),
    ("too few rows to tell the frequency", hourly(2), [], "has 2 rows; at least 3 are needed"),
    ("fewer rows than one window", hourly(30), ["--time-steps", "24", "--horizon", "12"],
     "has 30 rows; one window needs time_steps + horizon = 36"),
    ("irregular timestamps", "time,load\n" + "".join(
        f"2021-01-01 {t},{i}\n" for i, t in enumerate(["00:00", "01:00", "02:00", "02:40", "04:00"])),
     [], "has irregular timestamps"),
    ("irregular monthly", "date,price\n" + "".join(f"2020-{month:02d}-01,{month}\n" for month in range(1, 13))
     + "2020-03-15,3.5\n", [], "the most common step is 1 month, on the first day of a month, but 1 "
                              "timestamp is off that grid: 2020-03-15."),
    ("mid-month", "date,price\n" + "".join(f"2020-{month:02d}-15,{month}\n" for month in range(1, 13)),
     [], "has rows a month apart, on day 15 of the month (2020-01-15, 2020-02-15 and 10 more)"),
    ("--time-steps 0", GOOD, ["--time-steps", "0"],
     "--time-steps is 0; expected a whole number of at least 1"),
    ("--time-steps -5", GOOD, ["--time-steps", "-5"], "--time-steps is -5; expected a whole number"),
    ("--horizon 0", GOOD, ["--horizon", "0"], "--horizon is 0; expected a whole number of at least 1"),
    ("--horizon -5", GOOD, ["--horizon", "-5"], "--horizon is -5; expected a whole number"),
    ("--epochs 0", GOOD, ["--epochs", "0"], "--epochs is 0; expected a whole number of at least 1"),
    ("--epochs -5", GOOD, ["--epochs", "-5"], "--epochs is -5; expected a whole number"),
]


def write_input(folder: Path, content, name: str = "data.csv") -> Path:
    path = folder / name
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    return path


def assert_refused(capsys, status: int, command: str, phrase: str) -> str:
    """Exit 2, exactly one line on stderr, naming the command; returns the line."""
    captured = capsys.readouterr()
    assert status == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and captured.err.endswith("\n"), captured.err
    assert lines[0].startswith(f"forecaster {command}: error: ") and "Traceback" not in captured.err
    assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("content", "flags", "phrase"), [case[1:] for case in TRAIN_CASES],
                         ids=[case[0] for case in TRAIN_CASES])
def test_train_refuses(tmp_path, capsys, content, flags, phrase):
    csv = write_input(tmp_path, content)
    model_dir = tmp_path / "model"
    status = main(["train", "--csv", str(csv), "--model-dir", str(model_dir), "--epochs", "1", *flags])
    assert_refused(capsys, status, "train", phrase)
    assert not model_dir.exists()
    assert [p.name for p in tmp_path.iterdir()] == ([csv.name] if content is not None else [])


READ_FAILURES = [case for case in TRAIN_CASES if case[0] in (
    "missing file", "a folder", "empty file", "only comments", "header with no rows", "binary",
    "Excel workbook", "latin-1", "UTF-16", "UTF-16 without BOM", "ragged row", "short row",
    "space separated")]


@pytest.mark.parametrize(("content", "phrase"), [(case[1], case[3]) for case in READ_FAILURES],
                         ids=[case[0] for case in READ_FAILURES])
def test_inspect_refuses_what_it_cannot_read(tmp_path, capsys, content, phrase):
    csv = write_input(tmp_path, content)
    assert_refused(capsys, main(["inspect", "--csv", str(csv)]), "inspect", phrase)


# The problems of the data itself (the window and the flags' ranges are training settings).
DATA_PROBLEMS = [case for case in TRAIN_CASES if case not in READ_FAILURES
                 and (not case[2] or case[2][0] in ("--target", "--time-col", "--features"))]


@pytest.mark.parametrize(("content", "flags", "phrase"), [case[1:] for case in DATA_PROBLEMS],
                         ids=[case[0] for case in DATA_PROBLEMS])
def test_inspect_lists_what_train_refuses(tmp_path, capsys, content, flags, phrase):
    """Every problem of the data that stops train is in inspect's report, word for word."""
    csv = write_input(tmp_path, content)
    assert main(["inspect", "--csv", str(csv), *flags]) == 0
    out = capsys.readouterr().out
    assert phrase in out and "train would stop on" in out


# A forecast, evaluate or backtest input that does not fit the trained model.


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A tiny model: hourly data, 12-step windows, 3-step horizon, one epoch."""
    from forecaster.config import load_config
    from forecaster.training import train

    folder = tmp_path_factory.mktemp("bad-inputs")
    write_hourly_csv(folder / "train.csv", rows=240)
    settings = load_config(overrides={
        "csv": str(folder / "train.csv"), "time_steps": 12, "horizon": 3, "epochs": 1,
        "scaling": "change", "model_dir": str(folder / "model")})
    train(settings, verbose=0)
    return folder / "model"


def history(rows: int = 100) -> pd.DataFrame:
    times = pd.date_range("2021-03-01", periods=rows, freq="h").strftime("%Y-%m-%d %H:%M")
    return pd.DataFrame({"time": times, "load": (10 + np.sin(np.arange(rows))).round(3)})


def daily_history() -> pd.DataFrame:
    frame = history()
    frame["time"] = pd.date_range("2022-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    return frame


FORECAST_CASES = [
    ("renamed column", history().rename(columns={"load": "Load"}),
     "lacks column(s) 'load' that the model was trained on; it has 'time', 'Load'"),
    ("other frequency", daily_history(), "has one row per 'D' step, but the model was trained on 'h' data"),
    ("shorter than one window", history(5), "has 5 rows after regularising; this model needs the last 36"),
    ("off the hourly grid", history().replace({"time": {"2021-03-01 10:00": "2021-03-01 10:30"}}),
     "1 timestamp is off that grid: 2021-03-01 10:30:00"),
    ("text in the history", history().astype({"load": str}).replace({"load": {"10.0": "--"}}),
     "line 2 holds '--'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("frame", "phrase"), [case[1:] for case in FORECAST_CASES],
                         ids=[case[0] for case in FORECAST_CASES])
def test_forecast_refuses(tmp_path, capsys, bundle, frame, phrase):
    csv = tmp_path / "history.csv"
    frame.to_csv(csv, index=False)
    output = tmp_path / "out" / "forecast.csv"
    status = main(["forecast", "--model-dir", str(bundle), "--csv", str(csv), "--output", str(output)])
    assert_refused(capsys, status, "forecast", phrase)
    assert not output.parent.exists()


@pytest.mark.slow
@pytest.mark.parametrize("horizon", ["0", "-2"])
def test_forecast_refuses_a_horizon_below_one(tmp_path, capsys, bundle, horizon):
    csv = tmp_path / "history.csv"
    history().to_csv(csv, index=False)
    output = tmp_path / "forecast.csv"
    status = main(["forecast", "--model-dir", str(bundle), "--csv", str(csv), "--horizon", horizon,
                   "--output", str(output)])
    assert_refused(capsys, status, "forecast", f"--horizon is {horizon}; expected a whole number of at least")
    assert not output.exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["evaluate", "backtest"])
@pytest.mark.parametrize(("frame", "phrase"), [case[1:] for case in FORECAST_CASES[:2]],
                         ids=[case[0] for case in FORECAST_CASES[:2]])
def test_evaluate_and_backtest_refuse(tmp_path, capsys, bundle, command, frame, phrase):
    csv = tmp_path / "history.csv"
    frame.to_csv(csv, index=False)
    output = tmp_path / "out"
    where = ["--output-dir", str(output)] if command == "evaluate" else ["--output", str(output / "b.csv")]
    status = main([command, "--model-dir", str(bundle), "--csv", str(csv), *where])
    assert_refused(capsys, status, command, phrase)
    assert not output.exists()


def test_train_refuses_a_file_with_no_row_left_to_validate_on(tmp_path, capsys):
    csv = write_input(tmp_path, hourly(3))
    status = main(["train", "--csv", str(csv), "--model-dir", str(tmp_path / "model")])
    assert_refused(capsys, status, "train", "the validation split")


@pytest.mark.slow
def test_train_forecasts_a_very_short_file_and_says_how_rough_it_is(tmp_path, capsys):
    csv = write_input(tmp_path, hourly(10))
    status = main(["train", "--csv", str(csv), "--model-dir", str(tmp_path / "model"), "--epochs", "1"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "is short (10 rows), so the defaults for 'h' data were cut" in captured.err
    assert "the validation split holds only 2 forecast origins" in captured.err


# Random input: the loader reads a series or raises UserError, nothing else.

SEPARATORS = [",", ",", ",", ";", "\t", "|"]
SPOILERS = st.one_of(
    st.sampled_from(["", " ", "n/a", "NA", "--", "12,5", "inf", "-inf", "nan", "true", "1e400", '"', "#",
                     "0", "2020", "20200101", "99999999999999999999", "2021-01-01 00:00+01:00"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.datetimes(datetime(1700, 1, 1), datetime(2300, 1, 1)).map(lambda d: d.isoformat(sep=" ")),
    st.text(max_size=6),
)
FREQUENCIES = ["h", "D", "B", "MS", "YS", "15min", "W-SUN", "QS", "s"]
STYLES = ["%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y", "%Y%m%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%SZ"]


@st.composite
def series_rows(draw, columns: int) -> list[list[str]]:
    """A time column on a regular grid (rows dropped, repeated or shuffled), numbers and a text
    column; one file in three has a few spoiled cells."""
    rows = draw(st.integers(0, 40))
    start = draw(st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)))
    times = pd.date_range(start, periods=rows, freq=draw(st.sampled_from(FREQUENCIES)))
    times = times.strftime(draw(st.sampled_from(STYLES)))
    order = list(draw(st.permutations(range(rows)))) if draw(st.booleans()) else list(range(rows))
    keep = [i for i in order if draw(st.integers(0, 9))]
    keep += draw(st.lists(st.sampled_from(order), max_size=2)) if order and draw(st.booleans()) else []
    numbers = st.floats(-1e6, 1e6).map(lambda number: f"{number:.6g}")
    words = st.sampled_from(["ok", "late", "a b"])
    table = [[times[i], *(draw(words if column == 2 else numbers) for column in range(1, columns))]
             for i in keep]
    if table and draw(st.integers(0, 2)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            table[draw(st.integers(0, len(table) - 1))][draw(st.integers(0, columns - 1))] = draw(SPOILERS)
    return table


@st.composite
def csv_texts(draw) -> str:
    """CSV text: either rows of random cells under a random header, or a series on a regular grid
    written with the csv module; a random separator, line ending, byte-order mark, comment line."""
    separator = draw(st.sampled_from(SEPARATORS))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    columns = draw(st.integers(1, 4))
    if draw(st.integers(0, 2)):
        header = ["time", "load", "note", "x"][:columns]
        if draw(st.integers(0, 4)) == 0:
            header[draw(st.integers(0, columns - 1))] = draw(st.text(max_size=5))
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=separator, lineterminator=ending).writerows(
            [header, *draw(series_rows(columns))])
        lines = buffer.getvalue().split(ending)
    else:
        header = draw(st.lists(st.one_of(st.sampled_from(["time", "date", "load", "x", "", "year"]),
                                         st.text(max_size=5)), min_size=columns, max_size=columns))
        ragged = draw(st.integers(0, 4)) == 0
        table = [[draw(SPOILERS) for _ in range(draw(st.integers(columns - 1, columns + 1)) if ragged
                                                else columns)]
                 for _ in range(draw(st.integers(0, 30)))]
        lines = [separator.join(row) for row in [header, *table]]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "# " + draw(st.text(max_size=10)))
    return draw(st.sampled_from(["", "\ufeff"])) + ending.join(lines)


def loads_or_refuses(content) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        for target in (None, "load"):
            try:
                panel = read_panel(path, target=target)
            except UserError as error:
                assert "\n" not in str(error)
            else:
                observed = panel.observed(0)  # one series, from its first value to its last
                assert len(panel) == 1 and panel.frame(0).index.is_monotonic_increasing
                assert len(observed) >= 1 and observed[0] and observed[-1]
        try:
            report = inspect(path)
        except UserError as error:
            assert "\n" not in str(error)
        else:
            report.text()
            assert all("\n" not in problem for problem in report.problems)


PROPERTY = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(st.binary(max_size=400))
def test_random_bytes_load_or_raise_user_error(content):
    loads_or_refuses(content)


@PROPERTY
@given(st.text(max_size=400))
@example("time,load\n2020-01-01,\n2020-01-02,1\n2020-01-03,2\n2020-01-04,\n")  # two rows of data
def test_random_text_loads_or_raises_user_error(content):
    loads_or_refuses(content.encode("utf-8", errors="surrogatepass"))


@PROPERTY
@given(csv_texts())
def test_random_csv_loads_or_raises_user_error(content):
    loads_or_refuses(content.encode("utf-8", errors="surrogatepass"))
