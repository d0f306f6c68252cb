"""Metrics, the MASE scale, the text table and atomic writes (evaluate() is tested end to end)."""

import math

import numpy as np
import pandas as pd
import pytest

from forecaster.data import Panel, Schema
from forecaster.errors import UserError
from forecaster.evaluation import Backtest, format_table, mean_absolute_error, score, summarise
from forecaster.intervals import ConformalIntervals, check_level
from forecaster.scaling import seasonal_mae_scale

TRUTH = [[1.0, 2.0], [3.0, 4.0]]
FORECAST = [[2.0, 2.0], [3.0, 6.0]]  # errors (forecast - truth): [[1, 0], [0, 2]]
ALL = [[True, True], [True, True]]


def test_mean_absolute_error():
    assert mean_absolute_error([1.0, 2.0, 4.0], [2.0, 2.0, 1.0]) == pytest.approx(4 / 3)


def test_mean_absolute_error_with_observed_mask():
    assert mean_absolute_error([1.0, 2.0, 4.0], [2.0, 2.0, 1.0], observed=[True, True, False]) == 0.5


def test_mean_absolute_error_with_nothing_observed_is_nan():
    assert math.isnan(mean_absolute_error([1.0], [2.0], observed=[False]))


def test_score_overall():
    overall = score(TRUTH, FORECAST, ALL, mase_scale=0.5)["overall"]
    assert overall["mae"] == pytest.approx(0.75)  # (1 + 0 + 0 + 2) / 4
    assert overall["rmse"] == pytest.approx(math.sqrt(1.25))  # sqrt((1 + 0 + 0 + 4) / 4)
    # sMAPE terms 2|e| / (|truth| + |forecast|): 2/3, 0, 0, 4/10
    assert overall["smape"] == pytest.approx(100 * (2 / 3 + 0.4) / 4)
    assert overall["mase"] == pytest.approx(1.5)  # 0.75 / 0.5


def test_score_per_step():
    per_step = score(TRUTH, FORECAST, ALL, mase_scale=0.5)["per_step"]
    assert per_step["mae"] == pytest.approx([0.5, 1.0])
    assert per_step["rmse"] == pytest.approx([math.sqrt(0.5), math.sqrt(2.0)])
    assert per_step["smape"] == pytest.approx([100 * (2 / 3) / 2, 100 * 0.4 / 2])
    assert per_step["mase"] == pytest.approx([1.0, 2.0])


def test_score_excludes_unobserved_positions():
    result = score(TRUTH, FORECAST, [[True, True], [True, False]], mase_scale=1.0)
    assert result["overall"]["mae"] == pytest.approx(1 / 3)  # (1 + 0 + 0) / 3
    assert result["overall"]["rmse"] == pytest.approx(math.sqrt(1 / 3))
    assert result["overall"]["smape"] == pytest.approx(100 * (2 / 3) / 3)
    assert result["per_step"]["mae"] == pytest.approx([0.5, 0.0])


def test_smape_of_zero_against_zero_is_zero():
    result = score([[0.0, 1.0]], [[0.0, 1.0]], [[True, True]], mase_scale=1.0)
    assert result["overall"]["smape"] == 0.0
    assert result["per_step"]["smape"] == [0.0, 0.0]


def test_mase_is_nan_without_a_scale():
    result = score(TRUTH, FORECAST, ALL, mase_scale=float("nan"))
    assert math.isnan(result["overall"]["mase"])
    assert all(math.isnan(x) for x in result["per_step"]["mase"])


def test_seasonal_mae_scale():
    # lag 2: |4 - 1|, |7 - 2| -> mean 4
    assert seasonal_mae_scale([1.0, 2.0, 4.0, 7.0], season=2) == 4.0


def test_seasonal_mae_scale_falls_back_to_lag_one():
    # lag 2 differences are all 0; lag 1 differences are all 1
    assert seasonal_mae_scale([1.0, 2.0, 1.0, 2.0, 1.0], season=2) == 1.0
    # a season as long as the series: lag 1, |3 - 1| -> 2
    assert seasonal_mae_scale([1.0, 3.0], season=24) == 2.0


def test_seasonal_mae_scale_of_a_constant_series_is_nan():
    assert math.isnan(seasonal_mae_scale(np.full(10, 5.0), season=2))


def report_of(models, horizon=2):
    return {
        "target": "load",
        "origins": 2,
        "horizon": horizon,
        "scored_range": ["2020-01-01T00:00:00", "2020-01-02T00:00:00"],
        "season_length": 24,
        "models": models,
    }


def test_format_table_names_every_model_and_has_a_row_per_step():
    models = {name: score(TRUTH, FORECAST, ALL, mase_scale=0.5)
              for name in ("lstm", "naive", "seasonal_naive")}
    for metrics in models.values():
        metrics["overall"]["skill"] = 0.0
    lines = format_table(report_of(models)).splitlines()
    assert lines[0].startswith("load: 2 forecasts of 2 steps, 2020-01-01T00:00:00 to")
    assert "season 24" in lines[0]
    for name in models:
        assert any(line.startswith(name + " ") for line in lines[2:5])
    assert lines[2].split() == ["lstm", "0.75", "1.118", "26.7", "1.500", "0.000"]
    steps = lines[lines.index("") + 2:]
    assert [line.split() for line in steps] == [["1", "0.5", "0.5", "0.5"], ["2", "1", "1", "1"]]


def one_series(rows: int = 10) -> Panel:
    """A panel of one hourly series of `rows` rows (only its length matters to `summarise`)."""
    schema = Schema("time", "load", (), "datetime", "h")
    return Panel(schema, "test", ["series"], pd.DatetimeIndex([pd.Timestamp("2020-01-01")]),
                 np.array([0, rows]), np.arange(float(rows))[:, None], np.zeros(1, dtype=int))


def test_summarise_adds_skill_against_seasonal_naive_and_interval_coverage():
    truth = np.array([[10.0, 20.0], [30.0, 40.0]])
    forecasts = {
        "lstm": truth + [[1.0, -1.0], [1.0, -1.0]],  # MAE 1
        "seasonal_naive": truth + 4.0,  # MAE 4
    }
    result = Backtest(one_series(), origins=np.array([[0, 5], [0, 6]]), truth=truth, forecasts=forecasts)
    intervals = ConformalIntervals().fit(np.array([[0.5, 2.0]] * 9))  # 80%: half-widths 0.5 and 2
    summary = summarise(result, scales=[2.0], intervals={80: intervals.bounds(forecasts["lstm"], 80)})
    assert summary["models"]["lstm"]["overall"]["skill"] == 0.75
    assert summary["models"]["seasonal_naive"]["overall"]["skill"] == 0.0
    assert summary["models"]["lstm"]["overall"]["mase"] == 0.5
    # Step 1 misses by 1 > 0.5 (outside); step 2 misses by 1 <= 2 (inside).
    assert summary["coverage"]["80"] == {"nominal": 0.8, "empirical": 0.5, "per_step": [0.0, 1.0]}


def test_score_divides_each_row_by_its_own_series_scale():
    per_row = score(TRUTH, FORECAST, ALL, mase_scale=[0.5, 2.0])  # scaled errors [[2, 0], [0, 1]]
    assert per_row["overall"]["mase"] == pytest.approx(0.75)
    assert per_row["per_step"]["mase"] == pytest.approx([1.0, 0.5])
    assert per_row["overall"]["mae"] == pytest.approx(0.75)  # MAE stays in the units


def test_summarise_scores_each_series_and_aggregates_them():
    schema = Schema("time", "load", (), "datetime", "h", id_columns=("store",))
    panel = Panel(schema, "test", ["a", "b"], pd.DatetimeIndex([pd.Timestamp("2020-01-01")] * 2),
                  np.array([0, 10, 20]), np.arange(20.0)[:, None], np.zeros(2, dtype=int))
    truth = np.array(TRUTH)
    result = Backtest(panel, origins=np.array([[0, 5], [1, 6]]), truth=truth,
                      forecasts={"lstm": np.array(FORECAST), "seasonal_naive": truth + 1.0})
    summary = summarise(result, scales=[0.5, 2.0])
    assert summary["models"]["lstm"]["overall"]["mase"] == pytest.approx(0.75)
    per_series = {name: (found["lstm"]["mae"], found["lstm"]["mase"])
                  for name, found in summary["per_series"].items()}
    assert per_series == {"a": (0.5, 1.0), "b": (1.0, 0.5)}  # each in its own units and scale
    assert summary["aggregates"]["lstm"] == {"mean_mase": 0.75, "median_mase": 0.75,
                                             "nd": pytest.approx(0.3),  # 3 / (1 + 2 + 3 + 4)
                                             "beats_seasonal_naive": 0.5}  # a (0.5 < 1), not b (1)
    assert summary["aggregates"]["seasonal_naive"]["mean_mase"] == pytest.approx(1.25)  # 2 and 0.5


def test_conformal_half_width_is_the_right_order_statistic():
    errors = np.arange(1.0, 10.0)[:, None] * [1.0, -2.0]  # |errors|: 1..9 and 2..18
    intervals = ConformalIntervals().fit(errors)
    # n = 9: the 80% half-width is the ceil(10 * 0.8) = 8th smallest.
    assert intervals.half_widths_[80] == [8.0, 16.0]
    assert intervals.half_widths_[90] == [9.0, 18.0]  # ceil(10 * 0.9) = 9th: the largest
    assert intervals.half_widths_[95] == [math.inf, math.inf]  # ceil(9.5) = 10 > 9: unbounded
    lower, upper = intervals.bounds(np.array([100.0, 200.0]), 80)
    assert lower.tolist() == [92.0, 184.0] and upper.tolist() == [108.0, 216.0]
    # Calibrated on errors each divided by its series' scale: the width is in units of the scale.
    lower, upper = intervals.bounds(np.array([[100.0, 200.0], [1.0, 2.0]]), 80, scale=np.array([1.0, 0.5]))
    assert lower.tolist() == [[92.0, 184.0], [-3.0, -6.0]] and upper.tolist() == [[108.0, 216.0], [5.0, 10.0]]
    assert ConformalIntervals.from_dict(intervals.to_dict()).half_widths_ == intervals.half_widths_


def test_conformal_needs_enough_calibration_points_for_a_high_level():
    intervals = ConformalIntervals().fit(np.arange(1.0, 5.0)[:, None])  # n = 4
    assert intervals.half_widths_[80] == [4.0]  # ceil(5 * 0.8) = 4
    assert intervals.half_widths_[90] == [math.inf]  # ceil(4.5) = 5 > 4: no finite bound


def test_levels_must_be_whole_percents():
    with pytest.raises(UserError, match="--level 99.5 is not a whole percent"):
        check_level(99.5)
    with pytest.raises(UserError, match="--level 100"):
        check_level(100)
    assert check_level(80.0) == 80


def test_the_highest_bounded_level_follows_the_calibration_windows():
    # n residuals bound a level L only while ceil((n + 1) L / 100) <= n, that is L <= 100 n / (n + 1)
    assert ConformalIntervals().fit(np.ones((3, 2))).finite_up_to() == 75
    assert ConformalIntervals().fit(np.ones((19, 1))).finite_up_to() == 95
    few = np.ones((3, 2))
    few[:, 1] = np.nan  # the second step never observed: no level is bounded there
    assert ConformalIntervals().fit(few).finite_up_to() == 0
