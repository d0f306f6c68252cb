"""make_windows, split_origins and choose_window on np.arange data."""

import numpy as np
import pytest

from forecaster.windows import choose_window, make_windows, split_origins


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


def target_rows(origins, horizon):
    """The rows that the targets of the windows with these origins come from."""
    return [row for origin in origins for row in range(origin, origin + horizon)]


@pytest.mark.parametrize(("rows", "time_steps", "horizon", "val_start", "test_start"),
                         [(20, 3, 2, 12, 16), (30, 4, 3, 20, 25), (15, 2, 1, 10, 12), (40, 6, 4, 28, 34)])
def test_split_origins_keep_targets_inside_their_split(rows, time_steps, horizon, val_start, test_start):
    splits = split_origins(rows, horizon, val_start, test_start, first_origin=time_steps)
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    assert all(row < val_start for row in target_rows(train, horizon))
    assert all(val_start <= row < test_start for row in target_rows(validation, horizon))
    assert all(test_start <= row < rows for row in target_rows(test, horizon))
    assert train[0] == time_steps and train[-1] < validation[0] and validation[-1] < test[0]
    assert test[-1] == rows - horizon


def test_split_origins_exact():
    # A window with origin o forecasts rows o and o + 1.
    splits = split_origins(20, 2, val_start=12, test_start=16, first_origin=3)
    assert splits["train"].tolist() == list(range(3, 11))
    assert splits["validation"].tolist() == [12, 13, 14]
    assert splits["test"].tolist() == [16, 17, 18]


def test_split_origins_respect_the_first_origin():
    splits = split_origins(20, 2, val_start=12, test_start=16, first_origin=13)
    assert splits["train"].tolist() == [] and splits["validation"].tolist() == [13, 14]


def test_split_origins_test_empty_without_a_test_split():
    splits = split_origins(20, 2, val_start=17, test_start=20, first_origin=3)
    assert splits["test"].tolist() == []
    assert splits["validation"].tolist() == [17, 18]


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


@pytest.mark.slow  # PyDataset imports Keras
def test_window_batches_shuffle_by_seed_and_epoch_alone_and_cap_the_steps():
    from forecaster.windows import window_batches

    def read(origins):
        return np.asarray(origins, dtype="float32")[:, None, None]

    def encode(origins):
        return -np.asarray(origins, dtype="float32")[:, None]

    batches = window_batches(read, encode, np.arange(10, 20), batch_size=4, seed=3)
    assert batches.steps_per_epoch == 3 and batches.num_batches is None  # endless, for fit
    first_epoch = np.concatenate([batches[i][0][:, 0, 0] for i in range(3)])
    second_epoch = np.concatenate([batches[i][0][:, 0, 0] for i in range(3, 6)])
    assert sorted(first_epoch) == sorted(second_epoch) == list(range(10, 20))
    assert list(first_epoch) != list(second_epoch)
    assert (batches[1][1][:, 0] == -batches[1][0][:, 0, 0]).all()
    # A run resumed at epoch 1 reads what epoch 1 of an uninterrupted run read.
    resumed = window_batches(read, encode, np.arange(10, 20), batch_size=4, seed=3, epoch=1)
    assert list(np.concatenate([resumed[i][0][:, 0, 0] for i in range(3)])) == list(second_epoch)
    capped = window_batches(read, encode, np.arange(10, 20), batch_size=4, seed=3, steps=2)
    assert capped.steps_per_epoch == 2 and list(capped[2][0][:, 0, 0]) != list(capped[0][0][:, 0, 0])
    validation = window_batches(read, encode, np.arange(10, 20), batch_size=4)
    assert len(validation) == validation.num_batches == 3
    assert list(np.concatenate([validation[i][0][:, 0, 0] for i in range(3)])) == list(range(10, 20))


def test_a_capped_draw_keeps_at_most_the_cap_of_each_series_however_it_is_chunked(monkeypatch):
    from forecaster import windows

    counts = np.array([7, 0, 2, 12, 5])
    whole = windows.capped_draw(counts, 4, np.random.default_rng(3))
    starts = np.concatenate([[0], np.cumsum(counts)])
    drawn = np.diff(np.searchsorted(whole, starts))  # each series' origins drawn
    assert drawn.tolist() == [4, 0, 2, 4, 4] and (np.diff(whole) > 0).all()
    for chunk in (1, 3, 8):  # a few series at a time: the same draw, the generator left alike
        monkeypatch.setattr(windows, "DRAW_CHUNK", chunk)
        rng = np.random.default_rng(3)
        np.testing.assert_array_equal(windows.capped_draw(counts, 4, rng), whole)
        after = np.random.default_rng(3)
        after.random(counts.sum())
        assert rng.random() == after.random()
    assert len(windows.capped_draw(counts, 4, np.random.default_rng(4))) == 14
    assert not np.array_equal(windows.capped_draw(counts, 4, np.random.default_rng(4)), whole)
