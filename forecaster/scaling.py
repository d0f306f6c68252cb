"""Standardisation fitted on the training split only, saved as JSON in the bundle."""

from __future__ import annotations

import numpy as np

from forecaster.errors import UserError


class Scaler:
    """Standardise each column to mean 0 and standard deviation 1, using statistics of the rows
    passed to `fit` (the training split). Column 0 is the target.

    A constant column gets scale 1, so it maps to zeros rather than dividing by zero.
    """

    def fit(self, values) -> Scaler:
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or len(values) == 0:
            raise ValueError(f"expected a non-empty (rows, columns) array, got shape {values.shape}")
        self.mean_ = np.nanmean(values, axis=0)
        scale = np.nanstd(values, axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, values) -> np.ndarray:
        """(..., columns) in the user's units -> the same shape, standardised, as float32."""
        self._check_fitted()
        return ((np.asarray(values, dtype="float64") - self.mean_) / self.scale_).astype("float32")

    def inverse_target(self, scaled) -> np.ndarray:
        """Standardised target values (any shape) -> the target's own units, as float64."""
        self._check_fitted()
        return np.asarray(scaled, dtype="float64") * self.scale_[0] + self.mean_[0]

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
