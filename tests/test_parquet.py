"""Parquet files are read wherever a CSV is (known by their first bytes), and messages about them
name rows, not lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel, read_table
from forecaster.errors import UserError
from forecaster.forecasting import forecast
from forecaster.inspection import inspect
from tests.conftest import write_hourly_csv


def long_frame() -> pd.DataFrame:
    """Two stores, 30 days each, one with an empty value; times as timestamps."""
    days = pd.date_range("2024-01-01", periods=30, freq="D")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"date": np.tile(days, 2), "store": np.repeat(["north", "south"], 30),
                          "sales": rng.normal(100, 10, 60).round(2)})
    frame.loc[7, "sales"] = np.nan
    return frame


def test_a_parquet_file_reads_as_the_same_data_written_as_csv(tmp_path):
    frame = long_frame()
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    text = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    text.to_csv(tmp_path / "sales.csv", index=False)
    table = read_table(tmp_path / "sales.parquet")
    assert table.index.name == "row" and table.index.tolist() == list(range(1, 61))
    parquet, csv = (read_panel(tmp_path / f"sales.{kind}", id_columns="store") for kind in ("parquet", "csv"))
    assert parquet.ids == csv.ids == ["north", "south"]
    assert parquet.schema.frequency == csv.schema.frequency == "D"
    assert np.array_equal(parquet.raw, csv.raw, equal_nan=True)
    assert parquet.missing_values == csv.missing_values == 1
    # recognised by its first bytes, whatever its name
    (tmp_path / "sales.parquet").rename(tmp_path / "named.csv")
    assert np.array_equal(read_panel(tmp_path / "named.csv", id_columns="store").raw, csv.raw,
                          equal_nan=True)


def test_messages_about_a_parquet_file_name_its_rows(tmp_path):
    frame = long_frame().iloc[:30].drop(columns="store")
    frame.loc[12, "date"] = frame.loc[11, "date"]
    frame.to_parquet(tmp_path / "repeated.parquet", index=False)
    with pytest.raises(UserError, match=r"2024-01-12 00:00:00 on rows 12, 13\)"):
        read_panel(tmp_path / "repeated.parquet")
    text = long_frame().iloc[:30].drop(columns="store").astype({"sales": str})  # numbers as text
    text.loc[4, "sales"] = "n.a."
    text.to_parquet(tmp_path / "text.parquet", index=False)
    with pytest.raises(UserError, match="text where numbers are expected: row 5 holds 'n.a.'"):
        read_panel(tmp_path / "text.parquet")
    report = inspect(tmp_path / "text.parquet")
    assert report.unit == "row" and report.columns[1].examples == ((5, "n.a."),)


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:300], "starts like a Parquet file but cannot be read as one"),
    (lambda data: data[:4] + bytes(len(data) - 4), "starts like a Parquet file but cannot be read as one"),
], ids=["truncated", "zeroed"])
def test_a_damaged_parquet_file_is_one_line_and_exit_2(tmp_path, capsys, damage, message):
    long_frame().to_parquet(tmp_path / "good.parquet", index=False)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(damage((tmp_path / "good.parquet").read_bytes()))
    for command in (["inspect", "--csv", str(bad)], ["train", "--csv", str(bad), "--model-dir",
                                                     str(tmp_path / "model")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "model").exists()


def test_one_column_or_no_rows_in_parquet_are_refused(tmp_path):
    pd.DataFrame({"sales": [1.0, 2.0]}).to_parquet(tmp_path / "one.parquet", index=False)
    with pytest.raises(UserError, match="has one column, 'sales'; expected a time column and a value"):
        read_table(tmp_path / "one.parquet")
    pd.DataFrame({"date": pd.to_datetime([]), "sales": []}).to_parquet(tmp_path / "none.parquet")
    with pytest.raises(UserError, match="none.parquet has no rows; expected rows of data.$"):
        read_table(tmp_path / "none.parquet")


def test_forecast_from_a_parquet_history_equals_the_csv(trained, tmp_path):
    model = load_bundle(trained[0].model_dir)
    history = write_hourly_csv(tmp_path / "history.csv", rows=300, seed=5, start="2022-01-01")
    history.assign(time=pd.to_datetime(history["time"])).to_parquet(tmp_path / "history.parquet")
    from_csv, from_parquet = (forecast(model, tmp_path / f"history.{kind}") for kind in ("csv", "parquet"))
    np.testing.assert_array_equal(from_parquet.values, from_csv.values)
    assert pd.to_datetime(from_parquet.frame["time"]).tolist() == pd.to_datetime(
        from_csv.frame["time"]).tolist()


def test_sorted_unique_equals_numpy_unique():
    from forecaster.data.panel import _sorted_unique

    rng = np.random.default_rng(0)
    for values in (np.zeros(0, dtype=np.int64), rng.integers(0, 50, 500) * 3_600_000_000,
                   np.arange(10, dtype=np.int64)):
        np.testing.assert_array_equal(_sorted_unique(values), np.unique(values))


def test_a_frame_written_with_its_index_reads_its_index_as_a_column(tmp_path):
    """to_parquet keeps a named index as a column (read as one) and an unnamed one under a name of
    its own (left out); floats arrive as float32 with NaN, whole numbers as int64."""
    frame = long_frame().assign(units=np.arange(60))
    frame.set_index("date").to_parquet(tmp_path / "named.parquet")
    frame.to_parquet(tmp_path / "unnamed.parquet", index=True)
    named, unnamed = read_table(tmp_path / "named.parquet"), read_table(tmp_path / "unnamed.parquet")
    assert list(named.columns) == ["store", "sales", "units", "date"]
    assert list(unnamed.columns) == ["date", "store", "sales", "units"]
    assert named["sales"].dtype == np.float32 and named["units"].dtype == np.int64
    assert np.isnan(named["sales"].iloc[7]) and pd.api.types.is_datetime64_dtype(named["date"])
    panel = read_panel(tmp_path / "named.parquet", id_columns="store", target="sales")
    assert panel.ids == ["north", "south"] and panel.missing_values == 1
