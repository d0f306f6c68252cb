"""train(): splits by time, statistics from the training rows, representation chosen on validation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecaster.artifacts import load_bundle
from forecaster.config import load_config
from forecaster.errors import UserError
from forecaster.training import _combine, _mean_errors, train
from tests.conftest import write_hourly_csv

pytestmark = pytest.mark.slow


def test_auto_keeps_the_representations_whose_mean_validates_best(trained, hourly_csv):
    from forecaster.data import read_series
    from forecaster.evaluation import backtest, mean_absolute_error
    from forecaster.windows import split_origins

    run, _ = trained
    networks = {"change", "window", "global"}
    assert set(run.candidates) == networks | {f"ridge({name})" for name in networks}
    kept = run.scaling.split("+")
    best = min(networks, key=run.candidates.get)
    assert kept[0] == best  # the best network first
    assert run.val_mae <= run.candidates[best] and run.members == {}  # no --ensemble
    bundle = load_bundle(run.model_dir)
    assert bundle.scaling == run.scaling and len(bundle.members) == len(kept)
    # The validation MAE that chose it is that of the forecast the bundle makes, origin by origin.
    series = read_series(hourly_csv, schema=bundle.schema)
    origins = split_origins(480, 6, 336, 408, 48)["validation"]
    result = backtest(bundle, series, origins)
    assert mean_absolute_error(result.truth, result.forecasts["lstm"]) == pytest.approx(
        run.val_mae, rel=1e-5)


def candidate(name: str, errors, ridge: bool = False) -> SimpleNamespace:
    errors = np.asarray(errors, dtype="float64")
    return SimpleNamespace(representation=SimpleNamespace(scaling=name), val_errors=errors,
                           val_mae=float(np.nanmean(np.abs(errors))), ridge=ridge,
                           label=f"ridge({name})" if ridge else name)


def test_combine_averages_the_models_that_err_in_opposite_directions_and_drops_a_poor_one():
    high, low, poor = (candidate("change", [[1.0, 2.0], [1.0, np.nan]]),
                       candidate("window", [[-1.2, -2.0], [-1.0, np.nan]]),
                       candidate("global", [[9.0, 9.0], [9.0, np.nan]]))
    kept = _combine([poor, low, high])
    assert [c.representation.scaling for c in kept] == ["change", "window"]  # best single first
    assert _mean_errors(kept)[0] == pytest.approx(0.1 / 3)


def test_combine_keeps_one_model_when_averaging_does_not_help():
    one, two = candidate("window", [[1.0, 1.0]]), candidate("change", [[1.0, 1.0]])
    assert [c.representation.scaling for c in _combine([two, one])] == ["change"]  # equal: first
    one, two = candidate("window", [[1.0, -1.0]]), candidate("change", [[2.0, 2.0]])
    assert [c.representation.scaling for c in _combine([two, one])] == ["window"]


def test_combine_does_not_average_models_scored_on_different_windows():
    kept = _combine([candidate("change", [[1.0], [1.0]]), candidate("window", [[-1.5]]),
                     candidate("change", [[0.1], [0.1]], ridge=True)])
    assert [c.label for c in kept] == ["change"]  # the best network, never a ridge alone


def test_combine_keeps_a_network_first_and_never_a_ridge_alone():
    network = candidate("window", [[1.0, 1.0], [1.0, 1.0]])
    better_ridge = candidate("window", [[0.5, 0.5], [0.5, 0.5]], ridge=True)
    opposite_ridge = candidate("global", [[-1.0, -1.0], [-0.8, -1.0]], ridge=True)
    kept = _combine([better_ridge, opposite_ridge, network])
    # The ridge that errs least (0.5) is never kept alone; the network's mean with the ridge that
    # errs the other way errs least of every subset holding the network, the network first ...
    assert [c.label for c in kept] == ["window", "ridge(global)"]
    assert _mean_errors(kept)[0] == pytest.approx(0.1 / 4)  # one cell of four errs (1 - 0.8) / 2
    # ... and a ridge that only drags the mean down is left out.
    poor_ridge = candidate("change", [[9.0, 9.0], [9.0, 9.0]], ridge=True)
    assert [c.label for c in _combine([poor_ridge, network])] == ["window"]


def test_splits_are_ordered_disjoint_and_cover_the_file(trained, hourly_csv):
    run, _ = trained
    splits = load_bundle(run.model_dir).metadata["splits"]
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
    representation = load_bundle(run.model_dir).representation
    training_rows = frame["load"].to_numpy()[:168]
    assert representation.inputs_.mean_[0] == pytest.approx(training_rows.mean())
    assert representation.inputs_.scale_[0] == pytest.approx(training_rows.std())
    assert representation.target_.mean_ == pytest.approx(training_rows.mean())


def test_explicit_window_too_long_for_the_file_says_which_flag_to_change(tmp_path):
    csv = tmp_path / "short.csv"
    write_hourly_csv(csv, rows=60)
    settings = load_config(overrides={"csv": str(csv), "time_steps": 50, "horizon": 24})
    with pytest.raises(UserError, match=r"has 60 rows; one window needs time_steps \+ horizon = 74"):
        train(settings, verbose=0)


def test_validation_split_shorter_than_the_horizon_is_refused(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=100)
    settings = load_config(overrides={"csv": str(csv), "time_steps": 10, "horizon": 20,
                                      "val_fraction": 0.1})
    with pytest.raises(UserError, match="validation split .* has 10 rows, fewer than the horizon of 20"):
        train(settings, verbose=0)


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
    bundle = load_bundle(run.model_dir, engine="keras")
    assert len(ensemble_members(bundle.model)) == 3
    assert bundle.metadata["member_val_mae"] == run.members
    singles = np.stack([forecast(load_bundle(runs[seed].model_dir), hourly_csv).values
                        for seed in (42, 43, 44)])
    np.testing.assert_allclose(forecast(bundle, hourly_csv).values, np.median(singles, axis=0),
                               rtol=0, atol=1e-4)
