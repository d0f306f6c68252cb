"""Train the LSTM on one CSV and save the bundle: read -> split -> scale -> window -> fit -> save."""

from __future__ import annotations

import dataclasses
import itertools
import math
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from forecaster import backend, distribution
from forecaster.artifacts import check_model_dir, save_bundle
from forecaster.checkpoints import Checkpoints, fingerprint
from forecaster.config import Settings
from forecaster.data import Series, read_series, season_length, split_points
from forecaster.errors import UserError
from forecaster.evaluation import ConformalIntervals, mean_absolute_error
from forecaster.forecasting import roll_forward
from forecaster.models import (
    RIDGE_MODEL,
    LinearBaseline,
    build_model,
    combine_members,
    load_model,
    member_label,
    ridge_model,
)
from forecaster.scaling import Representation, evenly_spaced
from forecaster.windows import choose_window, split_origins, window_batches

# What --scaling auto trains, keeping the one, or the mean of the several, with the lowest
# validation MAE. Chosen by `make benchmark` (README): on its own each representation loses badly
# somewhere (global on trends, window on hourly temperatures, change on El Nino), and choosing one
# on a short validation split picked a poor one; the mean of those that validate best together beat
# the classic recipe on every bundled and generated series.
AUTO_SCALINGS = ("change", "window", "global")
# Validation windows that score a model (its validation loss for early stopping, its validation MAE
# and interval widths) and training windows that fit the ridge baseline, at most: evenly spaced over
# the split when it holds more. Bounds the work per epoch on long series; no bundled set reaches them.
MAX_SCORED_ORIGINS = 20_000
MAX_RIDGE_ORIGINS = 100_000


@dataclass
class TrainRun:
    """What a training run produced: where the bundle is and how well it did on validation."""

    model_dir: Path | None  # None on a worker of --distribute multiworker other than the chief
    val_mae: float  # mean absolute error on the validation windows, in the target's units
    target: str
    scaling: str  # the representation kept ("global", "change" or "window"), or the members whose
    #               mean forecast is the forecast, joined by "+": "change+window+ridge(global)"
    candidates: dict  # validation MAE of each candidate tried, by its member label
    epochs_run: int
    seconds: float  # wall time of the whole run, all candidates included
    epoch_seconds: list  # wall time of each epoch of the kept model
    best_epoch: int
    time_steps: int
    horizon: int
    filled_values: int  # missing target values that were filled (including missing timestamps)
    missing_timestamps: int
    notes: list  # things the user should know: defaults cut for a short file, few windows to score
    members: dict  # with --ensemble N: each kept network's label -> the validation MAE of each
    #                seed's model (N); {} without


@dataclass
class Problem:
    """The prepared data every candidate model trains on."""

    values: np.ndarray  # (rows, columns) in user units, target first, missing values filled
    observed: np.ndarray  # (rows,) True where the file had the target value
    val_start: int
    test_start: int
    time_steps: int
    horizon: int
    season: int
    source: str  # the file's name, for messages


@dataclass
class Candidate:
    representation: Representation
    model: object  # keras.Model
    history: dict
    val_mae: float
    val_errors: np.ndarray  # (validation windows, horizon) actual - forecast; NaN where not observed
    linear: LinearBaseline  # ridge on the same training windows, in the same representation
    epoch_seconds: list  # wall time of each training epoch (with its validation pass)

    @property
    def ridge(self) -> bool:
        """Whether this candidate is a ridge member (`_ridges`), not a trained network."""
        return self.model.name == RIDGE_MODEL

    @property
    def label(self) -> str:
        return member_label(self.model, self.representation.scaling)


def train(settings: Settings, verbose: int | str = "auto", resume: bool = False) -> TrainRun:
    """Train on `settings.csv` and save a bundle to `settings.model_dir` (default models/<csv>).

    With `scaling="auto"` each of AUTO_SCALINGS is trained from the same seed, each one's ridge
    baseline joins them as a candidate (`_ridges`), and the network, or the equal-weight mean of
    several candidates with at least one network among them, with the lowest validation MAE is
    kept (`_combine`); the test split is never looked at. Progress is saved after every epoch
    (`forecaster.checkpoints`); `resume=True` continues an interrupted run of the same command from
    its last completed epoch.
    """
    started = time.perf_counter()
    worker = distribution.start(settings.distribute, resume)  # before TensorFlow runs anything
    if not settings.csv:
        raise UserError("no training data given; pass --csv PATH (a CSV with a time column).")
    model_dir = check_model_dir(settings.model_dir or Path("models") / Path(settings.csv).stem)
    if not Path(settings.csv).is_file():
        read_series(settings.csv)  # the data layer's own message for a missing file or a folder
    with worker.writing(model_dir) as folder:  # model_dir on the chief, a scratch folder elsewhere
        checkpoints = Checkpoints(folder, fingerprint(settings.csv, settings.to_dict()), resume)
        try:
            run = _train(settings, folder, checkpoints, verbose, started)
        except UserError:
            checkpoints.discard()  # the same run would fail the same way: nothing to resume
            raise
        checkpoints.discard()
    if worker.strategy is not None:
        run.notes.append(worker.note(settings.batch_size))
    return run if worker.chief else dataclasses.replace(run, model_dir=None)


def _train(settings: Settings, model_dir: Path, checkpoints: Checkpoints, verbose,
           started: float) -> TrainRun:
    series = read_series(settings.csv, settings.time_col, settings.target, settings.features,
                         with_calendar=settings.calendar)
    rows = len(series.frame)
    val_start, test_start = split_points(rows, settings.val_fraction, settings.test_fraction)
    time_steps, horizon = resolve_window(settings, series, val_start, test_start)
    problem = Problem(series.values(settings.fill, segments=(val_start, test_start)),
                      series.observed, val_start, test_start, time_steps, horizon,
                      settings.season_length or season_length(series.schema.frequency),
                      series.source)
    scalings = AUTO_SCALINGS if settings.scaling == "auto" else (settings.scaling,)
    candidates = []
    for number, scaling in enumerate(scalings, 1):
        if verbose and len(scalings) > 1:
            print(f"[{number}/{len(scalings)}] --scaling {scaling}", flush=True)
        candidates.append(_fit(scaling, problem, settings, verbose, checkpoints))
    if settings.scaling == "auto":
        candidates += _ridges(candidates, problem, settings)
    kept = _combine(candidates)
    members = {}
    if settings.ensemble > 1:  # further seeds for each kept network (a ridge has no seed)
        for i, candidate in enumerate(kept):
            if not candidate.ridge:
                kept[i], members[candidate.label] = _ensemble(
                    candidate, problem, settings, verbose, checkpoints)
    best = kept[0]  # the best network kept: its ridge is the ridge baseline
    val_mae, val_errors = _mean_errors(kept)
    scaling = "+".join(c.label for c in kept)
    notes = _notes(settings, series, problem, kept)

    losses = best.history.get("val_loss", [])
    best_epoch = int(np.argmin(losses)) + 1 if losses else 0
    resolved = dataclasses.replace(
        settings, time_col=series.schema.time_column, target=series.schema.target,
        time_steps=time_steps, horizon=horizon, model_dir=str(model_dir))
    selection = {c.label: c.val_mae for c in candidates}
    metadata = _metadata(series, problem, best, scaling, val_mae, selection, best_epoch)
    metadata.update(member_val_mae=members,
                    distribution=distribution.start(settings.distribute).describe())
    baselines = {"train_mean": float(np.mean(problem.values[:val_start, 0])),
                 "ridge": best.linear.to_dict()}
    intervals = ConformalIntervals().fit(val_errors)
    save_bundle(model_dir, best.model, resolved, best.representation, series.schema, metadata,
                baselines, intervals, [(c.model, c.representation) for c in kept[1:]])
    return TrainRun(model_dir, val_mae, series.schema.target, scaling, selection, len(losses),
                    time.perf_counter() - started, best.epoch_seconds, best_epoch, time_steps,
                    horizon, series.missing_values, series.missing_timestamps, notes, members)


def _combine(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates whose equal-weight mean forecast has the lowest validation MAE, the best
    network in it first: every subset holding at least one network is scored (56 for three
    networks and their three ridges) and, at equal MAE, the smaller one kept. A model that does
    badly on validation drags a mean down, so it is left out; models that err differently and do
    about equally well are averaged, which is steadier than picking one of them on a short
    validation split. Candidates scored on different validation windows (a short file whose
    representations need different histories) are not averaged: the best network is kept."""
    ranked = sorted(candidates, key=lambda c: (c.ridge, c.val_mae))  # networks first, best first
    if len({c.val_errors.shape for c in ranked}) > 1:
        return ranked[:1]
    subsets = [subset for size in range(1, len(ranked) + 1)
               for subset in itertools.combinations(ranked, size) if not subset[0].ridge]
    return list(min(subsets, key=lambda subset: _mean_errors(subset)[0]))  # the first of equals


def _ridges(networks: list[Candidate], problem: Problem, settings: Settings) -> list[Candidate]:
    """Each network's ridge baseline (the linear model of its windows and representation) as a
    candidate of `_combine`, a Keras model (`ridge_model`) scored on validation as the networks are.
    Where a network fits poorly (a short file, a level it never saw) its ridge often does not,
    and the mean of the two beats both."""
    ridges = []
    for network in networks:
        model = ridge_model(network.linear, problem.time_steps, problem.values.shape[1])
        val_mae, val_errors = _score(model.predict_on_batch, network.representation, problem, settings)
        ridges.append(dataclasses.replace(network, model=model, history={}, val_mae=val_mae,
                                          val_errors=val_errors, epoch_seconds=[]))
    return ridges


def _mean_errors(members) -> tuple[float, np.ndarray]:
    """Validation MAE and errors (actual - forecast; NaN where not observed) of the members' mean
    forecast: the mean of their errors, since they forecast the same values."""
    errors = np.mean([member.val_errors for member in members], axis=0)
    return float(np.nanmean(np.abs(errors))), errors


def _notes(settings: Settings, series: Series, problem: Problem, kept: list[Candidate]) -> list[str]:
    """Plain-language warnings about a run that worked but may mislead."""
    notes = []
    usual_steps, usual_horizon = choose_window(series.schema.frequency, 10**9)
    cut = [f"{name} {usual} -> {used}" for name, usual, used, given in (
        ("time_steps", usual_steps, problem.time_steps, settings.time_steps),
        ("horizon", usual_horizon, problem.horizon, settings.horizon)) if given is None and used < usual]
    if cut:
        notes.append(f"{series.source} is short ({len(problem.values)} rows), so the defaults for "
                     f"{series.schema.frequency!r} data were cut: {', '.join(cut)}.")
    first = max(c.representation.first_origin(problem.time_steps) for c in kept)  # as forecasts need
    origins = split_origins(len(problem.values), problem.horizon, problem.val_start,
                            problem.test_start, first)
    for name in ("validation", "test"):
        count = len(origins[name])
        if 0 < count < 20:
            notes.append(f"the {name} split holds only {count} forecast origin"
                         f"{'' if count == 1 else 's'}, so its "
                         f"scores are rough; a longer file gives firmer numbers.")
    return notes


def _ensemble(first: Candidate, problem: Problem, settings: Settings, verbose,
              checkpoints: Checkpoints | None = None) -> tuple[Candidate, list[float]]:
    """`settings.ensemble` models of the kept representation, `first` (from --seed) and one from
    each of the next seeds, combined into one model that forecasts their median; scored again on
    validation. Returns it and each member's validation MAE."""
    scaling = first.representation.scaling
    members = [first]
    for offset in range(1, settings.ensemble):
        if verbose:
            print(f"[ensemble {offset + 1}/{settings.ensemble}] --seed {settings.seed + offset}",
                  flush=True)
        members.append(_fit(scaling, problem, settings, verbose, checkpoints, settings.seed + offset,
                            fitted=first))
    model = combine_members([member.model for member in members])
    val_mae, val_errors = _score(model.predict_on_batch, first.representation, problem, settings)
    combined = dataclasses.replace(first, model=model, val_mae=val_mae, val_errors=val_errors)
    return combined, [member.val_mae for member in members]


def _fit(scaling: str, problem: Problem, settings: Settings, verbose,
         checkpoints: Checkpoints | None = None, seed: int | None = None,
         fitted: Candidate | None = None) -> Candidate:
    """Fit one representation and one LSTM on the training windows; score it on validation.

    The model is trained from `seed` (default settings.seed) with deterministic ops; a model that
    `checkpoints` holds as finished is loaded instead, an unfinished one continues where it stopped.
    `fitted`, a candidate of the same representation from another seed, lends its representation
    and ridge baseline, which do not depend on the seed, instead of fitting them again.
    """
    seed = settings.seed if seed is None else seed
    backend.deterministic(seed, ops=not settings.jit_compile)  # each candidate: the same start
    p = problem
    rows, target = len(p.values), p.values[:, 0]
    # A recursive model learns one step; it is scored, like a direct one, on whole horizons.
    steps = 1 if settings.strategy == "recursive" else p.horizon
    if fitted is not None:
        representation = fitted.representation
    else:
        representation = Representation(scaling, p.season)
        if len(representation.training_origins(p.val_start, p.time_steps, steps)) == 0:
            raise UserError(
                f"the training split of {p.source} has {p.val_start} rows, too few for one window "
                f"with --scaling {scaling}: each needs max(time_steps {p.time_steps}, season length "
                f"{p.season}) rows of history and {steps} to forecast. Use a longer file, or a "
                f"smaller --time-steps/--horizon/--season-length.")
        representation.fit(p.values, p.val_start, p.time_steps, steps)
    first = representation.first_origin(p.time_steps)
    origins = split_origins(rows, steps, p.val_start, p.test_start, first)
    scored_at = split_origins(rows, p.horizon, p.val_start, p.test_start, first)["validation"]
    for name, flag, found in (("train", "--val-fraction/--test-fraction", origins["train"]),
                              ("validation", "--val-fraction", scored_at)):
        if len(found) == 0:
            raise UserError(
                f"the {name} split of {p.source} holds no complete window with --scaling {scaling} "
                f"(each needs {first} rows of history and {p.horizon} rows to forecast). Use a "
                f"smaller --time-steps/--horizon, adjust {flag}, or use a longer file.")
    train_at = origins["train"]
    val_at = evenly_spaced(origins["validation"], MAX_SCORED_ORIGINS)
    read = representation.window_reader(p.values)  # windows are gathered a batch at a time

    def encode(at):
        return representation.encode(target, at)

    key = f"{scaling}.seed{seed}"
    finished = checkpoints.finished(key) if checkpoints else None
    if finished:
        model, history, epoch_seconds = load_model(finished["model"]), finished["history"], \
            finished["epoch_seconds"]
    else:
        progress = checkpoints.progress(key) if checkpoints else None
        worker = distribution.start(settings.distribute)
        with worker.scope():  # a model built in a strategy's scope trains distributed
            model = worker.prepare(load_model(progress["model"]) if progress else build_model(
                settings.model, p.time_steps, p.values.shape[1], steps, settings.units,
                settings.layers, settings.dropout, settings.learning_rate, settings.loss))
        if settings.jit_compile:
            model.jit_compile = True  # XLA (Keras's own check may still refuse it, with a warning)
        monitor = _Monitor(key, settings.patience, checkpoints, progress)
        if not (progress and progress["stopper"]["stopped"]):
            initial_epoch = progress["epoch"] if progress else 0
            batches = window_batches(read, encode, train_at, settings.batch_size, seed,
                                     settings.steps_per_epoch, initial_epoch)
            model.fit(
                batches, steps_per_epoch=batches.steps_per_epoch, shuffle=False,
                validation_data=window_batches(read, encode, val_at, settings.batch_size),
                epochs=settings.epochs, callbacks=[monitor.stopper, monitor.callback],
                verbose=verbose, initial_epoch=initial_epoch)
        elif progress["best_weights"] is not None:  # killed after early stopping, before saving
            model.set_weights(progress["best_weights"])
        if monitor.failed:
            epoch, name, value = monitor.failed
            raise UserError(
                f"training diverged: the {name} was {value} after epoch {epoch} ({scaling} scaling, "
                f"seed {seed}, --learning-rate {settings.learning_rate}), so no model was saved. "
                f"Look for extreme values in {p.source}, or retry with a smaller --learning-rate "
                f"or --loss huber.")
        history, epoch_seconds = monitor.history, monitor.seconds
        if checkpoints:
            checkpoints.save_finished(key, model, history, epoch_seconds)
        model = worker.unwrap(model)  # an ordinary Keras model, as the bundle holds it
    if fitted is not None:
        linear = fitted.linear
    else:
        ridge_at = evenly_spaced(train_at, MAX_RIDGE_ORIGINS)
        linear = LinearBaseline().fit_batches(
            (read(at), encode(at)) for at in np.array_split(ridge_at, -(-len(ridge_at) // 4096)))
    val_mae, val_errors = _score(model.predict_on_batch, representation, p, settings, read)
    return Candidate(representation, model, history, val_mae, val_errors, linear, epoch_seconds)


def _score(predict, representation: Representation, p: Problem, settings: Settings,
           read=None) -> tuple[float, np.ndarray]:
    """Validation MAE of a model (`predict`: windows -> outputs) over whole horizons, and its errors
    (validation origins, horizon): actual - forecast, NaN where the file had no value. `read` is
    `representation.window_reader(p.values)` when the caller has it already."""
    target = p.values[:, 0]
    first = representation.first_origin(p.time_steps)
    scored_at = split_origins(len(p.values), p.horizon, p.val_start, p.test_start, first)["validation"]
    scored_at = evenly_spaced(scored_at, MAX_SCORED_ORIGINS)
    chunks = np.array_split(scored_at, -(-len(scored_at) // 1024))
    if settings.strategy == "recursive":
        predicted = np.concatenate([roll_forward(
            predict, representation,
            np.stack([p.values[o - first:o] for o in chunk]),  # target + calendar
            p.horizon, np.stack([p.values[o:o + p.horizon, 1:] for o in chunk]))  # known ahead
            for chunk in chunks])
    else:
        read = read or representation.window_reader(p.values)
        predicted = representation.decode(
            np.concatenate([predict(read(chunk)) for chunk in chunks]), target, scored_at)
    rows_of = scored_at[:, None] + np.arange(p.horizon)[None, :]
    val_mae = mean_absolute_error(target[rows_of], predicted, p.observed[rows_of])
    val_errors = np.where(p.observed[rows_of], target[rows_of] - predicted, np.nan)
    return val_mae, val_errors


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


def resolve_window(settings: Settings, series: Series, val_start: int,
                   test_start: int) -> tuple[int, int]:
    """The window sizes to use: the settings' own, or defaults for the data's frequency; checks
    that each split holds at least one window and says which flag to change if not."""
    rows, path = len(series.frame), series.source
    default_steps, default_horizon = choose_window(series.schema.frequency, val_start)
    time_steps = settings.time_steps or default_steps
    horizon = settings.horizon or default_horizon
    if rows < time_steps + horizon:
        raise UserError(
            f"{path} has {rows} rows; one window needs time_steps + horizon = "
            f"{time_steps + horizon}. Use a longer file or a smaller --time-steps/--horizon.")
    if val_start < time_steps + horizon:
        raise UserError(
            f"the training split of {path} has {val_start} rows ({rows} rows minus validation and "
            f"test); one window needs time_steps + horizon = {time_steps + horizon}. Use a smaller "
            f"--time-steps/--horizon, smaller --val-fraction/--test-fraction, or a longer file.")
    for name, first, stop in (("validation", val_start, test_start), ("test", test_start, rows)):
        if (stop > first or name == "validation") and stop - first < horizon:
            flag = "--val-fraction" if name == "validation" else "--test-fraction"
            raise UserError(
                f"the {name} split of {path} has {stop - first} rows, fewer than the horizon of "
                f"{horizon} steps, so it holds no window to score. Raise {flag} or lower "
                f"--horizon.")
    return time_steps, horizon


def _metadata(series: Series, problem: Problem, best: Candidate, scaling: str, val_mae: float,
              selection: dict, best_epoch: int) -> dict:
    import pandas
    import tensorflow

    import forecaster

    keras = backend.keras()
    index = series.frame.index
    val_start, test_start = problem.val_start, problem.test_start

    def span(start: int, stop: int):
        return [index[start].isoformat(), index[stop - 1].isoformat()] if stop > start else None

    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(Path(series.source).resolve()),
        "rows": len(index),
        "frequency": series.schema.frequency,
        "season_length": problem.season,
        "time_range": span(0, len(index)),
        "splits": {
            "train": span(0, val_start),
            "validation": span(val_start, test_start),
            "test": span(test_start, len(index)),
        },
        "missing_timestamps": series.missing_timestamps,
        "filled_values": series.missing_values,
        "scaling": scaling,
        "val_mae_by_scaling": selection,
        "history": {key: [float(v) for v in values] for key, values in best.history.items()},
        "best_epoch": best_epoch,
        "epoch_seconds": best.epoch_seconds,
        "val_mae": val_mae,
        "versions": {
            "forecaster": forecaster.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pandas.__version__,
            "keras": keras.__version__,
            "tensorflow": tensorflow.__version__,
        },
        "platform": f"{platform.system()} {platform.machine()}; {sys.platform}",
    }
