"""forecast(): the steps after the end of a history, computed from the bundle alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.data import format_times, read_series
from forecaster.errors import UserError
from forecaster.forecasting import forecast
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
    assert len(bundle.members) > 1  # auto kept a mean: the mean of each member's own forecast
    expected = []
    for model, representation in bundle.members:
        window = (representation.model_inputs(values)[-24:] if representation.scaling != "window"
                  else representation.windows(values))[None]
        outputs = model.predict_on_batch(window)
        expected.append(representation.decode(outputs, values[:, 0], np.array([80]))[0])
    np.testing.assert_allclose(result.values, np.mean(expected, axis=0), rtol=1e-6)
    assert result.frame["time"].tolist() == [f"2023-06-04 {h:02d}:00" for h in range(8, 14)]
    assert list(result.frame.columns) == ["time", "forecast"]


@pytest.mark.slow
def test_forecast_times_are_written_the_way_the_history_writes_them(trained, tmp_path):
    bundle = load_bundle(trained[0].model_dir)  # trained on "2021-03-01 00:00" style times
    history = tmp_path / "history.csv"
    frame = write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    frame["time"] = pd.to_datetime(frame["time"]).dt.strftime("%Y/%m/%d %H:%M")
    frame.to_csv(history, index=False)
    assert forecast(bundle, history).frame["time"].tolist()[:2] == ["2023/06/04 08:00", "2023/06/04 09:00"]


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


@pytest.mark.slow
def test_a_longer_horizon_continues_from_the_models_own_forecasts(trained, tmp_path):
    bundle = load_bundle(trained[0].model_dir)
    history = tmp_path / "history.csv"
    frame = write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    first = forecast(bundle, history)
    longer = forecast(bundle, history, horizon=9)
    np.testing.assert_array_equal(longer.values[:6], first.values)
    extended = tmp_path / "extended.csv"
    pd.concat([frame, pd.DataFrame({"time": first.frame["time"], "load": first.values})]).to_csv(
        extended, index=False)
    np.testing.assert_allclose(longer.values[6:], forecast(bundle, extended).values[:3], rtol=1e-12)


@pytest.mark.slow
def test_recursive_model_backtest_equals_its_forecast(tmp_path, hourly_csv):
    from forecaster.config import load_config
    from forecaster.evaluation import backtest
    from forecaster.training import train

    settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 24, "horizon": 4,
                                      "epochs": 1, "strategy": "recursive", "scaling": "change",
                                      "model_dir": str(tmp_path / "rec")})
    bundle = load_bundle(train(settings, verbose=0).model_dir, engine="keras")
    assert bundle.model.output_shape == (None, 1) and bundle.settings.horizon == 4
    series = read_series(hourly_csv, schema=bundle.schema)
    result = backtest(bundle, series, [300])
    cut = tmp_path / "cut.csv"
    pd.read_csv(hourly_csv).iloc[:300].to_csv(cut, index=False)
    assert np.array_equal(result.forecasts["lstm"][0], forecast(bundle, cut).values)
    assert len(forecast(bundle, cut, horizon=10).values) == 10


@pytest.mark.slow
def test_features_stop_a_forecast_at_the_trained_horizon(tmp_path):
    from forecaster.config import load_config
    from forecaster.training import train

    csv = tmp_path / "two.csv"
    frame = write_hourly_csv(csv, rows=200)
    frame["temp"] = np.linspace(0, 1, 200)
    frame.to_csv(csv, index=False)
    settings = load_config(overrides={"csv": str(csv), "target": "load", "features": "temp",
                                      "time_steps": 12, "horizon": 3, "epochs": 1,
                                      "scaling": "global", "model_dir": str(tmp_path / "m")})
    bundle = load_bundle(train(settings, verbose=0).model_dir)
    assert len(forecast(bundle, csv, horizon=3).values) == 3
    with pytest.raises(UserError, match="its --features temp have no future values"):
        forecast(bundle, csv, horizon=4)


@pytest.mark.slow
def test_a_combined_bundle_forecasts_the_mean_of_its_members(tmp_path):
    import dataclasses

    from forecaster.forecasting import predict_next
    from forecaster.models import LinearBaseline
    from tests.test_artifacts import tiny_model, write_combined

    bundle = load_bundle(write_combined(tmp_path / "combined", [tiny_model(), tiny_model(units=4)]))
    ridge = LinearBaseline.from_dict({"alpha": 1.0, "coef": [[0.1, 0.2, 0.3, 0.4]] * 2,
                                      "intercept": [0.5, -0.5]})
    bundle = dataclasses.replace(bundle, linear=ridge)  # one for 4-step windows of one column
    values = (np.sin(np.arange(30.0)) * 3 + 20)[:, None]
    start = pd.Timestamp("2021-01-02")

    def alone(model, representation):
        return dataclasses.replace(bundle, members=[(model, representation)])

    singles = [predict_next(alone(*member), values, start) for member in bundle.members]
    assert not np.allclose(singles[0], singles[1])
    combined = predict_next(bundle, values, start, steps=5)
    np.testing.assert_allclose(combined[:2], np.mean(singles, axis=0), rtol=1e-12)  # the horizon
    # Further steps go on from the mean forecast, as from a history that holds it.
    extended = np.concatenate([values, combined[:2, None]])
    np.testing.assert_allclose(combined[2:], predict_next(bundle, extended, start, steps=3),
                               rtol=1e-12)
    # The ridge baseline reads the first member's windows, alone.
    ridge = predict_next(bundle, values, start, predict=bundle.linear.predict)
    np.testing.assert_array_equal(ridge, predict_next(alone(*bundle.members[0]), values, start,
                                                      predict=bundle.linear.predict))
