"""One self-describing bundle per trained model: written atomically, loaded without running code.

A bundle is a folder:
    model.keras     the Keras model (loaded with safe_mode, so no arbitrary code runs)
    settings.json   the resolved Settings it was trained with
    scaling.json    the Representation: scaling statistics and anchors from the training split
    schema.json     the column schema and the inferred frequency
    metadata.json   training time range, split boundaries, history, validation MAE, versions
    baselines.json  what the baselines need from training: the training mean, the ridge model
    intervals.json  conformal interval half-widths per level and horizon step, from validation
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from forecaster import backend
from forecaster.config import Settings
from forecaster.data import Schema
from forecaster.errors import UserError
from forecaster.evaluation import ConformalIntervals
from forecaster.models import LinearBaseline, register_custom_layers
from forecaster.scaling import Representation

MODEL_FILE = "model.keras"
SETTINGS_FILE = "settings.json"
SCALING_FILE = "scaling.json"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
BASELINES_FILE = "baselines.json"
INTERVALS_FILE = "intervals.json"
BUNDLE_FILES = (MODEL_FILE, SETTINGS_FILE, SCALING_FILE, SCHEMA_FILE, METADATA_FILE, BASELINES_FILE,
                INTERVALS_FILE)


@dataclass
class Bundle:
    """Everything `evaluate` and `forecast` need, rebuilt from the folder, not today's defaults."""

    directory: Path
    model: object  # keras.Model
    settings: Settings
    representation: Representation
    schema: Schema
    metadata: dict
    train_mean: float
    linear: LinearBaseline
    intervals: ConformalIntervals


def save_bundle(directory, model, settings: Settings, representation: Representation, schema: Schema,
                metadata: dict, baselines: dict, intervals: ConformalIntervals) -> Path:
    """Write the bundle to a temporary folder beside `directory`, then swap it into place.

    An interrupted save leaves the previous bundle (if any) untouched.
    """
    directory = check_model_dir(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it owner-only
    try:
        model.save(staging / MODEL_FILE)
        _write_json(staging / SETTINGS_FILE, settings.to_dict())
        _write_json(staging / SCALING_FILE, representation.to_dict())
        _write_json(staging / SCHEMA_FILE, schema.to_dict())
        _write_json(staging / METADATA_FILE, metadata)
        _write_json(staging / BASELINES_FILE, baselines)
        _write_json(staging / INTERVALS_FILE, intervals.to_dict())
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, retired / directory.name)
            os.replace(staging, directory)
            shutil.rmtree(retired)
        else:
            os.replace(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return directory


def check_model_dir(directory) -> Path:
    """The model folder as a Path, if a bundle may be written there: new, empty, or a bundle."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"--model-dir {directory} is a file, not a folder; choose a new folder name.")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / SETTINGS_FILE).is_file():
        raise UserError(
            f"{directory} exists and is not a forecaster model folder; choose an empty or new "
            f"--model-dir.")
    return directory


def check_output_file(path, flag: str, suffixes=None) -> Path:
    """An output file path that can be written: not a folder, with an allowed suffix."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; expected a file path such as {path / 'out'}"
                        f"{suffixes[0] if suffixes else '.csv'}.")
    if suffixes and path.suffix.lower() not in suffixes:
        raise UserError(
            f"{flag} {path} has the suffix {path.suffix or '(none)'!r}; expected one of "
            f"{', '.join(suffixes)}, such as {path.with_suffix(suffixes[0])}.")
    return path


def check_output_dir(path, flag: str) -> Path:
    """An output folder path: a folder or nothing yet."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder; choose a folder name.")
    return path


def write_text_atomically(path, text: str) -> Path:
    """Write `text` to a temporary file beside `path` (creating its folder), then rename it into
    place: readers never see half a file, and an error leaves nothing behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it owner-only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_bundle(directory) -> Bundle:
    """Read a bundle written by `save_bundle`; a missing or damaged one is a UserError."""
    keras = backend.keras()

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(
            f"--model-dir {directory} is a file; expected the folder that `forecaster train` "
            f"wrote (for example models/<csv name>).")
    if not directory.is_dir():
        raise UserError(
            f"model folder {directory} does not exist; train one first with "
            f"`forecaster train --csv FILE --model-dir {directory}`.")
    missing = [name for name in BUNDLE_FILES if not (directory / name).is_file()]
    if missing:
        raise UserError(
            f"{directory} is not a complete forecaster model: {', '.join(missing)} missing. "
            f"Retrain with `forecaster train --model-dir {directory}`.")
    try:
        settings = Settings.from_dict(_read_json(directory / SETTINGS_FILE))
        representation = Representation.from_dict(_read_json(directory / SCALING_FILE))
        schema = Schema.from_dict(_read_json(directory / SCHEMA_FILE))
        metadata = _read_json(directory / METADATA_FILE)
        baselines = _read_json(directory / BASELINES_FILE)
        train_mean, linear = float(baselines["train_mean"]), LinearBaseline.from_dict(baselines["ridge"])
        intervals = ConformalIntervals.from_dict(_read_json(directory / INTERVALS_FILE))
    except KeyError as error:
        raise UserError(
            f"{directory} lacks the field {error} that this version of forecaster reads: it was "
            f"written by another version, or edited. Retrain the model.") from None
    except (ValueError, TypeError) as error:
        raise UserError(f"{directory} holds a damaged bundle ({error}); retrain the model.") from None
    register_custom_layers()  # the factory's own layers (the transformer's positional encoding)
    try:
        model = keras.saving.load_model(directory / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise UserError(
            f"{directory / MODEL_FILE} could not be loaded safely ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); retrain the model.") from None
    return Bundle(directory, model, settings, representation, schema, metadata, train_mean, linear,
                  intervals)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_json(path: Path, values: dict) -> None:
    path.write_text(json.dumps(values, indent=2, default=str) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
