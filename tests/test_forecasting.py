"""forecast(): the steps after the end of a history, computed from the bundle alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.data import Panel, Schema, format_times, read_panel
from forecaster.errors import UserError
from forecaster.forecasting import forecast
from forecaster.scaling import StaticInputs
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
    model = load_bundle(run.model_dir)
    history = tmp_path / "history.csv"
    write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    result = forecast(model, history)

    values = read_panel(history, schema=model.schema_).values(0, "interpolate")
    assert len(model.members_) > 1  # auto kept a mean: the mean of each member's own forecast
    series = np.array([model.ids_.index("series")])  # the training series' statistics
    expected = []
    for network, representation in model.members_:
        recent = values[-representation.first_origin():][None]  # the rows it reads before the end
        window = representation.windows(recent, series)
        assert window.shape == (1, 24, 1)
        outputs = network.predict_on_batch(window)
        expected.append(representation.decode(outputs, recent[..., 0], series)[0])
    assert result.values.shape == (1, 6)
    np.testing.assert_allclose(result.values[0], np.mean(expected, axis=0), rtol=1e-6)
    assert result.frame["time"].tolist() == [f"2023-06-04 {h:02d}:00" for h in range(8, 14)]
    assert list(result.frame.columns) == ["time", "forecast"]


@pytest.mark.slow
def test_forecast_times_are_written_the_way_the_history_writes_them(trained, tmp_path):
    model = load_bundle(trained[0].model_dir)  # trained on "2021-03-01 00:00" style times
    history = tmp_path / "history.csv"
    frame = write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    frame["time"] = pd.to_datetime(frame["time"]).dt.strftime("%Y/%m/%d %H:%M")
    frame.to_csv(history, index=False)
    assert forecast(model, history).frame["time"].tolist()[:2] == ["2023/06/04 08:00", "2023/06/04 09:00"]


@pytest.mark.slow
def test_shorter_horizon_is_the_first_steps(trained, tmp_path):
    model = load_bundle(trained[0].model_dir)
    history = tmp_path / "history.csv"
    write_hourly_csv(history, rows=80)
    full, short = forecast(model, history), forecast(model, history, horizon=2)
    assert short.values.shape == (1, 2)
    np.testing.assert_array_equal(short.values, full.values[:, :2])


@pytest.mark.slow
def test_history_errors(trained, tmp_path):
    model = load_bundle(trained[0].model_dir)
    short = tmp_path / "short.csv"
    write_hourly_csv(short, rows=10)
    with pytest.raises(UserError, match="has 10 rows after regularising; this model needs the last"):
        forecast(model, short)
    renamed = tmp_path / "renamed.csv"
    write_hourly_csv(renamed, rows=80).rename(columns={"load": "power"}).to_csv(renamed, index=False)
    with pytest.raises(UserError, match="lacks column\\(s\\) 'load' that the model was trained on"):
        forecast(model, renamed)
    daily = tmp_path / "daily.csv"
    pd.DataFrame({"time": pd.date_range("2020-01-01", periods=80, freq="D").strftime("%Y-%m-%d"),
                  "load": np.arange(80.0)}).to_csv(daily, index=False)
    with pytest.raises(UserError, match="has one row per 'D' step, but the model was trained on 'h' data"):
        forecast(model, daily)


@pytest.mark.slow
def test_a_longer_horizon_continues_from_the_models_own_forecasts(trained, tmp_path):
    model = load_bundle(trained[0].model_dir)
    history = tmp_path / "history.csv"
    frame = write_hourly_csv(history, rows=80, seed=3, start="2023-06-01")
    first = forecast(model, history)
    longer = forecast(model, history, horizon=9)
    assert longer.values.shape == (1, 9)
    np.testing.assert_array_equal(longer.values[:, :6], first.values)
    extended = tmp_path / "extended.csv"
    pd.concat([frame, pd.DataFrame({"time": first.frame["time"], "load": first.values[0]})]).to_csv(
        extended, index=False)
    # the history is read as float32: the forecasts written into it come back rounded to that
    np.testing.assert_allclose(longer.values[:, 6:], forecast(model, extended).values[:, :3],
                               rtol=1e-6)


@pytest.mark.slow
def test_recursive_model_backtest_equals_its_forecast(tmp_path, hourly_csv):
    from forecaster.config import load_config
    from forecaster.evaluation import backtest
    from forecaster.training import train

    settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 24, "horizon": 4,
                                      "epochs": 1, "strategy": "recursive", "scaling": "change",
                                      "model_dir": str(tmp_path / "rec")})
    model = load_bundle(train(settings, verbose=0).model_dir, engine="keras")
    assert model.members_[0][0].output_shape == (None, 1) and model.settings_.horizon == 4
    panel = read_panel(hourly_csv, schema=model.schema_)
    result = backtest(model, panel, [[0, 300]])
    cut = tmp_path / "cut.csv"
    pd.read_csv(hourly_csv).iloc[:300].to_csv(cut, index=False)
    assert np.array_equal(result.forecasts["lstm"][0], forecast(model, cut).values[0])
    assert forecast(model, cut, horizon=10).values.shape == (1, 10)


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
    model = load_bundle(train(settings, verbose=0).model_dir)
    assert forecast(model, csv, horizon=3).values.shape == (1, 3)
    with pytest.raises(UserError, match="its --features temp have no future values"):
        forecast(model, csv, horizon=4)


def one_series(values, start: str = "2021-01-01") -> Panel:
    """A panel of one hourly series "series" holding `values` (its target) from `start`."""
    values = np.asarray(values, dtype="float64")
    return Panel(Schema("time", "load", (), "datetime", "h"), "memory", ["series"],
                 pd.DatetimeIndex([pd.Timestamp(start)]), np.array([0, len(values)]), values[:, None],
                 np.zeros(1, dtype=int))


def combined_bundle(directory):
    """A saved and loaded Forecaster of series "series" (4-step windows, 2-step horizon) whose
    forecast is the mean of two tiny LSTMs, the first on the "global" representation, the second
    on "window", with a ridge baseline for 4-step windows of one column."""
    from forecaster.artifacts import save_bundle
    from forecaster.config import Settings
    from forecaster.estimator import Forecaster
    from forecaster.intervals import ConformalIntervals
    from forecaster.models import LinearBaseline, build_model
    from forecaster.scaling import Representation
    from forecaster.seasons import Seasons

    settings = Settings(time_steps=4, horizon=2, epochs=2)
    model = Forecaster(settings)
    model.settings_, model.schema_ = settings, Schema("time", "load", (), "datetime", "h")
    model.ids_, model.scale_, model.train_mean_, model.season_ = ["series"], np.ones(1), np.array([14.5]), 1
    model.seasons_, model.mase_season_ = Seasons((), 1), 1
    model.static_ = StaticInputs().fit({})
    model.members_ = [(build_model("lstm", time_steps=4, features=1, horizon=2, units=units),
                       Representation(scaling, season=1).fit(np.arange(40.0)[:, None], train_rows=30,
                                                              time_steps=4, horizon=2))
                      for units, scaling in ((3, "global"), (4, "window"))]
    model.linear_ = LinearBaseline.from_dict({"alpha": 1.0, "coef": [[0.1, 0.2, 0.3, 0.4]] * 2,
                                              "intercept": [0.5, -0.5]})
    model.intervals_ = ConformalIntervals().fit(np.ones((5, 2)))
    return load_bundle(save_bundle(directory, model, {"n": 1}))


@pytest.mark.slow
def test_a_combined_bundle_forecasts_the_mean_of_its_members(tmp_path):
    from forecaster.evaluation import backtest

    model = combined_bundle(tmp_path / "combined")
    assert len(model.members_) == 2
    values = np.sin(np.arange(30.0)) * 3 + 20
    panel, end = one_series(values), [[0, 30]]
    singles = [model.predict(panel, end, members=[member]) for member in model.members_]
    assert not np.allclose(singles[0], singles[1])
    combined = model.predict(panel, end, steps=5)
    assert combined.shape == (1, 5)
    np.testing.assert_allclose(combined[:, :2], np.mean(singles, axis=0), rtol=1e-12)  # the horizon
    # Further steps go on from the mean forecast, as from a history that holds it.
    extended = one_series(np.concatenate([values, combined[0, :2]]))
    np.testing.assert_allclose(combined[:, 2:], model.predict(extended, [[0, 32]], steps=3),
                               rtol=1e-12)
    # The ridge baseline reads the first member's windows, alone.
    ridge = backtest(model, panel, end).forecasts["ridge"]
    by_hand = []
    for _, representation in model.members_:
        recent = values[-representation.first_origin():][None, :, None]
        outputs = model.linear_.predict(representation.windows(recent, [0]))
        by_hand.append(representation.decode(outputs, recent[..., 0], [0]))
    np.testing.assert_array_equal(ridge, by_hand[0])
    assert not np.allclose(by_hand[0], by_hand[1])
