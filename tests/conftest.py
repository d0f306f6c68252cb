"""Shared fixtures: small series written to tmp folders, and one tiny trained bundle per session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def write_csv(tmp_path, text, name="series.csv"):
    """`text` written as UTF-8 to tmp_path/name; returns the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_hourly_csv(path, rows: int = 480, seed: int = 0, start: str = "2021-03-01") -> pd.DataFrame:
    """A daily cycle plus noise, hourly, columns `time` and `load`, written to `path`."""
    rng = np.random.default_rng(seed)
    hours = np.arange(rows)
    load = 10 + 3 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 0.3, rows)
    frame = pd.DataFrame({
        "time": pd.date_range(start, periods=rows, freq="h").strftime("%Y-%m-%d %H:%M"),
        "load": load.round(3),
    })
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="session")
def hourly_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "load.csv"
    write_hourly_csv(path)
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory, hourly_csv):
    """(TrainRun, Settings) of a two-epoch model on `hourly_csv`: 24-step windows, 6-step horizon,
    chosen on the validation split alone (no earlier folds: one training of each network; the CLI's
    end-to-end test trains the default with them)."""
    from forecaster.config import load_config
    from forecaster.training import train

    model_dir = tmp_path_factory.mktemp("models") / "load"
    settings = load_config(overrides={
        "csv": str(hourly_csv), "time_steps": 24, "horizon": 6, "epochs": 2, "model_dir": str(model_dir),
        "choice_folds": 0,
    })
    return train(settings, verbose=0), settings
