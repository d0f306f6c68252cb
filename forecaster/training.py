"""Train one global model on a CSV and save the bundle: read -> split -> scale -> window -> fit -> save.

`train` is what `forecaster train` runs: it reads the panel (one series, or many in long or wide
format), fits a `Forecaster` on it with checkpoints after every epoch, and saves the bundle.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from forecaster import __version__, backend, distribution
from forecaster.artifacts import check_model_dir, save_bundle
from forecaster.checkpoints import Checkpoints, fingerprint
from forecaster.config import Settings
from forecaster.data import Panel, read_panel
from forecaster.errors import UserError, count
from forecaster.estimator import COMBINE_WITHIN, Forecaster, describe_left_out
from forecaster.sharing import Share, agreed
from forecaster.windows import choose_window


@dataclass
class TrainRun:
    """What a training run produced: where the bundle is and how well it did on validation."""

    model_dir: Path | None  # None on a worker of --distribute multiworker other than the chief
    val_mae: float  # mean absolute error on the validation windows, in the target's units
    val_mase: float  # the same errors, each divided by its series' scale (what auto chooses on)
    target: str
    series: int  # series trained on
    scaling: str  # the representation kept ("global", "change" or "window"), or the members whose
    #               mean forecast is the forecast, joined by "+": "change+window+ridge(global)"
    candidates: dict  # validation MAE of each candidate tried, by its member label (with several
    #                   series, MASE: each series' errors over its own scale)
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
    seasons: str = ""  # the seasonal periods found in the training rows, in words
    model: Forecaster | None = None  # the fitted model (None on a worker that is not the chief)
    shared: tuple[int, int] | None = None  # (series this worker read, series of the file) when
    #                                        each worker of --distribute multiworker read its own


def train(settings: Settings, verbose: int | str = "auto", resume: bool = False) -> TrainRun:
    """Train on `settings.csv` and save a bundle to `settings.model_dir` (default models/<csv>).

    With `scaling="auto"` each representation is trained from the same seed; each one's ridge
    baseline, naive, seasonal naive and the seasonal mean (with a ridge on it) join them as
    candidates, and every candidate within 5% of the best validation error is kept, their
    forecasts averaged (`forecaster.estimator`); the test split is never looked at. Progress is
    saved after every epoch (`forecaster.checkpoints`); `resume=True` continues an interrupted run
    of the same command from its last completed epoch.
    """
    started = time.perf_counter()
    worker = distribution.start(settings.distribute, resume)  # before TensorFlow runs anything
    if not settings.csv:
        raise UserError("no training data given; pass --csv PATH (a CSV with a time column).")
    model_dir = check_model_dir(settings.model_dir or Path("models") / Path(settings.csv).stem)
    if not Path(settings.csv).is_file():
        read_panel(settings.csv)  # the data layer's own message for a missing file or a folder
    with worker.writing(model_dir) as folder:  # model_dir on the chief, a scratch folder elsewhere
        checkpoints = Checkpoints(folder, fingerprint(settings.csv, settings.to_dict()), resume)
        try:
            run = _train(settings, folder, checkpoints, verbose, started)
        except UserError:
            checkpoints.discard()  # the same run would fail the same way: nothing to resume
            raise
        checkpoints.discard()
    if worker.strategy is not None:
        run.notes.append(worker.note(settings.batch_size, run.shared))
    return run if worker.chief else dataclasses.replace(run, model_dir=None, model=None)


def _train(settings: Settings, model_dir: Path, checkpoints: Checkpoints, verbose,
           started: float) -> TrainRun:
    worker = distribution.start(settings.distribute)
    if worker.kind == "multiworker" and settings.id_col:  # each worker reads its own series
        panel = agreed(worker.gather, lambda: read_panel(
            settings.csv, settings.time_col, settings.target, settings.features, settings.id_col,
            with_calendar=settings.calendar, static=settings.static,
            share=(worker.index, worker.workers), future=settings.future))
        share = Share.of(panel, worker.gather)
    else:
        panel = read_panel(settings.csv, settings.time_col, settings.target, settings.features,
                           settings.id_col, with_calendar=settings.calendar, static=settings.static,
                           future=settings.future)
        share = Share.alone(panel)
    model = Forecaster(settings).fit(panel, verbose, checkpoints, share)
    panel = share.outline(panel)  # every series of the file, for the notes and the metadata
    found = model.report_
    history = found["history"]
    losses = history.get("val_loss", [])
    best_epoch = int(np.argmin(losses)) + 1 if losses else 0
    resolved = dataclasses.replace(model.settings_, model_dir=str(model_dir))
    model.settings_ = resolved
    metadata = _metadata(panel, model, best_epoch)
    metadata.update(distribution=distribution.start(settings.distribute).describe())
    model.metadata_ = metadata
    save_bundle(model_dir, model, metadata)
    settings_ = model.settings_
    return TrainRun(model_dir, found["val_mae"], found["val_mase"], model.schema_.target,
                    len(model.ids_), model.scaling,
                    _shown_scores(model), len(losses),
                    time.perf_counter() - started, found["epoch_seconds"], best_epoch,
                    settings_.time_steps, settings_.horizon, panel.missing_values,
                    int(panel.missing_timestamps.sum()), _notes(settings, panel, model),
                    found["members"], model.seasons_.describe(), model,
                    None if share.alone_ else (len(share.positions), share.total))


def _shown_scores(model: Forecaster) -> dict:
    """Each candidate's validation score as `train` shows it: MAE for one series, MASE for many."""
    found = model.report_
    return found["candidates"] if len(model.ids_) == 1 else found["candidates_mase"]


def _notes(settings: Settings, panel: Panel, model: Forecaster) -> list[str]:
    """Plain-language warnings about a run that worked but may mislead."""
    notes = []
    found = model.report_
    usual_steps, usual_horizon = choose_window(panel.schema.frequency, 10**9, model.seasons_.periods)
    cut = [f"{name} {usual} -> {used}" for name, usual, used, given in (
        ("time_steps", usual_steps, model.settings_.time_steps, settings.time_steps),
        ("horizon", usual_horizon, model.settings_.horizon, settings.horizon))
        if given is None and used < usual]
    if cut:
        what = (f"{panel.source} is short ({int(panel.lengths[0])} rows)" if len(panel) == 1 else
                f"the series of {panel.source} are short (median {int(np.median(panel.lengths))} rows)")
        notes.append(f"{what}, so the defaults for {panel.schema.frequency!r} data were cut: "
                     f"{', '.join(cut)}.")
    if found["widened"]:
        notes.append(f"the validation and test splits were each widened to at least one horizon "
                     f"({model.settings_.horizon} rows), taking {found['widened']} rows from training, "
                     f"so that a window is left to choose the model on and one to score it.")
    if found["skipped"]:
        skipped = ", ".join(item.split(":")[0] for item in found["skipped"])
        notes.append(f"--scaling auto trained no network on {skipped}: the training or validation "
                     f"split is too short for its windows.")
    if not any(kind in model.scaling.split("+") for kind in ("change", "window", "global")):
        kept = model.scaling.replace("+", " and ")
        notes.append(f"the forecast is {kept}: no network was trained ({'; '.join(found['skipped'])})"
                     if not found["candidates"].keys() & {"change", "window", "global"} else
                     f"the forecast is {kept}: on the validation split"
                     f"{' and the earlier stretches' if found.get('folds') else ''} no network did "
                     f"within {COMBINE_WITHIN:.0%} as well; the networks' scores are in the line "
                     f"below.")
    left_out = panel.left_out + found["left_out"]
    if left_out:
        notes.append(f"{describe_left_out(left_out)}; the model forecasts the others.")
    if panel.empty_rows:
        notes.append(f"{count(panel.empty_rows, 'row')} of {panel.source} held no value and lay off "
                     f"the grid of the others (or repeated a time, or had no id): dropped, not filled.")
    shown = _shown_scores(model)
    lowest = min(shown, key=shown.get) if shown else None
    choosing, origins = found["choosing_origins"], found["validation_origins"]
    folds = found.get("folds", [])
    if folds:
        spans = "; ".join(f"{fold['span'][0][:10]} to {fold['span'][1][:10]}" for fold in folds)
        notes.append(f"the validation split gives only {choosing} origins to choose on, so every "
                     f"candidate was also trained on the rows before {len(folds)} earlier "
                     f"stretch{'' if len(folds) == 1 else 'es'} of its length and scored there "
                     f"({spans}; "
                     f"{sum(fold['origins'] for fold in folds)} origins); the members are chosen "
                     f"on all of them.")
    if lowest and lowest not in model.scaling.split("+") and (choosing < origins or folds):
        where = (f"{choosing} of the {origins} validation origins (every other block of "
                 f"{model.settings_.horizon}; the others calibrate the intervals)"
                 if choosing < origins else f"the {origins} validation origins")
        notes.append(f"{lowest} scores lowest in the line below but is not kept: the members are "
                     f"chosen on {where}{' and the earlier stretches above' if folds else ''}, "
                     f"and the scores shown are over all {origins} validation origins.")
    if 0 < origins < 20:
        notes.append(f"the validation split holds only {origins} forecast origin"
                     f"{'' if origins == 1 else 's'}, so its scores are rough; a longer file gives "
                     f"firmer numbers.")
    return notes


def _metadata(panel: Panel, model: Forecaster, best_epoch: int) -> dict:
    """What metadata.json records about a run (evaluate reads the splits and the season)."""
    import pandas
    import tensorflow

    keras = backend.keras()
    found = model.report_
    splits = found["splits"]
    first = panel.starts.min()
    last = panel.ends.max()
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(Path(panel.source).resolve()),
        "series": len(panel),
        "rows": int(panel.offsets[-1]),
        "frequency": panel.schema.frequency,
        "season_length": model.season_,
        "seasons": model.seasons_.to_dict(),
        "mase_season": model.mase_season_,
        "time_range": [first.isoformat(), last.isoformat()],
        "splits": found["spans"],
        "split_times": {"validation": splits.val_time.isoformat(), "test": splits.test_time.isoformat()},
        "left_out": [[str(name) for name in (ids if isinstance(ids, tuple) else (ids,))] + [reason]
                     for ids, reason in panel.left_out + found["left_out"]],
        "missing_timestamps": int(panel.missing_timestamps.sum()),
        "filled_values": panel.missing_values,
        "scaling": model.scaling,
        "val_mae_by_scaling": found["candidates"],
        "val_mase_by_scaling": found["candidates_mase"],
        "member_val_mae": found["members"],
        "choice_folds": found["folds"],  # earlier stretches the members were also chosen on
        "intervals_calibrated_on": found["calibration"],
        "history": {key: [float(v) for v in values] for key, values in found["history"].items()},
        "best_epoch": best_epoch,
        "epoch_seconds": found["epoch_seconds"],
        "val_mae": found["val_mae"],
        "val_mase": found["val_mase"],
        "versions": {
            "forecaster": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pandas.__version__,
            "keras": keras.__version__,
            "tensorflow": tensorflow.__version__,
        },
        "platform": f"{platform.system()} {platform.machine()}; {sys.platform}",
    }
