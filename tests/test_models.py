"""The naive and seasonal-naive baselines (build_lstm needs Keras and is tested end to end)."""

import numpy as np
import pytest

from forecaster.models import naive_forecast, seasonal_naive_forecast

TARGET = np.arange(10.0)


def test_naive_repeats_the_last_value_before_each_origin():
    forecast = naive_forecast(TARGET, origins=[3, 5], horizon=2)
    assert forecast.shape == (2, 2)
    assert forecast.tolist() == [[2, 2], [4, 4]]


def test_seasonal_naive_steps_back_whole_seasons():
    # season 2, origin 4: steps 1, 2, 3 take rows 4+0-2, 4+1-2, 4+2-4 = 2, 3, 2
    forecast = seasonal_naive_forecast(TARGET, origins=[4, 5], horizon=3, season=2)
    assert forecast.tolist() == [[2, 3, 2], [3, 4, 3]]


def test_seasonal_naive_horizon_within_one_season():
    # season 4, origin 6: steps 1..3 take rows 2, 3, 4
    assert seasonal_naive_forecast(TARGET, origins=[6], horizon=3, season=4).tolist() == [[2, 3, 4]]


def test_seasonal_naive_of_season_one_is_naive():
    assert (seasonal_naive_forecast(TARGET, [3, 7], 3, season=1).tolist()
            == naive_forecast(TARGET, [3, 7], 3).tolist())


def test_seasonal_naive_earliest_origin_is_one_season():
    assert seasonal_naive_forecast(TARGET, origins=[2], horizon=2, season=2).tolist() == [[0, 1]]


def test_seasonal_naive_origin_too_early():
    with pytest.raises(ValueError, match="needs 2 rows before each origin; the earliest origin is row 1"):
        seasonal_naive_forecast(TARGET, origins=[1, 5], horizon=2, season=2)


def test_seasonal_naive_long_horizon_needs_only_one_season_before_the_origin():
    # season 2, horizon 3, origin 2: steps 1, 2, 3 take rows 0, 1, 0
    assert seasonal_naive_forecast(TARGET, origins=[2], horizon=3, season=2).tolist() == [[0, 1, 0]]


def test_seasonal_naive_too_early_message_for_a_long_horizon():
    with pytest.raises(ValueError, match="needs 2 rows before each origin; the earliest origin is row 1"):
        seasonal_naive_forecast(TARGET, origins=[1], horizon=3, season=2)


def test_naive_origin_too_early():
    with pytest.raises(ValueError):
        naive_forecast(TARGET, origins=[0], horizon=2)
