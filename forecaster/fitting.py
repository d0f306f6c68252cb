"""Fitting one network on the training windows of a panel: its representation, the Keras fit with
early stopping and checkpoints, and its ridge baseline. Scoring and choosing among networks is the
estimator's (`forecaster.estimator`), through its one predict method.

Windows are drawn lazily, a batch at a time, from all series laid one after another (`Problem`):
an origin is a row of that array, and a window never reaches across a series' start, since no
origin lies closer to its series' start than the history a window needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from forecaster import backend, distribution
from forecaster.checkpoints import Checkpoints
from forecaster.config import Settings
from forecaster.errors import UserError
from forecaster.models import LinearBaseline, baseline_model, build_model, combine_members, load_model
from forecaster.scaling import Representation, evenly_spaced, spaced_places
from forecaster.sharing import Share
from forecaster.windows import histories_at, shared_steps, window_batches

# Validation windows that give a network its validation loss (early stopping) and training windows
# that fit the ridge baseline, at most: evenly spaced when there are more. Bounds the work per
# epoch on long series and large panels; no bundled set reaches them.
MAX_SCORED_ORIGINS = 20_000
MAX_RIDGE_ORIGINS = 100_000
# The ridge's penalty and steps are chosen on RIDGE_FOLDS consecutive blocks of each series' training
# windows: with fewer than RIDGE_EVERY_FOLD_BELOW windows, each block held out in turn (every window
# scored once: a few years of monthly data, a few centuries of yearly data); with more, the last
# block alone, which then holds thousands of windows, enough for a steady choice.
RIDGE_FOLDS = 4
RIDGE_EVERY_FOLD_BELOW = 8_000
SERIES_OF_CHUNK = 1 << 20  # rows whose series are looked up at once
RIDGE_BATCH_BYTES = 1 << 25  # float64 histories read at once to fit a ridge (32 MiB)
# Window steps (windows x time_steps) an epoch reads at most, training and early stopping's
# validation pass alike, unless --steps-per-epoch says otherwise: a longer window then means fewer
# windows per epoch (each epoch another share), so training time follows the data, not the window.
# A year of hourly data with 72-step windows (440,000) and the classic example (1000 windows of
# 1000 steps) stay under it; two years of half-hourly data with two-week windows read an eighth.
WINDOW_STEPS_PER_EPOCH = 1_000_000


def epoch_budget(time_steps: int, batch_size: int) -> tuple[int, int]:
    """(training batches, validation windows) an epoch reads at most for windows of `time_steps`."""
    windows = max(1, WINDOW_STEPS_PER_EPOCH // max(time_steps, 1))
    return max(1, -(-windows // batch_size)), min(MAX_SCORED_ORIGINS, max(windows, 1000))


@dataclass
class Problem:
    """The prepared data every network trains on: all series one after another."""

    values: np.ndarray  # (rows, columns) in user units, target first, missing values filled
    #                     within each series' splits, then the calendar inputs
    offsets: np.ndarray  # (series + 1,) series k holds rows offsets[k]:offsets[k + 1]
    val_start: np.ndarray  # (series,) each series' first validation row, counted from its start
    test_start: np.ndarray  # (series,) each series' first test row
    time_steps: int
    horizon: int
    season: int
    source: str  # the file's name, for messages
    static: np.ndarray | None = None  # (series, width) per-series inputs (`StaticInputs`), if any
    period: int = 0  # the longest seasonal period found ("seasonal" averages its cycles); 0: season
    share: Share | None = None  # which of the file's series these are, when several workers train
    #                             (`forecaster.sharing`); None: every series, one process
    future: tuple = ()  # the columns (by place) of inputs known ahead (`Representation.future`)

    @property
    def cycle(self) -> int:
        return self.period or self.season

    @property
    def series(self) -> int:
        return len(self.offsets) - 1

    def origins(self, split: str, first: int, steps: int) -> np.ndarray:
        """Rows of `values` (global) where a window of `split` starts forecasting: each holds all
        `steps` of its targets inside the split of its own series and at least `first` rows of
        that series before it, so no window crosses a split's end or a series' start."""
        lengths = np.diff(self.offsets)
        begin, end = {"train": (np.zeros_like(lengths), self.val_start),
                      "validation": (self.val_start, self.test_start),
                      "test": (self.test_start, lengths)}[split]
        start = np.maximum(begin, first)
        counts = np.maximum(np.asarray(end) - steps + 1 - start, 0)
        origins = np.empty(int(counts.sum()), dtype=np.int64)  # written in place, series by series
        at = 0
        for k in np.flatnonzero(counts):
            origins[at:at + counts[k]] = np.arange(self.offsets[k] + start[k],
                                                   self.offsets[k] + start[k] + counts[k])
            at += counts[k]
        return origins

    def counts_of(self, origins) -> np.ndarray:
        """(series,) how many of `origins` (ascending, as `origins` gives them) each series holds."""
        return np.diff(np.searchsorted(origins, self.offsets))

    def input_columns(self, representation: Representation) -> int:
        """The columns of the windows a network of `representation` reads."""
        static = 0 if self.static is None else self.static.shape[1]
        return representation.input_columns(self.values.shape[1], static)

    def series_of(self, rows) -> np.ndarray:
        """(rows,) int32: the series each global row belongs to (found a chunk of rows at a time:
        searchsorted's int64 result for millions of origins would double their memory)."""
        rows = np.asarray(rows)
        series = np.empty(rows.shape, dtype=np.int32)  # fewer than 2**31 series
        for start in range(0, rows.size, SERIES_OF_CHUNK):
            part = slice(start, start + SERIES_OF_CHUNK)
            series.flat[part] = np.searchsorted(self.offsets, rows.flat[part], side="right") - 1
        return series

    @property
    def shared(self) -> bool:
        """These are one worker's series of the file (`share`), not all of them."""
        return self.share is not None and not self.share.alone_

    @property
    def statistics_rows(self) -> np.ndarray:
        """(series,) each series' row in the fitted statistics, which cover every series."""
        return np.arange(self.series) if self.share is None else self.share.positions

    def count(self, origins) -> int:
        """How many `origins` every worker has together."""
        return int(self.share.total_of(len(origins))) if self.shared else len(origins)

    def places(self, origins) -> tuple[np.ndarray, int]:
        """(origins,) the place of each of `origins` (grouped by series, in order) in the list of
        every worker's, series after series in file order, and that list's length."""
        series = self.series_of(origins)
        counts = self.share.merge(np.bincount(series, minlength=self.series))
        start = np.concatenate([[0], np.cumsum(counts)])
        first = np.searchsorted(series, np.arange(self.series))
        return (start[self.share.positions[series]] + np.arange(len(origins)) - first[series],
                int(counts.sum()))

    def spaced(self, origins, most: int) -> tuple[np.ndarray, np.ndarray | None, int]:
        """`evenly_spaced(origins, most)` over every worker's origins as one list (`places`): this
        worker's of them, their places in the list of those kept (None alone) and its length."""
        if not self.shared:
            kept = evenly_spaced(origins, most)
            return kept, None, len(kept)
        places, total = self.places(origins)
        if total <= most:
            return np.asarray(origins), places, total
        chosen = spaced_places(total, most)
        keep = np.isin(places, chosen)
        return np.asarray(origins)[keep], np.searchsorted(chosen, places[keep]), most


@dataclass
class Network:
    """One trained network and what was fitted with it."""

    representation: Representation
    model: object  # keras.Model
    history: dict  # Keras's history of the kept fit: loss, val_loss, ...
    linear: LinearBaseline  # ridge on the same training windows, in the same representation
    epoch_seconds: list  # wall time of each training epoch (with its validation pass)


class NoWindows(UserError):
    """A split holds no complete window for a representation (`--scaling auto` goes on without it)."""


def fit_baseline(name: str, problem: Problem, settings: Settings) -> Network:
    """Naive, seasonal naive or the seasonal mean as a member that `--scaling auto` may keep: a
    representation anchored on it at every step ("window" for naive, "change" for seasonal naive,
    "seasonal" for the seasonal mean) and a model that outputs zeros, so that the anchor is the
    forecast. Its `linear` is all zeros too, but for the seasonal mean: the ridge on the seasonal
    representation's windows (no network is trained on them), which `auto` also weighs."""
    p = problem
    kind = {"seasonal_naive": "change", "seasonal_mean": "seasonal"}.get(name, "window")
    representation = _fitted_representation(kind, p, settings, p.horizon)
    if name == "seasonal_naive":
        representation.anchors_ = ["seasonal_naive"] * p.horizon
    columns = p.input_columns(representation)
    model = baseline_model(name, p.time_steps, columns, p.horizon)
    if name == "seasonal_mean":
        linear = fit_ridge(representation, p, p.horizon)
    else:
        linear = LinearBaseline.from_dict({"alpha": 1.0, "intercept": np.zeros(p.horizon),
                                           "coef": np.zeros((p.horizon, p.time_steps * columns))})
    return Network(representation, model, {}, linear, [])


def _fitted_representation(scaling: str, p: Problem, settings: Settings, steps: int) -> Representation:
    """`scaling`'s representation fitted on every series' training rows; "seasonal" on the longest
    period, the others on the season. NoWindows where the seasonal one does not fit the file."""
    representation = Representation(scaling, p.cycle if scaling == "seasonal" else p.season,
                                     settings.series_size, p.future)
    try:
        return representation.fit(p.values, p.val_start, p.time_steps, steps, p.offsets, p.share)
    except ValueError as error:
        if scaling != "seasonal":
            raise
        raise NoWindows(f"{p.source}: {error}. Use a longer file, or another --scaling.") from None


def fit_ridge(representation: Representation, p: Problem, steps: int,
              train_at: np.ndarray | None = None) -> LinearBaseline:
    """The ridge on `representation`'s training windows (`train_at`, when the caller has them),
    its penalty and the steps it reads chosen on held-out blocks of them (`ridge_blocks`,
    `LinearBaseline.fit_tuned`)."""
    read, encode = reader(p, representation, steps)
    if train_at is None:
        train_at = p.origins("train", representation.first_origin(), steps)
    origins = p.spaced(train_at, MAX_RIDGE_ORIGINS)[0]
    labels = ridge_blocks(origins, p, steps)
    # windows a batch reads: 4096, fewer where each reads a long history (the seasonal
    # representation's cycles), so that a batch's float64 histories stay near RIDGE_BATCH_BYTES
    history = representation.first_origin() * p.values.shape[1] * 8
    size = int(np.clip(RIDGE_BATCH_BYTES // history, 256, 4096))

    def batches(part):
        return ((read(at), encode(at)) for at in np.array_split(part, max(1, -(-len(part) // size)))
                if len(at))

    blocks = [(batches(origins[labels == 2 * k]), batches(origins[labels == 2 * k + 1]))
              for k in range(RIDGE_FOLDS)]
    scored = range(RIDGE_FOLDS) if p.count(origins) < RIDGE_EVERY_FOLD_BELOW else [RIDGE_FOLDS - 1]
    return LinearBaseline().fit_tuned(blocks, scored, p.share)


def reader(problem: Problem, representation: Representation, steps: int):
    """(read, encode): global origins -> the model's windows, and -> its training targets."""
    needed = representation.first_origin()
    target = problem.values[:, 0]
    rows = problem.statistics_rows

    columns = list(problem.future)

    def read(origins):
        histories = histories_at(problem.values, origins, needed)
        series = problem.series_of(origins)
        static = None if problem.static is None else problem.static[series]
        ahead = None  # inputs known ahead on the steps forecast: rows from the origin on
        if columns:
            ahead = problem.values[np.asarray(origins)[:, None] + np.arange(steps)][..., columns]
        return representation.windows(histories, rows[series], static, ahead)

    def encode(origins):
        origins = np.asarray(origins)
        histories = histories_at(target[:, None], origins, needed)[..., 0]
        truth = target[origins[:, None] + np.arange(steps)[None, :]]
        return representation.encode(histories, truth, rows[problem.series_of(origins)])

    return read, encode


def fit_network(scaling: str, problem: Problem, settings: Settings, verbose,
                checkpoints: Checkpoints | None = None, seed: int | None = None,
                fitted: Network | None = None) -> Network:
    """Fit one representation and one network on the training windows of every series.

    The network is trained from `seed` (default settings.seed) with deterministic ops; a network
    that `checkpoints` holds as finished is loaded instead, an unfinished one continues where it
    stopped. `fitted`, a network of the same representation from another seed, lends its
    representation and ridge baseline, which do not depend on the seed.
    """
    seed = settings.seed if seed is None else seed
    backend.deterministic(seed, ops=not settings.jit_compile)  # each network: the same start
    p = problem
    # A recursive model learns one step; it is scored, like a direct one, on whole horizons.
    steps = 1 if settings.strategy == "recursive" else p.horizon
    if fitted is not None:
        representation = fitted.representation
    else:
        representation = _fitted_representation(scaling, p, settings, steps)
    first = representation.first_origin()
    train_at = p.origins("train", first, steps)
    validation = p.origins("validation", first, p.horizon)
    for name, flag, found in (("train", "--val-fraction/--test-fraction", train_at),
                              ("validation", "--val-fraction", validation)):
        if p.count(found) == 0:
            raise NoWindows(
                f"the {name} split of {p.source} holds no complete window with --scaling {scaling} "
                f"(each needs {first} rows of history and {p.horizon} rows to forecast). Use a "
                f"smaller --time-steps/--horizon, adjust {flag}, or use a longer file.")
    val_at = p.spaced(p.origins("validation", first, steps),
                      epoch_budget(p.time_steps, settings.batch_size)[1])
    read, encode = reader(p, representation, steps)
    key = f"{scaling}.seed{seed}"
    finished = checkpoints.finished(key) if checkpoints else None
    if finished:
        model, history, epoch_seconds = (load_model(finished["model"]), finished["history"],
                                         finished["epoch_seconds"])
    else:
        model, history, epoch_seconds = _train(key, representation, problem, settings, verbose,
                                               checkpoints, seed, steps, (read, encode),
                                               (train_at, val_at))
    linear = fitted.linear if fitted is not None else fit_ridge(representation, p, steps, train_at)
    return Network(representation, model, history, linear, epoch_seconds)


def ridge_blocks(origins: np.ndarray, problem: Problem, steps: int,
                 folds: int = RIDGE_FOLDS) -> np.ndarray:
    """(origins,) the block of each training origin: each series' origins cut into `folds`
    consecutive blocks of about equal count; 2k for block k's body, 2k + 1 for its tail, the
    origins whose `steps` targets reach into block k + 1's first target row (of the same series)."""
    origins = np.asarray(origins)
    if len(origins) == 0:
        return np.zeros(0, dtype=np.int64)
    series = problem.series_of(origins)
    _, first, counts = np.unique(series, return_index=True, return_counts=True)
    position = np.arange(len(origins)) - np.repeat(first, counts)  # origins come series by series
    block = position * folds // np.repeat(counts, counts)
    key = series.astype(np.int64) * folds + block  # ascending: series by series, block by block
    keys, starts = np.unique(key, return_index=True)
    at = np.searchsorted(keys, key + 1).clip(0, len(keys) - 1)
    has_next = (block < folds - 1) & (keys[at] == key + 1)
    following = np.where(has_next, origins[starts[at]], np.iinfo(np.int64).max)  # its first origin
    tail = origins + steps > following
    return 2 * block + tail


def _train(key: str, representation: Representation, p: Problem, settings: Settings, verbose,
           checkpoints: Checkpoints | None, seed: int, steps: int, functions, origins):
    """model.fit on batches drawn per epoch (`window_batches`); returns (model, history, seconds)."""
    read, encode = functions
    train_at, val_at = origins
    progress = checkpoints.progress(key) if checkpoints else None
    worker = distribution.start(settings.distribute)
    with worker.scope():  # a model built in a strategy's scope trains distributed
        model = worker.prepare(load_model(progress["model"]) if progress else build_model(
            settings.model, p.time_steps, p.input_columns(representation), steps, settings.units,
            settings.layers, settings.dropout, settings.learning_rate, settings.loss))
    if settings.jit_compile:
        model.jit_compile = True  # XLA (Keras's own check may still refuse it, with a warning)
    monitor = _Monitor(key, settings.patience, checkpoints, progress)
    if not (progress and progress["stopper"]["stopped"]):
        initial_epoch = progress["epoch"] if progress else 0
        most = settings.steps_per_epoch or epoch_budget(p.time_steps, settings.batch_size)[0]
        counts = p.counts_of(train_at)  # each series' training origins
        if p.shared:  # each worker its own windows of batches drawn from every worker's
            counts = p.share.merge(counts)
            every, steps_per_epoch = shared_steps(
                train_at, p.series_of(train_at), p.share.positions, counts, settings.batch_size,
                seed, most, windows_per_series(settings, counts), p.share.owners)
            val_origins, places, total = val_at
            mine = np.bincount(places // settings.batch_size, minlength=1)
            in_order, validation_steps = shared_steps(
                val_origins, None, None, [total], settings.batch_size, index=places,
                most=int(max(found.max() for found in p.share.gather(mine))))
            shapes = (model.input_shape[1:], model.output_shape[1:])
            batches, release_batches = worker.dataset(every, (read, encode), shapes, initial_epoch)
            validation, release_validation = worker.dataset(in_order, (read, encode), shapes,
                                                            endless=False)
            releases = [release_batches, release_validation]
        else:
            batches = window_batches(read, encode, train_at, settings.batch_size, seed, most,
                                     initial_epoch, counts=counts,
                                     per_group=windows_per_series(settings, counts))
            steps_per_epoch, validation_steps = batches.steps_per_epoch, None
            validation = window_batches(read, encode, val_at[0], settings.batch_size)
            releases = [batches.release, validation.release]
        try:
            model.fit(
                batches, steps_per_epoch=steps_per_epoch, shuffle=False, validation_data=validation,
                validation_steps=validation_steps, epochs=settings.epochs,
                callbacks=[monitor.stopper, monitor.callback], verbose=verbose,
                initial_epoch=initial_epoch)
        finally:  # Keras and TensorFlow keep the datasets alive after fit: not their origins
            for release in releases:
                release()
    elif progress["best_weights"] is not None:  # killed after early stopping, before saving
        model.set_weights(progress["best_weights"])
    if monitor.failed:
        epoch, name, value = monitor.failed
        raise UserError(
            f"training diverged: the {name} was {value} after epoch {epoch} ({representation.scaling} "
            f"scaling, seed {seed}, --learning-rate {settings.learning_rate}), so no model was "
            f"saved. Look for extreme values in {p.source}, or retry with a smaller "
            f"--learning-rate or --loss huber.")
    if checkpoints:
        checkpoints.save_finished(key, model, monitor.history, monitor.seconds)
    return worker.unwrap(model), monitor.history, monitor.seconds  # an ordinary Keras model


def windows_per_series(settings: Settings, counts: np.ndarray) -> int | None:
    """Training windows each series gives an epoch at most: --windows-per-series, or by default
    the median series' count (`counts`: each series' windows), so that a few long series do not
    outweigh the others (one series: every window, as always). None when no series has more."""
    counts = np.asarray(counts)
    counts = counts[counts > 0]
    cap = settings.windows_per_series or (int(np.median(counts)) if len(counts) else None)
    return cap if cap is not None and len(counts) and counts.max() > cap else None


def ensemble(first: Network, problem: Problem, settings: Settings, verbose,
             checkpoints: Checkpoints | None = None) -> tuple[Network, list[Network]]:
    """`settings.ensemble` networks of `first`'s representation, `first` (from --seed) and one from
    each of the next seeds, combined into one model that forecasts their median. Returns the
    combined network and the members."""
    scaling = first.representation.scaling
    members = [first]
    for offset in range(1, settings.ensemble):
        if verbose:
            print(f"[ensemble {offset + 1}/{settings.ensemble}] --seed {settings.seed + offset}",
                  flush=True)
        members.append(fit_network(scaling, problem, settings, verbose, checkpoints,
                                   settings.seed + offset, fitted=first))
    model = combine_members([member.model for member in members])
    combined = Network(first.representation, model, first.history, first.linear, first.epoch_seconds)
    return combined, members


class _Monitor:
    """The callbacks of one fit: early stopping (restored from a checkpoint when resuming), a stop
    on a non-finite loss, the loss history and wall time of each epoch, and a checkpoint after each
    completed epoch."""

    def __init__(self, key: str, patience: int, checkpoints: Checkpoints | None,
                 progress: dict | None):
        keras = backend.keras()
        self.history: dict = {k: list(v) for k, v in (progress or {}).get("history", {}).items()}
        self.seconds: list[float] = list((progress or {}).get("epoch_seconds", []))
        self.failed = None  # (epoch, "loss" or "val_loss", value) once a loss is not finite
        monitor = self

        class Stopper(keras.callbacks.EarlyStopping):
            def on_train_begin(self, logs=None):
                super().on_train_begin(logs)
                if progress:  # carry on counting patience where the interrupted run was
                    state = progress["stopper"]
                    self.wait, self.best, self.best_epoch = (state["wait"], state["best"],
                                                             state["best_epoch"])
                    self.best_weights = progress["best_weights"]

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                monitor.started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                monitor.seconds.append(time.perf_counter() - monitor.started)
                logs = {name: float(value) for name, value in (logs or {}).items()}
                for name in ("loss", "val_loss"):
                    if name in logs and not math.isfinite(logs[name]):
                        monitor.failed = (epoch + 1, name, logs[name])
                        self.model.stop_training = True
                        return
                for name, value in logs.items():
                    monitor.history.setdefault(name, []).append(value)
                if checkpoints:
                    stopper = monitor.stopper
                    checkpoints.save_epoch(
                        key, epoch + 1, self.model, stopper.best_weights, monitor.history,
                        monitor.seconds, {"wait": stopper.wait, "best": stopper.best,
                                          "best_epoch": stopper.best_epoch,
                                          "stopped": bool(self.model.stop_training)})
                    # An epoch's time includes its checkpoint: the cost of being resumable.
                    monitor.seconds[-1] = time.perf_counter() - monitor.started

        self.stopper = Stopper(monitor="val_loss", patience=patience, restore_best_weights=True)
        self.callback = Callback()
