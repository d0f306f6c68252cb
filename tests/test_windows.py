"""make_windows, window_splits and choose_window on np.arange data."""

import numpy as np
import pytest

from forecaster.windows import choose_window, make_windows, window_splits


def test_target_is_the_step_after_each_window():
    inputs, targets = make_windows(np.arange(10.0)[:, None], time_steps=3, horizon=1)
    assert inputs.shape == (7, 3, 1)
    assert inputs[0, :, 0].tolist() == [0, 1, 2] and targets[0].tolist() == [3]
    assert inputs[-1, :, 0].tolist() == [6, 7, 8] and targets[-1].tolist() == [9]


def test_two_features_and_a_longer_horizon():
    values = np.column_stack([np.arange(8.0), 100 + np.arange(8.0)])
    inputs, targets = make_windows(values, time_steps=3, horizon=2, target=0)
    assert inputs.shape == (4, 3, 2) and targets.shape == (4, 2)
    assert inputs[1].tolist() == [[1, 101], [2, 102], [3, 103]]
    assert targets.tolist() == [[3, 4], [4, 5], [5, 6], [6, 7]]


def test_target_index_picks_the_column():
    values = np.column_stack([np.arange(6.0), 100 + np.arange(6.0)])
    targets = make_windows(values, time_steps=2, horizon=2, target=1)[1]
    assert targets.tolist() == [[102, 103], [103, 104], [104, 105]]


@pytest.mark.parametrize(("rows", "time_steps", "horizon"), [(10, 3, 1), (10, 3, 4), (7, 6, 1), (24, 5, 6)])
def test_sample_count(rows, time_steps, horizon):
    inputs, targets = make_windows(np.zeros((rows, 2)), time_steps, horizon)
    samples = rows - time_steps - horizon + 1
    assert inputs.shape == (samples, time_steps, 2)
    assert targets.shape == (samples, horizon)


def test_windows_are_views():
    values = np.arange(10.0)[:, None]
    inputs, targets = make_windows(values, time_steps=3, horizon=2)
    assert np.shares_memory(inputs, values) and np.shares_memory(targets, values)
    assert not inputs.flags.writeable


def test_too_few_rows():
    with pytest.raises(ValueError, match="4 rows are fewer than time_steps \\+ horizon = 5"):
        make_windows(np.zeros((4, 1)), time_steps=3, horizon=2)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"got shape \(10,\)"):
        make_windows(np.zeros(10), time_steps=3, horizon=1)
    with pytest.raises(ValueError, match="must be >= 1, got 0 and 1"):
        make_windows(np.zeros((10, 1)), time_steps=0, horizon=1)


def target_rows(split, time_steps, horizon):
    """The rows that the targets of every window in `split` come from."""
    return [row for i in range(split.start, split.stop)
            for row in range(i + time_steps, i + time_steps + horizon)]


@pytest.mark.parametrize(("rows", "time_steps", "horizon", "val_start", "test_start"),
                         [(20, 3, 2, 12, 16), (30, 4, 3, 20, 25), (15, 2, 1, 10, 12), (40, 6, 4, 28, 34)])
def test_window_splits_keep_targets_inside_their_split(rows, time_steps, horizon, val_start, test_start):
    splits = window_splits(rows, time_steps, horizon, val_start, test_start)
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    assert all(row < val_start for row in target_rows(train, time_steps, horizon))
    assert all(val_start <= row < test_start for row in target_rows(validation, time_steps, horizon))
    assert all(row >= test_start for row in target_rows(test, time_steps, horizon))
    assert train.start == 0 and train.stop <= validation.start
    assert validation.stop <= test.start and test.stop <= rows - time_steps - horizon + 1
    assert len(range(train.start, train.stop)) > 0 and len(range(test.start, test.stop)) > 0


def test_window_splits_exact():
    # Window i's targets are rows i + 3 and i + 4; 16 windows in 20 rows.
    splits = window_splits(20, 3, 2, val_start=12, test_start=16)
    assert splits == {"train": slice(0, 8), "validation": slice(9, 12), "test": slice(13, 16)}


def test_window_splits_test_empty_without_a_test_split():
    splits = window_splits(20, 3, 2, val_start=17, test_start=20)
    assert splits["test"].stop == splits["test"].start
    assert splits["validation"] == slice(14, 16)


def test_choose_window_hourly():
    assert choose_window("h", train_rows=10_000) == (72, 24)


def test_choose_window_monthly():
    assert choose_window("MS", train_rows=1_000) == (36, 12)


def test_choose_window_shrinks_for_short_training_splits():
    # horizon = min(24, 100 // 8) = 12; time_steps = min(72, (100 - 12 + 1) // 4) = 22
    assert choose_window("h", train_rows=100) == (22, 12)


@pytest.mark.parametrize("frequency", ["h", "15min", "D", "B", "W-SUN", "MS", "QS-JAN", "YS-JAN"])
def test_choose_window_always_fits_one_window(frequency):
    for train_rows in range(2, 400):
        time_steps, horizon = choose_window(frequency, train_rows)
        assert time_steps >= 1 and horizon >= 1
        assert time_steps + horizon <= train_rows, (frequency, train_rows)
