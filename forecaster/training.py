"""Train the LSTM on one CSV and save the bundle: read -> split -> scale -> window -> fit -> save."""

from __future__ import annotations

import dataclasses
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from forecaster import backend
from forecaster.artifacts import save_bundle
from forecaster.config import Settings
from forecaster.data import Series, read_series, season_length, split_points
from forecaster.errors import UserError
from forecaster.evaluation import mean_absolute_error
from forecaster.models import build_lstm
from forecaster.scaling import Scaler
from forecaster.windows import choose_window, make_windows, window_splits


@dataclass
class TrainRun:
    """What a training run produced: where the bundle is and how well it did on validation."""

    model_dir: Path
    val_mae: float  # mean absolute error on the validation windows, in the target's units
    target: str
    epochs_run: int
    best_epoch: int
    time_steps: int
    horizon: int
    filled_values: int  # missing target values that were filled (including missing timestamps)
    missing_timestamps: int


def train(settings: Settings, verbose: int | str = "auto") -> TrainRun:
    """Train on `settings.csv` and save a bundle to `settings.model_dir` (default models/<csv>)."""
    if not settings.csv:
        raise UserError("no training data given; pass --csv PATH (a CSV with a time column).")
    series = read_series(settings.csv, settings.time_col, settings.target, settings.features)
    rows = len(series.frame)
    val_start, test_start = split_points(rows, settings.val_fraction, settings.test_fraction)
    time_steps, horizon = resolve_window(settings, series, val_start, test_start)
    values = series.values(settings.fill, segments=(val_start, test_start))
    scaler = Scaler().fit(values[:val_start])
    inputs, targets = make_windows(scaler.transform(values), time_steps, horizon)
    splits = window_splits(rows, time_steps, horizon, val_start, test_start)
    train_part, val_part = splits["train"], splits["validation"]

    keras = backend.keras()  # imported only once the data has passed every check
    keras.utils.set_random_seed(settings.seed)
    model = build_lstm(time_steps, inputs.shape[2], horizon, settings.units, settings.learning_rate)
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=settings.patience, restore_best_weights=True)
    history = model.fit(
        inputs[train_part], targets[train_part],
        validation_data=(inputs[val_part], targets[val_part]),
        epochs=settings.epochs, batch_size=settings.batch_size, callbacks=[stopper],
        verbose=verbose)

    predicted = scaler.inverse_target(model.predict(inputs[val_part], verbose=0))
    first_target = np.arange(val_part.start, val_part.stop) + time_steps
    rows_of = first_target[:, None] + np.arange(horizon)[None, :]
    val_mae = mean_absolute_error(values[rows_of, 0], predicted, series.observed[rows_of])

    losses = history.history.get("val_loss", [])
    best_epoch = int(np.argmin(losses)) + 1 if losses else len(history.epoch)
    model_dir = Path(settings.model_dir or Path("models") / Path(settings.csv).stem)
    resolved = dataclasses.replace(
        settings, time_col=series.schema.time_column, target=series.schema.target,
        time_steps=time_steps, horizon=horizon, model_dir=str(model_dir))
    metadata = _metadata(series, val_start, test_start, history.history, val_mae, best_epoch)
    save_bundle(model_dir, model, resolved, scaler, series.schema, metadata)
    return TrainRun(model_dir, val_mae, series.schema.target, len(history.epoch), best_epoch,
                    time_steps, horizon, series.missing_values, series.missing_timestamps)


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


def _metadata(series: Series, val_start: int, test_start: int, history: dict, val_mae: float,
              best_epoch: int) -> dict:
    import pandas
    import tensorflow

    keras = backend.keras()

    import forecaster

    index = series.frame.index

    def span(start: int, stop: int):
        return [index[start].isoformat(), index[stop - 1].isoformat()] if stop > start else None

    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(Path(series.source).resolve()),
        "rows": len(index),
        "frequency": series.schema.frequency,
        "season_length": season_length(series.schema.frequency),
        "time_range": span(0, len(index)),
        "splits": {
            "train": span(0, val_start),
            "validation": span(val_start, test_start),
            "test": span(test_start, len(index)),
        },
        "missing_timestamps": series.missing_timestamps,
        "filled_values": series.missing_values,
        "history": {key: [float(v) for v in values] for key, values in history.items()},
        "best_epoch": best_epoch,
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
