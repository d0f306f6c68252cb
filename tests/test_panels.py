"""benchmarks.panels: the generated panels have the structure their docstrings promise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmarks import panels


def test_a_shared_season_panel_is_long_ragged_and_described_by_its_truth():
    frame, truth = panels.shared_season(n_series=10, length=100, seed=3)
    assert frame.columns.tolist() == ["series", "date", "value"]
    assert truth["series"].tolist() == [f"s{k}" for k in range(10)]
    assert frame.groupby("series").size().tolist() == truth["rows"].tolist()
    first = frame.groupby("series")["date"].min()
    last = frame.groupby("series")["date"].max()
    assert first.tolist() == truth["start"].tolist() and last.tolist() == truth["end"].tolist()
    assert first.nunique() > 1  # ragged starts
    assert (last < pd.Timestamp("2022-01-01") + pd.Timedelta(days=99)).sum() == 2  # 10 // 5 end early
    days = frame.groupby("series")["date"].diff().dropna()
    assert (days == pd.Timedelta(days=1)).all()  # no gaps inside a series


def test_the_short_series_are_short_and_the_long_ones_are_long():
    _, truth = panels.shared_season(n_series=30, length=200, n_too_short=3, short_rows=10, seed=0)
    short = truth[truth["too_short"]]
    assert len(short) == 3 and (short["rows"] == 10).all() and (short["kind"] == "seasonal").all()
    assert (short["end"] == pd.Timestamp("2022-01-01") + pd.Timedelta(days=199)).all()
    assert (truth.loc[~truth["too_short"], "rows"] >= 0.4 * 200).all()
    assert (truth["kind"] == "random-walk").sum() == 2


def test_the_same_seed_gives_the_same_panel_and_another_seed_another(tmp_path):
    first, second, other = (panels.shared_season(seed=seed) for seed in (1, 1, 2))
    pd.testing.assert_frame_equal(first.frame, second.frame)
    pd.testing.assert_frame_equal(first.truth, second.truth)
    assert not first.frame["value"].equals(other.frame["value"])
    one = panels.write_csv(first, tmp_path / "a", "shared")
    two = panels.write_csv(second, tmp_path / "b", "shared")
    assert one.read_bytes() == two.read_bytes()
    assert one.read_text(encoding="utf-8").splitlines()[0] == "series,date,value"
    assert (tmp_path / "a" / "shared-truth.csv").exists()


def test_scales_span_three_orders_of_magnitude_and_order_the_series_means():
    frame, truth = panels.shared_season(n_series=30, length=730, seed=0)
    assert truth["scale"].min() == pytest.approx(1) and truth["scale"].max() == pytest.approx(1000)
    seasonal = truth[(truth["kind"] == "seasonal") & ~truth["too_short"]].set_index("series")
    means = frame.groupby("series")["value"].mean()[seasonal.index]
    assert means.rank().tolist() == seasonal["level"].rank().tolist()
    assert np.allclose(seasonal["level"], 10 * seasonal["scale"])


def test_a_seasonal_series_less_its_signal_is_noise_of_the_recorded_sigma():
    frame, truth = panels.shared_season(n_series=5, length=2000, n_random_walks=1, n_too_short=0, seed=4)
    row = truth[truth["kind"] == "seasonal"].iloc[0]
    series = frame[frame["series"] == row["series"]]
    signal = panels.best_forecast(row, last_value=0.0, dates=series["date"], frequency="D")
    residual = series["value"].to_numpy() - signal
    assert abs(residual.mean()) < 0.1 * row["sigma"]
    assert residual.std() == pytest.approx(row["sigma"], rel=0.1)


def test_the_shape_is_tied_to_the_calendar_and_averages_zero():
    week = pd.date_range("2024-01-01", periods=7, freq="D")  # a Monday
    assert panels.phase(week, "D").tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert panels.shape(week, "D").sum() == pytest.approx(0)
    assert panels.shape(week[:1], "D")[0] == pytest.approx(0.5)  # sin 0 + 0.5 cos 0
    assert panels.phase(pd.date_range("2024-03-01", periods=2, freq="MS"), "MS").tolist() == [2, 3]
    with pytest.raises(ValueError, match="not one of h, D, MS"):
        panels.phase(week, "W")


def test_the_best_mae_is_the_noise_for_seasons_and_grows_with_the_step_for_walks():
    truth = pd.DataFrame({"kind": ["seasonal", "random-walk"], "sigma": [2.0, 1.0]})
    best = panels.best_mae(truth, horizon=2)
    root = math.sqrt(2 / math.pi)
    assert best == pytest.approx(np.array([[2 * root, 2 * root], [root, math.sqrt(4 / math.pi)]]))
    walk = panels.best_forecast({"kind": "random-walk"}, 7.5, pd.date_range("2024-01-01", periods=3), "D")
    assert walk.tolist() == [7.5, 7.5, 7.5]


def test_short_season_series_are_two_to_three_seasons_long_and_end_together():
    frame, truth = panels.short_seasons(n_series=50, seed=0)
    assert truth["rows"].between(24, 36).all() and truth["rows"].nunique() > 5
    assert truth["end"].nunique() == 1 and truth["start"].nunique() > 5
    assert len(frame) == truth["rows"].sum()
    assert (truth["kind"] == "seasonal").all() and not truth["too_short"].any()
    _, daily = panels.short_seasons(n_series=5, seasons=(2, 2), frequency="D", seed=0)
    assert (daily["rows"] == 14).all()


def test_impossible_requests_say_what_was_asked():
    with pytest.raises(ValueError, match="exceeds n_series = 3"):
        panels.shared_season(n_series=3, n_random_walks=2, n_too_short=2)
    with pytest.raises(ValueError, match="short_rows = 60"):
        panels.shared_season(length=100, short_rows=60)
    with pytest.raises(ValueError, match="1 <= low <= high"):
        panels.short_seasons(seasons=(3, 2))
