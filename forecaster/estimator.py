"""The fitted forecaster: what training learned, and the one way every command forecasts.

    model = Forecaster(settings).fit(panel)        # returns self
    forecasts = model.predict(panel, origins)     # origins: (series, row) pairs -> (n, horizon)

`fit` trains the networks (`forecaster.fitting`) on the training windows of every series, scores
each on the validation windows through `predict`, keeps every candidate within 5% of the best on
validation (`--scaling auto`; on a short validation split also on earlier folds, every candidate
refitted before each) and calibrates conformal intervals on scale-free residuals. Validation
scoring, `evaluate`, `backtest` and `forecast` all call `predict`: they differ only in the origins
they ask for. At an origin only the rows of that series before it are read (missing values filled
from those rows alone), so a backtest's forecast equals `forecast` on the file cut at its origin.

A series the model never saw (an id not in training) is forecast from its own history: its
statistics come from the rows before the origin, as training's came from the training rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecaster.checkpoints import Checkpoints
from forecaster.config import Settings
from forecaster.data import Panel, Splits, calendar, fill_missing, id_text, time_splits
from forecaster.errors import UserError, count
from forecaster.fitting import (
    MAX_SCORED_ORIGINS,
    Network,
    NoWindows,
    Problem,
    ensemble,
    fit_baseline,
    fit_network,
)
from forecaster.intervals import ConformalIntervals
from forecaster.models import BASELINE_MODELS, RIDGE_MODEL, LinearBaseline, member_label, ridge_model
from forecaster.scaling import StaticInputs, evenly_spaced, seasonal_mae_scale
from forecaster.seasons import Seasons, find_seasons, mase_season
from forecaster.sharing import Share
from forecaster.windows import choose_window, histories_at

# What --scaling auto trains, keeping the one, or the mean of the several, with the lowest
# validation error. Chosen by `make benchmark` (docs/benchmarks.md): on its own each representation
# loses badly somewhere (global on trends, window on hourly temperatures, change on El Nino), and
# choosing one on a short validation split picked a poor one; the mean of those that validate best
# together beat the classic recipe on every bundled and generated series.
AUTO_SCALINGS = ("change", "window", "global")
CHUNK = 4096  # origins forecast at once
# `--scaling auto` keeps every candidate whose validation error is within this share of the best
# one's, averaged (`_combine`)
COMBINE_WITHIN = 0.05
# With fewer origins than this to choose on, `--scaling auto` also chooses on --choice-folds
# earlier stretches of the validation split's length, every candidate retrained on the rows before
# each (`Forecaster._earlier_folds`). On 12 draws each of a 12-year monthly series and a 290-year
# yearly one (11 and 22 origins to choose on) and 3 real series (22-51), the test MAE of what one
# split chose was 1.164 x the true model (or, for the real series, this rule's), geometric mean;
# of what three splits chose, 1.125 (docs/benchmarks.md).
FOLDS_BELOW = 100


@dataclass
class Candidate:
    """A network, a ridge or a baseline member, and its errors on the validation windows."""

    network: Network
    model: object  # keras.Model: the network's, or `ridge_model` of its ridge baseline
    errors: np.ndarray  # (validation origins, horizon) actual - forecast; NaN where not observed

    @property
    def trained(self) -> bool:
        """A network (not a ridge, not a baseline)."""
        return self.model.name != RIDGE_MODEL and not self.baseline

    @property
    def baseline(self) -> bool:
        """Naive or seasonal naive (`fit_baseline`)."""
        return self.model.name in BASELINE_MODELS

    @property
    def label(self) -> str:
        return member_label(self.model, self.network.representation.scaling)


@dataclass
class Reading:
    """What the forecast from one origin reads (`Forecaster.reading`), in the series' units."""

    model: Forecaster
    history: np.ndarray  # (rows, columns) the rows before the origin: target, features, --future,
    #                      calendar; gaps filled from the series' own earlier rows
    ahead: np.ndarray  # (horizon, columns - 1 - features) the inputs known on the steps forecast
    members: list  # [(model, representation)] the members, with the statistics of this series
    row: np.ndarray  # (1,) the series' row in the statistics
    static: np.ndarray | None  # (1, width) the per-series inputs

    def forecast(self, histories, ahead=None) -> np.ndarray:
        """(n, horizon) the mean forecast of the members from histories (n, rows, columns) shaped
        like `history` (and `ahead` (n, horizon, ...) like `ahead`; default: the origin's own),
        everything else as at the origin: the series' statistics and static inputs."""
        histories = np.asarray(histories, dtype="float64")
        n = len(histories)
        if ahead is None:
            ahead = np.broadcast_to(self.ahead, (n, *self.ahead.shape))
        static = None if self.static is None else np.repeat(self.static, n, axis=0)
        used = [(_predictor(model), representation) for model, representation in self.members]
        return self.model._forecast(histories, np.repeat(self.row, n), used, self.model.horizon,
                                    np.asarray(ahead, dtype="float64"), static)

    def windows(self, histories=None, ahead=None) -> list[np.ndarray]:
        """Each member's input windows (n, time_steps, inputs), as its network reads them: from
        `history` (n = 1), or from `histories` (n, rows, columns) of the same series with the
        inputs known ahead of each (`Forecaster.inputs_ahead`), the statistics of this origin's."""
        if histories is None:
            histories, ahead = self.history[None], self.ahead[None]
        n = len(histories)
        static = None if self.static is None else np.repeat(self.static, n, axis=0)
        future = np.asarray(ahead)[:, :, :len(self.model.schema_.future)]
        return [representation.windows(histories, np.repeat(self.row, n), static, future)
                for _, representation in self.members]


class Forecaster:
    """A global forecaster over every series of a panel (one series is a panel of one).

    Learned state, set by `fit` (or by `forecaster.artifacts.load_bundle`):
      settings_    the settings resolved for the data (time_steps, horizon, columns)
      schema_      the file's columns and frequency
      ids_         the training series' ids, in the order of the statistics' rows
      members_     [(model, representation)]: the forecast is the mean of their forecasts
      linear_      the ridge baseline on the first member's windows and representation
      intervals_   conformal half-widths per horizon step, in units of each series' scale
      scale_       (series,) each training series' scale: its in-sample seasonal-naive MAE
      train_mean_  (series,) each training series' mean over its training rows
      seasons_     the seasonal periods found in the training rows (`forecaster.seasons`)
      season_      the primary period: seasonal naive's lag, the change representation's reference
      mase_season_ MASE's season: the frequency's calendar season (or --season-length), fixed
      static_      the per-series inputs (`--static`): how each column is encoded
      report_      what fitting found: candidates' validation errors, splits, series left out
    """

    def __init__(self, settings: Settings):
        self.settings = settings

    # Fitting -------------------------------------------------------------------------------------

    def fit(self, panel: Panel, verbose=0, checkpoints: Checkpoints | None = None,
            share: Share | None = None) -> Forecaster:
        """Train on the training split of every series of `panel` (split at one time for all).
        `share` (`forecaster.sharing`): `panel` holds one worker's series of the file, and what
        is decided over every series is decided from what the workers gather, as one process
        would; the fitted state covers every series on every worker."""
        settings = self.settings
        share = share or Share.alone(panel)
        whole = share.outline(panel)  # every series of the file: `panel` itself for one process
        every_split, widened = _widened(whole, time_splits(
            whole, settings.val_fraction, settings.test_fraction, settings.val_start,
            settings.test_start), settings)
        splits = _local(every_split, share)
        filled = _filled(panel, splits, settings)
        pieces = [filled[a:b] for a, b in zip(panel.offsets[:-1], panel.offsets[1:], strict=True)]
        if settings.season_length:  # the user's season: for everything, MASE included
            self.seasons_ = Seasons((settings.season_length,), settings.season_length)
            self.mase_season_ = settings.season_length
        else:
            self.seasons_ = find_seasons([piece[:n, 0] for piece, n in zip(
                pieces, splits.val_start, strict=True)], panel.schema.frequency, share)
            self.mase_season_ = mase_season(panel.schema.frequency)
        season = self.seasons_.season
        time_steps, horizon = resolve_window(settings, whole, every_split, self.seasons_.periods)
        every_kept, every_split, left_out, every_fit = _trainable(whole, every_split, time_steps,
                                                                 horizon, season)
        share.check_each_holds(every_fit, panel.source, "long enough to train on")
        fits = share.local(every_fit)
        kept = every_kept if share.alone_ else (panel if fits.all() else panel.select(fits))
        unselected, share = share, share.select(every_fit)
        splits = _local(every_split, share)
        self.settings_ = dataclasses.replace(
            settings, time_col=panel.schema.time_column, target=settings.target or panel.schema.target,
            time_steps=time_steps, horizon=horizon)
        self.schema_, self.season_, self.ids_ = panel.schema, season, list(every_kept.ids)
        self.static_ = StaticInputs().fit(every_kept.statics)
        del pieces
        if not fits.all():  # the rows of the series that fit a window, one after another
            filled = filled[np.concatenate([np.arange(panel.offsets[k], panel.offsets[k + 1])
                                            for k in np.flatnonzero(fits)])]
        problem = Problem(filled,
                          kept.offsets, splits.val_start, splits.test_start, time_steps, horizon,
                          season, panel.source, period=max(self.seasons_.periods, default=season),
                          share=share, future=self._future_columns())
        if self.static_.width:
            problem.static = self.static_.transform(kept.statics)
        self.scale_ = share.merge(np.array([
            seasonal_mae_scale(problem.values[a:a + n, 0], self.mase_season_)
            for a, n in zip(problem.offsets[:-1], splits.val_start, strict=True)]))
        self.scale_ = np.where(np.isfinite(self.scale_) & (self.scale_ > 0), self.scale_, 1.0)
        self.train_mean_ = share.merge(np.array([
            problem.values[a:a + n, 0].mean(dtype="float64")
            for a, n in zip(problem.offsets[:-1], splits.val_start, strict=True)]))
        scalings = AUTO_SCALINGS if settings.scaling == "auto" else (settings.scaling,)
        networks, skipped = [], []
        for number, scaling in enumerate(scalings, 1):
            if verbose and len(scalings) > 1:
                print(f"[{number}/{len(scalings)}] --scaling {scaling}", flush=True)
            try:
                networks.append(fit_network(scaling, problem, self.settings_, verbose, checkpoints))
            except NoWindows as error:  # auto goes on with the representations that fit
                if settings.scaling != "auto":
                    raise
                skipped.append(f"{scaling}: {error}")
        baselines = []
        if settings.scaling == "auto":
            names = ("naive", "seasonal_naive") if season > 1 else ("naive",)
            baselines = [fit_baseline(name, problem, self.settings_) for name in names]
            # the mean of the last cycles, and a ridge on its windows, where the period is a
            # calendar one (an irregular cycle's same point drifts from one cycle to the next);
            # with too few cycles before a window, not a candidate (as seasonal naive is not one
            # where there is no season)
            with contextlib.suppress(NoWindows):
                if problem.cycle > 1 and not self.seasons_.cycle:
                    baselines.append(fit_baseline("seasonal_mean", problem, self.settings_))
        at = self._validation_origins(every_kept, every_split, networks + baselines)
        candidates = [self._candidate(kept, at, network, network.model, share)
                      for network in networks + baselines]
        if settings.scaling == "auto":  # each network's ridge, and the seasonal mean's
            ridged = networks + [b for b in baselines if b.representation.scaling == "seasonal"]
            candidates += [self._candidate(kept, at, network, ridge_model(
                network.linear, time_steps, problem.input_columns(network.representation)), share)
                for network in ridged]
        choose, calibrate = _halves(at, every_split, horizon) if len(candidates) > 1 else (None, None)
        unit = self._unit(at)
        scores = [_scores(candidates, unit, choose)]
        choosing = len(at) if choose is None else int(choose.sum())
        folds = []
        if (settings.scaling == "auto" and settings.choice_folds and len(candidates) > 1
                and choosing < FOLDS_BELOW):
            folds = self._earlier_folds(panel, every_split, verbose, whole, unselected)
        choice = _relative(scores + [fold["scores"] for fold in folds])
        chosen = _combine(candidates, choice)
        seeds = {}
        if settings.ensemble > 1:  # further seeds for each kept network (a ridge has no seed)
            for i, candidate in enumerate(chosen):
                if candidate.trained:
                    combined, networks_ = ensemble(candidate.network, problem, self.settings_,
                                                   verbose, checkpoints)
                    chosen[i] = self._candidate(kept, at, combined, combined.model, share)
                    seeds[candidate.label] = [self._candidate(kept, at, n, n.model, share)
                                              for n in networks_]
        self.members_ = [(c.model, c.network.representation) for c in chosen]
        self.linear_ = chosen[0].network.linear  # the first member's ridge (or itself) is the baseline
        errors = np.mean([c.errors for c in chosen], axis=0)
        self.intervals_ = ConformalIntervals().fit(
            (errors / unit[:, None])[calibrate if calibrate is not None else slice(None)])
        trained = [c.network for c in chosen if c.trained]  # no epochs to report when none is kept
        history, epoch_seconds = (trained[0].history, trained[0].epoch_seconds) if trained else ({}, [])
        self.report_ = {
            "splits": splits, "widened": widened, "skipped": skipped,
            "validation_origins": len(at), "left_out": left_out,
            "choosing_origins": choosing,
            "choosing_scores": scores[0], "folds": folds, "choice": choice,
            "spans": {name: every_split.span(every_kept, name)
                      for name in ("train", "validation", "test")},
            "val_mae": _mae(errors), "val_mase": _mae(errors / unit[:, None]),
            "candidates": {c.label: _mae(c.errors) for c in candidates},
            "candidates_mase": {c.label: _mae(c.errors / unit[:, None]) for c in candidates},
            "members": {label: [_mae(c.errors) for c in found] for label, found in seeds.items()},
            "history": history, "epoch_seconds": epoch_seconds,
            "calibration": "validation windows not used to choose the members"
            if calibrate is not None else "every validation window",
        }
        return self

    def _earlier_folds(self, panel: Panel, splits: Splits, verbose, whole: Panel | None = None,
                       share: Share | None = None) -> list[dict]:
        """Up to --choice-folds earlier folds, each a stretch of the validation split's length
        just before the previous one: every candidate refitted (on the rows before it, the window
        kept, the seasons found anew) and scored there. [{"span", "origins", "scores": {label:
        MASE}}], fewer where the rows before a fold are too few to train on. `whole`: every
        series of the file, `panel` the `share` of them this process holds."""
        grid, val_row, test_row = _split_rows(panel if whole is None else whole, splits)
        length = test_row - val_row
        folds = []
        for k in range(1, self.settings.choice_folds + 1):
            begin, end = val_row - k * length, val_row - (k - 1) * length
            if begin < 1:
                break
            settings = dataclasses.replace(self.settings_, val_start=str(grid[begin]),
                                           test_start=str(grid[end]), choice_folds=0, ensemble=1)
            if verbose:
                print(f"[fold {k}/{self.settings.choice_folds}] choosing also on {grid[begin]} to "
                      f"{grid[end - 1]}, trained on the rows before", flush=True)
            try:
                fitted = Forecaster(settings).fit(panel, verbose=verbose, share=share)
            except UserError:  # too few rows before it for some representation: no further fold
                break
            found = fitted.report_
            folds.append({"span": found["spans"]["validation"], "origins": found["validation_origins"],
                          "scores": found["candidates_mase"]})
        return folds

    def _validation_origins(self, panel: Panel, splits: Splits, networks: list[Network]) -> np.ndarray:
        """(series, row) of every validation window that all networks can forecast, at most
        MAX_SCORED_ORIGINS of them evenly spaced."""
        first = max(max(n.representation.first_origin() for n in networks), 1)
        horizon = self.settings_.horizon
        pairs = [np.column_stack([np.full(max(0, end - horizon + 1 - max(begin, first)), k),
                                  np.arange(max(begin, first), end - horizon + 1)])
                 for k, (begin, end) in enumerate(zip(splits.val_start, splits.test_start, strict=True))]
        at = np.concatenate(pairs).astype(np.int64)
        if len(at) == 0:
            raise UserError(
                f"the validation split of {panel.source} holds no complete window (each needs "
                f"{first} rows of history and {horizon} rows to forecast). Use a smaller "
                f"--time-steps/--horizon, a larger --val-fraction, or a longer file.")
        return evenly_spaced(at, MAX_SCORED_ORIGINS) if len(at) > MAX_SCORED_ORIGINS else at

    def _candidate(self, panel: Panel, at: np.ndarray, network: Network, model,
                   share: Share) -> Candidate:
        """`model` of `network` scored from the validation origins `at` ((series of the file,
        row) pairs): each worker forecasts those of its own series, and the errors are gathered."""
        count, mine = len(at), np.arange(len(at))
        if not share.alone_:
            local = share.local_series(at[:, 0])
            mine = np.flatnonzero(local >= 0)
            at = np.column_stack([local[mine], at[mine, 1]])
        forecasts = self.predict(panel, at, members=[(model, network.representation)])
        truth = actuals(panel, at, self.settings_.horizon)
        return Candidate(network, model, share.merge_items(count, mine, truth - forecasts))

    def _unit(self, at: np.ndarray) -> np.ndarray:
        """(n,) the scale of each training series origin's series."""
        return self.scale_[at[:, 0]]

    # Forecasting ---------------------------------------------------------------------------------

    @property
    def horizon(self) -> int:
        return self.settings_.horizon

    def history_needed(self) -> int:
        """Rows of history before an origin that the model (every member) needs."""
        self._check_fitted()
        return max(representation.first_origin() for _, representation in self.members_)

    def rows_needed(self, panel: Panel) -> np.ndarray:
        """(series,) rows of history each series of `panel` needs before its first origin: the
        model's history, or for a series not seen in training, enough rows to learn its own
        statistics from (one window of time_steps + horizon after a season, or after the cycles a
        seasonal member averages)."""
        known = self._rows_of(panel) >= 0
        fresh = max(r.first_training_origin() for _, r in self.members_) + self.settings_.horizon
        return np.where(known, self.history_needed(), max(fresh, self.history_needed()))

    def predict(self, panel: Panel, origins, steps: int | None = None, members=None) -> np.ndarray:
        """Forecasts (n, steps) in each series' units from each of `origins`, (n, 2) pairs
        (series of `panel`, row of that series where the first forecast step is), reading only the
        rows of that series before its origin. `steps` defaults to the trained horizon; beyond it
        the forecast goes on from the history extended by the (mean) forecast so far, as it would
        from a file holding it (calendar inputs ahead are known; other features are not, so a
        model with --features stops at its horizon). `members` replaces the model's own members
        (the ridge baseline is [(linear_, first representation)])."""
        if members is None:
            self._check_fitted()
            members = self.members_
        settings = self.settings_
        steps = steps or settings.horizon
        origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
        if steps > settings.horizon and self.schema_.features:
            raise UserError(
                f"this model forecasts {settings.horizon} steps; going further means reading its own "
                f"forecasts as input, but its --features {','.join(self.schema_.features)} have no "
                f"future values. Ask for at most {settings.horizon} steps, or retrain with a longer "
                f"--horizon.")
        needed = max(representation.first_origin() for _, representation in members)
        inputs, known = self._inputs(panel), self._rows_of(panel)
        static = self.static_.transform(panel.statics) if self.static_.width else None
        forecasts = np.empty((len(origins), steps))
        for start in range(0, len(origins), CHUNK):
            chunk = origins[start:start + CHUNK]
            rows, fresh = self._statistics_rows(panel, chunk, known)
            used = [(_predictor(model), representation.with_series(fresh) if fresh else representation)
                    for model, representation in members]
            histories = self.histories(panel, chunk, needed, inputs)
            # the steps forecast, a whole horizon at a time: each reads that horizon's known inputs
            ahead = self._ahead(panel, chunk, steps + settings.horizon,
                                -(-steps // settings.horizon) * settings.horizon)
            forecasts[start:start + CHUNK] = self._forecast(
                histories, rows, used, steps, ahead, None if static is None else static[chunk[:, 0]])
        return forecasts

    def reading(self, panel: Panel, origin) -> Reading:
        """What the forecast from one origin ((series of `panel`, row)) reads, and that forecast as
        a function of it (`Reading.forecast`): the history, the inputs known ahead, the members'
        windows. For `forecaster.explanation`; `predict` gives the same forecast."""
        self._check_fitted()
        origins = np.asarray(origin, dtype=np.int64).reshape(1, 2)
        horizon = self.settings_.horizon
        rows, fresh = self._statistics_rows(panel, origins, self._rows_of(panel))
        members = [(model, representation.with_series(fresh) if fresh else representation)
                   for model, representation in self.members_]
        static = self.static_.transform(panel.statics)[origins[:, 0]] if self.static_.width else None
        return Reading(self, self.histories(panel, origins, self.history_needed())[0],
                       self._ahead(panel, origins, horizon, horizon)[0], members, rows, static)

    def inputs_ahead(self, panel: Panel, origins) -> np.ndarray:
        """(n, horizon, columns) the inputs known on the steps forecast from each origin: those
        known ahead (`--future`), then the calendar; NaN where the file gives none."""
        origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
        return self._ahead(panel, origins, self.settings_.horizon)

    def bounds(self, panel: Panel, origins, forecasts, level: int):
        """(lower, upper) conformal interval at `level` around `forecasts` from `origins`: the
        calibrated half-width times the scale of each origin's series."""
        origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
        rows = self._rows_of(panel)[origins[:, 0]]
        scale = np.empty(len(origins))
        known = rows >= 0
        scale[known] = self.scale_[rows[known]]
        for i in np.flatnonzero(~known):  # a series not seen in training: its history's scale
            history = self._filled(panel, *origins[i])[:, 0]
            value = seasonal_mae_scale(history, self.mase_season_)
            scale[i] = value if np.isfinite(value) and value > 0 else 1.0
        return self.intervals_.bounds(forecasts, level, scale)

    def training_means(self, panel: Panel, origins) -> np.ndarray:
        """(n,) each origin's series' training mean (the "mean" baseline): for a series not seen
        in training, the mean of its rows before the origin."""
        origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
        rows = self._rows_of(panel)[origins[:, 0]]
        means = np.where(rows >= 0, self.train_mean_[np.maximum(rows, 0)], np.nan)
        for i in np.flatnonzero(rows < 0):
            means[i] = float(np.mean(self._filled(panel, *origins[i])[:, 0]))
        return means

    def histories(self, panel: Panel, origins, rows: int, inputs=None) -> np.ndarray:
        """(n, rows, columns) the `rows` rows before each origin, target first, then features and
        calendar inputs, missing values filled from the rows of that series before the origin.
        `inputs`: (inputs, gaps) of the panel (`_inputs`) when the caller has them already."""
        origins = np.asarray(origins, dtype=np.int64).reshape(-1, 2)
        series, at = origins[:, 0], origins[:, 1]
        if len(origins) and (at < rows).any():
            i = int(np.argmax(at < rows))
            raise ValueError(f"origin {at[i]} of series {panel.label(series[i])} has fewer than "
                             f"{rows} rows before it")
        inputs, gaps = inputs or self._inputs(panel)
        position = panel.offsets[series] + at
        histories = histories_at(inputs, position, rows).astype("float64")
        for i in np.flatnonzero(gaps[position] - gaps[position - rows] > 0):
            histories[i, :, :panel.raw.shape[1]] = self._filled(panel, *origins[i])[-rows:]
        return histories

    def _forecast(self, histories, rows, members, steps: int, ahead, static) -> np.ndarray:
        horizon = self.settings_.horizon
        forecast = np.zeros((len(histories), 0))
        recent = histories
        while forecast.shape[1] < steps:
            known = ahead[:, forecast.shape[1]:forecast.shape[1] + horizon]
            chunk = np.mean([self._one_horizon(predict, representation, recent, rows, known, static)
                             for predict, representation in members], axis=0)
            forecast = np.concatenate([forecast, chunk], axis=1)
            if forecast.shape[1] < steps:  # read the forecasts as history, then go on
                extended = np.concatenate([chunk[..., None], known], axis=2)
                recent = np.concatenate([recent, extended], axis=1)[:, -histories.shape[1]:]
        return forecast[:, :steps]

    def _one_horizon(self, predict, representation, recent, rows, known, static) -> np.ndarray:
        if self.settings_.strategy == "recursive":
            return roll_forward(predict, representation, recent, self.settings_.horizon, known, rows,
                                static)
        future = known[..., :len(self.schema_.future)]  # the inputs known ahead, then the calendar
        windows = representation.windows(recent, rows, static, future)
        return representation.decode(predict(windows), recent[..., 0], rows)

    def _future_columns(self) -> tuple:
        """The places of the inputs known ahead among the columns of a history: after the target
        and the features."""
        first = 1 + len(self.schema_.features)
        return tuple(range(first, first + len(self.schema_.future)))

    def _rows_of(self, panel: Panel) -> np.ndarray:
        """(series,) each series' row in the statistics, -1 for a series not seen in training."""
        position = {id_text(name): k for k, name in enumerate(self.ids_)}
        return np.array([position.get(panel.label(k), -1) for k in range(len(panel))], dtype=np.int64)

    def _statistics_rows(self, panel: Panel, origins: np.ndarray, known: np.ndarray):
        """(n,) the statistics row of each origin, and the histories of the series not seen in
        training (each origin of theirs gets its own row after the fitted ones, learned from
        its rows before that origin). `known`: `_rows_of(panel)`, computed once per predict."""
        rows = known[origins[:, 0]]
        fresh = []
        for i in np.flatnonzero(rows < 0):
            rows[i] = len(self.ids_) + len(fresh)
            series, origin = origins[i]
            filled = self._filled(panel, series, origin)
            if self.schema_.calendar:
                filled = np.hstack([filled, calendar(panel.index(series)[:origin], self.schema_.calendar)])
            fresh.append(filled)
        return rows, fresh

    def _filled(self, panel: Panel, series: int, origin: int) -> np.ndarray:
        """Rows of `series` before `origin`, missing values filled from them alone."""
        return fill_missing(panel.rows(series)[:origin], self.settings_.fill,
                            names=self.schema_.columns)

    def _inputs(self, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) every series' rows with their calendar inputs appended, and (rows + 1,)
        how many rows before each hold a missing value (a history with none is read as it is)."""
        gaps = np.zeros(len(panel.raw) + 1, dtype=np.int32 if len(panel.raw) < 2**31 else np.int64)
        np.cumsum(np.isnan(panel.raw).any(axis=1), out=gaps[1:])  # a quarter of int64's concatenation
        if not self.schema_.calendar:
            return panel.raw, gaps
        series = np.repeat(np.arange(len(panel)), panel.lengths)
        times = panel.times(series, np.arange(len(panel.raw)) - panel.offsets[series])
        return np.hstack([panel.raw, calendar(times, self.schema_.calendar)]), gaps

    def _ahead(self, panel: Panel, origins: np.ndarray, steps: int, needed: int = 0) -> np.ndarray:
        """(n, steps, columns) the inputs known on the steps from each origin: those known ahead
        (`--future`), then the calendar. A step inside its series reads the file's row (a gap
        filled from that series' own values of the column); a step after its end, the panel's
        future values (`Panel.future`). A UserError where one of the first `needed` steps after
        a series' end has no value; NaN for the others missing."""
        series, at = origins[:, 0], origins[:, 1]
        positions = at[:, None] + np.arange(steps)
        parts = [self._known_ahead(panel, series, positions, needed)]
        if self.schema_.calendar:
            times = panel.times(np.repeat(series, steps), positions)
            parts.append(calendar(times, self.schema_.calendar).reshape(len(origins), steps, -1))
        return np.concatenate(parts, axis=2)

    def _known_ahead(self, panel: Panel, series, positions, needed: int) -> np.ndarray:
        """(n, steps, len(future)) `_ahead`'s values of the inputs known ahead."""
        names = self.schema_.future
        values = np.full((*positions.shape, len(names)), np.nan)
        if not names:
            return values
        columns = list(self._future_columns())
        lengths = panel.lengths[series][:, None]
        inside = positions < lengths
        rows = (panel.offsets[series][:, None] + positions)[inside]
        values[inside] = panel.raw[rows][:, columns]
        holes = inside & np.isnan(values).any(axis=2)
        for k in np.unique(np.broadcast_to(series[:, None], positions.shape)[holes]):
            filled = fill_missing(panel.rows(k)[:, columns], self.settings_.fill, names=names)
            here = holes & (series == k)[:, None]
            values[here] = filled[positions[here]]
        after = positions - lengths  # the step after its series' end
        future = panel.future if panel.future is not None else np.zeros((len(panel), 0, len(names)))
        given = ~inside & (after < future.shape[1])
        values[given] = future[np.broadcast_to(series[:, None], positions.shape)[given], after[given]]
        lacking = np.isnan(values[:, :needed]) & ~inside[:, :needed, None]
        if lacking.any():
            raise UserError(_missing_future(panel, series, positions, lacking, names, future.shape[1]))
        return values

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise RuntimeError("this Forecaster is not fitted yet; call fit(panel) first")

    @property
    def scaling(self) -> str:
        """The members whose mean forecast is the forecast, each named by `member_label`:
        "window", "change+window", "window+ridge(global)", ..."""
        return "+".join(member_label(model, representation.scaling)
                        for model, representation in self.members_)


def roll_forward(predict, representation, histories, steps: int, ahead=None, rows=None,
                 static=None) -> np.ndarray:
    """Recursive forecasts from many histories at once: a one-step model reads each history's last
    window, its forecast is appended, and so on for `steps` steps.

    `histories`: (n, rows, columns) in user units, the target first and then only inputs known
    ahead of time; `ahead`: (n, steps, columns - 1) those inputs for the steps forecast (None when
    the target is the only column); `rows`: (n,) statistics rows (default 0); `static`: (n, width)
    per-series inputs. Returns (n, steps).
    """
    histories = np.array(histories, dtype="float64")
    rows = np.zeros(len(histories), dtype=int) if rows is None else rows
    if ahead is None:
        ahead = np.zeros((len(histories), steps, histories.shape[2] - 1))
    forecasts = np.empty((len(histories), steps))
    for step in range(steps):
        window = representation.windows(histories, rows, static,
                                        ahead[:, step:step + 1, :len(representation.future)])
        forecasts[:, step] = representation.decode_next(predict(window),
                                                         histories[:, :, 0], rows)
        row = np.concatenate([forecasts[:, step, None], ahead[:, step]], axis=1)[:, None, :]
        histories = np.concatenate([histories[:, 1:], row], axis=1)
    return forecasts


def resolve_window(settings: Settings, panel: Panel, splits: Splits, periods=()) -> tuple[int, int]:
    """The window sizes to use: the settings' own, or defaults for the data's frequency and the
    seasonal `periods` found in it, cut to the median series' training rows; checks that the
    longest series holds a window in each split."""
    path = panel.source
    train_rows = int(np.median(splits.val_start))
    default_steps, default_horizon = choose_window(panel.schema.frequency, max(train_rows, 1),
                                                   periods)
    horizon = settings.horizon or default_horizon
    time_steps = settings.time_steps or default_steps
    future = panel.schema.future
    if future and time_steps < horizon:  # a window shows the known inputs `horizon` rows ahead
        if settings.time_steps:
            raise UserError(
                f"--time-steps {time_steps} is shorter than the horizon ({horizon}): a window shows "
                f"the values of --future {','.join(future)} on every step it forecasts, in its last "
                f"{horizon} rows. Pass --time-steps {horizon} or more, or a shorter --horizon.")
        time_steps = horizon
    longest = int(np.argmax(panel.lengths))
    rows, val_start, test_start = (int(panel.lengths[longest]), int(splits.val_start[longest]),
                                   int(splits.test_start[longest]))
    what = path if len(panel) == 1 else f"the longest series of {path}"
    if rows < time_steps + horizon:
        raise UserError(
            f"{what} has {rows} rows; one window needs time_steps + horizon = "
            f"{time_steps + horizon}. Use a longer file or a smaller --time-steps/--horizon.")
    if val_start < time_steps + horizon:
        raise UserError(
            f"the training split of {what} has {val_start} rows ({rows} rows minus validation and "
            f"test); one window needs time_steps + horizon = {time_steps + horizon}. Use a smaller "
            f"--time-steps/--horizon, smaller --val-fraction/--test-fraction, or a longer file.")
    for name, first, stop in (("validation", val_start, test_start), ("test", test_start, rows)):
        if (stop > first or name == "validation") and stop - first < horizon:
            flag = "--val-fraction" if name == "validation" else "--test-fraction"
            raise UserError(
                f"the {name} split of {what} has {stop - first} rows, fewer than the horizon of "
                f"{horizon} steps, so it holds no window to score. Raise {flag} or lower "
                f"--horizon.")
    return time_steps, horizon


def _widened(panel: Panel, splits: Splits, settings: Settings) -> tuple[Splits, int]:
    """`splits` with the validation split, and the test split unless --test-fraction is 0, each at
    least one --horizon long, the rows taken from the end of training: a short file (four years of
    monthly data, a 12-month horizon) still has one window to choose on and one to score. Only for
    splits by fraction; returns the splits and the rows taken (0: unchanged)."""
    horizon = settings.horizon
    if horizon is None or settings.val_start is not None or settings.test_start is not None:
        return splits, 0
    grid, val_row, test_row = _split_rows(panel, splits)
    test_rows = len(grid) - test_row
    if settings.test_fraction > 0:
        test_rows = max(test_rows, horizon)
    val_rows = max(test_row - val_row, horizon)
    taken = (val_rows + test_rows) - (len(grid) - val_row)
    new_val = len(grid) - test_rows - val_rows
    if taken <= 0 or new_val < 1:
        return splits, 0
    test_time = grid[len(grid) - test_rows] if test_rows else None
    return time_splits(panel, settings.val_fraction, settings.test_fraction, grid[new_val],
                       test_time), taken


def _split_rows(panel: Panel, splits: Splits) -> tuple[pd.DatetimeIndex, int, int]:
    """The file's time grid (every series together) and where validation and test start on it."""
    grid = pd.date_range(panel.starts.min(), panel.ends.max(), freq=panel.schema.frequency)
    val_row, test_row = (int(grid.searchsorted(time)) for time in (splits.val_time, splits.test_time))
    return grid, val_row, test_row


def _trainable(panel: Panel, splits: Splits, time_steps: int, horizon: int, season: int):
    """The series with at least one training window (and their splits), the ids of those left out
    with the reason, and (series,) whether each series of `panel` was kept."""
    fits = splits.val_start - horizon + 1 > max(time_steps, season)
    left_out = [(panel.ids[k], f"too short: {splits.val_start[k]} training rows, one window needs "
                 f"{max(time_steps, season) + horizon}") for k in np.flatnonzero(~fits)]
    if not fits.any():
        raise UserError(
            f"no series of {panel.source} is long enough to train on: one window needs "
            f"max(time_steps {time_steps}, season length {season}) + horizon {horizon} = "
            f"{max(time_steps, season) + horizon} rows before the validation split "
            f"({splits.val_time}), and the longest series has {int(splits.val_start.max())}. Use a "
            f"smaller --time-steps/--horizon/--season-length, an earlier --val-start, or longer "
            f"series.")
    if fits.all():
        return panel, splits, left_out, fits
    kept = panel.select(fits)
    kept.left_out = panel.left_out + left_out
    return kept, dataclasses.replace(splits, val_start=splits.val_start[fits],
                                     test_start=splits.test_start[fits]), left_out, fits


def _local(splits: Splits, share: Share) -> Splits:
    """`splits` of every series of the file, for the series of `share` (themselves alone)."""
    if share.alone_:
        return splits
    return dataclasses.replace(splits, val_start=share.local(splits.val_start),
                               test_start=share.local(splits.test_start))


def _filled(panel: Panel, splits: Splits, settings: Settings) -> np.ndarray:
    """(rows, columns) float32: every series' rows (with its calendar inputs), filled within its
    own splits (no value from a later split fills an earlier one), one after another as in the
    panel. The panel's own array where nothing is missing and nothing is added: never copied."""
    if not panel.schema.calendar and not np.isnan(panel.raw).any():
        return panel.raw
    filled = np.empty((len(panel.raw), panel.raw.shape[1] + len(panel.schema.calendar)), np.float32)
    for k in range(len(panel)):
        filled[panel.offsets[k]:panel.offsets[k + 1]] = panel.values(
            k, settings.fill, segments=(splits.val_start[k], splits.test_start[k]))
    return filled


def _halves(at: np.ndarray, splits: Splits, horizon: int):
    """Validation origins split in two, alternating blocks of `horizon` consecutive origins of
    each series: the members are chosen on the first, the intervals calibrated on the second, so
    that coverage is not judged on the errors that chose the members (both span the whole split)."""
    block = (at[:, 1] - splits.val_start[at[:, 0]]) // max(horizon, 1)
    choose = block % 2 == 0
    if choose.all() or not choose.any():  # too few origins to split: both on all of them
        return None, None
    return choose, ~choose


def _scores(candidates: list[Candidate], unit: np.ndarray, choose) -> dict:
    """{label: MAE} of each candidate on the origins `choose` (a mask; None: all), each series'
    errors divided by its scale (`unit`, per origin), so that every series counts alike."""
    choose = slice(None) if choose is None else choose
    return {c.label: _mae((c.errors / unit[:, None])[choose]) for c in candidates}


def _relative(parts: list[dict]) -> dict:
    """{label: score} from one or more {label: error} (the validation split's, then earlier
    folds'): each error divided by the lowest of its part, averaged over the parts that scored the
    label (a candidate a fold could not fit is judged on the others)."""
    totals = {}
    for part in parts:
        best = min((error for error in part.values() if np.isfinite(error)), default=np.nan)
        for label, error in part.items():
            if label in parts[0] and np.isfinite(error):
                ratio = error / best if best > 0 else (1.0 if error == 0 else np.inf)
                totals.setdefault(label, []).append(ratio)
    return {label: float(np.mean(totals[label])) if label in totals else np.nan for label in parts[0]}


def _combine(candidates: list[Candidate], scores: dict) -> list[Candidate]:
    """Every candidate whose score (`scores[label]`, `_relative`'s: its validation error over the
    best one's, each series' errors divided by its scale so that every series counts alike) is
    within COMBINE_WITHIN (5%) of the best one's, kept as an equal-weight mean, networks first,
    each kind by its score.

    Any candidate may be kept alone (a ridge where the data are linear, seasonal naive on a few
    seasons of monthly data), and those that do about equally well are averaged, which is steadier
    than picking one of them: on a short validation split the best score is partly luck, and
    searching every subset for the lowest one chose by that luck (measured in docs/benchmarks.md).
    """
    errors = {id(c): scores[c.label] for c in candidates}
    finite = [e for e in errors.values() if np.isfinite(e)]
    best = min(finite) if finite else np.nan
    kept = [c for c in candidates if errors[id(c)] <= best * (1 + COMBINE_WITHIN)] or candidates[:1]
    return sorted(kept, key=lambda c: (not c.trained, errors[id(c)]))  # stable: the first of equals


def actuals(panel: Panel, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon) the actual values from each origin; NaN where the file had none or past the
    end of the series."""
    truth = np.full((len(origins), horizon), np.nan)
    position = panel.offsets[origins[:, 0]][:, None] + origins[:, 1][:, None] + np.arange(horizon)
    inside = origins[:, 1][:, None] + np.arange(horizon) < panel.lengths[origins[:, 0]][:, None]
    truth[inside] = panel.raw[position[inside], 0]
    return truth


def _mae(errors) -> float:
    errors = np.abs(np.asarray(errors, dtype="float64"))
    return float(np.nanmean(errors)) if np.isfinite(errors).any() else float("nan")


def _predictor(model):
    """windows -> outputs of a member (a Keras or NumPy model, or a ridge baseline), computed in
    batches of exactly PREDICT_BATCH windows (the last one padded with zeros): the matrix
    products then have the same shapes whatever the number of windows, so that a window's
    forecast does not depend on which others are forecast with it (BLAS picks its kernels by
    shape, and they round differently) and many series split into parts (`--ray`) forecast to the
    last digit as one."""
    predict = model.predict if isinstance(model, LinearBaseline) else model.predict_on_batch

    def fixed(windows) -> np.ndarray:
        windows = np.asarray(windows)
        outputs = []
        for start in range(0, len(windows), PREDICT_BATCH):
            batch = windows[start:start + PREDICT_BATCH]
            padded = np.zeros((PREDICT_BATCH, *windows.shape[1:]), dtype=windows.dtype)
            padded[:len(batch)] = batch
            outputs.append(np.asarray(predict(padded))[:len(batch)])
        return np.concatenate(outputs) if outputs else np.asarray(predict(windows))

    return fixed


PREDICT_BATCH = 64  # windows per matrix product (see `_predictor`)


def _missing_future(panel: Panel, series, positions, lacking, names, given: int) -> str:
    """The message for values known ahead that a forecast needs but the file does not give."""
    needed = lacking.shape[1]
    where = np.argwhere(lacking)  # (origin, step, column) of each missing value
    fix = ("Add rows with them after each series' last value of the target (target empty), or "
           "pass them with --future-csv")
    behind = int(((positions[:, :needed] >= panel.lengths[series][:, None])).sum(axis=1).max())
    if given < behind:
        return (f"the forecast needs the values of --future {','.join(names)} on the "
                f"{count(behind, 'step')} after the end of each series of {panel.source} (whole "
                f"horizons: the model reads every step of a horizon it forecasts), but "
                f"{f'only {given}' if given else 'none'} {'is' if given == 1 else 'are'} given. "
                f"{fix}, or ask for fewer steps.")
    shown = [f"{names[c]} of {panel.label(series[i])} at "
             f"{panel.times([series[i]], [positions[i, j]])[0]}" for i, j, c in where[:3]]
    more = f" and {len(where) - 3} more" if len(where) > 3 else ""
    return (f"{count(len(where), 'value')} known ahead that the forecast needs "
            f"{'is' if len(where) == 1 else 'are'} missing from {panel.source}: "
            f"{', '.join(shown)}{more}. {fix}; a forecast never fills them.")


def describe_left_out(left_out) -> str:
    """'3 series left out (a: too short ..., b: ..., c: ...)'."""
    shown = "; ".join(f"{id_text(name)}: {reason}" for name, reason in left_out[:3])
    more = f"; and {len(left_out) - 3} more" if len(left_out) > 3 else ""
    return f"{len(left_out)} series left out ({shown}{more})"

