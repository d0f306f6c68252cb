"""train(): splits by time, statistics from the training rows, representation chosen on validation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.config import Settings, load_config
from forecaster.data import Splits, read_panel, time_splits
from forecaster.errors import UserError
from forecaster.estimator import (
    Candidate,
    Forecaster,
    _combine,
    _halves,
    _mae,
    _relative,
    _scores,
    _widened,
)
from forecaster.models import RIDGE_MODEL
from forecaster.scaling import seasonal_mae_scale
from forecaster.training import _notes, train
from tests.conftest import write_hourly_csv

pytestmark = pytest.mark.slow


def test_auto_keeps_the_candidates_within_five_percent_of_the_best_on_validation(trained, hourly_csv):
    from forecaster.data import read_panel
    from forecaster.evaluation import backtest, mean_absolute_error

    run, _ = trained
    networks = {"change", "window", "global"}
    assert set(run.candidates) == networks | {f"ridge({name})" for name in networks} | {
        "naive", "seasonal_naive", "seasonal_mean", "ridge(seasonal)"}
    kept = run.scaling.split("+")
    assert run.members == {}  # no --ensemble
    model = load_bundle(run.model_dir)
    assert model.scaling == run.scaling and len(model.members_) == len(kept)
    # The validation MAE that chose it is that of the forecast the bundle makes, origin by origin:
    # every origin whose 6 steps lie in the validation rows 336..407 of 480.
    panel = read_panel(hourly_csv, schema=model.schema_)
    origins = np.column_stack([np.zeros(67, dtype=np.int64), np.arange(336, 403)])
    assert run.model.report_["validation_origins"] == len(origins)
    result = backtest(model, panel, origins)
    assert mean_absolute_error(result.truth, result.forecasts["lstm"]) == pytest.approx(
        run.val_mae, rel=1e-5)
    # ... and each member's own MAE is that of its forecast alone.
    alone = [model.predict(panel, origins, members=[member]) for member in model.members_]
    for label, forecasts in zip(kept, alone, strict=True):
        assert mean_absolute_error(result.truth, forecasts) == pytest.approx(run.candidates[label], rel=1e-5)
    # The members were chosen on every other block of 6 validation origins (the intervals are
    # calibrated on the others; this model has no earlier folds): kept are those whose error there
    # is within 5% of the best one's, networks first.
    found = run.model.report_
    choose, calibrate = _halves(origins, found["splits"], 6)
    assert choose[:6].all() and calibrate[6:12].all() and found["choosing_origins"] == choose.sum()
    for label, forecasts in zip(kept, alone, strict=True):
        assert mean_absolute_error(result.truth[choose], forecasts[choose]) == pytest.approx(
            found["choosing_scores"][label] * model.scale_[0], rel=1e-5)
    assert found["folds"] == [] and found["choice"] == _relative([found["choosing_scores"]])
    choice = found["choice"]
    assert set(kept) == {label for label, score in choice.items() if score <= min(choice.values()) * 1.05}
    is_network = [label in networks for label in kept]
    assert is_network == sorted(is_network, reverse=True)


def candidate(name: str, errors, ridge: bool = False, baseline: str | None = None) -> Candidate:
    """A candidate of representation `name` (a network, its ridge, or a baseline) with validation
    `errors`."""
    network = SimpleNamespace(representation=SimpleNamespace(scaling=name))
    model = SimpleNamespace(name=f"{baseline}_forecaster" if baseline else
                            RIDGE_MODEL if ridge else "lstm_forecaster")
    return Candidate(network, model, np.asarray(errors, dtype="float64"))


def combine(candidates, unit=None, choose=None) -> list[Candidate]:
    """`_combine` with every origin's series of scale 1 (`unit`) and chosen on every origin."""
    origins = len(candidates[0].errors)
    unit = np.ones(origins) if unit is None else np.asarray(unit)
    return _combine(candidates, _relative([_scores(candidates, unit, choose)]))


def mean_error(kept) -> float:
    """The MAE of the members' mean forecast: the mean of their errors."""
    return _mae(np.mean([c.errors for c in kept], axis=0))


def test_combine_averages_every_candidate_within_five_percent_of_the_best_and_drops_the_rest():
    best, close, far = (candidate("change", [[1.0, 2.0], [1.0, np.nan]]),
                        candidate("window", [[-1.0, -2.1], [-1.0, np.nan]]),  # 1.033: within 5%
                        candidate("global", [[1.1, 2.1], [1.1, np.nan]]))  # 1.1: 10% worse
    kept = combine([far, close, best])
    assert [c.network.representation.scaling for c in kept] == ["change", "window"]  # best first
    assert mean_error(kept) == pytest.approx(0.1 / 6)


def test_combine_keeps_one_model_when_the_others_are_more_than_five_percent_worse():
    one, two = candidate("window", [[1.0, -1.0]]), candidate("change", [[1.06, 1.06]])
    assert [c.label for c in combine([two, one])] == ["window"]
    one, two = candidate("window", [[1.0, 1.0]]), candidate("change", [[1.0, 1.0]])
    assert [c.label for c in combine([two, one])] == ["change", "window"]  # equal: both, in order


def test_relative_scores_average_each_part_over_its_best_and_skip_what_a_part_lacks():
    validation = {"change": 2.0, "window": 1.0, "ridge(change)": np.nan}
    folds = [{"change": 3.0, "window": 6.0, "seasonal_mean": 1.0},  # not a candidate: ignored
             {"window": 4.0, "ridge(change)": 8.0}]  # change not fitted there
    scores = _relative([validation, *folds])
    assert scores["change"] == pytest.approx((2.0 + 3.0) / 2)  # 2 x the best; 3 x the best (1.0)
    assert scores["window"] == pytest.approx((1.0 + 6.0 + 1.0) / 3)
    assert scores["ridge(change)"] == pytest.approx(2.0)  # NaN on validation: the fold alone
    assert _relative([{"naive": 0.0, "change": 1.0}]) == {"naive": 1.0, "change": np.inf}
    assert np.isnan(_relative([{"change": np.nan}])["change"])


def test_earlier_folds_are_stretches_of_the_validation_length_until_too_few_rows_remain(
        tmp_path, monkeypatch):
    from forecaster import estimator

    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=100, start="2021-01-01")
    panel = read_panel(csv)
    asked, refuse_before = [], [None]

    def fit(self, panel, verbose=0, share=None):
        asked.append((self.settings.val_start, self.settings.test_start, self.settings.choice_folds))
        if refuse_before[0] and pd.Timestamp(self.settings.val_start) < refuse_before[0]:
            raise UserError("the training split is too short")
        self.report_ = {"spans": {"validation": [self.settings.val_start, "b"]},
                        "validation_origins": 7, "candidates_mase": {"change": 1.0}}
        return self

    monkeypatch.setattr(estimator.Forecaster, "fit", fit)
    model = Forecaster(Settings(choice_folds=4))
    model.settings_ = Settings(time_steps=4, horizon=2, choice_folds=4)
    splits = time_splits(panel, 0.2, 0.1)  # validation: rows 70-89
    assert (splits.val_start.tolist(), splits.test_start.tolist()) == ([70], [90])
    folds = model._earlier_folds(panel, splits, verbose=0)
    stretches = [("2021-01-03 02:00:00", "2021-01-03 22:00:00", 0),  # rows 50-69
                 ("2021-01-02 06:00:00", "2021-01-03 02:00:00", 0),  # rows 30-49
                 ("2021-01-01 10:00:00", "2021-01-02 06:00:00", 0)]  # rows 10-29; none before row 1
    assert asked == stretches
    assert folds[0] == {"span": [stretches[0][0], "b"], "origins": 7, "scores": {"change": 1.0}}
    assert len(folds) == 3
    asked.clear()
    refuse_before[0] = pd.Timestamp("2021-01-02")  # the third's training rows too few: it stops there
    assert len(model._earlier_folds(panel, splits, verbose=0)) == 2 and asked == stretches


def test_candidates_are_scored_on_the_validation_windows_every_network_can_forecast():
    # A short file whose representations need different histories: every candidate is scored on
    # the same origins (from the longest history on), so their errors can be averaged.
    model = Forecaster(Settings())
    model.settings_ = Settings(time_steps=4, horizon=2)
    networks = [SimpleNamespace(representation=SimpleNamespace(first_origin=lambda rows=rows: rows))
                for rows in (5, 12)]
    splits = Splits(pd.Timestamp("2021-01-01"), pd.Timestamp("2021-01-02"), val_start=np.array([10, 8]),
                    test_start=np.array([20, 15]))
    at = model._validation_origins(SimpleNamespace(source="short.csv"), splits, networks)
    assert at.tolist() == [[0, row] for row in range(12, 19)] + [[1, 12], [1, 13]]
    short = Splits(splits.val_time, splits.test_time, np.array([10]), np.array([13]))
    with pytest.raises(UserError, match="validation split of short.csv holds no complete window"):
        model._validation_origins(SimpleNamespace(source="short.csv"), short, networks)


def test_combine_weighs_each_series_by_its_scale():
    # Errors of 100 on a series of scale 100 count as much as errors of 1 on a series of scale 1.
    large, small = candidate("change", [[100.0], [0.0]]), candidate("window", [[0.0], [2.0]])
    assert [c.label for c in combine([large, small])] == ["window"]  # MAE 1 against 50
    assert [c.label for c in combine([large, small], unit=[100.0, 1.0])] == ["change"]  # 0.5 against 1


def test_combine_chooses_on_the_origins_it_is_given():
    first, second = candidate("change", [[1.0], [9.0]]), candidate("window", [[2.0], [0.0]])
    assert [c.label for c in combine([first, second])] == ["window"]
    assert [c.label for c in combine([first, second], choose=np.array([True, False]))] == ["change"]


def test_combine_keeps_a_ridge_alone_when_it_errs_clearly_least_and_networks_first_otherwise():
    network, ridge = candidate("change", [[1.0], [1.0]]), candidate("change", [[0.1], [0.1]], ridge=True)
    kept = combine([network, ridge])
    assert [c.label for c in kept] == ["ridge(change)"]
    close = candidate("window", [[0.104], [-0.104]])
    kept = combine([ridge, close, network])
    assert [c.label for c in kept] == ["window", "ridge(change)"]  # a network first, then the rest


def test_splits_are_ordered_disjoint_and_cover_the_file(trained, hourly_csv):
    run, _ = trained
    splits = load_bundle(run.model_dir).metadata_["splits"]
    times = pd.to_datetime(pd.read_csv(hourly_csv)["time"])
    train_span, val_span, test_span = (pd.to_datetime(splits[k]) for k in ("train", "validation", "test"))
    assert train_span[0] == times.iloc[0] and test_span[1] == times.iloc[-1]
    assert train_span[1] < val_span[0] and val_span[1] < test_span[0]
    # 480 rows: 72 for test, 72 for validation, 336 for training.
    assert train_span[1] == times.iloc[335] and val_span[0] == times.iloc[336]
    assert test_span[0] == times.iloc[408]


def test_scaling_statistics_come_from_the_training_rows_only(tmp_path):
    csv = tmp_path / "load.csv"
    frame = write_hourly_csv(csv, rows=240)
    frame.loc[168:, "load"] += 1000.0  # validation and test rows: far above anything in training
    frame.to_csv(csv, index=False)
    settings = load_config(overrides={"csv": str(csv), "time_steps": 12, "horizon": 3, "epochs": 1,
                                      "scaling": "global", "model_dir": str(tmp_path / "m")})
    run = train(settings, verbose=0)
    model = load_bundle(run.model_dir)
    representation = model.members_[0][1]
    training_rows = frame["load"].to_numpy()[:168]
    assert representation.mean_.shape == representation.scale_.shape == (1, 1)  # (series, columns)
    assert representation.mean_[0, 0] == pytest.approx(training_rows.mean())
    assert representation.scale_[0, 0] == pytest.approx(training_rows.std())
    assert representation.level_.tolist() == [pytest.approx(training_rows.mean())]
    assert model.train_mean_.tolist() == [pytest.approx(training_rows.mean())]
    assert model.scale_.tolist() == [pytest.approx(seasonal_mae_scale(training_rows, 24))]


def test_explicit_window_too_long_for_the_file_says_which_flag_to_change(tmp_path):
    csv = tmp_path / "short.csv"
    write_hourly_csv(csv, rows=60)
    settings = load_config(overrides={"csv": str(csv), "time_steps": 50, "horizon": 24})
    with pytest.raises(UserError, match=r"has 60 rows; one window needs time_steps \+ horizon = 74"):
        train(settings, verbose=0)


def test_an_explicit_validation_split_shorter_than_the_horizon_is_refused(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=100)
    settings = load_config(overrides={"csv": str(csv), "time_steps": 10, "horizon": 20,
                                      "val_start": "2021-03-03 12:00", "test_start": "2021-03-03 22:00"})
    with pytest.raises(UserError, match="validation split .* has 10 rows, fewer than the horizon of 20"):
        train(settings, verbose=0)


def test_splits_by_fraction_shorter_than_the_horizon_are_widened_to_one_horizon(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=100)
    panel = read_panel(csv)
    settings = Settings(horizon=20, val_fraction=0.1, test_fraction=0.15)
    splits, taken = _widened(panel, time_splits(panel, 0.1, 0.15), settings)
    assert (splits.val_start.tolist(), splits.test_start.tolist(), taken) == ([60], [80], 15)
    unchanged = time_splits(panel, 0.3, 0.3)
    assert _widened(panel, unchanged, Settings(horizon=20))[1] == 0
    no_test, taken = _widened(panel, time_splits(panel, 0.1, 0.0), Settings(horizon=20, test_fraction=0.0))
    assert (no_test.val_start.tolist(), no_test.test_start.tolist(), taken) == ([80], [100], 10)


def test_combine_keeps_a_baseline_alone_or_beside_the_models_that_do_as_well():
    seasonal = candidate("change", [[0.2], [0.2]], baseline="seasonal_naive")
    network = candidate("window", [[1.0], [-0.6]])
    ridge = candidate("window", [[0.3], [0.3]], ridge=True)
    assert [c.label for c in combine([seasonal, network, ridge])] == ["seasonal_naive"]
    good = candidate("global", [[-0.2], [-0.205]])
    assert [c.label for c in combine([seasonal, good, ridge])] == ["global", "seasonal_naive"]


@pytest.mark.slow
def test_four_years_of_monthly_data_train_with_a_twelve_month_horizon(tmp_path):
    months = np.arange(48)
    values = (100 + months) * (1 + 0.2 * np.sin(2 * np.pi * months / 12))
    csv = tmp_path / "sales.csv"
    pd.DataFrame({"month": pd.date_range("2019-01-01", periods=48, freq="MS").strftime("%Y-%m"),
                  "sales": values.round(2)}).to_csv(csv, index=False)
    settings = load_config(overrides={"csv": str(csv), "horizon": 12, "epochs": 2, "units": 4,
                                      "model_dir": str(tmp_path / "m")})
    run = train(settings, verbose=0)
    assert run.horizon == 12 and run.seasons == "12 steps (the frequency's; too few cycles to test)"
    assert any("widened to at least one horizon (12 rows), taking 10 rows" in n for n in run.notes)
    assert any("holds only 1 forecast origin" in n for n in run.notes)
    spans = run.model.report_["spans"]
    assert spans["validation"][0].startswith("2021-01") and spans["test"][0].startswith("2022-01")
    from forecaster.evaluation import evaluate

    report = evaluate(run.model_dir, output_dir=tmp_path / "report").report
    assert report["origins"] == 1 and report["horizon"] == 12


def test_same_seed_same_model(tmp_path, hourly_csv):
    def forecast_after_training(name):
        settings = load_config(overrides={"csv": str(hourly_csv), "time_steps": 12, "horizon": 2,
                                          "epochs": 1, "scaling": "change",
                                          "model_dir": str(tmp_path / name)})
        return train(settings, verbose=0).val_mae

    assert forecast_after_training("a") == forecast_after_training("b")
    assert np.isfinite(forecast_after_training("a"))


def test_ensemble_forecasts_the_median_of_models_from_consecutive_seeds(tmp_path, hourly_csv):
    from forecaster.forecasting import forecast
    from forecaster.models import ensemble_members

    def settings(name, **more):
        return load_config(overrides={"csv": str(hourly_csv), "time_steps": 12, "horizon": 3,
                                      "epochs": 1, "scaling": "change", "model_dir": str(tmp_path / name),
                                      **more})

    runs = {seed: train(settings(f"seed{seed}", seed=seed), verbose=0) for seed in (42, 43, 44)}
    run = train(settings("ensemble", ensemble=3), verbose=0)
    assert run.members == {"change": [runs[seed].val_mae for seed in (42, 43, 44)]}
    model = load_bundle(run.model_dir, engine="keras")
    assert len(model.members_) == 1 and len(ensemble_members(model.members_[0][0])) == 3
    assert model.metadata_["member_val_mae"] == run.members
    singles = np.stack([forecast(load_bundle(runs[seed].model_dir), hourly_csv).values
                        for seed in (42, 43, 44)])
    assert singles.shape == (3, 1, 3)
    np.testing.assert_allclose(forecast(model, hourly_csv).values, np.median(singles, axis=0),
                               rtol=0, atol=1e-4)


def test_an_epoch_reads_at_most_a_million_window_steps():
    from forecaster.fitting import MAX_SCORED_ORIGINS, WINDOW_STEPS_PER_EPOCH, epoch_budget

    assert WINDOW_STEPS_PER_EPOCH == 1_000_000
    assert epoch_budget(72, 64) == (217, 13_888)  # 13,888 windows of 72 steps: 217 batches of 64
    assert epoch_budget(336, 64) == (47, 2_976)  # a two-week half-hourly window: a fifth as many
    assert epoch_budget(8, 64)[1] == MAX_SCORED_ORIGINS  # validation stays capped as before
    assert epoch_budget(5000, 64) == (4, 1000)  # however long the window, a batch and 1000 to score


def weekly_hourly_csv(path, weeks: int = 10, seed: int = 0):
    """Hourly load whose days differ between weekdays and weekends (a weekly cycle) plus AR(1)
    noise, columns `time` and `load`, written to `path`."""
    rng = np.random.default_rng(seed)
    hours = np.arange(weeks * 168)
    weekend = (hours // 24) % 7 >= 5
    noise = np.zeros(len(hours))
    for t in range(1, len(hours)):
        noise[t] = 0.7 * noise[t - 1] + rng.normal()
    load = np.where(weekend, 85, 100) + np.where(weekend, 8, 20) * np.cos(2 * np.pi * (hours % 24 - 14) / 24)
    pd.DataFrame({"time": pd.date_range("2021-01-04", periods=len(hours), freq="h").strftime(
        "%Y-%m-%d %H:%M"), "load": (load + noise).round(3)}).to_csv(path, index=False)


def test_auto_weighs_the_mean_of_the_last_weeks_and_a_ridge_on_it(tmp_path):
    csv = tmp_path / "load.csv"
    weekly_hourly_csv(csv)
    settings = load_config(overrides={"csv": str(csv), "epochs": 1, "units": 4, "horizon": 24,
                                      "model_dir": str(tmp_path / "m")})
    run = train(settings, verbose=0)
    assert run.model.seasons_.periods == (24, 168)
    assert {"seasonal_mean", "ridge(seasonal)"} <= set(run.candidates)
    # the mean of the last weeks' same hour errs less than last week's same hour alone
    assert run.candidates["seasonal_mean"] < run.candidates["seasonal_naive"]


def test_a_network_on_the_seasonal_representation_is_saved_and_forecasts_the_same_loaded(tmp_path):
    from forecaster.data import read_panel

    csv = tmp_path / "load.csv"
    weekly_hourly_csv(csv)
    settings = load_config(overrides={"csv": str(csv), "epochs": 1, "units": 4, "horizon": 24,
                                      "scaling": "seasonal", "model_dir": str(tmp_path / "m")})
    run = train(settings, verbose=0)
    assert run.scaling == "seasonal"
    representation = run.model.members_[0][1]
    # 1176 training rows: 4 weeks before a window of 168 + 24 hours leave a quarter for windows
    assert (representation.season, representation.cycles_) == (168, 4)
    assert representation.first_origin() == representation.first_training_origin() == 168 + 4 * 168
    panel = read_panel(csv)
    origins = np.array([[0, 1500], [0, 1650]])
    expected = run.model.predict(panel, origins)
    for engine in ("keras", "numpy"):
        loaded = load_bundle(run.model_dir, engine=engine)
        np.testing.assert_allclose(loaded.predict(panel, origins), expected, rtol=1e-5, atol=1e-4)


def test_train_says_why_the_lowest_score_shown_is_not_kept():
    report = {"widened": 0, "skipped": [], "left_out": [], "validation_origins": 44,
              "choosing_origins": 22, "candidates": {"change": 2.322, "ridge(global)": 2.308},
              "candidates_mase": {}}
    model = SimpleNamespace(report_=report, ids_=["count"], scaling="change",
                            seasons_=SimpleNamespace(periods=(11,)),
                            settings_=SimpleNamespace(time_steps=33, horizon=1))
    panel = SimpleNamespace(schema=SimpleNamespace(frequency="YS-JAN"), left_out=[], empty_rows=0,
                            source="years.csv", lengths=np.array([290]))
    settings = SimpleNamespace(time_steps=33, horizon=1)
    assert _notes(settings, panel, model) == [
        "ridge(global) scores lowest in the line below but is not kept: the members are chosen on "
        "22 of the 44 validation origins (every other block of 1; the others calibrate the "
        "intervals), and the scores shown are over all 44 validation origins."]
    model.scaling = "change+ridge(global)"  # kept: nothing to explain
    assert _notes(settings, panel, model) == []
    model.scaling, report["choosing_origins"] = "change", 44  # chosen on every origin shown
    assert _notes(settings, panel, model) == []
    report["folds"] = [{"span": ["1860-01-01T00:00:00", "1902-01-01T00:00:00"], "origins": 43}]
    assert _notes(settings, panel, model) == [
        "the validation split gives only 44 origins to choose on, so every candidate was also "
        "trained on the rows before 1 earlier stretch of its length and scored there (1860-01-01 "
        "to 1902-01-01; 43 origins); the members are chosen on all of them.",
        "ridge(global) scores lowest in the line below but is not kept: the members are chosen on "
        "the 44 validation origins and the earlier stretches above, and the scores shown are over "
        "all 44 validation origins."]
    model.scaling = "ridge(global)"  # no network kept: chosen on the folds too
    assert ("the forecast is ridge(global): on the validation split and the earlier stretches no "
            "network did within 5% as well; the networks' scores are in the line below.") in _notes(
        settings, panel, model)
