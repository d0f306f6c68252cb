"""`make benchmark`: the generated series, the references, the variants, the criteria, and one
quick run under tmp_path only. statsforecast is not needed (a fake model has its interface)."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from benchmarks import references, replicates, series
from benchmarks.backtests import (
    BUNDLED,
    CLASSIC,
    COLUMNS,
    DataSet,
    criteria_table,
    judge,
    main,
    markdown_table,
    parse_variant,
    variant_settings,
    write_last_rows,
)
from forecaster.data import split_points
from forecaster.errors import UserError


def test_the_generated_series_are_the_same_on_every_call_and_in_every_file(tmp_path):
    for generator in series.GENERATED:
        assert np.array_equal(generator.values(), generator.values())
        assert len(generator.values()) == generator.rows == len(generator.times())
    first = series.write_all(tmp_path / "a")
    second = series.write_all(tmp_path / "b")
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes()
        header, row = path.read_text(encoding="utf-8").splitlines()[:2]
        generator = series.by_name(name)
        assert header == f"{generator.time_column},{generator.column}"
        assert row.split(",")[0] == generator.times()[0]
    described = json.loads((tmp_path / "a" / "series.json").read_text(encoding="utf-8"))
    assert set(described) == {"trend-season", "random-walk", "nonlinear-ar", "daily-weekly",
                              "trend-multiplicative", "quasi-cycle"}


def test_the_new_series_have_their_sizes_and_timestamps():
    weekly, monthly, yearly = (series.by_name(name) for name in ("daily-weekly", "trend-multiplicative",
                                                                 "quasi-cycle"))
    assert (weekly.rows, monthly.rows, yearly.rows) == (20 * 7 * 24, 12 * 12, 290)
    assert weekly.times()[:2] == ["2021-01-04 00:00", "2021-01-04 01:00"]  # a Monday
    assert monthly.times()[:2] == ["2010-01-01", "2010-02-01"] and monthly.times()[-1] == "2021-12-01"
    assert yearly.times()[:2] == ["1700", "1701"] and yearly.times()[-1] == "1989"
    assert yearly.values().min() > 0  # a count around 50, like the sunspots


def test_the_daily_profile_differs_on_weekends():
    signal = series.by_name("daily-weekly").signal(7 * 24)
    monday, saturday = signal[:24], signal[5 * 24:6 * 24]
    assert monday[14] == pytest.approx(120) and saturday[17] == pytest.approx(93)
    assert np.array_equal(signal[24:48], monday)  # Tuesday is Monday again; the week is the cycle


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


def test_the_best_mae_of_the_new_series_at_any_horizon():
    root = math.sqrt(2 / math.pi)
    weekly = series.by_name("daily-weekly")  # AR(1), phi 0.7, sigma 1: variance 1, then 1 + 0.49
    assert weekly.best_mae(2) == pytest.approx([root, math.sqrt(1.49) * root])
    assert weekly.best_mae(100)[-1] == pytest.approx(root / math.sqrt(1 - 0.49))
    cycle = series.by_name("quasi-cycle")
    phi1, phi2 = cycle.phi
    assert phi1 == pytest.approx(1.8 * math.cos(2 * math.pi / 11)) and phi2 == pytest.approx(-0.81)
    assert cycle.psi(3) == pytest.approx([1, phi1, phi1**2 + phi2])
    assert cycle.best_mae(2) == pytest.approx([4 * root, 4 * math.sqrt(1 + phi1**2) * root])
    assert len(cycle.best_mae(30)) == 30


def test_the_multiplicative_best_mae_is_the_mean_noise_scale_over_the_rows_scored():
    monthly = series.by_name("trend-multiplicative")
    signal = monthly.signal(144)
    assert signal[:2].tolist() == pytest.approx([100 * 0.85, 100.5 * 0.82])
    scale = 0.03 * math.sqrt(2 / math.pi)
    assert monthly.best_mae(2, np.array([10, 12])) == pytest.approx(
        [scale * (signal[10] + signal[12]) / 2, scale * (signal[11] + signal[13]) / 2])
    # without origins: those in the last 15% of the rows (22 rows, 11 origins of 12 steps)
    assert monthly.default_origins(12).tolist() == list(range(122, 133))
    assert monthly.best_mae(12) == monthly.best_mae(12, np.arange(122, 133))


def test_the_best_forecasts_are_the_signal_the_last_value_and_the_conditional_mean():
    values = np.array([0.0, -1.0, 2.0, 5.0])
    walk = series.by_name("random-walk").best_forecast(values, np.array([2, 3]), horizon=2)
    assert walk.tolist() == [[-1.0, -1.0], [2.0, 2.0]]
    threshold = series.by_name("nonlinear-ar").best_forecast(values, np.array([2, 3]), horizon=1)
    assert threshold[:, 0].tolist() == pytest.approx([1 + 0.8 * -1.0, -1 - 0.5 * 2.0])
    trend = series.by_name("trend-season")
    assert trend.best_forecast(values, np.array([1]), horizon=2)[0].tolist() == pytest.approx(
        trend.signal(3)[1:].tolist())


def test_the_new_best_forecasts_decay_recur_and_follow_the_signal():
    weekly = series.by_name("daily-weekly")
    signal = weekly.signal(10)
    values = signal + 2.0  # every row 2 above the profile
    assert weekly.best_forecast(values, np.array([3]), horizon=2)[0].tolist() == pytest.approx(
        [signal[3] + 0.7 * 2, signal[4] + 0.49 * 2])
    cycle = series.by_name("quasi-cycle")
    phi1, phi2 = cycle.phi
    history = np.array([50.0, 53.0, 51.0])  # x = 0, 3, 1 around the mean 50
    first = phi1 * 1 + phi2 * 3
    assert cycle.best_forecast(history, np.array([3]), horizon=2)[0].tolist() == pytest.approx(
        [50 + first, 50 + phi1 * first + phi2 * 1])
    monthly = series.by_name("trend-multiplicative")
    assert monthly.best_forecast(np.zeros(5), np.array([2]), horizon=3)[0].tolist() == pytest.approx(
        monthly.signal(5)[2:].tolist())


def test_the_fitted_true_forms_recover_the_generating_models_on_a_long_draw():
    ar = replicates.draw("quasi-cycle", 3)
    ar.rows = 4000  # a long draw: the least-squares AR(2) is close to the true one
    values = ar.values()
    origins = np.arange(3000, 3990)
    fitted = ar.fitted_forecast(values, origins, 2, fit_end=3000)
    best = ar.best_forecast(values, origins, 2)
    assert np.mean(np.abs(fitted - best)) < 0.1 * ar.sigma
    trend = replicates.draw("trend-multiplicative", 5)
    trend.rows = 1200
    values = trend.values()
    rows = np.arange(1000, 1189)
    fitted = trend.fitted_forecast(values, rows, 12, fit_end=1000)
    signal = trend.best_forecast(values, rows, 12)
    assert np.max(np.abs(fitted / signal - 1)) < 0.01  # 1% of the level (the noise is 3%)


def test_replicates_summarise_the_draws_by_geometric_means():
    draws = [{"mae": {"default": 2.0, "true model": 1.0, "true form, fitted": 1.6}},
             {"mae": {"default": 1.0, "true model": 1.0, "true form, fitted": 1.25}}]
    summary = replicates.summarise(draws)
    assert summary["default / true model"] == pytest.approx(math.sqrt(2))
    assert summary["default / true form, fitted"] == pytest.approx(1.0)
    assert summary["true form, fitted / true model"] == pytest.approx(math.sqrt(2))


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
                   "--variant", "tiny=units=8", "--no-references", "--output-dir", str(reports),
                   "--models-dir", str(models)])

    assert status == 0
    markdown = (reports / "backtests.md").read_text(encoding="utf-8")
    assert markdown.strip() in capsys.readouterr().out
    lines = markdown.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:11]]
    column = {name: [row[COLUMNS.index(name)] for row in cells] for name in COLUMNS}
    assert column["forecaster"][:8] == [
        "classic", "tiny", "ridge (classic)", "ridge (tiny)", "naive", "seasonal_naive",
        "seasonal naive (calendar, 7)", "statistical references"]
    assert cells[0][0] == "random-walk (price)" and column["forecaster"][8].startswith("true model (expected")
    assert column["MAE / naive"][4] == "1.000" and column["MAE / seasonal naive"][6] == "1.000"
    assert column["note"][7] == "not run: skipped (--no-references)"
    assert column["MAE / best achievable"][8] == "1.000"

    summary = json.loads((reports / "backtests.json").read_text(encoding="utf-8"))
    [result] = summary["data_sets"]
    assert result["data_set"] == "random-walk" and set(result["variants"]) == {"classic", "tiny"}
    tiny = result["variants"]["tiny"]
    assert tiny["settings"]["units"] == 8 and tiny["settings"]["epochs"] == 1
    assert result["variants"]["classic"]["scaling"] == "global"
    # On a random walk the best forecast is the last value: the true model is naive.
    assert tiny["best"]["mae"] == pytest.approx(tiny["metrics"]["naive"]["mae"])
    # seasonal naive at the calendar season (7 for daily data), scored by the benchmark itself
    calendar = tiny["references"]["seasonal_naive"]["mae"]
    assert tiny["references"]["calendar_season"] == 7 and calendar > tiny["metrics"]["naive"]["mae"]
    assert tiny["best_reference"]["mae"] == min(tiny["metrics"]["naive"]["mae"],
                                                tiny["metrics"]["seasonal_naive"]["mae"], calendar)
    criteria = summary["criteria"]["tiny"]
    assert criteria["beats_classic"] == {"random-walk": tiny["mae"] < result["variants"]["classic"]["mae"]}
    assert criteria["random_walk_vs_naive"] == pytest.approx(tiny["mae"] / tiny["metrics"]["naive"]["mae"])
    assert criteria["geometric_mean_vs_seasonal_naive"] == pytest.approx(tiny["mae"] / calendar)
    assert criteria["vs_best_reference"] == {"random-walk": pytest.approx(
        tiny["mae"] / tiny["best_reference"]["mae"])}
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


# --- references: the glue, with a fake model that has statsforecast's fit/forward interface ---


class LastValue:
    """Fits the mean of its rows; forecasts the last value of the history plus that mean; records
    what it was given."""

    def __init__(self, calls):
        self.calls = calls

    def fit(self, y):
        self.calls.append(("fit", y.tolist()))
        self.mean_ = float(np.mean(y))
        return self

    def forward(self, y, h):
        self.calls.append(("forward", y.tolist()))
        return {"mean": np.full(h, y[-1] + self.mean_)}


def fake(calls, tail=None, name="last"):
    return references.Reference(name, lambda rows: LastValue(calls), tail, note="fake")


def test_the_calendar_season_of_each_frequency():
    seasons = {frequency: references.calendar_season(frequency)
               for frequency in ("h", "D", "W-MON", "W-SUN", "MS", "ME", "QS-OCT", "YS-JAN", "YE-DEC")}
    assert seasons == {"h": 24, "D": 7, "W-MON": 52, "W-SUN": 52, "MS": 12, "ME": 12, "QS-OCT": 4,
                       "YS-JAN": 1, "YE-DEC": 1}
    assert references.daily_steps("h") == 24 and references.daily_steps("30min") == 48
    assert references.daily_steps("D") is None and references.daily_steps("MS") is None
    with pytest.raises(ValueError, match="no calendar season for frequency '2D'"):
        references.calendar_season("2D")


def test_seasonal_naive_takes_the_same_point_of_the_last_season():
    values = np.arange(10.0)
    assert references.seasonal_naive(values, np.array([4, 5]), horizon=3, season=2).tolist() == [
        [2, 3, 2], [3, 4, 3]]
    assert references.seasonal_naive(values, np.array([4]), horizon=2, season=1).tolist() == [[3, 3]]
    with pytest.raises(ValueError, match="needs 3 rows before each origin; the earliest origin is row 2"):
        references.seasonal_naive(values, np.array([2]), horizon=1, season=3)


def test_a_reference_is_fitted_once_then_forecasts_each_origin_from_the_rows_before_it():
    calls = []
    history = np.arange(10.0)
    origins = np.array([6, 7])
    truth = references.actuals(history, origins, 2)  # [[6, 7], [7, 8]]
    clock = iter(range(100)).__next__  # one second per reading
    scored = references.fit_and_forecast(fake(calls), history, truth, 6, origins, clock=clock)
    assert calls == [("fit", [0, 1, 2, 3, 4, 5]), ("forward", [0, 1, 2, 3, 4, 5]),
                     ("forward", [0, 1, 2, 3, 4, 5, 6])]
    # the fitted mean is 2.5: forecasts 7.5 from origin 6 and 8.5 from 7
    assert scored["mae"] == pytest.approx(np.mean([1.5, 0.5, 1.5, 0.5]))
    assert scored["fit_rows"] == [0, 6] and scored["note"] == "fake" and scored["seconds"] == 3


def test_a_reference_with_a_tail_is_fitted_and_run_on_the_latest_rows_only():
    calls = []
    history = np.arange(10.0)
    scored = references.fit_and_forecast(fake(calls, tail=3), history, history[[7]][:, None], 7,
                                         np.array([7]))
    assert calls == [("fit", [4, 5, 6]), ("forward", [4, 5, 6])]
    assert scored["fit_rows"] == [4, 7] and scored["mae"] == pytest.approx(abs(7 - (6 + 5)))


def test_missing_actual_values_are_not_scored():
    truth = np.array([[1.0, np.nan], [3.0, 5.0]])
    assert references.mean_absolute_error(truth, np.zeros((2, 2))) == pytest.approx(3.0)


def test_a_reference_that_fails_is_reported_not_raised():
    class Broken(LastValue):
        def fit(self, y):
            raise np.linalg.LinAlgError("singular matrix")

    class Infinite(LastValue):
        def forward(self, y, h):
            return {"mean": np.full(h, np.inf)}

    history, origins = np.arange(10.0), np.array([8])
    truth = references.actuals(history, origins, 1)
    broken = references.Reference("broken", lambda rows: Broken([]))
    assert references.fit_and_forecast(broken, history, truth, 8, origins)["failed"] == (
        "LinAlgError: singular matrix")
    infinite = references.Reference("infinite", lambda rows: Infinite([]))
    assert references.fit_and_forecast(infinite, history, truth, 8, origins)["failed"] == (
        "forecast a value that is not a finite number")


def test_a_reference_past_the_cap_stops_between_origins():
    calls = []
    history, origins = np.arange(20.0), np.arange(10, 15)
    clock = iter(np.arange(0, 1000, 40.0)).__next__  # 40 s per reading
    scored = references.fit_and_forecast(fake(calls), history, references.actuals(history, origins, 1),
                                         10, origins, cap_seconds=100, clock=clock)
    assert scored["failed"] == (
        "TimeoutError: stopped after 120 s, past the cap of 100 s, with 2 of 5 origins forecast")
    assert [kind for kind, _ in calls] == ["fit", "forward", "forward"]


def test_origins_inside_the_fitted_rows_are_refused():
    with pytest.raises(ValueError, match="origin row 3 is inside the fitted rows"):
        references.fit_and_forecast(fake([]), np.arange(10.0), np.zeros((1, 1)), 5, np.array([3]))


def test_score_references_scores_seasonal_naive_and_each_reference(monkeypatch):
    history = np.tile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 3)  # a weekly cycle of daily rows
    origins = np.array([14, 15])
    truth = references.actuals(history, origins, 2)
    logged = []
    found = references.score_references(history, truth, 14, origins, "D", [fake([])], log=logged.append)
    assert found["calendar_season"] == 7 and found["seasonal_naive"] == {"mae": 0.0}
    assert found["references"]["last"]["mae"] > 0 and found["not_run"] is None
    assert logged[0].startswith("    last (fake): MAE ")

    def missing(frequency):
        raise ImportError("No module named 'statsforecast'")

    monkeypatch.setattr(references, "statistical_references", missing)
    found = references.score_references(history, truth, 14, origins, "D")
    assert found["references"] == {} and "statsforecast is not installed" in found["not_run"]


def test_the_statistical_references_run_when_statsforecast_is_installed():
    pytest.importorskip("statsforecast")
    months = np.arange(72)
    history = 100 + months + 10 * np.sin(2 * np.pi * months / 12)
    origins = np.arange(60, 67)
    truth = references.actuals(history, origins, 6)
    chosen = references.statistical_references("MS")
    assert [reference.name for reference in chosen] == ["AutoETS", "AutoARIMA"]
    assert [reference.name for reference in references.statistical_references("h")] == [
        "AutoETS", "AutoARIMA", "MSTL"]
    for reference in chosen:
        scored = references.fit_and_forecast(reference, history, truth, 60, origins)
        assert scored["mae"] < 2, scored  # a clean trend and season: far below the season's swing


# --- the benchmark's glue: a refused training, the criteria, the derived data set ---


def test_the_last_rows_of_a_bundled_file_are_written_unchanged(tmp_path):
    source = tmp_path / "monthly.csv"
    source.write_text("date,value\n" + "".join(f"2000-{m:02d}-01,{m}\n" for m in range(1, 13)),
                      encoding="utf-8")
    path = write_last_rows(DataSet("tail", source, {}, last_rows=3), tmp_path / "series")
    assert path.read_text(encoding="utf-8") == "date,value\n2000-10-01,10\n2000-11-01,11\n2000-12-01,12\n"
    with pytest.raises(ValueError, match="has 12 rows; long takes the last 20"):
        write_last_rows(DataSet("long", source, {}, last_rows=20), tmp_path / "series")


def scored_variant(mae, naive=2.0, seasonal=4.0, calendar=4.0, statistical=None, best=None):
    """A variant's result as backtest_variant returns it, with only what the tables and criteria read."""
    from benchmarks.backtests import best_reference, ratios

    metrics = {"lstm": {"mae": mae}, "ridge": {"mae": mae + 1}, "naive": {"mae": naive},
               "seasonal_naive": {"mae": seasonal}}
    found = {"calendar_season": 7, "seasonal_naive": {"mae": calendar}, "not_run": None,
             "references": {name: {"mae": value, "seconds": 1.5, "fit_rows": [0, 10], "note": "n"}
                            for name, value in (statistical or {}).items()}}
    scored = {"model": "lstm", "mae": mae, "metrics": metrics, "references": found, "target": "y",
              "frequency": "D", "time_steps": 21, "horizon": 7, "origins": 5, "flags": "",
              "season_length": 7, "scaling": "window", "train_seconds": 12.0}
    scored["best_reference"] = best_reference(metrics, found)
    if best is not None:
        scored["best"] = {"mae": best, "expected": best}
    scored["ratios"] = {name: ratios(value["mae"], scored) for name, value in metrics.items()}
    return scored


def test_the_criteria_count_a_refused_training_as_failed():
    results = [
        {"data_set": "random-walk", "kind": "generated", "variants": {
            "default": scored_variant(2.0, naive=2.0, best=2.0, statistical={"AutoETS": 1.9})}},
        {"data_set": "elnino", "kind": "bundled", "variants": {
            "default": scored_variant(1.0, statistical={"AutoETS": 1.2, "AutoARIMA": 0.8})}},
        {"data_set": "us-electricity-4y", "kind": "bundled", "variants": {
            "default": {"failed": "validation split has 7 rows, fewer than the horizon (12)"}}},
    ]
    criteria = judge(results, ["default"])["default"]
    assert criteria["failed"] == ["us-electricity-4y"]
    assert criteria["vs_best_reference"] == pytest.approx({"random-walk": 2.0 / 1.9, "elnino": 1.0 / 0.8})
    assert criteria["geometric_mean_vs_seasonal_naive"] == pytest.approx(math.sqrt(0.5 * 0.25))
    assert criteria["geometric_mean_original"] == pytest.approx(math.sqrt(0.5 * 0.25))
    assert criteria["goals_met"] == {
        "within_reference": False, "best_achievable": True, "random_walk": True,
        "geometric_mean": False, "geometric_mean_original": True, "beats_classic_everywhere": None}

    table = criteria_table(judge(results, ["default"]), {"default": {}})
    assert "| elnino 1.250, us-electricity-4y (failed) |" in table
    assert "0.354 over 2 series | **not met** | us-electricity-4y (failed) |" in table

    markdown = markdown_table(results, ["default"])
    failed = next(line for line in markdown.splitlines() if line.startswith("| us-electricity-4y"))
    assert "| default | failed |" in failed
    assert failed.endswith("| failed: validation split has 7 rows, fewer than the horizon (12) |")
    elnino = [line for line in markdown.splitlines() if "AutoARIMA" in line][0]
    assert "| AutoARIMA | **0.8** |" in elnino and "| 1.5 | n; fitted on rows 0-9 |" in elnino


def test_a_refused_training_is_a_failed_row_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    import benchmarks.backtests as backtests

    def backtest_variant(data_set, csv, variant, overrides, plan):
        if data_set.name == "us-electricity-4y":
            assert csv == tmp_path / "reports" / "series" / "us-electricity-4y.csv"
            raise UserError("validation split has 7 rows, fewer than the horizon (12)")
        return scored_variant(1.0, statistical={"AutoETS": 1.1})

    monkeypatch.setattr(backtests, "backtest_variant", backtest_variant)
    status = main(["--only", "us-electricity-4y", "--only", "elnino", "--variant", "default",
                   "--output-dir", str(tmp_path / "reports"), "--models-dir", str(tmp_path / "models")])
    assert status == 0
    assert "    failed: validation split has 7 rows" in capsys.readouterr().out
    summary = json.loads((tmp_path / "reports" / "backtests.json").read_text(encoding="utf-8"))
    assert [result["data_set"] for result in summary["data_sets"]] == ["elnino", "us-electricity-4y"]
    assert summary["data_sets"][1]["variants"]["default"] == {
        "failed": "validation split has 7 rows, fewer than the horizon (12)"}
    assert summary["data_sets"][1]["source"] == "the last 48 rows of data/us-electricity-monthly.csv"
    assert summary["criteria"]["default"]["goals_met"]["within_reference"] is False
    written = (tmp_path / "reports" / "series" / "us-electricity-4y.csv").read_text(encoding="utf-8")
    assert written.splitlines()[1] == "2009-07-01,372.542" and len(written.splitlines()) == 49


def test_the_explain_benchmark_measures_the_share_on_the_expected_cells():
    from types import SimpleNamespace

    import pandas as pd

    from benchmarks.explain import generated, shares

    frame, flags = generated("promotions")
    assert list(frame.columns) == ["day", "value", "promo"] and flags == ["--future", "promo"]
    times = pd.date_range("2024-01-01", periods=14, freq="D")  # Monday 1 January
    attributions = np.zeros((2, 14, 1))
    attributions[0, -1, 0], attributions[0, 0, 0] = 3.0, 1.0  # step 1: 3 of 4 on the last row
    attributions[1, -1, 0] = 2.0
    fake = SimpleNamespace(attributions=attributions, times=times,
                           forecast_times=times[-2:] + pd.Timedelta("14D"),
                           ahead_attributions=np.eye(2)[:, :, None])
    assert shares("ar1", fake) == pytest.approx((0.75 + 1.0) / 2)
    # the forecast days are Saturday 27 and Sunday 28 January: rows 5 and 6, 12 and 13 share them
    assert shares("weekly", fake) == pytest.approx((0.0 + 1.0) / 2)
    assert shares("promotions", fake) == 1.0
