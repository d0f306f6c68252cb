"""Many series end to end: one global model trained, evaluated, backtested and forecast from the
command line on a long file and on a wide one, with the contract's flags only."""

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel
from forecaster.forecasting import forecast

pytestmark = pytest.mark.slow

HOURS = 240


def sensors(seed: int = 0) -> pd.DataFrame:
    """Four hourly series sharing a daily shape at levels 10 to 1000: s2 starts 60 hours late, s3
    holds 20 hours only (too short for one training window), s1 has gaps inside."""
    rng = np.random.default_rng(seed)
    frames = []
    for key, level, first in (("s0", 10, 0), ("s1", 1000, 0), ("s2", 50, 60), ("s3", 5, HOURS - 60)):
        hours = np.arange(first, HOURS)
        values = level * (1 + 0.3 * np.sin(2 * np.pi * hours / 24)) + rng.normal(0, 0.02 * level, len(hours))
        frame = pd.DataFrame({"sensor": key, "time": pd.date_range("2021-03-01", periods=HOURS,
                                                                   freq="h")[first:],
                              "load": values.round(4)})
        if key == "s1":
            frame.loc[frame.index[[30, 31, 100]], "load"] = np.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    csv = folder / "sensors.csv"
    table = sensors()
    table.assign(time=table["time"].dt.strftime("%Y-%m-%d %H:%M")).to_csv(csv, index=False)
    model_dir = folder / "model"
    status = main(["train", "--csv", str(csv), "--id-col", "sensor", "--model-dir", str(model_dir),
                   "--time-steps", "24", "--horizon", "6", "--epochs", "2", "--scaling", "change"])
    assert status == 0
    return csv, model_dir, folder


def test_training_leaves_out_the_short_series_and_says_so(long_model, capsys):
    csv, model_dir, _ = long_model
    model = load_bundle(model_dir)
    assert model.ids_ == ["s0", "s1", "s2"]
    assert model.metadata_["left_out"][0][0] == "s3"
    assert model.members_[0][1].level_.shape == (3,)  # statistics per series


def test_forecast_writes_every_series_times_horizon_rows_and_an_unseen_id_forecasts(long_model, tmp_path,
                                                                                   capsys):
    csv, model_dir, _ = long_model
    output = tmp_path / "forecast.csv"
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--output", str(output),
                 "--level", "80"]) == 0
    written = pd.read_csv(output)
    assert written.columns.tolist() == ["sensor", "time", "forecast", "lower_80", "upper_80"]
    # s3 was too short to train on, but its 60 rows are enough history to forecast it from: it is
    # an id the model has not seen, forecast from its own statistics.
    assert written["sensor"].tolist() == [s for s in ("s0", "s1", "s2", "s3") for _ in range(6)]
    assert written["time"].iloc[0] == "2021-03-11 00:00"
    assert np.isfinite(written[["forecast", "lower_80", "upper_80"]].to_numpy()).all()
    # Each series in its own units: s1's forecasts are near 1000, s0's near 10.
    by_series = written.groupby("sensor")["forecast"].mean()
    assert 600 < by_series["s1"] < 1400 and 6 < by_series["s0"] < 14 and 3 < by_series["s3"] < 7
    widths = (written["upper_80"] - written["lower_80"]).groupby(written["sensor"]).mean()
    assert widths["s1"] > 20 * widths["s0"]  # intervals scale with each series


def test_backtest_equals_forecast_on_the_file_cut_at_each_origin(long_model, tmp_path):
    csv, model_dir, _ = long_model
    table_path = tmp_path / "backtest.csv"
    assert main(["backtest", "--model-dir", str(model_dir), "--csv", str(csv), "--last", "2",
                 "--output", str(table_path)]) == 0
    table = pd.read_csv(table_path)
    model = load_bundle(model_dir)
    full = pd.read_csv(csv)
    for (sensor, origin), rows in table.groupby(["sensor", "origin"]):
        cut = full[(full["sensor"] == sensor) & (pd.to_datetime(full["time"]) < pd.Timestamp(origin))]
        path = tmp_path / f"cut-{sensor}.csv"
        cut.to_csv(path, index=False)
        expected = forecast(model, path).values[0]
        np.testing.assert_allclose(rows["forecast"].to_numpy(), expected, rtol=1e-5)
    assert set(table["sensor"]) == {"s0", "s1", "s2", "s3"}


def test_evaluate_scores_each_series_and_their_aggregates(long_model, tmp_path, capsys):
    csv, model_dir, _ = long_model
    assert main(["evaluate", "--model-dir", str(model_dir), "--output-dir", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert set(report["per_series"]) == {"s0", "s1", "s2", "s3"}
    for scores in report["per_series"].values():
        assert set(scores) == {"lstm", "naive", "seasonal_naive", "mean", "drift", "ridge"}
        assert scores["lstm"]["mase"] > 0
    aggregates = report["aggregates"]["lstm"]
    assert set(aggregates) == {"mean_mase", "median_mase", "nd", "beats_seasonal_naive"}
    mases = [scores["lstm"]["mase"] for scores in report["per_series"].values()]
    assert aggregates["mean_mase"] == pytest.approx(np.mean(mases))
    assert "over 4 series" in capsys.readouterr().out
    assert "per series" in (tmp_path / "report.html").read_text().lower()


def test_series_restricts_a_command_to_some_series(long_model, tmp_path):
    csv, model_dir, _ = long_model
    output = tmp_path / "two.csv"
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--series", "s2,s0",
                 "--output", str(output)]) == 0
    assert pd.read_csv(output)["sensor"].unique().tolist() == ["s2", "s0"]
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--series", "s9"]) == 2


def test_a_wide_file_trains_and_forecasts_a_series_per_column(tmp_path, capsys):
    table = sensors().query("sensor != 's3'").pivot(index="time", columns="sensor", values="load")
    table.index = table.index.strftime("%Y-%m-%d %H:%M")
    csv = tmp_path / "wide.csv"
    table.reset_index().to_csv(csv, index=False)
    model_dir = tmp_path / "model"
    assert main(["train", "--csv", str(csv), "--target", "all", "--model-dir", str(model_dir),
                 "--time-steps", "24", "--horizon", "6", "--epochs", "1", "--scaling", "window"]) == 0
    output = tmp_path / "forecast.csv"
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--output", str(output)]) == 0
    written = pd.read_csv(output)
    assert written.columns.tolist() == ["series", "time", "forecast"]
    assert written["series"].unique().tolist() == ["s0", "s1", "s2"] and len(written) == 18
    panel = read_panel(csv, schema=load_bundle(model_dir).schema_)
    assert panel.ids == ["s0", "s1", "s2"]


def test_series_size_trains_and_forecasts_on_both_engines(long_model, tmp_path):
    csv, _, _ = long_model
    model_dir = tmp_path / "sized"
    assert main(["train", "--csv", str(csv), "--id-col", "sensor", "--model-dir", str(model_dir),
                 "--time-steps", "24", "--horizon", "6", "--epochs", "1", "--scaling", "window",
                 "--series-size"]) == 0
    numpy_model, keras_model = load_bundle(model_dir), load_bundle(model_dir, engine="keras")
    assert numpy_model.members_[0][1].series_size and numpy_model.members_[0][0].window_shape == (24, 2)
    ours, theirs = forecast(numpy_model, csv), forecast(keras_model, csv)
    assert ours.values.shape == (4, 6)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-5)


def test_static_inputs_train_and_forecast_with_an_unseen_category(long_model, tmp_path):
    csv, _, _ = long_model
    table = pd.read_csv(csv)
    table["region"] = table["sensor"].map({"s0": "north", "s1": "south", "s2": "north", "s3": "east"})
    table["capacity"] = table["sensor"].map({"s0": 20.0, "s1": 2000.0, "s2": 100.0, "s3": 10.0})
    path = tmp_path / "static.csv"
    table.to_csv(path, index=False)
    model_dir = tmp_path / "static"
    assert main(["train", "--csv", str(path), "--id-col", "sensor", "--static", "region,capacity",
                 "--model-dir", str(model_dir), "--time-steps", "24", "--horizon", "6", "--epochs", "1",
                 "--scaling", "window"]) == 0
    model = load_bundle(model_dir)
    # s3 (left out of training) is "east", a region no training series has: all zeros.
    assert model.static_.width == 3 and model.members_[0][0].window_shape == (24, 4)
    numpy_result, keras_result = forecast(model, path), forecast(load_bundle(model_dir, engine="keras"), path)
    assert numpy_result.values.shape == (4, 6)
    np.testing.assert_allclose(numpy_result.values, keras_result.values, rtol=1e-5)
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv)]) == 2  # no static columns
