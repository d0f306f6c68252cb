"""Inputs known ahead (`--future`): read with the history, or from a future file; shown to the
network over the horizon; required, never filled, when forecasting; and no other input's future
value ever reaches a forecast."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel, with_future
from forecaster.errors import UserError
from forecaster.evaluation import backtest
from forecaster.explanation import explain_panel
from forecaster.forecasting import forecast
from forecaster.scaling import Representation
from tests.conftest import write_csv

LONG = """shop,day,sales,promo
a,2024-01-01,10,0
a,2024-01-02,12,1
a,2024-01-03,11,0
a,2024-01-04,,1
a,2024-01-05,,0
b,2024-01-01,5,1
b,2024-01-02,6,0
b,2024-01-03,,1
b,2024-01-04,,
b,2024-01-05,,0
"""


def test_rows_after_a_series_last_target_value_are_its_future_values(tmp_path):
    panel = read_panel(write_csv(tmp_path, LONG), target="sales", id_columns="shop", future="promo")
    assert panel.schema.future == ("promo",) and panel.schema.columns == ("sales", "promo")
    assert panel.lengths.tolist() == [3, 2]  # each series still ends at its last target value
    assert panel.future.shape == (2, 3, 1)
    np.testing.assert_array_equal(panel.future[0, :, 0], [1, 0, np.nan])  # a has two rows ahead
    np.testing.assert_array_equal(panel.future[1, :, 0], [1, np.nan, 0])  # b's second is empty
    assert panel.select([1]).future[0, 0, 0] == 1
    # As a feature (past values only), the same rows are no data.
    plain = read_panel(write_csv(tmp_path, LONG), target="sales", id_columns="shop", features="promo")
    assert plain.future is None and plain.lengths.tolist() == [3, 2]


def test_a_column_both_a_feature_and_known_ahead_is_refused(tmp_path):
    with pytest.raises(UserError, match="both in --features .* and in --future"):
        read_panel(write_csv(tmp_path, LONG), target="sales", id_columns="shop", features="promo",
                   future="promo")


def test_a_future_file_gives_each_series_its_steps_after_its_own_end(tmp_path):
    panel = read_panel(write_csv(tmp_path, LONG), target="sales", id_columns="shop", future="promo")
    path = write_csv(tmp_path, "shop,day,promo\nb,2024-01-03,0\nb,2024-01-04,1\na,2024-01-04,1\n"
                               "a,2024-01-02,9\n", "future.csv")
    given = with_future(panel, path)
    # a ends on the 3rd (its row for the 2nd is history: not read), b on the 2nd
    np.testing.assert_array_equal(given.future[0, :, 0], [1, np.nan])
    np.testing.assert_array_equal(given.future[1, :, 0], [0, 1])
    assert panel.future.shape == (2, 3, 1)  # the panel itself is unchanged


@pytest.mark.parametrize("text, message", [
    ("shop,day,promo\nc,2024-01-04,1\nd,2024-01-04,1\na,2024-01-04,1\n",
     r"names 2 series not in the history .*: c, d; expected the history's ids in 'shop'"),
    ("shop,day,promo\na,2024-01-04 12:00,1\n",
     r"1 time off the history's 'D' steps \(2024-01-04 12:00:00 on line 2\)"),
    ("shop,day,promo\na,2024-01-04,1\na,2024-01-04,0\n", r"two rows for series 'a' at 2024-01-04 .*line 3"),
    ("shop,day\na,2024-01-04\n", r"has no column 'promo'"),
    ("shop,day,promo\n", r"has a header but no rows"),
])
def test_a_bad_future_file_is_refused_with_what_is_wrong(tmp_path, text, message):
    panel = read_panel(write_csv(tmp_path, LONG), target="sales", id_columns="shop", future="promo")
    with pytest.raises(UserError, match=message):
        with_future(panel, write_csv(tmp_path, text, "future.csv"))


def test_a_window_shows_the_inputs_known_ahead_on_the_steps_it_forecasts():
    rows = np.arange(40.0)
    values = np.column_stack([np.sin(rows), 100 + rows])  # the target, then an input known ahead
    representation = Representation("global", 1, future=(1,)).fit(values, 30, 6, 3)
    histories = values[None, 4:10]  # the rows before origin 10
    ahead = values[None, 10:13, 1:]  # the input's values on the three steps forecast
    windows = representation.windows(histories, [0], ahead=ahead)
    mean, scale = representation.mean_[0, 1], representation.scale_[0, 1]
    np.testing.assert_allclose(windows[0, :, 1] * scale + mean, 100 + np.arange(7, 13), rtol=1e-6)
    plain = Representation("global", 1).fit(values, 30, 6, 3)
    np.testing.assert_array_equal(windows[..., 0], plain.windows(histories, [0])[..., 0])
    with pytest.raises(ValueError, match="need their values on the 3 steps"):
        representation.windows(histories, [0])
    with pytest.raises(ValueError, match="time_steps must be at least the horizon"):
        Representation("global", 1, future=(1,)).fit(values, 30, 2, 3)


# End to end ----------------------------------------------------------------------------------------

DAYS, HORIZON = 200, 5


def shops(seed: int = 0) -> pd.DataFrame:
    """Two daily series whose sales jump by 20 on promotion days (known ahead) and follow a
    temperature (a past feature), with HORIZON rows after their end holding only the promotion."""
    rng = np.random.default_rng(seed)
    frames = []
    for shop, level in (("a", 50.0), ("b", 200.0)):
        days = DAYS + HORIZON
        promo = (rng.random(days) < 0.3).astype(float)
        temp = 15 + 5 * np.sin(np.arange(days) / 9) + rng.normal(0, 1, days)
        sales = level + 20 * promo + 0.5 * temp + rng.normal(0, 1, days)
        frame = pd.DataFrame({"shop": shop, "day": pd.date_range("2024-01-01", periods=days, freq="D")
                              .strftime("%Y-%m-%d"), "sales": sales.round(3), "temp": temp.round(2),
                              "promo": promo})
        frame.loc[frame.index[DAYS:], ["sales", "temp"]] = np.nan
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def promoted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("future")
    csv = folder / "shops.csv"
    shops().to_csv(csv, index=False)
    model_dir = folder / "model"
    assert main(["train", "--csv", str(csv), "--id-col", "shop", "--target", "sales", "--future", "promo",
                 "--features", "temp", "--calendar", "--time-steps", "10", "--horizon", str(HORIZON),
                 "--epochs", "2", "--scaling", "window", "--model-dir", str(model_dir)]) == 0
    return csv, model_dir, folder



@pytest.mark.slow
def test_forecast_reads_the_future_from_the_history_or_a_future_file_alike(promoted, tmp_path, capsys):
    csv, model_dir, _ = promoted
    model = load_bundle(model_dir)
    assert model.schema_.future == ("promo",) and model.members_[0][1].future == (2,)
    from_rows = forecast(model, csv)
    table = pd.read_csv(csv)
    history, ahead = table[table["sales"].notna()], table[table["sales"].isna()]
    history.to_csv(tmp_path / "history.csv", index=False)
    ahead[["shop", "day", "promo"]].iloc[::-1].to_csv(tmp_path / "future.csv", index=False)
    from_file = forecast(model, tmp_path / "history.csv", future=tmp_path / "future.csv")
    np.testing.assert_array_equal(from_rows.values, from_file.values)
    keras = forecast(load_bundle(model_dir, engine="keras"), csv)
    np.testing.assert_allclose(from_rows.values, keras.values, rtol=1e-5)
    output = tmp_path / "forecast.csv"
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(tmp_path / "history.csv"),
                 "--future-csv", str(tmp_path / "future.csv"), "--output", str(output)]) == 0
    written = pd.read_csv(output)["forecast"].to_numpy().reshape(2, -1)
    np.testing.assert_allclose(written, from_file.values, rtol=1e-5)  # six significant digits


@pytest.mark.slow
def test_a_missing_future_value_or_too_few_future_rows_is_refused(promoted, tmp_path, capsys):
    csv, model_dir, _ = promoted
    table = pd.read_csv(csv)
    holes = table.copy()
    ahead = holes.index[holes["sales"].isna()]
    holes.loc[ahead[[1, 7]], "promo"] = np.nan
    holes.to_csv(tmp_path / "holes.csv", index=False)
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(tmp_path / "holes.csv")]) == 2
    error = capsys.readouterr().err
    assert "2 values known ahead that the forecast needs are missing from" in error
    assert "promo of a at 2024-07-20" in error and "promo of b at 2024-07-21" in error
    assert error.count("\n") == 1
    # the history alone: no row ahead; a horizon past the rows given
    table[table["sales"].notna()].to_csv(tmp_path / "history.csv", index=False)
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(tmp_path / "history.csv")]) == 2
    assert "on the 5 steps after the end of each series" in capsys.readouterr().err


@pytest.mark.slow
def test_no_input_but_those_known_ahead_reaches_a_forecast_from_after_its_origin(promoted, tmp_path):
    csv, model_dir, _ = promoted
    model = load_bundle(model_dir)
    original = read_panel(csv, schema=model.schema_)
    origin = 150
    at = np.array([[0, origin], [1, origin]])
    before = backtest(model, original, at).forecasts[model.settings_.model]
    table = pd.read_csv(csv)
    rng = np.random.default_rng(5)
    later = table.groupby("shop").cumcount() >= origin
    changed = table.copy()  # the target and the past feature after the origin: no change
    changed.loc[later & table["sales"].notna(), ["sales", "temp"]] = rng.normal(0, 1000, (
        int((later & table["sales"].notna()).sum()), 2))
    beyond = table.groupby("shop").cumcount() >= origin + HORIZON  # promotions past the horizon
    changed.loc[beyond, "promo"] = 1 - changed.loc[beyond, "promo"]
    changed.to_csv(tmp_path / "changed.csv", index=False)
    after = backtest(model, read_panel(tmp_path / "changed.csv", schema=model.schema_), at)
    np.testing.assert_array_equal(after.forecasts[model.settings_.model], before)
    inside = later & ~beyond  # promotions on the steps forecast: they are inputs
    flipped = table.copy()
    flipped.loc[inside, "promo"] = 1 - flipped.loc[inside, "promo"]
    flipped.to_csv(tmp_path / "flipped.csv", index=False)
    moved = backtest(model, read_panel(tmp_path / "flipped.csv", schema=model.schema_), at)
    assert not np.array_equal(moved.forecasts[model.settings_.model], before)


@pytest.mark.slow
def test_backtest_equals_forecast_on_the_file_cut_at_an_origin_with_the_future_rows_kept(promoted, tmp_path):
    csv, model_dir, _ = promoted
    model = load_bundle(model_dir)
    origin = 170
    result = backtest(model, read_panel(csv, schema=model.schema_), np.array([[0, origin], [1, origin]]))
    table = pd.read_csv(csv)
    position = table.groupby("shop").cumcount()
    cut = table[position < origin + HORIZON].copy()
    cut.loc[position >= origin, ["sales", "temp"]] = np.nan
    cut.to_csv(tmp_path / "cut.csv", index=False)
    expected = forecast(model, tmp_path / "cut.csv").values
    np.testing.assert_array_equal(result.forecasts[model.settings_.model], expected)


@pytest.mark.slow
def test_recursion_past_the_horizon_needs_every_input_known_ahead(promoted, tmp_path, capsys):
    csv, model_dir, folder = promoted
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--horizon", "3"]) == 0
    capsys.readouterr()
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(csv), "--horizon", "8"]) == 2
    assert "its --features temp have no future values" in capsys.readouterr().err
    # without the past feature, every input is known ahead: ten steps from two horizons of rows
    table = shops()
    ahead = table[table["sales"].isna()].assign(day=lambda f: pd.to_datetime(f["day"]) + pd.Timedelta(
        days=HORIZON))
    longer = pd.concat([table, ahead.assign(day=ahead["day"].dt.strftime("%Y-%m-%d"))]).sort_values(
        ["shop", "day"])
    longer.to_csv(tmp_path / "longer.csv", index=False)
    only = folder / "only-future"
    assert main(["train", "--csv", str(tmp_path / "longer.csv"), "--id-col", "shop", "--target", "sales",
                 "--future", "promo", "--time-steps", "10", "--horizon", str(HORIZON), "--epochs", "1",
                 "--scaling", "window", "--model-dir", str(only)]) == 0
    capsys.readouterr()
    assert main(["forecast", "--model-dir", str(only), "--csv", str(tmp_path / "longer.csv"),
                 "--horizon", "10"]) == 0
    written = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(written) == 20 and np.isfinite(written["forecast"]).all()
    assert main(["forecast", "--model-dir", str(only), "--csv", str(tmp_path / "longer.csv"),
                 "--horizon", "11"]) == 2  # three horizons: 15 rows ahead, 10 given
    error = capsys.readouterr().err
    assert "on the 15 steps after the end" in error and "only 10 are given" in error


def test_inspect_names_the_columns_that_look_known_ahead(tmp_path):
    from forecaster.inspection import inspect

    text = LONG.replace("shop,day,sales,promo", "shop,day,sales,promo,price,temp")
    lines = text.strip().splitlines()
    price = ["9", "9", "8", "8", "8", "5", "5", "5", "5", "6"]
    temp = ["1", "2", "3", "", "", "4", "5", "", "", ""]  # none after the target's end: past only
    text = "\n".join([lines[0]] + [f"{line},{p},{t}" for line, p, t in zip(lines[1:], price, temp,
                                                                           strict=True)]) + "\n"
    report = inspect(write_csv(tmp_path, text), target="sales", id_columns=("shop",))
    notes = [note for note in report.notes if "known ahead" in note]
    assert len(notes) == 1 and "'promo', 'price' have a value" in notes[0]
    assert "train --future promo,price" in notes[0] and "temp" not in notes[0]


@pytest.mark.slow
def test_a_window_shorter_than_the_horizon_or_a_future_file_for_a_model_without_is_refused(
        tmp_path, capsys, trained, hourly_csv):
    csv = tmp_path / "shops.csv"
    shops().to_csv(csv, index=False)
    assert main(["train", "--csv", str(csv), "--id-col", "shop", "--target", "sales", "--future", "promo",
                 "--time-steps", "3", "--horizon", "5", "--model-dir", str(tmp_path / "m")]) == 2
    error = capsys.readouterr().err
    assert "--time-steps 3 is shorter than the horizon (5)" in error and "--time-steps 5 or more" in error
    assert not (tmp_path / "m").exists()
    future = write_csv(tmp_path, "time,x\n2021-03-21 00:00,1\n", "future.csv")
    with pytest.raises(UserError, match="trained without --future"):
        forecast(load_bundle(trained[0].model_dir), hourly_csv, future=future)


@pytest.mark.slow
def test_evaluate_draws_the_forecast_after_the_data_only_where_the_file_holds_its_future(promoted, tmp_path):
    from forecaster.evaluation import evaluate

    csv, model_dir, _ = promoted
    table = pd.read_csv(csv)
    table[table["sales"].notna()].to_csv(tmp_path / "history.csv", index=False)
    with_rows = evaluate(model_dir, csv=csv, output_dir=tmp_path / "a", levels=())
    without = evaluate(model_dir, csv=tmp_path / "history.csv", output_dir=tmp_path / "b", levels=())
    assert (tmp_path / "a" / "forecast.png").exists() and not (tmp_path / "b" / "forecast.png").exists()
    kind = load_bundle(model_dir).settings_.model
    scores = [found.report["models"][kind]["overall"]["mae"] for found in (with_rows, without)]
    assert scores[0] == scores[1]  # the test split is the same rows


def test_one_series_and_a_wide_file_take_their_future_rows_alike(tmp_path):
    text = "day,a,b,promo\n2024-01-01,1,5,0\n2024-01-02,2,6,1\n2024-01-03,3,,1\n2024-01-04,,,0\n"
    one = read_panel(write_csv(tmp_path, text), target="a", future="promo")
    np.testing.assert_array_equal(one.future[0, :, 0], [0])  # a ends on the 3rd: the 4th lies ahead
    wide = read_panel(write_csv(tmp_path, text), target="a,b", future="promo")
    assert wide.ids == ["a", "b"] and wide.lengths.tolist() == [3, 2]
    np.testing.assert_array_equal(wide.future[:, :, 0], [[0, np.nan], [1, 0]])
    future = write_csv(tmp_path, "day,promo\n2024-01-05,1\n2024-01-04,1\n2024-01-03,0\n", "future.csv")
    np.testing.assert_array_equal(with_future(one, future).future[0, :, 0], [1, 1])
    np.testing.assert_array_equal(with_future(wide, future).future[:, :, 0], [[1, 1, np.nan], [0, 1, 1]])


@pytest.mark.slow
def test_explain_gives_the_values_known_ahead_their_share_too(promoted):
    csv, model_dir, _ = promoted
    model = load_bundle(model_dir)
    panel = read_panel(csv, schema=model.schema_)
    explained = explain_panel(model, panel, 1)  # shop b, from its end: the promotions ahead read
    assert explained.columns[:3] == ["sales", "temp", "promo"] and len(explained.columns) > 3
    assert explained.future == ["promo"] and explained.ahead_attributions.shape == (HORIZON, HORIZON, 1)
    assert np.abs(explained.ahead_attributions).sum() > 0
    np.testing.assert_allclose(explained.total(), explained.forecast - explained.baseline_forecast,
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(explained.forecast, model.predict(panel, [[1, panel.lengths[1]]])[0])


@pytest.mark.slow
def test_explain_reads_the_values_known_ahead_from_a_future_file_as_forecast_does(promoted, tmp_path):
    csv, model_dir, _ = promoted
    table = pd.read_csv(csv)
    table[table["sales"].notna()].to_csv(tmp_path / "history.csv", index=False)
    table[table["sales"].isna()][["shop", "day", "promo"]].to_csv(tmp_path / "future.csv", index=False)
    assert main(["explain", "--model-dir", str(model_dir), "--csv", str(tmp_path / "history.csv"),
                 "--series", "b", "--output", str(tmp_path / "a.png")]) == 2  # none ahead: refused
    assert main(["explain", "--model-dir", str(model_dir), "--csv", str(tmp_path / "history.csv"),
                 "--future-csv", str(tmp_path / "future.csv"), "--series", "b",
                 "--output", str(tmp_path / "from-file.png")]) == 0
    assert main(["explain", "--model-dir", str(model_dir), "--csv", str(csv), "--series", "b",
                 "--output", str(tmp_path / "from-rows.png")]) == 0
    from_file, from_rows = (json.loads((tmp_path / f"{name}.json").read_text())
                            for name in ("from-file", "from-rows"))
    assert from_file["forecast"] == from_rows["forecast"]
    assert from_file["attributions"]["ahead_values"] == from_rows["attributions"]["ahead_values"]
