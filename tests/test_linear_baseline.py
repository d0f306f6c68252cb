"""The ridge baseline: scikit-learn's Ridge, solved from sums so that long series stream through it;
its penalty and the steps it reads chosen on held-out training windows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from forecaster.models import RIDGE_PENALTIES, LinearBaseline, RidgeSums, member_label, ridge_model


def test_ridge_from_batches_equals_scikit_learn_ridge_on_all_rows():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(500, 12, 2)) * 3 + 5
    targets = rng.normal(size=(500, 4)) + inputs[:, -1, :1]
    expected = Ridge(alpha=1.0).fit(inputs.reshape(500, -1), targets)
    whole = LinearBaseline().fit(inputs, targets)
    batched = LinearBaseline().fit_batches(
        (inputs[i:i + 64], targets[i:i + 64]) for i in range(0, 500, 64))
    for fitted in (whole, batched):
        np.testing.assert_allclose(fitted.coef_, expected.coef_, atol=1e-10)
        np.testing.assert_allclose(fitted.intercept_, expected.intercept_, atol=1e-10)
    np.testing.assert_allclose(batched.predict(inputs), expected.predict(inputs.reshape(500, -1)),
                               atol=1e-9)


def test_round_trip_through_a_dict():
    fitted = LinearBaseline(alpha=0.5).fit(np.arange(24.0).reshape(4, 3, 2), np.arange(8.0).reshape(4, 2))
    again = LinearBaseline.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.coef_, fitted.coef_)
    assert again.alpha == 0.5


def test_the_ridge_as_a_keras_model_forecasts_as_the_ridge_does():
    rng = np.random.default_rng(2)
    inputs = rng.normal(size=(50, 6, 3))
    fitted = LinearBaseline().fit(inputs, inputs[:, -2:, 0] * 2 + 1)
    model = ridge_model(fitted, time_steps=6, features=3)
    np.testing.assert_allclose(model.predict_on_batch(inputs.astype("float32")),
                               fitted.predict(inputs), rtol=1e-5, atol=1e-5)
    assert member_label(model, "window") == "ridge(window)"


def _ar2_windows(rows: int, time_steps: int, seed: int):
    """Windows of an AR(2) with an 11-step cycle (the value two steps back matters, the rest not)
    and the next value after each."""
    rng = np.random.default_rng(seed)
    x = np.zeros(rows + 100)
    for t in range(2, len(x)):
        x[t] = 1.514 * x[t - 1] - 0.81 * x[t - 2] + rng.normal()
    x = x[100:]
    windows = np.stack([x[i:i + time_steps] for i in range(rows - time_steps)])[..., None]
    return windows, x[time_steps:, None]


def test_a_tuned_ridge_reads_the_lags_that_matter_and_forecasts_better_than_the_plain_fit():
    inputs, targets = _ar2_windows(200, 33, seed=3)
    early, gap, late = ((inputs[:120], targets[:120]), (inputs[120:121], targets[120:121]),
                        (inputs[121:], targets[121:]))
    tuned = LinearBaseline().fit_tuned([([early], [gap]), ([late], [])], scored=[1])
    plain = LinearBaseline().fit(inputs, targets)
    assert tuned.steps is not None and tuned.steps <= 8  # of 33
    assert np.all(tuned.coef_[:, :33 - tuned.steps] == 0)  # the steps it does not read
    new_inputs, new_targets = _ar2_windows(2000, 33, seed=4)
    tuned_error = np.mean((tuned.predict(new_inputs) - new_targets) ** 2)
    plain_error = np.mean((plain.predict(new_inputs) - new_targets) ** 2)
    assert tuned_error < plain_error
    # refitted on every window: the same as a plain fit of the chosen steps and penalty
    again = LinearBaseline(tuned.alpha, tuned.steps).fit(inputs, targets)
    np.testing.assert_allclose(again.coef_, tuned.coef_, atol=1e-10)


def test_a_tuned_ridge_without_held_out_windows_is_the_plain_fit():
    inputs, targets = _ar2_windows(60, 10, seed=5)
    tuned = LinearBaseline().fit_tuned([([(inputs, targets)], [])], scored=[])
    np.testing.assert_allclose(tuned.coef_, LinearBaseline().fit(inputs, targets).coef_)
    assert tuned.steps is None and tuned.alpha == 1.0


def test_the_held_out_error_from_sums_is_the_error_of_the_forecasts():
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(200, 5, 2)) + 3, rng.normal(size=(200, 3))
    targets += inputs[:, -1, :1] * 2
    first, second = RidgeSums().add(inputs[:150], targets[:150]), RidgeSums().add(inputs[150:], targets[150:])
    used = slice(4, 10)
    mean, target_mean, gram, cross = first.centred(used)
    coef = np.linalg.solve(gram + 0.5 * np.eye(6), cross)
    forecasts = inputs[150:].reshape(50, -1)[:, used] @ coef + (target_mean - mean @ coef)
    assert second.squared_error(used, coef, mean, target_mean) == pytest.approx(
        np.sum((targets[150:] - forecasts) ** 2), rel=1e-10)


def test_every_block_held_out_in_turn_chooses_what_refitting_on_the_others_would():
    """The choice from sums equals the brute-force one: for each pair of steps and penalty, a ridge
    refitted on the other blocks less the tails beside the held-out body, scored on the body."""
    inputs, targets = _ar2_windows(120, 12, seed=8)
    cuts = [0, 28, 30, 58, 60, 88, 90]  # body, tail, body, tail, body, tail, body (to 108)
    parts = [(inputs[a:b], targets[a:b]) for a, b in zip(cuts, [*cuts[1:], len(inputs)], strict=True)]
    blocks = [([parts[i]], [parts[i + 1]] if i + 1 < len(parts) else []) for i in range(0, len(parts), 2)]
    tuned = LinearBaseline().fit_tuned(blocks, scored=range(4))
    best = (np.inf, None)
    for steps in (1, 2, 3, 4, 6, 8, 12):
        for penalty in reversed(RIDGE_PENALTIES):
            error = 0.0
            for k in range(4):
                dropped = {2 * k, 2 * k + 1, 2 * k - 1}
                kept = [i for i in range(len(parts)) if i not in dropped]
                train_x = np.concatenate([parts[i][0] for i in kept])[:, 12 - steps:]
                train_y = np.concatenate([parts[i][1] for i in kept])
                flat = train_x.reshape(len(train_x), -1)
                unit = np.var(flat, axis=0).sum() / steps  # the mean variance of the inputs read
                plain = LinearBaseline(penalty * unit * len(flat)).fit(train_x, train_y)
                body_x, body_y = parts[2 * k]
                error += np.sum((plain.predict(body_x[:, 12 - steps:]) - body_y) ** 2)
            if error < best[0] - 1e-9:
                best = (error, (steps, penalty))
    steps, penalty = best[1]
    assert (tuned.steps or 12) == steps
    again = LinearBaseline(tuned.alpha, tuned.steps).fit(inputs, targets)
    np.testing.assert_allclose(again.coef_, tuned.coef_, atol=1e-10)


def test_above_the_tuned_inputs_only_the_whole_window_and_the_last_block_are_tried(monkeypatch):
    import forecaster.models as models

    inputs, targets = _ar2_windows(120, 12, seed=9)
    blocks = [([(inputs[:50], targets[:50])], []), ([(inputs[50:], targets[50:])], [])]
    every = LinearBaseline().fit_tuned(blocks, scored=[1])  # the last block alone, every step count
    monkeypatch.setattr(models, "MAX_TUNED_INPUTS", 11)  # 12 inputs: too many to tune the steps
    tuned = LinearBaseline().fit_tuned([([(inputs[:50], targets[:50])], []),
                                        ([(inputs[50:], targets[50:])], [])], scored=[0, 1])
    assert tuned.steps is None  # the whole window
    last_only = LinearBaseline().fit_tuned([([(inputs[:50], targets[:50])], []),
                                            ([(inputs[50:], targets[50:])], [])], scored=[1])
    assert tuned.alpha == last_only.alpha
    assert every.steps is not None  # tuned below the bound: fewer steps than the window


def test_a_saved_tuned_ridge_loads_with_its_steps_and_an_older_one_reads_the_whole_window():
    inputs, targets = _ar2_windows(200, 12, seed=6)
    tuned = LinearBaseline().fit_tuned([([(inputs[:140], targets[:140])], []),
                                        ([(inputs[140:], targets[140:])], [])], scored=[1])
    again = LinearBaseline.from_dict(tuned.to_dict())
    assert (again.steps, again.alpha) == (tuned.steps, tuned.alpha)
    older = {key: value for key, value in tuned.to_dict().items() if key != "steps"}
    assert LinearBaseline.from_dict(older).steps is None
    model = ridge_model(tuned, time_steps=12, features=1)
    np.testing.assert_allclose(model.predict_on_batch(inputs.astype("float32")), tuned.predict(inputs),
                               rtol=1e-4, atol=1e-4)
