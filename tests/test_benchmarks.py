"""`make benchmark`: the generated series, the variants, and one quick run under tmp_path only."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from benchmarks import series
from benchmarks.backtests import BUNDLED, CLASSIC, COLUMNS, main, parse_variant, variant_settings
from forecaster.data import split_points


def test_the_generated_series_are_the_same_on_every_call_and_in_every_file(tmp_path):
    for generator in series.GENERATED:
        assert np.array_equal(generator.values(), generator.values())
        assert 1500 <= generator.rows <= 3000
    first = series.write_all(tmp_path / "a")
    second = series.write_all(tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes()
        header, row = path.read_text(encoding="utf-8").splitlines()[:2]
        assert header == f"date,{series.by_name(name).column}"
    described = json.loads((tmp_path / "a" / "series.json").read_text(encoding="utf-8"))
    assert set(described) == {"trend-season", "random-walk", "nonlinear-ar"}


def test_every_test_value_of_the_trend_exceeds_the_training_maximum():
    values = series.by_name("trend-season").values()
    val_start, test_start = split_points(len(values), 0.15, 0.15)  # the product's default split
    assert values[test_start:].min() > values[:val_start].max()


def test_the_best_achievable_mae_is_sigma_times_root_two_over_pi():
    trend, walk, threshold = (series.by_name(name) for name in ("trend-season", "random-walk",
                                                                "nonlinear-ar"))
    assert trend.best_mae(3) == pytest.approx([0.5 * math.sqrt(2 / math.pi)] * 3)
    assert walk.best_mae(2) == pytest.approx([math.sqrt(2 / math.pi), math.sqrt(4 / math.pi)])
    assert threshold.best_mae(1) == pytest.approx([0.5 * math.sqrt(2 / math.pi)])


def test_the_best_forecasts_are_the_signal_the_last_value_and_the_conditional_mean():
    values = np.array([0.0, -1.0, 2.0, 5.0])
    walk = series.by_name("random-walk").best_forecast(values, np.array([2, 3]), horizon=2)
    assert walk.tolist() == [[-1.0, -1.0], [2.0, 2.0]]
    threshold = series.by_name("nonlinear-ar").best_forecast(values, np.array([2, 3]), horizon=1)
    assert threshold[:, 0].tolist() == pytest.approx([1 + 0.8 * -1.0, -1 - 0.5 * 2.0])
    trend = series.by_name("trend-season")
    assert trend.best_forecast(values, np.array([1]), horizon=2)[0].tolist() == pytest.approx(
        trend.signal(3)[1:].tolist())


def test_a_variant_is_a_name_and_settings_or_a_built_in_name():
    assert parse_variant("small=units=16,learning-rate=0.01,scaling=change,calendar=true") == (
        "small", {"units": 16, "learning_rate": 0.01, "scaling": "change", "calendar": True})
    assert parse_variant("classic") == ("classic", CLASSIC)
    assert parse_variant("default") == ("default", {})
    with pytest.raises(argparse.ArgumentTypeError, match="not a built-in variant"):
        parse_variant("fancy")
    with pytest.raises(argparse.ArgumentTypeError, match="known settings are"):
        parse_variant("fancy=colour=blue")


def test_a_bad_variant_or_an_unknown_series_is_refused(capsys):
    assert main(["--only", "nowhere"]) == 2
    assert "invalid choice: 'nowhere'" in capsys.readouterr().err
    assert main(["--variant", "fancy=units=0"]) == 2
    assert "variant 'fancy': --units is 0" in capsys.readouterr().err


def test_only_is_repeatable(monkeypatch):
    import benchmarks.backtests as backtests

    chosen = []

    def run(data_sets, *args, **kwargs):
        chosen.extend(data_set.name for data_set in data_sets)
        return {"markdown": "", "json_path": "j", "markdown_path": "m"}

    monkeypatch.setattr(backtests, "run", run)
    assert main(["--only", "random-walk", "--only", "elnino"]) == 0
    assert chosen == ["elnino", "random-walk"]  # in the table's order


@pytest.mark.slow
def test_benchmark_writes_its_tables_and_json_for_each_variant(tmp_path, capsys):
    reports, models = tmp_path / "reports", tmp_path / "models"
    status = main(["--only", "random-walk", "--epochs", "1", "--variant", "classic",
                   "--variant", "tiny=units=8", "--output-dir", str(reports), "--models-dir", str(models)])

    assert status == 0
    markdown = (reports / "backtests.md").read_text(encoding="utf-8")
    assert markdown.strip() in capsys.readouterr().out
    lines = markdown.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:9]]
    assert [row[COLUMNS.index("forecaster")] for row in cells][:6] == [
        "classic", "tiny", "ridge (classic)", "ridge (tiny)", "naive", "seasonal_naive"]
    assert cells[0][0] == "random-walk (price)" and cells[6][4].startswith("true model (expected")
    assert cells[4][COLUMNS.index("MAE / naive")] == "1.000"
    assert cells[6][COLUMNS.index("MAE / best achievable")] == "1.000"

    summary = json.loads((reports / "backtests.json").read_text(encoding="utf-8"))
    [result] = summary["data_sets"]
    assert result["data_set"] == "random-walk" and set(result["variants"]) == {"classic", "tiny"}
    tiny = result["variants"]["tiny"]
    assert tiny["settings"]["units"] == 8 and tiny["settings"]["epochs"] == 1
    assert result["variants"]["classic"]["scaling"] == "global"
    # On a random walk the best forecast is the last value: the true model is naive.
    assert tiny["best"]["mae"] == pytest.approx(tiny["metrics"]["naive"]["mae"])
    criteria = summary["criteria"]["tiny"]
    assert criteria["beats_classic"] == {"random-walk": tiny["mae"] < result["variants"]["classic"]["mae"]}
    assert criteria["random_walk_vs_naive"] == pytest.approx(tiny["mae"] / tiny["metrics"]["naive"]["mae"])
    assert criteria["geometric_mean_vs_seasonal_naive"] == pytest.approx(
        tiny["mae"] / tiny["metrics"]["seasonal_naive"]["mae"])
    assert summary["criteria"]["classic"]["beats_classic"] is None
    assert (reports / "series" / "random-walk.csv").is_file()
    assert (models / "tiny" / "random-walk" / "model.keras").is_file()
    assert (reports / "classic" / "random-walk" / "metrics.json").is_file()


def test_a_variant_sets_its_epochs_unless_a_quick_run_caps_them(tmp_path):
    weather = next(d for d in BUNDLED if d.name == "seattle-weather")
    _, overrides = parse_variant("long=epochs=100,loss=mae")
    settings = variant_settings(weather, weather.csv, overrides, tmp_path / "m")
    assert (settings.epochs, settings.loss, settings.target) == (100, "mae", "temp_max")
    assert variant_settings(weather, weather.csv, overrides, tmp_path / "m", epochs=2).epochs == 2
