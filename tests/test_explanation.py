"""forecaster explain: Shapley attributions that add up to the forecast minus the baseline's, and
the layers of every family, one series and many."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel
from forecaster.errors import UserError
from forecaster.explanation import explain, explain_panel, shapley_values
from forecaster.forecasting import forecast


def test_a_linear_forecast_gets_exactly_weight_times_change_whatever_the_orders():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(5, 3))  # 5 cells, 3 horizon steps
    inputs, baseline = rng.normal(size=5), rng.normal(size=5)

    def linear(cells):
        return cells @ weights + 7.0

    values, error, orders = shapley_values(linear, inputs, baseline, evaluations=10)
    assert orders == 8  # the fewest: 4 pairs
    np.testing.assert_allclose(values, (weights * (inputs - baseline)[:, None]).T, atol=1e-12)
    np.testing.assert_allclose(error, 0, atol=1e-12)


def test_two_cells_in_a_product_share_it_exactly():
    # f = x1 x2 from the baseline (1, 2) to (3, 5): the Shapley values are the means over both orders
    values, _, _ = shapley_values(lambda c: (c[:, 0] * c[:, 1])[:, None], [3.0, 5.0], [1.0, 2.0])
    first = ((3 * 2 - 1 * 2) + (3 * 5 - 1 * 5)) / 2
    second = ((1 * 5 - 1 * 2) + (3 * 5 - 3 * 2)) / 2
    np.testing.assert_allclose(values[0], [first, second])
    assert values.sum() == pytest.approx(3 * 5 - 1 * 2)


def test_values_add_up_to_the_change_and_an_unread_cell_gets_zero():
    rng = np.random.default_rng(1)
    mix = rng.normal(size=(6, 4))

    def network(cells):  # reads the first 5 cells only
        hidden = np.tanh(cells[:, :5] @ mix[:5])
        return np.stack([hidden.sum(axis=1), (hidden ** 2).sum(axis=1)], axis=1)

    inputs, baseline = rng.normal(size=6), np.zeros(6)
    values, error, _ = shapley_values(network, inputs, baseline, evaluations=200, seed=3)
    ends = network(np.stack([inputs, baseline]))
    np.testing.assert_allclose(values.sum(axis=1), ends[0] - ends[1], rtol=1e-12, atol=1e-12)
    assert values[:, 5].tolist() == [0.0, 0.0] and error[:, 5].tolist() == [0.0, 0.0]
    assert (error[:, :5] > 0).all()


@pytest.fixture(scope="module")
def lstm(tmp_path_factory, hourly_csv):
    """(TrainRun, Settings): the classic LSTM alone (--scaling global) on `hourly_csv`, 2 epochs."""
    from forecaster.config import load_config
    from forecaster.training import train

    settings = load_config(overrides={
        "csv": str(hourly_csv), "time_steps": 24, "horizon": 6, "epochs": 2, "scaling": "global",
        "model_dir": str(tmp_path_factory.mktemp("models") / "lstm")})
    return train(settings, verbose=0), settings


@pytest.mark.slow
def test_explain_takes_apart_the_saved_forecast(lstm, tmp_path, capsys):
    run, settings = lstm
    picture = tmp_path / "out" / "why.png"
    assert main(["explain", "--model-dir", str(run.model_dir), "--csv", settings.csv,
                 "--output", str(picture)]) == 0
    printed = capsys.readouterr().out
    assert "the rows that moved it most" in printed and "why.json" in printed
    assert picture.stat().st_size > 10_000
    numbers = json.loads((tmp_path / "out" / "why.json").read_text())
    model = load_bundle(run.model_dir)
    expected = forecast(model, settings.csv).values[0]
    np.testing.assert_allclose(numbers["forecast"], expected, rtol=1e-5)
    attributions = np.array(numbers["attributions"]["values"])  # (horizon, rows, columns)
    assert attributions.shape == (6, model.history_needed(), 1)
    change = np.array(numbers["forecast"]) - np.array(numbers["attributions"]["baseline_forecast"])
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), change, rtol=1e-4, atol=1e-4)
    assert len(numbers["times"]) == model.history_needed() and numbers["columns"] == ["load"]
    layers = [layer for member in numbers["members"] for layer in member["layers"]]
    assert layers and {layer["kind"] for layer in layers} == {"LSTM"}
    lstm = layers[0]
    assert sorted(lstm["arrays"]) == ["candidate", "cell", "forget_gate", "hidden", "input_gate",
                                      "output_gate"]
    assert np.array(lstm["arrays"]["forget_gate"]).shape == (50, 24)  # units x window steps
    assert sorted(lstm["unit_order"]) == list(range(50))
    correlations = [c for c in lstm["unit_correlation"]]
    assert correlations == sorted(correlations, reverse=True)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["lstm", "trained"])
def test_an_explanation_sums_exactly_and_matches_predict_from_an_earlier_origin(fixture, request):
    run, settings = request.getfixturevalue(fixture)  # one network, and what --scaling auto kept
    model = load_bundle(run.model_dir)
    panel = read_panel(settings.csv, schema=model.schema_)
    origin = int(panel.lengths[0]) - 30
    explained = explain_panel(model, panel, 0, origin)
    np.testing.assert_array_equal(explained.forecast, model.predict(panel, [[0, origin]])[0])
    np.testing.assert_allclose(explained.total(), explained.forecast - explained.baseline_forecast,
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(explained.actual, panel.rows(0)[origin:origin + 6, 0])
    np.testing.assert_array_equal(explained.history, panel.rows(0)[origin - len(explained.times):origin])
    assert explained.times[-1] == panel.index(0)[origin - 1]
    assert explained.forecast_times[0] == panel.index(0)[origin]


@pytest.mark.slow
def test_explain_refuses_what_it_cannot_explain(trained, tmp_path):
    run, settings = trained
    model_dir, csv = run.model_dir, settings.csv
    times = pd.read_csv(csv)["time"]
    with pytest.raises(UserError, match="is not a timestamp; use"):
        explain(model_dir, csv, origin="soon", output=tmp_path / "a.png")
    with pytest.raises(UserError, match="is not a timestamp of the series"):
        explain(model_dir, csv, origin="2021-03-05 10:30", output=tmp_path / "a.png")
    needed = load_bundle(model_dir).history_needed()
    with pytest.raises(UserError, match=f"rows before it; this model reads the last {needed}. Pass "
                                        f"{times[needed]} or later"):  # as the file writes its times
        explain(model_dir, csv, origin=times[3], output=tmp_path / "a.png")
    with pytest.raises(UserError, match="is after the end of"):
        explain(model_dir, csv, origin="2031-01-01", output=tmp_path / "a.png")
    with pytest.raises(UserError, match="expected one of .png"):
        explain(model_dir, csv, output=tmp_path / "a.txt")
    assert not list(tmp_path.iterdir())  # nothing half-written


# (family, layers, strategy): each family the factory builds, stacked once, recursive once
MANY = [("lstm", 2, "direct"), ("gru", 1, "recursive"), ("rnn", 1, "direct"), ("transformer", 1, "direct"),
        ("dense", 1, "direct")]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "layers", "strategy"), MANY)
def test_every_family_is_explained_on_many_series(tmp_path, kind, layers, strategy):
    rng = np.random.default_rng(5)
    frames = []
    for number, level in enumerate((10.0, 50.0, 200.0)):
        days = np.arange(160)
        values = level * (1 + 0.2 * np.sin(2 * np.pi * days / 7)) + rng.normal(0, level * 0.02, 160)
        frames.append(pd.DataFrame({"sensor": f"s{number}", "day": pd.date_range("2024-01-01", periods=160),
                                    "reading": values.round(3)}))
    csv = tmp_path / "sensors.csv"
    pd.concat(frames).to_csv(csv, index=False)
    model_dir = tmp_path / "model"
    assert main(["train", "--csv", str(csv), "--id-col", "sensor", "--target", "reading", "--model",
                 kind, "--layers", str(layers), "--units", "8", "--epochs", "1", "--scaling", "global",
                 "--time-steps", "14", "--horizon", "7", "--strategy", strategy,
                 "--model-dir", str(model_dir)]) == 0
    explained, picture, numbers = explain(model_dir, csv, series=["s1"], origin="2024-05-01",
                                          output=tmp_path / "why.png")
    assert explained.series == "s1" and picture.is_file() and numbers.is_file()
    assert explained.history[-1, 0] == np.float32(frames[1]["reading"].iloc[120])  # 2024-05-01 is row 121
    np.testing.assert_allclose(explained.total(), explained.forecast - explained.baseline_forecast,
                               rtol=1e-9, atol=1e-9)
    layers_found = [layer for member in explained.members for layer in member.layers]
    expected = {"lstm": ["LSTM", "LSTM"], "gru": ["GRU"], "rnn": ["SimpleRNN"],
                "transformer": ["MultiHeadAttention"], "dense": []}[kind]
    assert [layer.kind for layer in layers_found] == expected
    if kind == "lstm":  # a series the model never saw: its statistics from its own rows
        renamed = pd.concat(frames).replace({"sensor": {"s2": "new"}})
        renamed.to_csv(tmp_path / "renamed.csv", index=False)
        fresh, _, _ = explain(model_dir, tmp_path / "renamed.csv", series=["new"],
                              output=tmp_path / "new.png")
        np.testing.assert_allclose(fresh.total(), fresh.forecast - fresh.baseline_forecast,
                                   rtol=1e-9, atol=1e-9)
        with pytest.raises(UserError, match="explain takes one"):
            explain(model_dir, csv, series=["s0", "s1"], output=tmp_path / "two.png")
        with pytest.raises(UserError, match="not in"):
            explain(model_dir, csv, series=["s9"], output=tmp_path / "two.png")
    for layer in layers_found:
        if layer.kind == "MultiHeadAttention":
            assert layer.arrays["attention"].shape == (4, 14, 14)
            np.testing.assert_allclose(layer.arrays["attention"].sum(axis=-1), 1, rtol=1e-5)
        else:
            assert layer.arrays["hidden"].shape == (8, 14)
