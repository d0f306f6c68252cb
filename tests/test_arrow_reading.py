"""The CSV read by Arrow reads as pandas reads it: the same panel, the same messages and line
numbers, and pandas takes over wherever Arrow's reading could differ."""

import numpy as np
import pandas as pd
import pytest

from forecaster.data import read_panel, read_table, reading
from forecaster.errors import UserError

TWO_LINES = "two\nlines"
LINES = [f"2024-01-01 {h:02d}:00,{10 + h % 5}.5,{h}" for h in range(24)]
HOURS = "\n".join(LINES)

CASES = {
    "plain": f"time,load,temp\n{HOURS}\n",
    "no final line break": f"time,load,temp\n{HOURS}",
    "crlf and a byte-order mark": "\ufeff" + f"time,load,temp\n{HOURS}\n".replace("\n", "\r\n"),
    "a blank line inside": "time,load,temp\n" + "\n".join([*LINES[:5], "", *LINES[5:]]) + "\n",
    "blank lines at the end": f"time,load,temp\n{HOURS}\n\n\n",
    "a comment line with the header's commas": f"time,load,temp\n# note,,\n{HOURS}\n",
    "spaces after the separators": f"time, load, temp\n{HOURS.replace(',', ', ')}\n",
    "missing markers": f"time,load,temp\n{HOURS}\n2024-01-02 00:00,NA,n/a\n2024-01-02 01:00,,null\n",
    "an empty row of cells": "time,load,temp\n" + "\n".join([*LINES[:2], ",,", *LINES[2:]]) + "\n",
    "rows of empty cells at the end": f"time,load,temp\n{HOURS}\n,,\n,,\n",
    "semicolons": f"time;load;temp\n{HOURS.replace(',', ';')}\n",
    "dates": "date,sales\n" + "\n".join(f"2024-01-{d:02d},{d * 3 % 7}" for d in range(1, 29)) + "\n",
    "months as text": "month,sales\n" + "\n".join(f"2020-{m:02d},{m % 4}.25" for m in range(1, 13)) + "\n",
    "years": "year,count\n" + "\n".join(f"{y},{y % 7}" for y in range(1990, 2020)) + "\n",
    "yyyymmdd": "day,count\n" + "\n".join(f"202401{d:02d},{d % 3}" for d in range(1, 29)) + "\n",
    "long with text ids": "store,time,sales\n" + "\n".join(
        f"{s},2024-01-{d:02d},{(d * (2 + len(s))) % 9}" for s in ("bb", "a", "ccc") for d in range(1, 15))
    + "\n",
    "long with integer ids": "store,time,sales\n" + "\n".join(
        f"{s},2024-01-{d:02d},{(d * (2 + s)) % 9}.5" for s in (3, 1, 2) for d in range(1, 15)) + "\n",
    "a quoted line break": 'time,load,note\n' + "\n".join(
        f'2024-01-01 {h:02d}:00,{h % 5},"{TWO_LINES if h == 3 else "x"}"' for h in range(24)) + "\n",
    "a decimal after whole numbers": "time,count\n" + "\n".join(
        f"2024-01-01 {h:02d}:00,{h % 5 if h < 23 else 2.5}" for h in range(24)) + "\n",
    "booleans": "time,load,flag\n" + "\n".join(
        f"2024-01-01 {h:02d}:00,{h % 5},{'true' if h % 2 else 'false'}" for h in range(24)) + "\n",
    "times with seconds": "time,load\n" + "\n".join(
        f"2024-01-01 00:{m:02d}:00,{m % 7}" for m in range(40)) + "\n",
}

BAD = {
    "a short row": "time,load,temp\n" + "\n".join([*LINES[:9], "2024-01-02 00:00,1", *LINES[9:]]) + "\n",
    "a long row": f"time,load,temp\n2024-01-01 00:00,1,2,3\n{HOURS}\n",
    "text among numbers": f"time,load,temp\n{HOURS}\n2024-01-02 00:00,twelve,3\n",
    "a repeated time": f"time,load,temp\n{HOURS}\n2024-01-01 05:00,1,2\n",
    "an empty time": f"time,load,temp\n{HOURS}\n,1,2\n",
    "infinity": f"time,load,temp\n{HOURS}\n2024-01-02 00:00,inf,3\n",
}

OPTIONS = {"long with text ids": {"id_columns": "store"}, "long with integer ids": {"id_columns": "store"},
           "plain": {"target": "load", "features": "temp"}}


def _pandas_only(monkeypatch):
    monkeypatch.setattr(reading, "_read_arrow_csv", lambda *args: None)


def _both(tmp_path, monkeypatch, text, **options):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    outcomes = []
    for pandas_only in (False, True):
        if pandas_only:
            _pandas_only(monkeypatch)
        try:
            outcomes.append(read_panel(path, **options))
        except UserError as error:
            outcomes.append(str(error))
    return outcomes


@pytest.mark.parametrize("name", sorted(CASES))
def test_arrow_reads_the_panel_pandas_reads(name, tmp_path, monkeypatch):
    arrow, pandas = _both(tmp_path, monkeypatch, CASES[name], **OPTIONS.get(name, {}))
    if isinstance(pandas, str):
        assert arrow == pandas
        return
    assert arrow.schema == pandas.schema
    assert arrow.ids == pandas.ids and arrow.starts.equals(pandas.starts)
    np.testing.assert_array_equal(arrow.offsets, pandas.offsets)
    assert arrow.raw.dtype == pandas.raw.dtype == np.float32
    np.testing.assert_array_equal(arrow.raw, pandas.raw)
    assert arrow.empty_rows == pandas.empty_rows
    np.testing.assert_array_equal(arrow.missing_timestamps, pandas.missing_timestamps)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_get_the_same_message_by_either_reader(name, tmp_path, monkeypatch):
    arrow, pandas = _both(tmp_path, monkeypatch, BAD[name])
    assert isinstance(arrow, str) and arrow == pandas


def test_arrow_reads_the_usual_file_and_hands_the_odd_ones_to_pandas(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "_SAMPLE", 300)  # types from the first 300 bytes, not the first MiB
    read = {}
    for name in ("plain", "a blank line inside", "spaces after the separators", "a quoted line break",
                 "a comment line with the header's commas", "a decimal after whole numbers"):
        path = tmp_path / f"{len(read)}.csv"
        path.write_text(CASES[name], encoding="utf-8")
        head = path.read_bytes()[:1 << 16]
        read[name] = reading._read_arrow_csv(path, ",", head) is not None
    assert read == {"plain": True, "a blank line inside": True, "spaces after the separators": True,
                    "a quoted line break": False, "a comment line with the header's commas": False,
                    "a decimal after whole numbers": False}


def test_arrow_reads_numbers_as_float32_and_times_as_timestamps(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CASES["plain"], encoding="utf-8")
    frame = read_table(path)
    assert frame.index.name == "line" and frame.index[0] == 2
    assert frame["load"].dtype == np.float32 and frame["temp"].dtype == np.int64
    assert pd.api.types.is_datetime64_dtype(frame["time"])
    assert frame.attrs["time_text"]["time"][:2] == ["2024-01-01 00:00", "2024-01-01 01:00"]
