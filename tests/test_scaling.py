"""Scaler and Representation: statistics from the training rows only; JSON round trip; unfitted use fails."""

import json

import numpy as np
import pytest

from forecaster.errors import UserError
from forecaster.scaling import Representation, Scaler
from forecaster.windows import histories_at

VALUES = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [7.0, 70.0]])


def test_statistics_come_only_from_the_rows_passed_to_fit():
    values = np.array([[1.0, 5.0], [3.0, 5.0], [1e9, 5.0]])
    other = np.array([[1.0, 5.0], [3.0, 5.0], [-7.0, 5.0]])
    scaler = Scaler().fit(values[:2])
    assert scaler.mean_.tolist() == [2.0, 5.0]
    assert scaler.scale_.tolist() == [1.0, 1.0]
    same = Scaler().fit(other[:2])
    assert same.mean_.tolist() == scaler.mean_.tolist()
    assert same.scale_.tolist() == scaler.scale_.tolist()
    assert scaler.transform(values)[:, 0].tolist() == [-1.0, 1.0, np.float32(1e9 - 2)]


def test_fit_returns_self_and_standardises():
    scaler = Scaler()
    assert scaler.fit([[0.0], [2.0]]) is scaler
    assert (scaler.mean_.tolist(), scaler.scale_.tolist()) == ([1.0], [1.0])
    scaled = scaler.transform([[0.0], [2.0], [5.0]])
    assert scaled.dtype == np.float32
    assert scaled[:, 0].tolist() == [-1.0, 1.0, 4.0]


def test_transform_standardises_each_column_with_the_fitted_statistics():
    scaler = Scaler().fit(VALUES)
    scaled = scaler.transform(VALUES)
    assert np.allclose(scaled.mean(axis=0), 0, atol=1e-6)
    assert np.allclose(scaled.std(axis=0), 1, atol=1e-6)
    expected = (VALUES - VALUES.mean(axis=0)) / VALUES.std(axis=0)
    assert np.allclose(scaled, expected, rtol=0, atol=1e-6)


def test_transform_keeps_any_leading_shape():
    scaler = Scaler().fit([[0.0], [2.0]])
    assert scaler.transform([[[0.0], [1.0]], [[2.0], [4.0]]]).tolist() == [[[-1.0], [0.0]], [[1.0], [3.0]]]


def test_constant_column_gets_scale_one():
    scaler = Scaler().fit([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    assert scaler.scale_[1] == 1.0
    assert scaler.transform([[2.0, 3.0], [2.0, 5.0]])[:, 1].tolist() == [0.0, 2.0]


def test_fit_ignores_missing_values():
    scaler = Scaler().fit([[1.0], [np.nan], [3.0]])
    assert (scaler.mean_.tolist(), scaler.scale_.tolist()) == ([2.0], [1.0])


def test_fit_needs_a_non_empty_two_dimensional_array():
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        Scaler().fit([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"got shape \(0, 2\)"):
        Scaler().fit(np.empty((0, 2)))


@pytest.mark.parametrize("use", [lambda s: s.transform([[1.0]]), lambda s: s.to_dict()])
def test_unfitted_use_raises(use):
    with pytest.raises(RuntimeError, match=r"not fitted yet; call fit\(training_values\) first"):
        use(Scaler())


def test_to_dict_from_dict_round_trip():
    scaler = Scaler().fit(VALUES)
    values = json.loads(json.dumps(scaler.to_dict()))
    assert values["kind"] == "standard"
    restored = Scaler.from_dict(values)
    assert restored.mean_.tolist() == scaler.mean_.tolist()
    assert restored.scale_.tolist() == scaler.scale_.tolist()
    assert restored.transform(VALUES).tolist() == scaler.transform(VALUES).tolist()


def test_from_dict_of_an_unknown_kind():
    with pytest.raises(UserError, match="scaler kind 'minmax' is unknown"):
        Scaler.from_dict({"kind": "minmax", "mean": [0.0], "scale": [1.0]})


# Representation: the model's targets as a correction to an anchor forecast, per series.

def seasonal_series(days: int = 6, season: int = 4) -> np.ndarray:
    """A repeating pattern 0, 10, 20, 10 plus a slow rise of 1 per season: seasonal naive is
    off by exactly 1 at every step, naive by much more."""
    pattern = np.tile([0.0, 10.0, 20.0, 10.0], days)
    return pattern + np.repeat(np.arange(days, dtype=float), season)


def at(values, origins, representation):
    """(histories (n, first_origin, columns) before each origin, series (n,) all 0) of one series."""
    origins = np.asarray(origins)
    return histories_at(values, origins, representation.first_origin()), np.zeros(len(origins), int)


def test_auto_anchor_picks_the_better_baseline_per_step_on_training_windows():
    values = seasonal_series()[:, None]
    # 19 training rows, 4-step windows, horizon 4: training origins 4 ... 15.
    representation = Representation("change", season=4).fit(values, train_rows=19, time_steps=4, horizon=4)
    # At step 4 (= one season) seasonal naive is the last value itself: a tie, which goes to naive.
    assert representation.anchors_ == ["seasonal_naive"] * 3 + ["naive"]
    # Every seasonal-naive residual is exactly +1, so their standard deviation is 0 -> scale 1.
    assert representation.spread_.tolist() == [1.0]
    histories, series = at(values, [8], representation)
    truth = values[8:12, 0][None, :]
    assert representation.encode(histories[..., 0], truth, series).tolist() == [[1.0, 1.0, 1.0, 1.0]]


def test_round_trip_and_a_zero_output_is_the_naive_anchor():
    target = seasonal_series()
    origins = np.array([8, 12])
    # "window" anchors every step on naive, the last value before the origin.
    representation = Representation("window", season=4).fit(target[:, None], train_rows=18, time_steps=4,
                                                             horizon=3)
    assert representation.anchors_ == ["naive"] * 3
    histories, series = at(target[:, None], origins, representation)
    truth = target[origins[:, None] + np.arange(3)]
    encoded = representation.encode(histories[..., 0], truth, series)
    np.testing.assert_allclose(representation.decode(encoded, histories[..., 0], series), truth, atol=1e-5)
    np.testing.assert_array_equal(representation.decode(np.zeros((2, 3)), histories[..., 0], series),
                                  np.repeat(target[origins - 1][:, None], 3, axis=1))


def test_mean_anchor_is_the_classic_recipe():
    target = np.array([1.0, 3.0, 1.0, 3.0, 1.0, 3.0, 1.0, 3.0])
    # 8 training rows, 2-step windows, horizon 2: training origins 2 ... 6.
    representation = Representation("global", season=1).fit(target[:, None], train_rows=8, time_steps=2,
                                                             horizon=2)
    assert representation.anchors_ == ["mean", "mean"]
    assert representation.level_.tolist() == [2.0] and representation.spread_.tolist() == [1.0]
    histories, series = at(target[:, None], [2], representation)
    assert representation.encode(histories[..., 0], target[None, 2:4], series).tolist() == [[-1.0, 1.0]]


def test_an_unknown_representation_is_refused():
    with pytest.raises(ValueError, match=r"scaling must be one of \('global', 'change', 'window', "
                                         r"'seasonal'\), got 'tomorrow'"):
        Representation("tomorrow", season=1)
    with pytest.raises(UserError, match=r"scaling 'tomorrow' is unknown to this version of forecaster; "
                                        r"retrain the model with it"):
        Representation.from_dict({"scaling": "tomorrow", "season": 1})


def test_change_representation_differences_the_target_over_one_season():
    values = seasonal_series()[:, None]
    representation = Representation("change", season=4).fit(values, train_rows=16, time_steps=4, horizon=4)
    assert representation.lag_ == 4
    assert representation.first_origin() == 8
    # Every change over one season is +1: training mean 1, spread 0 -> scale 1.
    assert (representation.mean_.tolist(), representation.scale_.tolist()) == ([[1.0]], [[1.0]])
    # The windows from origins 8, 12, ..., 24 show the changes at rows 4 ... 23: each becomes 0.
    windows = representation.windows(*at(values, np.arange(8, 25, 4), representation))
    assert windows.shape == (5, 4, 1)
    assert windows[..., 0].ravel().tolist() == [0.0] * 20
    # A window reads only the time_steps + lag rows before its origin: a longer history changes nothing.
    longer = histories_at(values, [16], 16)
    np.testing.assert_array_equal(representation.windows(longer, [0]), windows[2:3])


def test_global_representation_standardises_levels_with_training_rows_only():
    values = np.concatenate([np.arange(8.0), np.full(4, 1000.0)])[:, None]
    representation = Representation("global", season=1).fit(values, train_rows=8, time_steps=2, horizon=1)
    assert representation.lag_ == 0
    assert representation.mean_.tolist() == [[3.5]]
    assert representation.level_.tolist() == [3.5]


def test_representation_round_trips_through_json():
    values = seasonal_series()[:, None]
    fitted = Representation("change", season=4).fit(values, train_rows=16, time_steps=4, horizon=2)
    loaded = Representation.from_dict(json.loads(json.dumps(fitted.to_dict())))
    every = at(values, np.arange(fitted.first_origin(), len(values) + 1), fitted)
    np.testing.assert_array_equal(loaded.windows(*every), fitted.windows(*every))
    histories, series = at(values, [16, 18], fitted)
    np.testing.assert_array_equal(loaded.decode(np.ones((2, 2)), histories[..., 0], series),
                                  fitted.decode(np.ones((2, 2)), histories[..., 0], series))


def test_seasonal_representation_forecasts_a_correction_to_the_mean_of_the_last_cycles():
    values = seasonal_series(days=12)[:, None]  # 48 rows; day d's pattern sits d above the first's
    # 40 training rows, 4-step windows, horizon 4: (30 - 8) // 4 = 5 cycles leave a quarter for windows.
    representation = Representation("seasonal", season=4).fit(values, train_rows=40, time_steps=4,
                                                               horizon=4)
    assert (representation.cycles_, representation.anchors_) == (5, ["seasonal_mean"] * 4)
    assert representation.first_origin() == 4 + 5 * 4
    origins = np.array([24, 30, 44])
    histories, series = at(values, origins, representation)
    # The mean of days d-1 ... d-5 at the same point of the pattern lies 3 below day d: every
    # deviation is 3 (standardised: 0), and so is every residual against the anchor (spread 1).
    assert representation.windows(histories, series)[..., 0].ravel().tolist() == [0.0] * 12
    assert representation.spread_.tolist() == [1.0]
    truth = values[origins[:, None] + np.arange(4), 0]
    assert representation.encode(histories[..., 0], truth, series).tolist() == [[3.0] * 4] * 3
    np.testing.assert_allclose(representation.decode(np.full((3, 4), 3.0), histories[..., 0], series), truth)
    loaded = Representation.from_dict(json.loads(json.dumps(representation.to_dict())))
    assert loaded.cycles_ == 5
    np.testing.assert_array_equal(loaded.windows(histories, series),
                                  representation.windows(histories, series))


def test_seasonal_representation_takes_at_most_eight_cycles_and_needs_two():
    values = seasonal_series(days=40)[:, None]
    assert Representation("seasonal", season=4).fit(values, 160, 4, 4).cycles_ == 8
    with pytest.raises(ValueError, match=r"needs two cycles of 4 steps before a window of 4 \+ 4 "
                                         r"steps in three quarters of the training rows; the shortest "
                                         r"series has 20"):
        Representation("seasonal", season=4).fit(values, 20, 4, 4)
    with pytest.raises(ValueError, match="needs a season of 2 steps or more, got 1"):
        Representation("seasonal", season=1).fit(values, 160, 4, 4)
    older = Representation("change", season=4).fit(values, 160, 4, 4).to_dict()
    del older["cycles"]  # a bundle saved before the seasonal representation
    assert Representation.from_dict(older).cycles_ == 0


def test_window_representation_is_relative_to_each_windows_last_value_and_spread():
    values = np.array([1.0, 3.0, 1.0, 3.0, 101.0, 103.0, 101.0, 103.0, 50.0, 50.0, 50.0])[:, None]
    representation = Representation("window", season=1).fit(values, train_rows=8, time_steps=2, horizon=1)
    origins = np.array([2, 6])
    histories, series = at(values, origins, representation)
    windows = representation.windows(histories, series)
    # Window [1, 3] and window [101, 103]: both become [-2, 0] / std 1 -> the same shape.
    assert windows[:, :, 0].tolist() == [[-2.0, 0.0], [-2.0, 0.0]]
    truth = values[origins, 0][:, None]
    assert representation.encode(histories[..., 0], truth, series).tolist() == [[-2.0], [-2.0]]
    outputs = np.array([[0.5], [-1.0]])
    # Last values 3 and 103, spread 1 each: 3 + 0.5 and 103 - 1.
    np.testing.assert_allclose(representation.decode(outputs, histories[..., 0], series),
                               [[3.5], [102.0]])
    recent = np.array([[1.0, 3.0], [101.0, 103.0]])
    np.testing.assert_allclose(representation.decode_next(outputs, recent, series), [3.5, 102.0])


def test_a_flat_window_is_scaled_by_the_training_spread():
    values = np.array([1.0, 3.0, 1.0, 3.0, 1.0, 3.0, 5.0, 5.0, 5.0])[:, None]
    representation = Representation("window", season=1).fit(values, train_rows=6, time_steps=2, horizon=1)
    assert representation.scale_[0, 0] == 1.0  # the training rows' standard deviation
    histories, series = at(values, [8], representation)
    assert representation.encode(histories[..., 0], values[None, 8], series).tolist() == [[0.0]]
    assert np.isfinite(representation.windows(histories, series)).all()


def test_window_representation_round_trips_through_json():
    values = np.arange(20.0)[:, None] ** 1.5
    fitted = Representation("window", season=1).fit(values, train_rows=14, time_steps=4, horizon=2)
    loaded = Representation.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(loaded.windows(*at(values, [10, 12], loaded)),
                                  fitted.windows(*at(values, [10, 12], fitted)))


@pytest.mark.parametrize("kind", Representation.KINDS)
def test_each_series_gets_the_statistics_of_its_own_training_rows(kind):
    longer = 4 if kind == "seasonal" else 1  # two cycles before each window, in 3/4 of the rows
    first = seasonal_series(days=6 * longer)[:, None]
    second = 1000.0 + 50.0 * seasonal_series(days=5 * longer)[:, None]  # another level and scale
    rows = [16 * longer, 14 * longer]
    both = Representation(kind, season=4).fit(np.concatenate([first, second]), train_rows=rows,
                                              time_steps=4, horizon=2,
                                              offsets=[0, len(first), len(first) + len(second)])
    alone = [Representation(kind, season=4).fit(values, n, time_steps=4, horizon=2)
             for values, n in ((first, rows[0]), (second, rows[1]))]
    assert len(both.level_) == 2 and both.anchors_ == alone[0].anchors_ == alone[1].anchors_
    for name in ("mean_", "scale_", "level_", "spread_"):
        np.testing.assert_allclose(getattr(both, name), np.concatenate([getattr(a, name) for a in alone]))
    # A series not seen in fitting is appended with the statistics of the rows passed for it.
    grown = alone[0].with_series([second[:rows[1]]])
    for name in ("mean_", "scale_", "level_", "spread_"):
        np.testing.assert_allclose(getattr(grown, name), getattr(both, name))


def test_statistics_of_a_long_series_are_computed_block_by_block(monkeypatch):
    import forecaster.scaling

    values = np.cumsum(np.random.default_rng(0).normal(size=(3000, 2)), axis=0) + [50.0, -7.0]
    whole = {kind: Representation(kind, 24).fit(values, 2000, 48, 6) for kind in Representation.KINDS}
    monkeypatch.setattr(forecaster.scaling, "BLOCK_ROWS", 700)
    for kind, expected in whole.items():
        blocked = Representation(kind, 24).fit(values, 2000, 48, 6)
        np.testing.assert_allclose(blocked.mean_, expected.mean_, rtol=1e-12)
        np.testing.assert_allclose(blocked.scale_, expected.scale_, rtol=1e-12)
        every = at(values, np.arange(expected.first_origin(), len(values) + 1), expected)
        np.testing.assert_array_equal(blocked.windows(*every), expected.windows(*every))
    assert whole["change"].lag_ > 0  # the block edges had a lag to carry across


def test_scaler_fit_blocks_reads_a_long_series_block_by_block_and_matches_fit(monkeypatch):
    import forecaster.scaling

    values = np.cumsum(np.random.default_rng(1).normal(size=(3000, 2)), axis=0)
    values[[5, 1400, 2999], [0, 1, 0]] = np.nan
    expected = Scaler().fit(values)
    monkeypatch.setattr(forecaster.scaling, "BLOCK_ROWS", 700)
    read = []
    blocked = Scaler().fit_blocks(lambda start, stop: read.append((start, stop)) or values[start:stop],
                                  len(values))
    assert read == [(0, 700), (700, 1400), (1400, 2100), (2100, 2800), (2800, 3000)] * 2  # two passes
    np.testing.assert_allclose(blocked.mean_, expected.mean_, rtol=1e-12)
    np.testing.assert_allclose(blocked.scale_, expected.scale_, rtol=1e-12)
    np.testing.assert_allclose(expected.mean_, np.nanmean(values, axis=0), rtol=1e-12)


def test_scaler_matches_numpy_statistics_and_skips_missing_cells():
    values = np.array([[1.0, 5.0], [2.0, np.nan], [4.0, 7.0]])
    scaler = Scaler().fit(values)
    np.testing.assert_allclose(scaler.mean_, np.nanmean(values, axis=0))
    np.testing.assert_allclose(scaler.scale_, np.nanstd(values, axis=0))
