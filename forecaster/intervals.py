"""Split-conformal prediction intervals, calibrated per horizon step on scale-free residuals."""

from __future__ import annotations

import math

import numpy as np

from forecaster.errors import UserError


class ConformalIntervals:
    """Split-conformal prediction intervals, calibrated per horizon step on held-out residuals.

    For a level L (percent) and n calibration residuals at a step, the half-width is the
    ceil((n + 1) L / 100)-th smallest absolute residual: over exchangeable data, a fresh forecast's
    interval [forecast - q, forecast + q] covers the actual value with probability >= L%.
    Half-widths are kept for every whole level from 1 to 99, so the bundle stays small.

    With many series the residuals are scale-free: each series' errors divided by its own scale
    (its in-sample seasonal-naive MAE), and `bounds` multiplies the half-width back by the scale of
    the series forecast, so that one series' width does not leak into another's.
    """

    LEVELS = range(1, 100)

    def fit(self, errors) -> ConformalIntervals:
        """errors: (samples, horizon) actual - forecast on calibration windows; NaN = not observed."""
        errors = np.abs(np.asarray(errors, dtype="float64"))
        self.counts_ = []
        self.half_widths_ = {}
        for step in range(errors.shape[1]):
            column = np.sort(errors[:, step][~np.isnan(errors[:, step])])
            self.counts_.append(len(column))
            for level in self.LEVELS:
                rank = math.ceil((len(column) + 1) * level / 100)
                width = float(column[rank - 1]) if 0 < rank <= len(column) else float("inf")
                self.half_widths_.setdefault(level, []).append(width)
        return self

    def finite_up_to(self) -> int:
        """The highest level whose interval is bounded at every step (0 when none is): with n
        calibration residuals, a level above 100 n / (n + 1) has no residual to stand on."""
        return max((level for level in self.LEVELS
                    if np.isfinite(self.half_widths_[level]).all()), default=0)

    def bounds(self, forecast, level: int, scale=1.0) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) around `forecast` (..., steps) at a whole `level` from 1 to 99; NaN for
        steps past the calibrated horizon. `scale` (...,): each forecast's series scale, as the
        calibration errors were divided by."""
        if not hasattr(self, "half_widths_"):
            raise RuntimeError("these ConformalIntervals are not fitted yet; call fit(errors) first")
        width = np.asarray(self.half_widths_[check_level(level)])
        forecast = np.asarray(forecast, dtype="float64")
        horizon = forecast.shape[-1]
        if horizon > len(width):  # steps past the calibrated horizon have no interval
            width = np.concatenate([width, np.full(horizon - len(width), np.nan)])
        width = width[:horizon] * np.asarray(scale, dtype="float64")[..., None]
        return forecast - width, forecast + width

    def to_dict(self) -> dict:
        return {"method": "split conformal, absolute scale-free residuals per horizon step",
                "calibration_counts": self.counts_,
                "half_widths": {str(level): widths for level, widths in self.half_widths_.items()}}

    @classmethod
    def from_dict(cls, values: dict) -> ConformalIntervals:
        intervals = cls()
        intervals.counts_ = list(values["calibration_counts"])
        intervals.half_widths_ = {int(level): [float(w) for w in widths]
                                  for level, widths in values["half_widths"].items()}
        return intervals


def check_level(level) -> int:
    """A prediction-interval level as a whole percent from 1 to 99, or a UserError."""
    if isinstance(level, bool) or not float(level).is_integer() or not 1 <= level <= 99:
        raise UserError(f"--level {level!r} is not a whole percent from 1 to 99; use, e.g., --level 80 95.")
    return int(level)
