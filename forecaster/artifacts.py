"""One self-describing bundle per trained model: written atomically, loaded without running code.

A bundle is a folder:
    model.keras     the Keras model (loaded with safe_mode, so no arbitrary code runs)
    settings.json   the resolved Settings it was trained with
    scaling.json    the Representation: scaling statistics and anchors from the training split
    schema.json     the column schema and the inferred frequency
    metadata.json   training time range, split boundaries, history, validation MAE, versions
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
from forecaster.scaling import Representation

MODEL_FILE = "model.keras"
SETTINGS_FILE = "settings.json"
SCALING_FILE = "scaling.json"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
BUNDLE_FILES = (MODEL_FILE, SETTINGS_FILE, SCALING_FILE, SCHEMA_FILE, METADATA_FILE)


@dataclass
class Bundle:
    """Everything `evaluate` and `forecast` need, rebuilt from the folder, not today's defaults."""

    directory: Path
    model: object  # keras.Model
    settings: Settings
    representation: Representation
    schema: Schema
    metadata: dict


def save_bundle(directory, model, settings: Settings, representation: Representation, schema: Schema,
                metadata: dict) -> Path:
    """Write the bundle to a temporary folder beside `directory`, then swap it into place.

    An interrupted save leaves the previous bundle (if any) untouched.
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        model.save(staging / MODEL_FILE)
        _write_json(staging / SETTINGS_FILE, settings.to_dict())
        _write_json(staging / SCALING_FILE, representation.to_dict())
        _write_json(staging / SCHEMA_FILE, schema.to_dict())
        _write_json(staging / METADATA_FILE, metadata)
        if directory.exists():
            if not (directory / SETTINGS_FILE).is_file() and any(directory.iterdir()):
                raise UserError(
                    f"{directory} exists and is not a forecaster model folder; choose an empty or "
                    f"new --model-dir.")
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


def load_bundle(directory) -> Bundle:
    """Read a bundle written by `save_bundle`; a missing or damaged one is a UserError."""
    keras = backend.keras()

    directory = Path(directory)
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
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{directory} holds a damaged bundle ({error}); retrain the model.") from None
    try:
        model = keras.saving.load_model(directory / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad file
        raise UserError(
            f"{directory / MODEL_FILE} could not be loaded safely ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); retrain the model.") from None
    return Bundle(directory, model, settings, representation, schema, metadata)


def _write_json(path: Path, values: dict) -> None:
    path.write_text(json.dumps(values, indent=2, default=str) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
