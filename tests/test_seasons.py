"""Seasonal periods found in the training rows, on series generated with known structure."""

import numpy as np
import pandas as pd
import pytest

from forecaster.seasons import Seasons, candidate_periods, find_seasons, mase_season
from forecaster.windows import choose_window


def hourly(weeks: int, weekly: bool, seed: int = 0) -> np.ndarray:
    """A daily profile (a 24-hour sine), lower and flatter on weekends when `weekly`, plus a
    little AR(1) noise."""
    t = np.arange(weeks * 168)
    weekend = (t // 24) % 7 >= 5 if weekly else np.zeros(len(t), dtype=bool)
    signal = 100 + np.where(weekend, -15, 0) + np.where(weekend, 4, 10) * np.sin(2 * np.pi * t / 24)
    shocks = np.random.default_rng(seed).normal(0, 1, len(t))
    noise = np.zeros(len(t))
    for i in range(1, len(t)):
        noise[i] = 0.7 * noise[i - 1] + shocks[i]
    return signal + noise


def test_candidates_come_from_the_frequency():
    assert candidate_periods("h") == (24, 168)
    assert candidate_periods("30min") == (48, 336)
    assert candidate_periods("D") == (7, 365)
    assert candidate_periods("W-SUN") == (52,)
    assert candidate_periods("MS") == (12,)
    assert candidate_periods("QS-JAN") == (4,)
    assert candidate_periods("YS-JAN") == ()


def test_mase_keeps_the_calendar_season():
    assert [mase_season(f) for f in ("h", "D", "W-SUN", "MS", "QS-JAN", "YS-JAN")] == [24, 7, 52, 12, 4, 1]


def test_a_daily_and_a_weekly_cycle_are_both_found_and_the_week_is_primary():
    found = find_seasons([hourly(6, weekly=True)], "h")
    assert found.periods == (24, 168) and found.season == 168
    assert found.describe() == "24 and 168 steps; seasonal naive at 168"


def test_a_week_that_repeats_the_day_is_not_kept():
    found = find_seasons([hourly(6, weekly=False)], "h")
    assert found.periods == (24,) and found.season == 24
    assert found.evidence[168]["relative_mae"] > 0.9 * found.evidence[24]["relative_mae"]


def test_a_random_walk_has_no_season():
    walk = np.cumsum(np.random.default_rng(1).normal(size=700))
    found = find_seasons([walk], "D")
    assert found == Seasons((), 1, found.evidence) and found.describe() == "none found"


def test_a_trend_is_not_a_cycle():
    months = 100 + 2.0 * np.arange(96) + np.random.default_rng(2).normal(0, 1, 96)
    assert find_seasons([months], "MS").periods == ()


def test_a_period_needs_three_cycles_in_the_training_rows():
    found = find_seasons([hourly(6, weekly=True)[:400]], "h")  # 2.4 weeks: the week is not tested
    assert 168 not in found.evidence and found.periods == (24,)


def test_a_long_irregular_cycle_in_yearly_data():
    phi1, phi2 = 2 * 0.9 * np.cos(2 * np.pi / 11), -0.81  # an AR(2) whose cycle is about 11 steps
    shocks = np.random.default_rng(3).normal(0, 10, 500)
    values = np.zeros(500)
    for t in range(2, 500):
        values[t] = phi1 * values[t - 1] + phi2 * values[t - 2] + shocks[t]
    found = find_seasons([50 + values[200:]], "YS-JAN")
    assert found.cycle and 9 <= found.season <= 12 and found.periods == (found.season,)
    assert found.describe() == f"an irregular cycle of about {found.season} steps"
    noise = np.random.default_rng(4).normal(size=300)
    assert find_seasons([noise], "YS-JAN").periods == ()


def test_many_series_decide_by_their_median():
    weekly = [hourly(6, weekly=True, seed=k) for k in range(3)]
    daily = [hourly(6, weekly=False, seed=k) for k in range(2)]
    assert find_seasons(weekly + daily, "h").periods == (24, 168)
    assert find_seasons(weekly[:1] + daily, "h").periods == (24,)


def test_the_found_seasons_survive_a_round_trip():
    found = find_seasons([hourly(6, weekly=True)], "h")
    assert Seasons.from_dict(found.to_dict()) == found


@pytest.mark.parametrize(("periods", "expected"), [
    ((), (72, 24)), ((24,), (72, 24)), ((24, 168), (168, 24)), ((48, 336), (336, 24)),
    ((24, 10080), (512, 24))])
def test_the_window_covers_the_longest_period_within_a_budget(periods, expected):
    assert choose_window("h", 100_000, periods) == expected


def test_a_long_yearly_cycle_lengthens_the_window():
    assert choose_window("YS-JAN", 200) == (8, 1)
    assert choose_window("YS-JAN", 200, (11,)) == (33, 1)


def test_train_reports_and_uses_the_periods_found(tmp_path):
    from forecaster.artifacts import load_bundle
    from forecaster.config import load_config
    from forecaster.training import train

    times = pd.date_range("2024-01-01", periods=6 * 168, freq="h")
    csv = tmp_path / "load.csv"
    pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M"), "load": hourly(6, weekly=True)}).to_csv(
        csv, index=False)
    settings = load_config(overrides={"csv": str(csv), "epochs": 1, "scaling": "window", "units": 4,
                                      "model_dir": str(tmp_path / "m"), "val_fraction": 0.15,
                                      "test_fraction": 0.1})
    run = train(settings, verbose=0)
    assert run.seasons == "24 and 168 steps; seasonal naive at 168"
    assert (run.time_steps, run.horizon) == (168, 24)
    model = load_bundle(run.model_dir)
    assert model.seasons_.periods == (24, 168) and model.season_ == 168 and model.mase_season_ == 24
    assert model.metadata_["seasons"]["periods"] == [24, 168]


def test_a_short_file_keeps_the_calendar_season_untested():
    months = 100 + 10 * np.sin(2 * np.pi * np.arange(24) / 12)
    found = find_seasons([months], "MS")
    assert found.periods == (12,) and found.season == 12
    assert found.describe() == "12 steps (the frequency's; too few cycles to test)"
    assert find_seasons([months[:10]], "MS").periods == ()  # not even one season of history
