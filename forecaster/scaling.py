"""Standardisation fitted on the training split only, saved as JSON in the bundle."""

from __future__ import annotations

import numpy as np

from forecaster.errors import UserError
from forecaster.windows import make_windows

BLOCK_ROWS = 1 << 20  # rows per block when a statistic or a transform runs over a whole series
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
            block = read(start, stop)
            total = total + np.nansum(block, axis=0)
            count = count + np.sum(~np.isnan(block), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_ = total / count
        squares = 0.0
        for start, stop in blocks:
            squares = squares + np.nansum((read(start, stop) - self.mean_) ** 2, axis=0)
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


ANCHORS = ("auto", "naive", "seasonal_naive", "mean")


class TargetScaler:
    """The model's targets: a scaled correction to an anchor forecast, one anchor per horizon step.

    The model learns (truth - anchor) / scale_, so an output of 0 is the anchor forecast itself and
    a model that learns nothing falls back to it instead of doing worse. Anchors:
      "mean"            the training mean: the classic recipe (a standardised level);
      "naive"           the last value before the origin;
      "seasonal_naive"  the value one season before each step;
      "auto"            per horizon step, whichever of naive and seasonal naive had the lower mean
                        absolute error on the training windows.
    Everything is fitted on training windows only; `anchors_` holds the choice for each step.
    """

    def __init__(self, anchor: str = "auto", season: int = 1):
        if anchor not in ANCHORS:
            raise UserError(f"--anchor is {anchor!r}; expected one of {', '.join(ANCHORS)}.")
        self.anchor = anchor
        self.season = season

    def fit(self, target, origins, horizon: int) -> TargetScaler:
        """`target`: (rows,) series in the user's units; `origins`: first target row of each
        training window (each >= season when a seasonal anchor is possible)."""
        target = np.asarray(target, dtype="float64")
        origins = np.asarray(origins)
        truth = target[origins[:, None] + np.arange(horizon)[None, :]]
        self.mean_ = float(np.mean(target[: origins.max() + horizon]))
        if self.anchor == "auto":
            naive = np.abs(truth - _forecast("naive", target, origins, horizon, self.season, 0.0))
            seasonal = np.abs(
                truth - _forecast("seasonal_naive", target, origins, horizon, self.season, 0.0))
            better = seasonal.mean(axis=0) < naive.mean(axis=0)
            self.anchors_ = ["seasonal_naive" if b else "naive" for b in better]
        else:
            self.anchors_ = [self.anchor] * horizon
        residuals = truth - self.anchor_forecast(target, origins)
        scale = float(np.std(residuals))
        self.scale_ = scale if scale > 0 else 1.0
        return self

    def anchor_forecast(self, target, origins) -> np.ndarray:
        """(len(origins), horizon) anchor forecasts in the user's units."""
        self._check_fitted()
        target = np.asarray(target, dtype="float64")
        origins = np.asarray(origins)
        horizon = len(self.anchors_)
        columns = {name: _forecast(name, target, origins, horizon, self.season, self.mean_)
                   for name in set(self.anchors_)}
        return np.stack([columns[name][:, step] for step, name in enumerate(self.anchors_)], axis=1)

    def encode(self, target, origins) -> np.ndarray:
        """The model's training targets for windows with these origins, as float32."""
        horizon = len(self.anchors_)
        target = np.asarray(target, dtype="float64")
        truth = target[np.asarray(origins)[:, None] + np.arange(horizon)[None, :]]
        return ((truth - self.anchor_forecast(target, origins)) / self.scale_).astype("float32")

    def decode(self, outputs, target, origins) -> np.ndarray:
        """Model outputs (len(origins), horizon) -> forecasts in the user's units."""
        return self.anchor_forecast(target, origins) + np.asarray(outputs, "float64") * self.scale_

    def decode_next(self, outputs, recent) -> np.ndarray:
        """Outputs (n, 1) of a one-step model -> (n,) next values, each history `recent[i]` being
        the target values (user units) right before its origin."""
        recent = np.asarray(recent, dtype="float64")
        name = self.anchors_[0]
        if name == "naive":
            anchor = recent[:, -1]
        elif name == "seasonal_naive":
            anchor = recent[:, -self.season]
        else:
            anchor = np.full(len(recent), self.mean_)
        return anchor + np.asarray(outputs, "float64")[:, 0] * self.scale_

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"anchor": self.anchor, "season": self.season, "anchors": self.anchors_,
                "mean": self.mean_, "scale": self.scale_}

    @classmethod
    def from_dict(cls, values: dict) -> TargetScaler:
        scaler = cls(values["anchor"], int(values["season"]))
        scaler.anchors_ = list(values["anchors"])
        scaler.mean_ = float(values["mean"])
        scaler.scale_ = float(values["scale"])
        return scaler

    def _check_fitted(self) -> None:
        if not hasattr(self, "anchors_"):
            raise RuntimeError("this TargetScaler is not fitted yet; call fit(target, origins, horizon)")


def _forecast(name: str, target, origins, horizon: int, season: int, mean: float) -> np.ndarray:
    from forecaster.models import naive_forecast, seasonal_naive_forecast

    if name == "naive":
        return naive_forecast(target, origins, horizon)
    if name == "seasonal_naive":
        return seasonal_naive_forecast(target, origins, horizon, season)
    return np.full((len(origins), horizon), mean)


class Representation:
    """How the series is shown to the model, and how the model's outputs map back to user units.

    "global"  the classic recipe: every column standardised with training statistics; the model
              forecasts the standardised level (its anchor is the training mean).
    "change"  the target column enters as its change over `lag_` steps (one season when seasonal
              naive is the better anchor for most horizon steps, else one step), standardised; the
              model forecasts a correction to the better of naive and seasonal naive for each step.
              Small, smooth movements that a global scale drowns stay visible to the model.
    "window"  each window on its own terms: the target relative to the window's last value and
              divided by the window's standard deviation (the training target's, where a window is
              flat); the model forecasts the change from the last value in those units, so levels
              never seen in training (a trend) look like any other window.
    All are fitted on the training rows only. ("auto" is a choice made by training, not a
    representation: it fits each and keeps the one, or the mean of several models' forecasts, with
    the lowest validation error.)
    """

    KINDS = ("global", "change", "window")

    def __init__(self, scaling: str, season: int):
        if scaling not in self.KINDS:
            raise ValueError(f"scaling must be one of {self.KINDS}, got {scaling!r}")
        self.scaling = scaling
        self.season = season

    def fit(self, values, train_rows: int, time_steps: int, horizon: int) -> Representation:
        """`values`: (rows, columns) in user units, target first; rows [0, train_rows) are training."""
        values = np.asarray(values, dtype="float64")
        anchor = {"global": "mean", "change": "auto", "window": "naive"}[self.scaling]
        origins = evenly_spaced(self.training_origins(train_rows, time_steps, horizon), MAX_FIT_ORIGINS)
        if len(origins) == 0:
            raise ValueError(f"no training window: {train_rows} rows, time_steps {time_steps}, "
                             f"horizon {horizon}, season {self.season}")
        self.time_steps_ = time_steps
        self.target_ = TargetScaler(anchor, self.season).fit(values[:, 0], origins, horizon)
        seasonal = self.target_.anchors_.count("seasonal_naive")
        self.lag_ = 0 if anchor != "auto" else (self.season if 2 * seasonal > horizon else 1)
        lag = self.lag_
        self.inputs_ = Scaler().fit_blocks(
            lambda a, b: self._differenced_rows(values, a + lag, b + lag), train_rows - lag)
        return self

    def training_origins(self, train_rows: int, time_steps: int, horizon: int) -> np.ndarray:
        """The training windows `fit` learns its statistics from: every origin with `time_steps`
        rows and one season before it, and `horizon` rows from it inside the training rows."""
        return np.arange(max(time_steps, self.season), train_rows - horizon + 1)

    def first_origin(self, time_steps: int) -> int:
        """The earliest row a forecast can start at: the window and the anchors need the rows before."""
        self._check_fitted()
        anchor_rows = self.season if "seasonal_naive" in self.target_.anchors_ else 1
        return max(time_steps + self.lag_, anchor_rows)

    def model_inputs(self, values) -> np.ndarray:
        """(rows, columns) in user units -> what the model reads, (rows, columns) float32.

        The first `lag_` rows have no change to show and hold zeros; no window starts there."""
        self._check_fitted()
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or len(values) <= BLOCK_ROWS:
            return self.inputs_.transform(self._differenced(values))
        inputs = np.empty(values.shape, dtype="float32")  # a long series: block by block
        for start in range(0, len(values), BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, len(values))
            inputs[start:stop] = self.inputs_.transform(self._differenced_rows(values, start, stop))
        return inputs

    def windows(self, histories) -> np.ndarray:
        """What the model reads: histories (..., rows, columns) in user units, each ending right
        before its origin and at least `first_origin` rows long -> (..., time_steps, columns)."""
        histories = np.asarray(histories, dtype="float64")
        if self.scaling != "window":
            return self.model_inputs(histories)[..., -self.time_steps_:, :]
        recent = histories[..., -self.time_steps_:, :]
        scaled = self.inputs_.transform(recent)
        target = recent[..., 0]
        scaled[..., 0] = (target - target[..., -1:]) / self._spread(target)[..., None]
        return scaled

    def windows_at(self, values, origins) -> np.ndarray:
        """What the model reads for the windows of a series `values` (rows, columns) whose first
        forecast step is at each of `origins`: (len(origins), time_steps, columns)."""
        return self.window_reader(values)(origins)

    def window_reader(self, values):
        """`windows_at` for one series as a function of the origins alone, the series-wide work
        (the scaled inputs, the window views) done once: for reading many batches of one series.
        Only the windows asked for are ever copied."""
        steps = self.time_steps_
        if self.scaling != "window":
            views = make_windows(self.model_inputs(values), steps, 1)[0]
            return lambda origins: views[np.asarray(origins) - steps]
        views = make_windows(np.asarray(values, dtype="float64"), steps, 1)[0]
        return lambda origins: self.windows(views[np.asarray(origins) - steps])

    def encode(self, target, origins) -> np.ndarray:
        """Training targets for windows whose first forecast step is at `origins`."""
        if self.scaling != "window":
            return self.target_.encode(target, origins)
        target, origins = np.asarray(target, dtype="float64"), np.asarray(origins)
        truth = target[origins[:, None] + np.arange(len(self.target_.anchors_))[None, :]]
        last, spread = self._last_and_spread(target, origins)
        return ((truth - last[:, None]) / spread[:, None]).astype("float32")

    def decode(self, outputs, target, origins) -> np.ndarray:
        """Model outputs -> forecasts in the target's units, (len(origins), horizon)."""
        if self.scaling != "window":
            return self.target_.decode(outputs, target, origins)
        last, spread = self._last_and_spread(np.asarray(target, dtype="float64"), np.asarray(origins))
        return last[:, None] + np.asarray(outputs, "float64") * spread[:, None]

    def decode_next(self, outputs, recent) -> np.ndarray:
        """A one-step model's outputs (n, 1) -> the next value after each history in `recent`
        (n, rows) target values in user units, at least `season` rows each: (n,)."""
        if self.scaling != "window":
            return self.target_.decode_next(outputs, recent)
        recent = np.asarray(recent, dtype="float64")[:, -self.time_steps_:]
        return recent[:, -1] + np.asarray(outputs, "float64")[:, 0] * self._spread(recent)

    def _last_and_spread(self, target: np.ndarray, origins: np.ndarray):
        windows = target[origins[:, None] + np.arange(-self.time_steps_, 0)[None, :]]
        return windows[:, -1], self._spread(windows)

    def _spread(self, windows: np.ndarray) -> np.ndarray:
        """Each window's standard deviation; the training target's where a window is flat."""
        spread = np.std(windows, axis=-1)
        floor = 1e-6 * self.inputs_.scale_[0]
        return np.where(spread > floor, spread, self.inputs_.scale_[0])

    def to_dict(self) -> dict:
        self._check_fitted()
        return {"scaling": self.scaling, "season": self.season, "lag": self.lag_,
                "time_steps": self.time_steps_,
                "inputs": self.inputs_.to_dict(), "target": self.target_.to_dict()}

    @classmethod
    def from_dict(cls, values: dict) -> Representation:
        if values.get("scaling") not in cls.KINDS:
            raise UserError(
                f"scaling {values.get('scaling')!r} is unknown to this version of forecaster; "
                f"retrain the model with it.")
        representation = cls(values["scaling"], int(values["season"]))
        representation.lag_ = int(values["lag"])
        representation.time_steps_ = int(values["time_steps"])
        representation.inputs_ = Scaler.from_dict(values["inputs"])
        representation.target_ = TargetScaler.from_dict(values["target"])
        return representation

    def _differenced_rows(self, values: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of `_differenced(values)`, reading only the `lag_` rows before them."""
        before = min(self.lag_, start)
        return self._differenced(values[start - before:stop])[before:]

    def _differenced(self, values: np.ndarray) -> np.ndarray:
        """Works on (rows, columns) or a stack of them, (..., rows, columns)."""
        if not self.lag_:
            return values
        changed = values.copy()
        changed[..., : self.lag_, 0] = 0.0
        changed[..., self.lag_:, 0] = values[..., self.lag_:, 0] - values[..., : -self.lag_, 0]
        return changed

    def _check_fitted(self) -> None:
        if not hasattr(self, "target_"):
            raise RuntimeError("this Representation is not fitted yet; call fit(values, ...) first")


def evenly_spaced(items, most: int):
    """`items` if there are at most `most`, else `most` of them evenly spaced from first to last."""
    items = np.asarray(items)
    if len(items) <= most:
        return items
    return items[np.linspace(0, len(items) - 1, most).round().astype(int)]
