"""The ridge baseline: scikit-learn's Ridge, solved from sums so that long series stream through it."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from forecaster.models import LinearBaseline, member_label, ridge_model


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
