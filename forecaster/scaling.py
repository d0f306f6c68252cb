"""Standardisation fitted on each series' training split only, saved as JSON in the bundle."""

from __future__ import annotations

import numpy as np

from forecaster.errors import UserError
from forecaster.windows import histories_at

BLOCK_ROWS = 1 << 20  # rows per block when a statistic or a transform runs over a whole series
MAX_CYCLES = 8  # cycles the "seasonal" representation averages, at most
MAX_FIT_ORIGINS = 100_000  # training windows that choose the anchors and their scale: evenly
#                            spaced over the training split when it holds more


class Scaler:
    """Standardise each column to mean 0 and standard deviation 1, using statistics of the rows
    passed to `fit` (the training split). Column 0 is the target.

    A constant column gets scale 1, so it maps to zeros rather than dividing by zero.
    """

    def fit(self, values) -> Scaler:
        """`values`: (rows, columns) in the user's units, the training rows."""
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(f"expected a non-empty (rows, columns) array, got shape {values.shape}")
        return self.fit_blocks(lambda start, stop: values[start:stop], len(values))

    def fit_blocks(self, read, rows: int) -> Scaler:
        """`fit` on `rows` rows that `read(start, stop)` gives block by block as float64 arrays, so
        that a long series is never copied whole. NaN cells are left out of the statistics."""
        if rows < 1:
            raise ValueError(f"expected at least one row to fit on, got {rows}")
        blocks = [(start, min(start + BLOCK_ROWS, rows)) for start in range(0, rows, BLOCK_ROWS)]
        # Two passes, each over blocks: the mean, then the mean squared deviation from it.
        total = count = 0.0
        for start, stop in blocks:
            block = np.asarray(read(start, stop), dtype="float64")
            total = total + np.nansum(block, axis=0)
            count = count + np.sum(~np.isnan(block), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_ = total / count
        squares = 0.0
        for start, stop in blocks:
            squares = squares + np.nansum((np.asarray(read(start, stop), dtype="float64")
                                           - self.mean_) ** 2, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.sqrt(squares / count)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, values) -> np.ndarray:
        """(..., columns) in the user's units -> the same shape, standardised, as float32."""
        self._check_fitted()
        return ((np.asarray(values, dtype="float64") - self.mean_) / self.scale_).astype("float32")

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"kind": "standard", "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> Scaler:
        if values.get("kind") != "standard":
            raise UserError(
                f"scaler kind {values.get('kind')!r} is unknown to this version of forecaster; "
                f"retrain the model with it.")
        scaler = cls()
        scaler.mean_ = np.asarray(values["mean"], dtype="float64")
        scaler.scale_ = np.asarray(values["scale"], dtype="float64")
        return scaler

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError("this Scaler is not fitted yet; call fit(training_values) first")


class Representation:
    """How each series is shown to the model, and how the model's outputs map back to its units.

    "global"  the classic recipe: every column standardised with the series' training statistics;
              the model forecasts the standardised level (its anchor is the training mean).
    "change"  the target column enters as its change over `lag_` steps (one season when seasonal
              naive is the better anchor for most horizon steps, else one step), standardised; the
              model forecasts a correction to the better of naive and seasonal naive for each step.
              Small, smooth movements that a global scale drowns stay visible to the model.
    "window"  each window on its own terms: the target relative to the window's last value and
              divided by the window's standard deviation (the training target's, where a window is
              flat); the model forecasts the change from the last value in those units, so levels
              never seen in training (a trend) look like any other window.
    "seasonal" the target relative to its mean at the same point of the last `cycles_` cycles of
              `season` steps (the longest period found), standardised; the model forecasts a
              correction to that seasonal mean ("seasonal_mean" on every step). A fixed daily or
              weekly profile is then averaged over several cycles instead of copied from one
              (seasonal naive), so its noise shrinks; `cycles_` (2 to MAX_CYCLES) is as many as
              leave three quarters of the shortest training split for windows.

    Statistics are per series, from that series' training rows alone (nothing is pooled across
    series): row k of `mean_`, `scale_` (input columns), `level_` (the training mean of the target)
    and `spread_` (the standard deviation of the training residuals against the anchor, which
    scales the model's targets). What every series shares: the anchor of each horizon step
    (`anchors_`, chosen on the series' errors each divided by its own scale) and the lag. ("auto"
    is a choice made by training, not a representation.)

    Every method takes histories, the rows right before each forecast origin, and `series`, the
    row of the statistics for each: (n, rows, columns) in user units and (n,) ints.

    `future` names the columns (by place) of inputs known ahead (`--future`): a window shows each
    of them `len(anchors_)` rows later than the other columns, so that its last rows hold their
    values on the steps forecast (`windows`' `ahead`), standardised like any input.
    """

    KINDS = ("global", "change", "window", "seasonal")

    def __init__(self, scaling: str, season: int, series_size: bool = False, future=()):
        if scaling not in self.KINDS:
            raise ValueError(f"scaling must be one of {self.KINDS}, got {scaling!r}")
        self.scaling = scaling
        self.season = season
        self.series_size = series_size  # one more input column: the series' size (see `size_`)
        self.future = tuple(int(column) for column in future)

    def fit(self, values, train_rows, time_steps: int, horizon: int, offsets=None,
            share=None) -> Representation:
        """`values`: (rows, columns) in user units, target first: one series, or several one after
        another, series k at rows offsets[k]:offsets[k + 1]. `train_rows`: the training rows at
        the start of each series (one int, or one per series); only they are read. With `share`
        (`forecaster.sharing.Share`) these are this worker's series: the statistics of every
        worker's are gathered, in file order, and what the series share decided over all."""
        values = np.asarray(values)  # float32 or float64, as held: never copied whole
        offsets = np.array([0, len(values)]) if offsets is None else np.asarray(offsets)
        count = len(offsets) - 1
        train_rows = np.broadcast_to(np.asarray(train_rows, dtype=np.int64), (count,))
        gather = (lambda value: [value]) if share is None else share.gather
        merge = (lambda found: found) if share is None else share.merge
        if self.future and time_steps < horizon:
            raise ValueError(f"a window of {time_steps} steps cannot show the {horizon} steps "
                             f"ahead of inputs known ahead; time_steps must be at least the horizon")
        self.time_steps_ = time_steps
        self.cycles_ = self._cycles(min(gather(int(train_rows.min()))), time_steps, horizon)
        series = [values[offsets[k]:offsets[k] + train_rows[k]] for k in range(count)]
        origins = [evenly_spaced(self.training_origins(len(rows), time_steps, horizon), MAX_FIT_ORIGINS)
                   for rows in series]
        empty = [k for k, found in enumerate(origins) if len(found) == 0]
        if empty:
            raise ValueError(f"no training window in series {empty[:3]}: training rows "
                             f"{train_rows[empty[0]]}, time_steps {time_steps}, horizon {horizon}, "
                             f"season {self.season}")
        if self.scaling == "global":
            self.anchors_ = ["mean"] * horizon
        elif self.scaling == "window":
            self.anchors_ = ["naive"] * horizon
        elif self.scaling == "seasonal":
            self.anchors_ = ["seasonal_mean"] * horizon
        else:
            totals = gather(self._anchor_errors(series, origins, horizon,
                                                several=sum(gather(count)) > 1))
            naive, seasonal = (np.sum([found[i] for found in totals], axis=0) for i in range(2))
            self.anchors_ = ["seasonal_naive" if s < n else "naive"
                             for s, n in zip(seasonal, naive, strict=True)]
        seasonal = self.anchors_.count("seasonal_naive")
        self.lag_ = 0 if self.scaling != "change" else (self.season if 2 * seasonal > horizon else 1)
        stats = [self._statistics(rows, found, horizon) for rows, found in zip(series, origins, strict=True)]
        self.mean_, self.scale_, self.level_, self.spread_ = (
            merge(np.array([row[i] for row in stats], dtype="float64")) for i in range(4))
        self.size_ = merge(np.array([_log_size(rows) for rows in series]))
        spread = float(np.std(self.size_))
        self.size_centre_, self.size_unit_ = float(np.mean(self.size_)), spread if spread > 0 else 1.0
        return self

    def _cycles(self, train_rows: int, time_steps: int, horizon: int) -> int:
        """The cycles "seasonal" averages: as many as leave a quarter of the shortest training
        split for window origins, at most MAX_CYCLES; 0 for the other kinds."""
        if self.scaling != "seasonal":
            return 0
        if self.season < 2:
            raise ValueError(f"the seasonal representation needs a season of 2 steps or more, got "
                             f"{self.season}")
        room = (train_rows * 3 // 4 - time_steps - horizon) // self.season
        if room < 2:
            raise ValueError(f"the seasonal representation needs two cycles of {self.season} steps "
                             f"before a window of {time_steps} + {horizon} steps in three quarters "
                             f"of the training rows; the shortest series has {train_rows}")
        return int(min(room, MAX_CYCLES))

    def input_columns(self, columns: int, static: int = 0) -> int:
        """The columns of the windows the model reads, for `columns` columns of values and
        `static` columns of per-series inputs."""
        return columns + int(self.series_size) + static

    def with_series(self, histories) -> Representation:
        """A copy that also knows the series of `histories` (a list of (rows, columns) arrays in
        user units, each all training rows of a series not seen in training), appended after the
        fitted ones: their statistics come from those rows alone. Each must hold one window."""
        horizon = len(self.anchors_)
        stats = []
        for rows in histories:
            rows = np.asarray(rows, dtype="float64")
            found = evenly_spaced(self.training_origins(len(rows), self.time_steps_, horizon),
                                  MAX_FIT_ORIGINS)
            if len(found) == 0:
                raise ValueError(f"a history of {len(rows)} rows holds no window of "
                                 f"{self.time_steps_} + {horizon} steps")
            stats.append(self._statistics(rows, found, horizon))
        copy = Representation(self.scaling, self.season, self.series_size, self.future)
        copy.time_steps_, copy.anchors_, copy.lag_ = self.time_steps_, list(self.anchors_), self.lag_
        copy.cycles_ = self.cycles_
        copy.size_centre_, copy.size_unit_ = self.size_centre_, self.size_unit_
        copy.mean_, copy.scale_, copy.level_, copy.spread_ = (
            np.concatenate([own, np.array([row[i] for row in stats]).reshape(-1, *own.shape[1:])])
            for i, own in enumerate((self.mean_, self.scale_, self.level_, self.spread_)))
        copy.size_ = np.concatenate([self.size_, [_log_size(np.asarray(rows)) for rows in histories]])
        return copy

    def _anchor_errors(self, series, origins, horizon: int, several: bool):
        """(naive, seasonal naive) per horizon step: each one's mean absolute error on the training
        windows, summed over `series`, each series' errors divided by its naive MAE when there are
        `several` series so that every series counts alike (for one series, simply the MAE). The
        anchor of each step is the one with the lower total (a tie goes to naive)."""
        naive_total, seasonal_total = np.zeros(horizon), np.zeros(horizon)
        for rows, found in zip(series, origins, strict=True):
            target = np.asarray(rows[:, 0], dtype="float64")
            histories = histories_at(target[:, None], found, int(found.min()))[..., 0]
            truth = target[found[:, None] + np.arange(horizon)[None, :]]
            naive = np.abs(truth - anchor_forecast("naive", histories, horizon, self.season)).mean(axis=0)
            seasonal = np.abs(truth - anchor_forecast("seasonal_naive", histories, horizon,
                                              self.season)).mean(axis=0)
            unit = naive.mean() if several and naive.mean() > 0 else 1.0
            naive_total, seasonal_total = naive_total + naive / unit, seasonal_total + seasonal / unit
        return naive_total, seasonal_total

    def _statistics(self, rows: np.ndarray, origins: np.ndarray, horizon: int):
        """(mean (columns,), scale (columns,), level, spread) of one series from its training
        `rows` and training window `origins`."""
        lag = self.lag_
        if self.scaling == "seasonal":  # the deviations of the rows with whole cycles before them
            reach = self.cycles_ * self.season
            inputs = Scaler().fit_blocks(lambda a, b: _deviations(rows[a:b + reach], self.season,
                                                                  self.cycles_), len(rows) - reach)
        else:
            inputs = Scaler().fit_blocks(lambda a, b: _differenced_rows(rows, a + lag, b + lag, lag),
                                         len(rows) - lag)
        target = np.asarray(rows[:, 0], dtype="float64")
        level = float(np.mean(target[: origins.max() + horizon]))
        if self.scaling == "window":
            spread = 1.0  # each window has its own
        else:  # the residuals of every window against the anchor; the histories a chunk at a time
            history = int(origins.min())  # (the seasonal one's reach hundreds of rows back)
            residuals = np.empty((len(origins), horizon))
            step = max(1, BLOCK_ROWS // max(history, 1))  # a million history cells at a time
            for start in range(0, len(origins), step):
                chunk = origins[start:start + step]
                histories = histories_at(target[:, None], chunk, history)[..., 0]
                truth = target[chunk[:, None] + np.arange(horizon)[None, :]]
                residuals[start:start + len(chunk)] = truth - self._anchor_forecast(
                    histories, np.full(len(chunk), level))
            spread = float(np.std(residuals))
        return inputs.mean_, inputs.scale_, level, spread if spread > 0 else 1.0

    def training_origins(self, train_rows: int, time_steps: int, horizon: int) -> np.ndarray:
        """The training windows of one series that `fit` learns its statistics from: every origin
        with `time_steps` rows and one season before it ("seasonal": `time_steps` rows after
        `cycles_` seasons), and `horizon` rows from it, inside the training rows."""
        return np.arange(self.first_training_origin(time_steps), train_rows - horizon + 1)

    def first_training_origin(self, time_steps: int | None = None) -> int:
        """The rows a series must hold before its first training window (the fitted `time_steps`
        unless given); `horizon` more make one window."""
        time_steps = self.time_steps_ if time_steps is None else time_steps
        if self.scaling == "seasonal":
            return time_steps + self.cycles_ * self.season
        return max(time_steps, self.season)

    def first_origin(self) -> int:
        """Rows of history a forecast needs: the window, the lag it is differenced over, and the
        season an anchor looks back."""
        self._check_fitted()
        anchor_rows = self.season if "seasonal_naive" in self.anchors_ else 1
        if "seasonal_mean" in self.anchors_:
            anchor_rows = int(_seasonal_back(len(self.anchors_), self.season, self.cycles_).max())
            return max(self.first_training_origin(), anchor_rows)
        return max(self.time_steps_ + self.lag_, anchor_rows)

    def windows(self, histories, series, static=None, ahead=None) -> np.ndarray:
        """What the model reads: histories (n, rows, columns) in user units, each ending right
        before its origin and at least `first_origin()` rows long -> (n, time_steps, columns);
        `static` (n, width): per-series inputs (`StaticInputs`) appended on every step; `ahead`
        (n, steps, len(future)): the inputs known ahead on the steps from each origin (at least
        `len(anchors_)` of them; required when there are such inputs)."""
        self._check_fitted()
        histories = np.asarray(histories, dtype="float64")
        series = np.asarray(series)
        scaled = self._scaled(histories, series)
        if self.future:
            steps = len(self.anchors_)
            if ahead is None or np.shape(ahead)[1] < steps:
                raise ValueError(f"windows with inputs known ahead need their values on the "
                                 f"{steps} steps from each origin (ahead); got "
                                 f"{None if ahead is None else np.shape(ahead)}")
            columns = list(self.future)  # shifted `steps` rows on: the window's last `steps`
            past = histories[:, histories.shape[1] - (self.time_steps_ - steps):, columns]
            later = np.concatenate([past, np.asarray(ahead, dtype="float64")[:, :steps]], axis=1)
            scaled[..., columns] = self._standardise(later, series, columns)
        return self._constants(scaled, series, static)

    def _scaled(self, histories: np.ndarray, series: np.ndarray) -> np.ndarray:
        """(n, time_steps, columns) the windows of `histories` in the representation's units."""
        recent = histories[:, -self.time_steps_:, :]
        if self.scaling == "seasonal":
            reach = self.time_steps_ + self.cycles_ * self.season
            scaled = self._standardise(_deviations(histories[:, -reach:, :], self.season, self.cycles_),
                                       series)
        elif self.scaling != "window":
            changed = _differenced(histories[:, -(self.time_steps_ + self.lag_):, :], self.lag_)
            scaled = self._standardise(changed[:, self.lag_:, :], series)
        else:
            scaled = self._standardise(recent, series)
            target = recent[..., 0]
            scaled[..., 0] = (target - target[:, -1:]) / self._spread(target, series)[:, None]
        return scaled

    def _constants(self, windows: np.ndarray, series: np.ndarray, static) -> np.ndarray:
        """The windows with the per-series constants after the other columns, on every step: the
        series' size (with `series_size`; standardised over the training series), then `static`."""
        columns = [] if static is None else [np.asarray(static, dtype="float32")]
        if self.series_size:
            size = ((self.size_[series] - self.size_centre_) / self.size_unit_).astype("float32")
            columns.insert(0, size[:, None])
        if not columns or not sum(c.shape[1] for c in columns):
            return windows
        constant = np.concatenate(columns, axis=1)
        return np.concatenate([windows, np.broadcast_to(
            constant[:, None, :], (*windows.shape[:2], constant.shape[1]))], axis=2)

    def encode(self, histories, truth, series) -> np.ndarray:
        """The model's training targets (n, horizon) float32: `truth` (n, horizon) in user units,
        the steps after each history (n, rows) of target values."""
        histories = np.asarray(histories, dtype="float64")
        truth, series = np.asarray(truth, dtype="float64"), np.asarray(series)
        base, unit = self._base_and_unit(histories, series)
        return ((truth - base) / unit[:, None]).astype("float32")

    def decode(self, outputs, histories, series) -> np.ndarray:
        """Model outputs (n, horizon) -> forecasts in the target's units; `histories` (n, rows)
        of target values right before each origin."""
        histories = np.asarray(histories, dtype="float64")
        base, unit = self._base_and_unit(histories, np.asarray(series))
        return base + np.asarray(outputs, "float64") * unit[:, None]

    def decode_next(self, outputs, histories, series) -> np.ndarray:
        """A one-step model's outputs (n, 1) -> (n,) the next value after each history (n, rows)
        of target values in user units."""
        return self.decode(outputs, histories, series)[:, 0]

    def _base_and_unit(self, histories: np.ndarray, series: np.ndarray):
        """(n, steps) what an output of 0 means, and (n,) what an output of 1 adds."""
        self._check_fitted()
        if self.scaling == "window":
            recent = histories[:, -self.time_steps_:]
            base = np.repeat(recent[:, -1:], len(self.anchors_), axis=1)
            return base, self._spread(recent, series)
        return self._anchor_forecast(histories, self.level_[series]), self.spread_[series]

    def _anchor_forecast(self, histories: np.ndarray, level: np.ndarray) -> np.ndarray:
        """(n, horizon) anchor forecasts in user units after target histories (n, rows)."""
        horizon = len(self.anchors_)
        columns = {name: anchor_forecast(name, histories, horizon, self.season, level, self.cycles_)
                   for name in set(self.anchors_)}
        return np.stack([columns[name][:, step] for step, name in enumerate(self.anchors_)], axis=1)

    def _standardise(self, values: np.ndarray, series: np.ndarray, columns=slice(None)) -> np.ndarray:
        """(n, steps, columns) standardised by each window's series' statistics of `columns`."""
        mean, scale = self.mean_[series][:, columns], self.scale_[series][:, columns]
        return ((values - mean[:, None, :]) / scale[:, None, :]).astype("float32")

    def _spread(self, windows: np.ndarray, series: np.ndarray) -> np.ndarray:
        """Each window's standard deviation; its series' training target's where a window is flat."""
        spread = np.std(windows, axis=-1)
        fallback = self.scale_[series, 0]
        return np.where(spread > 1e-6 * fallback, spread, fallback)

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"scaling": self.scaling, "season": self.season, "lag": self.lag_,
                "time_steps": self.time_steps_, "anchors": self.anchors_, "cycles": self.cycles_,
                "series_size": self.series_size, "future": list(self.future), "size": self.size_.tolist(),
                "size_centre": self.size_centre_, "size_unit": self.size_unit_,
                "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "level": self.level_.tolist(), "spread": self.spread_.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> Representation:
        if values.get("scaling") not in cls.KINDS:
            raise UserError(
                f"scaling {values.get('scaling')!r} is unknown to this version of forecaster; "
                f"retrain the model with it.")
        representation = cls(values["scaling"], int(values["season"]), bool(values["series_size"]),
                             values.get("future", ()))
        representation.size_ = np.asarray(values["size"], dtype="float64")
        representation.size_centre_ = float(values["size_centre"])
        representation.size_unit_ = float(values["size_unit"])
        representation.lag_ = int(values["lag"])
        representation.cycles_ = int(values.get("cycles", 0))  # bundles before "seasonal": 0
        representation.time_steps_ = int(values["time_steps"])
        representation.anchors_ = list(values["anchors"])
        shape = (len(values["level"]), -1)
        representation.mean_ = np.asarray(values["mean"], dtype="float64").reshape(shape)
        representation.scale_ = np.asarray(values["scale"], dtype="float64").reshape(shape)
        representation.level_ = np.asarray(values["level"], dtype="float64")
        representation.spread_ = np.asarray(values["spread"], dtype="float64")
        return representation

    def _check_fitted(self) -> None:
        if not hasattr(self, "anchors_"):
            raise RuntimeError("this Representation is not fitted yet; call fit(values, ...) first")


def anchor_forecast(name: str, histories: np.ndarray, horizon: int, season: int, level=None,
                    cycles: int = 0) -> np.ndarray:
    """(n, horizon) forecasts of one anchor after target histories (n, rows): "naive" the last
    value, "seasonal_naive" the value one season before each step (as many seasons back as needed
    to stay inside the history), "seasonal_mean" the mean of the values `cycles` seasons before
    each step (from the first season back that is inside the history), "mean" the series'
    training `level` (n,)."""
    if name == "naive":
        return np.repeat(histories[:, -1:], horizon, axis=1)
    if name == "seasonal_mean":
        back = _seasonal_back(horizon, season, cycles)  # (cycles, horizon) rows back from the end
        if back.max() > histories.shape[1]:
            raise ValueError(f"a seasonal mean over {cycles} cycles of {season} needs {back.max()} "
                             f"rows of history; got {histories.shape[1]}")
        return histories[:, histories.shape[1] - back].mean(axis=1)
    if name == "seasonal_naive":
        back = _seasonal_back(horizon, season, 1)[0]  # rows back from the end
        if back.max() > histories.shape[1]:
            raise ValueError(f"seasonal naive needs {season} rows of history; got {histories.shape[1]}")
        return histories[:, histories.shape[1] - back]
    return np.repeat(np.asarray(level, dtype="float64")[:, None], horizon, axis=1)


def _seasonal_back(horizon: int, season: int, cycles: int) -> np.ndarray:
    """(cycles, horizon) how many rows back from the end of a history the values averaged for each
    step lie: step s (1-based) reads s - 1 - j * season for the `cycles` smallest j >= 1 that land
    inside the history."""
    steps = np.arange(1, horizon + 1)
    first = np.ceil(steps / season).astype(int)  # the first whole season back
    return season * (first[None, :] + np.arange(cycles)[:, None]) - (steps[None, :] - 1)


def _deviations(values: np.ndarray, season: int, cycles: int) -> np.ndarray:
    """The target column (0) minus its mean over the `cycles` seasons before each row, for every
    row after the first cycles * season; the other columns as they are. (..., rows, columns) ->
    (..., rows - cycles * season, columns)."""
    reach = cycles * season
    out = values[..., reach:, :].astype("float64", copy=True)
    rows = values.shape[-2] - reach
    mean = sum(values[..., reach - j * season:reach - j * season + rows, 0] for j in range(1, cycles + 1))
    out[..., 0] -= mean / cycles
    return out


def _log_size(rows: np.ndarray) -> float:
    """A series' size: the log of the mean absolute value of its target over `rows` (its training
    rows), so that series of 10 and of 10,000 lie three apart whatever their units."""
    size = float(np.nanmean(np.abs(np.asarray(rows[:, 0], dtype="float64"))))
    return float(np.log(size)) if size > 0 else 0.0


def _differenced_rows(values: np.ndarray, start: int, stop: int, lag: int) -> np.ndarray:
    """Rows [start, stop) of `_differenced(values)`, reading only the `lag` rows before them."""
    before = min(lag, start)
    return _differenced(values[start - before:stop], lag)[before:]


def _differenced(values: np.ndarray, lag: int) -> np.ndarray:
    """The target column (0) as its change over `lag` rows (0 for the first `lag` rows); the
    other columns as they are. Works on (rows, columns) or a stack of them, (..., rows, columns)."""
    if not lag:
        return values
    changed = values.copy()
    changed[..., :lag, 0] = 0.0
    changed[..., lag:, 0] = values[..., lag:, 0] - values[..., :-lag, 0]
    return changed


def evenly_spaced(items, most: int):
    """`items` if there are at most `most`, else `most` of them evenly spaced from first to last."""
    items = np.asarray(items)
    if len(items) <= most:
        return items
    return items[spaced_places(len(items), most)]


def spaced_places(count: int, most: int) -> np.ndarray:
    """The places (ascending) of `most` of `count` items evenly spaced from first to last."""
    return np.linspace(0, count - 1, most).round().astype(int)


def seasonal_mae_scale(target, season: int) -> float:
    """MASE's denominator: the in-sample MAE of the seasonal-naive forecast (lag `season`) on the
    training rows passed in; the lag-1 naive MAE if that is zero; NaN if the series is constant."""
    target = np.asarray(target, dtype="float64")
    for lag in dict.fromkeys((season, 1)):
        if len(target) > lag:
            scale = float(np.mean(np.abs(target[lag:] - target[:-lag])))
            if scale > 0:
                return scale
    return float("nan")


class StaticInputs:
    """Per-series constants (`--static`) as model inputs, one value per series on every step of
    its windows: a number standardised over the training series, a text value one-hot over the
    values the training series hold (one never seen in training is all zeros)."""

    def fit(self, statics: dict) -> StaticInputs:
        """`statics`: column -> (training series,) values (`Panel.statics`)."""
        self.columns_ = {}
        for name, values in statics.items():
            values = np.asarray(values)
            if values.dtype.kind == "f":
                spread = float(np.std(values))
                self.columns_[name] = {"mean": float(np.mean(values)),
                                       "scale": spread if spread > 0 else 1.0}
            else:
                self.columns_[name] = {"categories": sorted({str(value) for value in values})}
        return self

    @property
    def width(self) -> int:
        """The input columns they make."""
        return sum(len(found.get("categories", [0])) for found in self.columns_.values())

    def transform(self, statics: dict) -> np.ndarray:
        """(series, width) float32 of the series whose `statics` (column -> (series,)) are given."""
        parts = []
        for name, found in self.columns_.items():
            values = np.asarray(statics[name])
            if "categories" in found:
                index = {category: i for i, category in enumerate(found["categories"])}
                hot = np.zeros((len(values), len(index)), dtype="float32")
                rows = [(row, index[str(value)]) for row, value in enumerate(values)
                        if str(value) in index]
                if rows:
                    hot[tuple(np.array(rows).T)] = 1.0
                parts.append(hot)
            else:
                if values.dtype.kind not in "fiu":
                    raise UserError(
                        f"static column {name!r} was numbers at training, but holds text now; "
                        f"pass the same kind of values.")
                parts.append(((values.astype("float64") - found["mean"]) / found["scale"])[:, None])
        count = len(next(iter(statics.values()))) if statics else 0
        return (np.hstack(parts) if parts else np.zeros((count, 0))).astype("float32")

    def to_dict(self) -> dict:
        return {"columns": self.columns_}

    @classmethod
    def from_dict(cls, values: dict) -> StaticInputs:
        inputs = cls()
        inputs.columns_ = dict(values["columns"])
        return inputs
