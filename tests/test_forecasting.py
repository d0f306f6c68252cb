"""forecast(): the steps after the end of a history, computed from the bundle alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.data import read_series
from forecaster.errors import UserError
from forecaster.forecasting import forecast, format_times
from tests.conftest import write_hourly_csv


def test_format_times_writes_time_the_way_the_input_did():
    years = pd.date_range("2011", periods=2, freq="YS")
    assert format_times(years, "year") == [2011, 2012]
    days = pd.date_range("2011-12-31", periods=2, freq="D")
    assert format_times(days, "yyyymmdd") == [20111231, 20120101]
    assert format_times(days, "datetime") == ["2011-12-31", "2012-01-01"]
    hours = pd.date_range("2011-12-31 23:00", periods=2, freq="h")
    assert format_times(hours, "datetime") == ["2011-12-31 23:00:00", "2012-01-01 00:00:00"]


@pytest.mark.slow
def test_forecast_is_the_model_on_the_last_window_mapped_back(trained, tmp_path):
    run, _ = trained
    bundle = load_bundle(run.model_dir)
    history = tmp_path / "history.csv"
    write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    result = forecast(bundle, history)

    values = read_series(history, schema=bundle.schema).values("interpolate")
    representation = bundle.representation
    window = representation.model_inputs(values)[-24:][None]
    outputs = bundle.model.predict(window, verbose=0)
    expected = representation.decode(outputs, values[:, 0], np.array([80]))[0]
    np.testing.assert_allclose(result.values, expected, rtol=1e-6)
    assert result.frame["time"].tolist() == [f"2023-06-04 {h:02d}:00" for h in range(8, 14)]
    assert list(result.frame.columns) == ["time", "forecast"]


@pytest.mark.slow
def test_shorter_horizon_is_the_first_steps(trained, tmp_path):
    bundle = load_bundle(trained[0].model_dir)
    history = tmp_path / "history.csv"
    write_hourly_csv(history, rows=80)
    full, short = forecast(bundle, history), forecast(bundle, history, horizon=2)
    np.testing.assert_array_equal(short.values, full.values[:2])


@pytest.mark.slow
def test_history_errors(trained, tmp_path):
    bundle = load_bundle(trained[0].model_dir)
    short = tmp_path / "short.csv"
    write_hourly_csv(short, rows=10)
    with pytest.raises(UserError, match="has 10 rows after regularising; this model needs the last"):
        forecast(bundle, short)
    renamed = tmp_path / "renamed.csv"
    write_hourly_csv(renamed, rows=80).rename(columns={"load": "power"}).to_csv(renamed, index=False)
    with pytest.raises(UserError, match="lacks column\\(s\\) 'load' that the model was trained on"):
        forecast(bundle, renamed)
    daily = tmp_path / "daily.csv"
    pd.DataFrame({"time": pd.date_range("2020-01-01", periods=80, freq="D").strftime("%Y-%m-%d"),
                  "load": np.arange(80.0)}).to_csv(daily, index=False)
    with pytest.raises(UserError, match="has one row per 'D' step, but the model was trained on 'h' data"):
        forecast(bundle, daily)
