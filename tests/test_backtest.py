"""Rolling-origin backtests: each origin sees only earlier rows, exactly as `forecast` would."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel
from forecaster.evaluation import BASELINES, backtest, earliest_origin
from forecaster.forecasting import forecast

pytestmark = pytest.mark.slow


def at(*rows) -> np.ndarray:
    """Origins (n, 2) at `rows` of the first (only) series."""
    return np.column_stack([np.zeros(len(rows), dtype=np.int64), rows])


def gappy_copy(hourly_csv, path):
    """The fixture's CSV with two empty target cells and one missing hour."""
    frame = pd.read_csv(hourly_csv)
    frame.loc[[100, 101], "load"] = np.nan
    frame.drop(index=200).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("gaps", [False, True], ids=["complete", "with-gaps"])
def test_backtest_equals_forecast_on_the_file_cut_at_each_origin(trained, hourly_csv, tmp_path, gaps):
    model = load_bundle(trained[0].model_dir)
    source = gappy_copy(hourly_csv, tmp_path / "gappy.csv") if gaps else hourly_csv
    panel = read_panel(source, schema=model.schema_)
    first, last = earliest_origin(model), int(panel.lengths[0]) - 6
    origins = at(first, (2 * first + last) // 3, (first + 2 * last) // 3, last)
    result = backtest(model, panel, origins)
    lines = pd.read_csv(source)
    for i, origin in enumerate(origins[:, 1]):
        cut = tmp_path / f"cut{origin}.csv"
        stamp = panel.index(0)[origin]
        lines[pd.to_datetime(lines["time"]) < stamp].to_csv(cut, index=False)
        expected = forecast(model, cut).values[0]
        assert np.array_equal(result.forecasts["lstm"][i], expected), (origin, result.forecasts["lstm"][i],
                                                                        expected)


def test_changing_anything_after_an_origin_never_changes_its_forecasts(trained, hourly_csv, tmp_path):
    model = load_bundle(trained[0].model_dir)
    origin = 250
    original = read_panel(hourly_csv, schema=model.schema_)
    frame = pd.read_csv(hourly_csv)
    frame.loc[origin:, "load"] = np.random.default_rng(1).normal(500, 100, len(frame) - origin)
    frame.loc[origin + 3, "load"] = np.nan
    changed_csv = tmp_path / "changed.csv"
    frame.to_csv(changed_csv, index=False)
    changed = read_panel(changed_csv, schema=model.schema_)
    before = backtest(model, original, at(origin))
    after = backtest(model, changed, at(origin))
    for name in ("lstm", *BASELINES):
        assert np.array_equal(before.forecasts[name], after.forecasts[name]), name
    assert not np.array_equal(before.truth, after.truth)


def test_baselines_are_what_they_say(trained, hourly_csv):
    model = load_bundle(trained[0].model_dir)
    panel = read_panel(hourly_csv, schema=model.schema_)
    target = panel.frame(0)["load"].to_numpy()
    result = backtest(model, panel, at(100))
    assert result.forecasts["naive"][0].tolist() == [target[99]] * 6
    assert result.forecasts["seasonal_naive"][0].tolist() == target[76:82].tolist()
    assert model.train_mean_.tolist() == [pytest.approx(target[:336].mean())]  # the training rows
    assert result.forecasts["mean"][0].tolist() == [model.train_mean_[0]] * 6
    slope = (target[99] - target[0]) / 99
    np.testing.assert_allclose(result.forecasts["drift"][0], target[99] + slope * np.arange(1, 7))
    assert result.truth[0].tolist() == target[100:106].tolist()


def test_backtest_command_writes_one_row_per_origin_and_step(trained, hourly_csv, tmp_path, capsys):
    output = tmp_path / "bt.csv"
    assert main(["backtest", "--model-dir", str(trained[0].model_dir), "--csv", str(hourly_csv),
                 "--last", "10", "--stride", "3", "--level", "80", "95", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "skill" in out and "80% interval: covers" in out and "ridge" in out
    table = pd.read_csv(output)
    assert list(table.columns) == ["origin", "time", "step", "actual", "forecast", *BASELINES,
                                   "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(table) == 4 * 6  # origins 465, 468, 471, 474: the last 10 possible, every 3rd
    assert table["origin"].iloc[0] == "2021-03-20 09:00" and table["step"].tolist()[:6] == [1, 2, 3, 4, 5, 6]
    assert (table["lower_95"] <= table["lower_80"]).all() and (table["upper_80"] <= table["upper_95"]).all()


def test_backtest_start_must_leave_an_origin(trained, hourly_csv, capsys):
    assert main(["backtest", "--model-dir", str(trained[0].model_dir), "--csv", str(hourly_csv),
                 "--start", "2030-01-01"]) == 2
    assert "leaves no origin" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_calendar_models_backtest_equals_forecast(tmp_path, hourly_csv, strategy):
    from forecaster.config import load_config
    from forecaster.training import train

    settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 24, "horizon": 4,
                                      "epochs": 1, "calendar": True, "strategy": strategy,
                                      "scaling": "global", "model_dir": str(tmp_path / "m")})
    model = load_bundle(train(settings, verbose=0).model_dir, engine="keras")
    assert model.members_[0][0].input_shape == (None, 24, 7)  # the target and six calendar inputs
    panel = read_panel(hourly_csv, schema=model.schema_)
    result = backtest(model, panel, at(300))
    cut = tmp_path / "cut.csv"
    pd.read_csv(hourly_csv).iloc[:300].to_csv(cut, index=False)
    assert np.array_equal(result.forecasts["lstm"][0], forecast(model, cut).values[0])
    assert forecast(model, cut, horizon=9).values.shape == (1, 9)  # calendar inputs are known ahead


def test_season_length_overrides_the_frequency(tmp_path, hourly_csv):
    from forecaster.config import load_config
    from forecaster.training import train

    settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 24, "horizon": 6,
                                      "epochs": 1, "scaling": "global", "season_length": 12,
                                      "model_dir": str(tmp_path / "m")})
    model = load_bundle(train(settings, verbose=0).model_dir)
    assert model.metadata_["season_length"] == 12 and model.season_ == 12
    panel = read_panel(hourly_csv, schema=model.schema_)
    target = panel.frame(0)["load"].to_numpy()
    result = backtest(model, panel, at(100))
    assert result.forecasts["seasonal_naive"][0].tolist() == target[88:94].tolist()


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_window_scaling_backtest_equals_forecast(tmp_path, hourly_csv, strategy):
    from forecaster.config import load_config
    from forecaster.training import train

    settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 24, "horizon": 4,
                                      "epochs": 1, "scaling": "window", "loss": "huber",
                                      "strategy": strategy, "model_dir": str(tmp_path / "m")})
    model = load_bundle(train(settings, verbose=0).model_dir)
    assert model.members_[0][1].scaling == "window"
    panel = read_panel(hourly_csv, schema=model.schema_)
    result = backtest(model, panel, at(300))
    cut = tmp_path / "cut.csv"
    pd.read_csv(hourly_csv).iloc[:300].to_csv(cut, index=False)
    assert np.array_equal(result.forecasts["lstm"][0], forecast(model, cut).values[0])
