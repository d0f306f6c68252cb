"""Resumable training: the state of an unfinished `train`, saved after every epoch beside the model.

While `train` runs, a hidden folder sits next to the model folder (never inside it, so the previous
good bundle is untouched until the new one is complete):

    <parent>/.<model name>.resume/
        state.json              what the run is (a fingerprint of the data file and the settings)
                                and where each model stands: epochs done, loss history, the early-
                                stopping state, epoch times, the files below
        <key>.e<N>.keras        a model after epoch N, optimizer state included
        <key>.e<N>.best.npz     the best weights so far, which early stopping restores at the end
        <key>.done.keras        a model whose training finished (restored to its best epoch)

<key> names one model of the run: its scaling and seed ("change.seed42"), since `--scaling auto`
and `--ensemble` train several. Every file is written under a new name and state.json, written
atomically last, is what points at them, so a process killed at any instant leaves a consistent
state: the last completed epoch. `train --resume` reads it, skips finished models and continues
the unfinished one from its next epoch; a successful run deletes the folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from forecaster.errors import UserError
from forecaster.files import write_text_atomically

STATE_FILE = "state.json"


def resume_folder(model_dir) -> Path:
    model_dir = Path(model_dir)
    return model_dir.parent / f".{model_dir.name}.resume"


def fingerprint(csv, settings: dict) -> str:
    """SHA-256 of the data file's bytes and the settings: a resumed run must use both unchanged."""
    with open(csv, "rb") as file:
        digest = hashlib.file_digest(file, "sha256")
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class Checkpoints:
    """The resume folder of one training run: `Checkpoints(model_dir, fingerprint, resume)`.

    Without `resume` any earlier folder is discarded and the run starts afresh; with it, the folder
    must exist and describe the same data and settings.
    """

    def __init__(self, model_dir, fingerprint: str, resume: bool = False):
        self.folder = resume_folder(model_dir)
        state_path = self.folder / STATE_FILE
        if resume:
            if not state_path.is_file():
                raise UserError(
                    f"there is no interrupted training of {model_dir} to resume (no {state_path}); "
                    f"run the same command without --resume to train from the start.")
            try:
                self.state = json.loads(state_path.read_text(encoding="utf-8"))
                recorded = self.state["fingerprint"]
            except (ValueError, KeyError, TypeError) as error:
                raise UserError(
                    f"{state_path} is damaged ({error}); run without --resume to train from the "
                    f"start.") from None
            if recorded != fingerprint:
                raise UserError(
                    f"the interrupted training of {model_dir} used a different data file or "
                    f"different settings; resume with exactly the same command and file, or run "
                    f"without --resume to train from the start.")
        else:
            self.discard()
            self.state = {"fingerprint": fingerprint, "models": {}}

    def finished(self, key: str) -> dict | None:
        """{"model": Path, "history", "epoch_seconds"} of a model whose training ended, or None."""
        entry = self.state["models"].get(key)
        if not entry or not entry.get("done"):
            return None
        return {**entry, "model": self.folder / entry["model"]}

    def progress(self, key: str) -> dict | None:
        """The last completed epoch of an unfinished model: {"epoch" (completed epochs), "model",
        "best_weights" (list of arrays or None), "history", "epoch_seconds", "stopper"}, or None."""
        entry = self.state["models"].get(key)
        if not entry or entry.get("done"):
            return None
        best = None
        if entry["best_weights"]:
            with np.load(self.folder / entry["best_weights"]) as saved:
                best = [saved[f"w{i}"] for i in range(len(saved.files))]
        return {**entry, "model": self.folder / entry["model"], "best_weights": best}

    def save_epoch(self, key: str, epoch: int, model, best_weights, history: dict,
                   epoch_seconds: list, stopper: dict) -> None:
        """Record that `epoch` epochs of model `key` are complete (called after each epoch)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        model_file = f"{key}.e{epoch}.keras"
        model.save(self.folder / model_file)
        best_file = None
        if best_weights is not None:
            best_file = f"{key}.e{epoch}.best.npz"
            np.savez(self.folder / best_file, **{f"w{i}": w for i, w in enumerate(best_weights)})
        self._commit(key, {"done": False, "epoch": epoch, "model": model_file,
                           "best_weights": best_file, "history": history,
                           "epoch_seconds": epoch_seconds, "stopper": stopper})

    def save_finished(self, key: str, model, history: dict, epoch_seconds: list) -> None:
        """Record a model whose training ended; a resumed run loads it instead of training it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        model_file = f"{key}.done.keras"
        model.save(self.folder / model_file)
        self._commit(key, {"done": True, "model": model_file, "history": history,
                           "epoch_seconds": epoch_seconds})

    def discard(self) -> None:
        """Remove the folder: the run succeeded, failed for good, or starts afresh."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _commit(self, key: str, entry: dict) -> None:
        previous = self.state["models"].get(key, {})
        self.state["models"][key] = entry
        write_text_atomically(self.folder / STATE_FILE, json.dumps(self.state, indent=1) + "\n")
        for name in (previous.get("model"), previous.get("best_weights")):
            if name and name not in (entry.get("model"), entry.get("best_weights")):
                (self.folder / name).unlink(missing_ok=True)
