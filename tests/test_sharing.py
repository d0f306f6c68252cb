"""Each worker reads only its own series, and what the workers decide together from what they
gather is what one process decides from all the series. The workers here are threads meeting at a
barrier (`Room`); tests/test_distribution.py trains with real TensorFlow workers."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from forecaster.data import read_panel, time_splits
from forecaster.data.panel import owner
from forecaster.errors import UserError
from forecaster.models import LinearBaseline
from forecaster.scaling import Representation
from forecaster.seasons import find_seasons
from forecaster.sharing import Share, agreed
from forecaster.windows import shared_steps


class Room:
    """`workers` threads, each running function(index, gather); gather(value) -> every thread's
    value, in thread order, once all have given theirs."""

    def __init__(self, workers: int):
        self.workers = workers
        self.barrier = threading.Barrier(workers)
        self.values = [None] * workers

    def gather(self, index: int):
        def gather(value):
            self.barrier.wait()
            self.values[index] = value
            self.barrier.wait()
            found = list(self.values)
            self.barrier.wait()
            return found
        return gather

    def run(self, function) -> list:
        results, errors = [None] * self.workers, []

        def work(index):
            try:
                results[index] = function(index, self.gather(index))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
                self.barrier.abort()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        if errors:
            raise errors[0]
        return results


def write_stores(path, stores: int = 9, seed: int = 1):
    """Hourly series of different lengths and starts, rows in time order (the stores mixed), a
    daily cycle, a few values missing, a region per store."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(stores):
        rows = 150 + 11 * k
        times = pd.date_range("2021-01-01", periods=rows, freq="h") + pd.Timedelta(hours=5 * k)
        values = 10 + k + 3 * np.sin(2 * np.pi * np.arange(rows) / 24) + rng.normal(0, 0.5, rows)
        values[rng.random(rows) < 0.03] = np.nan
        frames.append(pd.DataFrame({"time": times, "store": f"s{k}", "region": "ns"[k % 2],
                                    "load": values.round(3)}))
    frame = pd.concat(frames).sort_values(["time", "store"])
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("kind", ["csv", "csv read by pandas", "parquet"])
def test_each_worker_reads_only_the_series_whose_id_hashes_to_it(tmp_path, kind):
    frame = write_stores(tmp_path / "stores.csv")
    path = tmp_path / "stores.csv"
    if kind == "parquet":
        path = tmp_path / "stores.parquet"
        frame.to_parquet(path)
    elif kind == "csv read by pandas":  # a comment line hands the file to pandas
        lines = (tmp_path / "stores.csv").read_text().splitlines()
        path.write_text("\n".join([lines[0], "# from the till", *lines[1:]]) + "\n")
    whole = read_panel(path, id_columns="store", static="region")
    parts = [read_panel(path, id_columns="store", static="region", share=(k, 3)) for k in range(3)]
    owners = owner(whole.ids, 3)
    for k, part in enumerate(parts):
        assert part.ids == [name for name, found in zip(whole.ids, owners, strict=True) if found == k]
        for i, name in enumerate(part.ids):
            j = whole.ids.index(name)
            np.testing.assert_array_equal(part.rows(i), whole.rows(j))
            assert part.starts[i] == whole.starts[j]
            assert part.statics["region"][i] == whole.statics["region"][j]
    # the line of each series' first row puts them back in the file's order
    order = sorted((line, name) for part in parts for line, name in zip(part.order, part.ids, strict=True))
    assert [name for _, name in order] == whole.ids
    assert sum(int(part.offsets[-1]) for part in parts) == int(whole.offsets[-1])


@pytest.mark.parametrize("bad, message", [
    (lambda time, store, rest: f"{time},,{rest}", "id column 'store' of .* is empty on 1 line \\(5\\)"),
    (lambda time, store, rest: f"{time},{rest}", "line 5 has 3 fields"),
])
def test_a_bad_row_gets_the_same_message_on_every_worker(tmp_path, bad, message):
    write_stores(tmp_path / "stores.csv")
    lines = (tmp_path / "stores.csv").read_text().splitlines()
    lines[4] = bad(*lines[4].split(",", 2))  # line 5
    (tmp_path / "stores.csv").write_text("\n".join(lines) + "\n")
    messages = set()
    for share in (None, (0, 2), (1, 2)):
        with pytest.raises(UserError, match=message) as error:
            read_panel(tmp_path / "stores.csv", id_columns="store", share=share)
        messages.add(str(error.value))
    assert len(messages) == 1


def _shares(path, workers: int, function):
    """function(panel, share) on each of `workers` threads, each holding its share of `path`."""
    def work(index, gather):
        panel = read_panel(path, id_columns="store", share=(index, workers))
        return function(panel, Share.of(panel, gather))
    return Room(workers).run(work)


def test_the_workers_put_together_every_series_as_one_process_holds_them(tmp_path):
    write_stores(tmp_path / "stores.csv")
    whole = read_panel(tmp_path / "stores.csv", id_columns="store")
    for outline in _shares(tmp_path / "stores.csv", 3, lambda panel, share: share.outline(panel)):
        assert outline.ids == whole.ids
        assert list(outline.starts) == list(whole.starts)
        np.testing.assert_array_equal(outline.offsets, whole.offsets)
        assert outline.missing_values == whole.missing_values
        splits, expected = time_splits(outline, 0.2, 0.1), time_splits(whole, 0.2, 0.1)
        np.testing.assert_array_equal(splits.val_start, expected.val_start)
        assert splits.span(outline, "validation") == expected.span(whole, "validation")


def test_what_the_workers_merge_is_in_file_order_and_their_sums_are_the_whole(tmp_path):
    write_stores(tmp_path / "stores.csv")
    whole = read_panel(tmp_path / "stores.csv", id_columns="store")

    def merged(panel, share):
        lengths = share.merge(panel.lengths)
        kept = share.select(lengths > 160)
        return (lengths, share.merge_list(panel.ids), share.total_of(len(panel)),
                kept.merge(share.local(lengths)[lengths[share.positions] > 160]),
                share.local_series(np.arange(share.total)), share.owners)

    results = _shares(tmp_path / "stores.csv", 3, merged)
    for lengths, ids, total, kept, _, owners in results:
        np.testing.assert_array_equal(lengths, whole.lengths)
        assert ids == whole.ids and total == len(whole)
        np.testing.assert_array_equal(kept, whole.lengths[whole.lengths > 160])
        np.testing.assert_array_equal(owners, owner(whole.ids, 3))
    locals_ = np.array([found[4] for found in results])
    assert ((locals_ >= 0).sum(axis=0) == 1).all()  # each series held by exactly one worker


def test_a_user_error_on_one_worker_is_raised_on_every_worker():
    def work(index, gather):
        def step():
            if index == 1:
                raise UserError("worker 1's series are too short")
            return index
        try:
            return agreed(gather, step)
        except UserError as error:
            return str(error)

    assert Room(3).run(work) == ["worker 1's series are too short"] * 3


def _training_pieces(panel, share):
    outline = share.outline(panel)
    splits = time_splits(outline, 0.2, 0.1)
    return [panel.values(k, "interpolate")[:n, 0]
            for k, n in enumerate(share.local(splits.val_start))]


def test_seasons_found_over_the_workers_are_those_found_over_every_series(tmp_path):
    write_stores(tmp_path / "stores.csv")
    whole = read_panel(tmp_path / "stores.csv", id_columns="store")
    expected = find_seasons(_training_pieces(whole, Share.alone(whole)), "h")
    found = _shares(tmp_path / "stores.csv", 3, lambda panel, share: find_seasons(
        _training_pieces(panel, share), "h", share))
    assert expected.periods == (24,)
    assert all(seasons == expected for seasons in found)


@pytest.mark.parametrize("kind", Representation.KINDS)
def test_a_representation_fitted_by_the_workers_is_the_one_fitted_on_every_series(tmp_path, kind):
    write_stores(tmp_path / "stores.csv")

    def fitted(panel, share):
        outline = share.outline(panel)
        splits = time_splits(outline, 0.2, 0.1)
        values = np.concatenate([panel.values(k, "interpolate") for k in range(len(panel))])
        return Representation(kind, 24).fit(values, share.local(splits.val_start), 12, 3,
                                            panel.offsets, share)

    whole = read_panel(tmp_path / "stores.csv", id_columns="store")
    expected = fitted(whole, Share.alone(whole))
    for representation in _shares(tmp_path / "stores.csv", 2, fitted):
        assert representation.anchors_ == expected.anchors_ and representation.lag_ == expected.lag_
        assert representation.cycles_ == expected.cycles_
        for name in ("mean_", "scale_", "level_", "spread_", "size_"):
            np.testing.assert_allclose(getattr(representation, name), getattr(expected, name),
                                       rtol=1e-12, err_msg=name)


def test_a_ridge_on_the_workers_sums_is_the_ridge_on_every_window():
    rng = np.random.default_rng(0)
    inputs, targets = rng.normal(size=(400, 6, 2)), rng.normal(size=(400, 3))
    blocks = [(iter([(inputs[a:a + 80], targets[a:a + 80])]), iter([(inputs[a + 80:a + 100],
                                                                     targets[a + 80:a + 100])]))
              for a in range(0, 400, 100)]
    expected = LinearBaseline().fit_tuned(blocks, range(4))

    def half(index, gather):  # each worker holds every other window of each block
        share = Share(np.zeros(0), 0, gather)
        mine = [(iter([(inputs[a + index:a + 80:2], targets[a + index:a + 80:2])]),
                 iter([(inputs[a + 80 + index:a + 100:2], targets[a + 80 + index:a + 100:2])]))
                for a in range(0, 400, 100)]
        return LinearBaseline().fit_tuned(mine, range(4), share)

    for ridge in Room(2).run(half):
        assert (ridge.alpha, ridge.steps) == (expected.alpha, expected.steps)
        np.testing.assert_allclose(ridge.coef_, expected.coef_, rtol=1e-9, atol=1e-12)


def test_the_batches_do_not_depend_on_how_many_workers_hold_the_series():
    counts = np.array([30, 5, 18, 40, 9, 22])  # training origins of each series of the file
    origins = np.concatenate([1000 * k + np.arange(n) for k, n in enumerate(counts)])
    series = np.repeat(np.arange(len(counts)), counts)

    def batches(workers: int, epoch: int) -> list[list[set]]:
        owners = np.arange(len(counts)) % workers
        found = []
        for index in range(workers):
            mine = np.flatnonzero(owners == index)
            keep = np.isin(series, mine)
            local = np.searchsorted(mine, series[keep])
            steps, count = shared_steps(origins[keep], local, mine, counts, batch_size=16, seed=4,
                                        steps=6, per_group=20, owners=owners)
            parts, most = steps(epoch)
            assert count == 6 and most >= max(len(part) for part, _ in parts)
            found.append([(set(part.tolist()), total) for part, total in parts])
        return [(set().union(*[worker[i][0] for worker in found]), found[0][i][1])
                for i in range(len(found[0]))]

    for epoch in (0, 3):
        alone = batches(1, epoch)
        # 92 windows drawn (each series gives at most 20 of its origins): 5 batches of 16 and 12
        assert [len(batch) for batch, _ in alone] == [16] * 5 + [12]
        assert [total for _, total in alone] == [16] * 5 + [12]
        assert batches(2, epoch) == alone and batches(3, epoch) == alone
    drawn = set().union(*[batch for batch, _ in batches(1, 0)])
    assert all(sum(1 for o in drawn if o // 1000 == k) <= 20 for k in range(len(counts)))
    assert batches(1, 0) != batches(1, 1)


def test_a_worker_whose_series_are_all_too_short_is_refused_on_every_worker(tmp_path):
    from forecaster.config import Settings
    from forecaster.estimator import Forecaster

    ids = [f"s{k}" for k in range(6)]
    short = owner(ids, 2) == 1
    rows = []
    for k, name in enumerate(ids):
        length = 10 if short[k] else 200
        times = pd.date_range("2021-01-01", periods=length, freq="h")
        rows.append(pd.DataFrame({"time": times, "store": name,
                                  "load": np.sin(np.arange(length) / 3) + k}))
    pd.concat(rows).to_csv(tmp_path / "stores.csv", index=False)

    def fit(panel, share):
        try:
            Forecaster(Settings(time_steps=12, horizon=3, val_fraction=0.1, test_fraction=0.1)).fit(
                panel, share=share)
        except UserError as error:
            return str(error)

    messages = _shares(tmp_path / "stores.csv", 2, fit)
    assert messages[0] == messages[1]
    assert messages[0].startswith("worker 1 of 2 holds no series of ")
    assert "long enough to train on" in messages[0]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_worker_whose_share_holds_no_series_is_told_so_and_an_empty_file_as_ever(tmp_path, kind):
    frame = pd.DataFrame({"shop": ["a"] * 3 + ["b"] * 3, "day": ["2024-01-01", "2024-01-02",
                                                                  "2024-01-03"] * 2,
                          "sales": [1.0, 2.0, 3.0, 4.0, 5.0, 7.0]})
    assert owner(["a", "b"], 2).tolist() == [1, 1]  # both series hash to worker 1
    path = tmp_path / f"shops.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    assert len(read_panel(path, target="sales", id_columns="shop", share=(1, 2))) == 2
    with pytest.raises(UserError, match="worker 0 of 2 holds no series of .*; run on fewer workers"):
        read_panel(path, target="sales", id_columns="shop", share=(0, 2))
    empty = tmp_path / f"empty.{kind}"
    frame.iloc[:0].to_csv(empty, index=False) if kind == "csv" else frame.iloc[:0].to_parquet(empty)
    with pytest.raises(UserError, match="no rows"):
        read_panel(empty, target="sales", id_columns="shop", share=(0, 2))
