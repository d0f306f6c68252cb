"""Windows: arrays of shape (samples, time_steps, features), and the window sizes for a frequency."""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from forecaster import backend
from forecaster.data import season_length


def make_windows(values, time_steps: int, horizon: int, target: int = 0):
    """(rows, features) -> inputs (samples, time_steps, features), targets (samples, horizon).

    targets[i] = values[i + time_steps : i + time_steps + horizon, target]: the steps right after
    window i. samples = rows - time_steps - horizon + 1. Both are read-only views of `values`.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected values of shape (rows, features), got shape {values.shape}")
    if time_steps < 1 or horizon < 1:
        raise ValueError(f"time_steps and horizon must be >= 1, got {time_steps} and {horizon}")
    rows = len(values)
    if rows < time_steps + horizon:
        raise ValueError(
            f"{rows} rows are fewer than time_steps + horizon = {time_steps + horizon}")
    inputs = sliding_window_view(values[: rows - horizon], time_steps, axis=0).transpose(0, 2, 1)
    targets = sliding_window_view(values[time_steps:, target], horizon)
    return inputs, targets


def split_origins(rows: int, horizon: int, val_start: int, test_start: int,
                  first_origin: int) -> dict[str, np.ndarray]:
    """Forecast origins (the row of a window's first forecast step) for each split.

    A window belongs to the split that holds all of its targets; its inputs may reach back into
    earlier rows, as a forecast made at that time would. Windows whose targets straddle a boundary
    are used by neither side, and no origin is earlier than `first_origin`. The window with origin
    o reads rows o - time_steps ... o - 1 and forecasts rows o ... o + horizon - 1.
    """

    def between(first_row: int, end_row: int) -> np.ndarray:
        return np.arange(max(first_row, first_origin), end_row - horizon + 1)

    return {
        "train": between(0, val_start),
        "validation": between(val_start, test_start),
        "test": between(test_start, rows),
    }


DRAW_CHUNK = 1 << 20  # origins an epoch's capped draw ranks at once (`capped_draw`)
MAX_TIME_STEPS = 512  # the longest default window: a week of half-hourly steps (336) fits


def choose_window(frequency: str, train_rows: int, periods=()) -> tuple[int, int]:
    """Default (time_steps, horizon) for a frequency and the seasonal periods found in the data,
    shortened to fit the training rows.

    The horizon is one calendar season (the next day of hourly data, the next week of daily data,
    the next year of monthly data; a quarter of it when a season is longer than 24 steps). The
    window looks back three calendar seasons (at least 8 steps), or three of the shortest period
    found and the whole of the longest (a week of hourly data that has a weekly cycle), at most
    MAX_TIME_STEPS. Both shrink so that the training split still yields at least three windows
    for every step of look-back.
    """
    season = season_length(frequency)
    horizon = season if season <= 24 else max(1, season // 4)
    time_steps = max(3 * season, 2 * horizon, 8)
    if periods:
        time_steps = max(3 * min(periods), max(periods), 2 * horizon, 8)
    time_steps = min(time_steps, MAX_TIME_STEPS)
    horizon = max(1, min(horizon, train_rows // 8))
    time_steps = max(1, min(time_steps, (train_rows - horizon + 1) // 4))
    return time_steps, horizon


def window_batches(read, encode, origins, batch_size: int, seed: int | None = None,
                   steps: int | None = None, epoch: int = 0, counts=None, per_group: int | None = None):
    """Batches gathered lazily, as a keras.utils.PyDataset: batch i is (read(o), encode(o)) for
    its share `o` of `origins`, so only one batch of windows is ever copied out of the series.
    `read`: origins -> inputs (n, time_steps, features); `encode`: origins -> targets (n, horizon).

    Without `seed`: one pass over `origins` in order (validation). With `seed`: training batches
    for `model.fit(..., steps_per_epoch=dataset.steps_per_epoch)`, an endless stream in which each
    epoch reads the origins in its own shuffled order, a function of the seed and the epoch number
    alone (`epoch` is the first epoch's, 0-based): a resumed run reads the batches an uninterrupted
    one would. `steps` caps the batches per epoch, each epoch then reading a different share.

    `counts` (how many origins each series has, `origins` coming series by series in that order)
    with `per_group`: each epoch draws at most `per_group` origins of each series, uniformly among
    its own and anew each epoch, so that every series weighs about alike however long it is, and
    an epoch's cost is bounded.
    """
    return _window_batches_class()(read, encode, origins, batch_size, seed, steps, epoch,
                                   counts, per_group)


@functools.cache
def _window_batches_class():
    keras = backend.keras()

    class WindowBatches(keras.utils.PyDataset):
        def __init__(self, read, encode, origins, batch_size, seed, steps, epoch, counts, per_group):
            super().__init__()
            self.read, self.encode, self.batch_size = read, encode, batch_size
            self.origins, self.seed, self.first_epoch = np.asarray(origins), seed, epoch
            self.counts = None if per_group is None else np.asarray(counts, dtype=np.int64)
            self.per_group = per_group
            drawn = len(self.origins)
            if per_group is not None:
                if self.counts.sum() != drawn:
                    raise ValueError(f"counts add up to {self.counts.sum()}, not the {drawn} origins")
                drawn = int(np.minimum(self.counts, per_group).sum())
            batches = -(-drawn // batch_size)
            self.steps_per_epoch = batches if steps is None else min(batches, steps)
            self._order_of = (None, None)  # (epoch, its order): one epoch's at a time

        @property
        def num_batches(self):
            return None if self.seed is not None else self.steps_per_epoch  # None: endless

        def __len__(self):
            return self.steps_per_epoch

        def __getitem__(self, index):
            order = self.origins
            if self.seed is not None:
                epoch, index = divmod(index, self.steps_per_epoch)
                order = self._order(self.first_epoch + epoch)
            chosen = order[index * self.batch_size:(index + 1) * self.batch_size].astype(np.int64)
            return self.read(chosen), self.encode(chosen)

        def release(self) -> None:
            """Drop the origins and the epoch's order once training is over: Keras's data adapter,
            which holds this dataset, outlives model.fit (with it, a network's origins and their
            shuffled copy stayed alive, 100-200 MB a network on 10,000 series)."""
            self.origins = self.counts = None
            self._order_of = (None, None)

        def _order(self, epoch: int) -> np.ndarray:
            if self._order_of[0] != epoch:
                rng = np.random.default_rng([self.seed, epoch])
                origins = self.origins
                if self.per_group is not None:
                    origins = origins[capped_draw(self.counts, self.per_group, rng)]
                # shuffled as int32 where the rows allow (half the memory; the same order)
                order = origins.astype(np.int32 if len(origins) and origins.max() < 2**31 else np.int64)
                rng.shuffle(order)
                self._order_of = (epoch, order)
            return self._order_of[1]

    return WindowBatches


def capped_draw(counts, most: int, rng: np.random.Generator) -> np.ndarray:
    """Which of the origins of series that have `counts` origins each (series by series) an epoch
    draws: at most `most` of each series, chosen uniformly at random, in ascending order.

    Each origin gets a random key and a series keeps its `most` smallest; the keys are drawn and
    ranked a few whole series at a time (DRAW_CHUNK origins), so that seven million origins cost
    tens of MB, not one full-length array per step (the same draws as at once: the generator's
    stream does not depend on how it is cut)."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    kept, first = [], 0
    while first < len(counts):
        start = ends[first] - counts[first]  # the chunk's first origin
        last = max(int(np.searchsorted(ends, start + DRAW_CHUNK, side="right")), first + 1)
        sizes = counts[first:last]
        series = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        order = np.lexsort((rng.random(len(series)), series))  # by series, then by key
        rank = np.arange(len(order)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        del series
        chosen = order[rank < most]
        chosen.sort()
        kept.append(chosen + start)
        first = last
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)


def shared_steps(origins, series, positions, counts, batch_size: int, seed: int | None = None,
                 steps: int | None = None, per_group: int | None = None, owners=None, index=None,
                 most: int | None = None):
    """This worker's part of each batch when several workers each hold their own series
    (`forecaster.sharing`): a function epoch -> ([(its origins in a batch, the batch's windows
    over every worker)], the most windows any worker has in any of those batches), and the
    batches per epoch.

    The batches are those of one list of every worker's origins, series after series in file
    order: with `seed`, each epoch draws at most `per_group` origins of each series (uniformly,
    from the seed, the epoch and the series' place alone) and reads them in an order shuffled by
    the seed and the epoch, `steps` batches at most; without, one pass in order (validation),
    `index` then giving each origin's place in the list and `most` the most windows of a batch
    that a worker holds. Every worker computes the same batches from the per-series `counts`
    (origins of each series of the file) and `owners` (the worker of each), and keeps its own
    windows, so that the batches, and so the model, do not depend on how many workers there are.

    `origins`: this worker's, grouped by its series in order; `series`: (origins,) the local
    series of each; `positions`: each local series' place among the file's.
    """
    origins, counts = np.asarray(origins), np.asarray(counts, dtype=np.int64)
    if seed is None:
        total = int(sum(counts))
        batches = -(-total // batch_size)

        def in_order(epoch: int):
            step = np.asarray(index) // batch_size
            bounds = np.searchsorted(step, np.arange(batches + 1))
            return [(origins[bounds[i]:bounds[i + 1]], min(batch_size, total - i * batch_size))
                    for i in range(batches)], most

        return in_order, batches
    series, positions = np.asarray(series), np.asarray(positions, dtype=np.int64)
    owners = np.asarray(owners, dtype=np.int64)
    drawn = counts if per_group is None else np.minimum(counts, per_group)
    total = int(drawn.sum())
    batches = -(-total // batch_size)
    batches = batches if steps is None else min(batches, steps)
    starts = np.concatenate([[0], np.cumsum(drawn)])
    lookup = np.full(len(counts), -1, dtype=np.int64)
    lookup[positions] = np.arange(len(positions))
    first = np.searchsorted(series, np.arange(len(positions)))  # each local series' first origin

    def shuffled(epoch: int):
        entries = np.random.default_rng([seed, epoch]).permutation(total)[:batches * batch_size]
        place = np.searchsorted(starts, entries, side="right") - 1
        step = np.arange(len(entries)) // batch_size
        most = int(np.bincount(owners[place] * batches + step).max())
        local = lookup[place]
        mine = np.flatnonzero(local >= 0)
        rank = entries[mine] - starts[place[mine]]  # the rank-th drawn origin of its series
        local = local[mine]
        for k in np.unique(local[counts[positions[local]] > drawn[positions[local]]]):
            g = positions[k]  # a series with more origins than it gives: which it gives this epoch
            chosen = np.sort(np.random.default_rng([seed, epoch, g]).permutation(counts[g])[:drawn[g]])
            here = local == k
            rank[here] = chosen[rank[here]]
        chosen = origins[first[local] + rank]
        bounds = np.searchsorted(step[mine], np.arange(batches + 1))
        return [(chosen[bounds[i]:bounds[i + 1]], min(batch_size, len(entries) - i * batch_size))
                for i in range(batches)], most

    return shuffled, batches


def histories_at(values, origins, rows: int) -> np.ndarray:
    """The `rows` rows before each origin: values (rows, columns) -> (len(origins), rows, columns),
    history i being values[origins[i] - rows : origins[i]]. Only the histories asked for are copied."""
    values = np.asarray(values)
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) and (origins.min() < rows or origins.max() > len(values)):
        raise ValueError(f"origins must lie in [{rows}, {len(values)}] to have {rows} rows before "
                         f"them; got {origins.min()} to {origins.max()}")
    views = sliding_window_view(values, rows, axis=0)  # (len - rows + 1, columns, rows)
    return views[origins - rows].transpose(0, 2, 1)
