"""One self-describing bundle per trained model: written atomically, checked, loaded without running code.

A bundle is a folder:
    model.keras     the Keras model (loaded with safe_mode, so no arbitrary code runs)
    settings.json   the resolved Settings it was trained with
    scaling.json    the Representation: scaling statistics and anchors from the training split
    schema.json     the column schema and the inferred frequency
    metadata.json   training time range, split boundaries, history, validation MAE, versions
    baselines.json  what the baselines need from training: the ridge model
    intervals.json  conformal interval half-widths per level and horizon step, from validation
    series.json     the training series' ids, each one's scale and training mean, the seasonal
                    periods found (the primary one: the season), MASE's season, and how
                    per-series inputs (--static) are encoded
    manifest.json   written last: {"format": 1, "files": {name: {"sha256": ..., "bytes": ...}}} for
                    each file above. load_bundle checks every file against it before parsing any,
                    then refuses a model.keras whose config holds a Lambda layer or any class that
                    is neither built into Keras nor registered by forecaster (register_custom_layers).

Files in the folder that the manifest does not name are ignored: nothing reads them, so they cannot
change what is loaded, and a note or an editor's backup beside the model is no reason to refuse it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from forecaster.config import Settings
from forecaster.data import Schema
from forecaster.errors import UserError
from forecaster.estimator import Forecaster
from forecaster.files import umask
from forecaster.intervals import ConformalIntervals
from forecaster.models import CUSTOM_LAYERS, LinearBaseline, load_model
from forecaster.scaling import Representation, StaticInputs
from forecaster.seasons import Seasons

MODEL_FILE = "model.keras"
SETTINGS_FILE = "settings.json"
SCALING_FILE = "scaling.json"
SCHEMA_FILE = "schema.json"
METADATA_FILE = "metadata.json"
BASELINES_FILE = "baselines.json"
INTERVALS_FILE = "intervals.json"
SERIES_FILE = "series.json"
BUNDLE_FILES = (MODEL_FILE, SETTINGS_FILE, SCALING_FILE, SCHEMA_FILE, METADATA_FILE, BASELINES_FILE,
                INTERVALS_FILE, SERIES_FILE)
MANIFEST_FILE = "manifest.json"  # the SHA-256 and size of each of BUNDLE_FILES (and member files)
MANIFEST_FORMAT = 1
KERAS_ARCHIVE_FILES = ("config.json", "metadata.json", "model.weights.h5")  # inside a .keras zip
# Serialized values that Keras rebuilds from data alone, without looking up a class or a function.
_KERAS_DATA = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}
_BAD_ARCHIVE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)


def member_files(count: int) -> tuple[str, ...]:
    """The files of the members after the first of a combined forecast (`--scaling auto` may keep
    the mean of several representations' models): member-2.keras, member-2.scaling.json, ..."""
    return tuple(f"member-{number}{suffix}" for number in range(2, count + 1)
                 for suffix in (".keras", ".scaling.json"))


def save_bundle(directory, model: Forecaster, metadata: dict) -> Path:
    """Write the fitted `model` (and `metadata`) to a temporary folder beside `directory`, then
    swap it into place.

    Members after the first are written as `member_files`. The manifest is written last, from the
    files as they lie in the temporary folder. An exception anywhere leaves the previous bundle
    (if any) untouched and no temporary folder behind.
    """
    directory = check_model_dir(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it owner-only
    try:
        (first, representation), *others = model.members_
        first.save(staging / MODEL_FILE)
        _write_json(staging / SETTINGS_FILE, model.settings_.to_dict())
        _write_json(staging / SCALING_FILE, representation.to_dict())
        _write_json(staging / SCHEMA_FILE, model.schema_.to_dict())
        _write_json(staging / METADATA_FILE, metadata)
        _write_json(staging / BASELINES_FILE, {"ridge": model.linear_.to_dict()})
        _write_json(staging / INTERVALS_FILE, model.intervals_.to_dict())
        _write_json(staging / SERIES_FILE, {
            "ids": [list(name) if isinstance(name, tuple) else name for name in model.ids_],
            "scale": model.scale_.tolist(), "train_mean": model.train_mean_.tolist(),
            "season_length": model.season_, "mase_season": model.mase_season_,
            "seasons": model.seasons_.to_dict(), "static": model.static_.to_dict()})
        names = member_files(len(others) + 1)
        for (other, other_representation), keras_name, scaling_name in zip(
                others, names[::2], names[1::2], strict=True):
            other.save(staging / keras_name)
            _write_json(staging / scaling_name, other_representation.to_dict())
        _write_json(staging / MANIFEST_FILE, _manifest(staging, BUNDLE_FILES + names))
        _swap_into_place(staging, directory)
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


def load_bundle(directory, engine: str = "numpy") -> Forecaster:
    """Read a bundle written by `save_bundle`; a missing, damaged or unsafe one is a UserError.

    In order: every file's size and SHA-256 against the manifest, the JSON files, the model archive
    and the classes its config names; only then the model, from the bytes just checked. `engine`
    "numpy" (the default) runs the model with NumPy (`forecaster.inference`), without importing
    TensorFlow, so that a forecast answers at once; a model it cannot run is loaded with Keras.
    "keras" loads it with Keras (safe_mode), as training does.
    """
    if engine not in ("numpy", "keras"):
        raise ValueError(f"engine must be 'numpy' or 'keras', got {engine!r}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(
            f"--model-dir {directory} is a file; expected the folder that `forecaster train` "
            f"wrote (for example models/<csv name>).")
    if not directory.is_dir():
        raise UserError(
            f"model folder {directory} does not exist; train one first with "
            f"`forecaster train --csv FILE --model-dir {directory}`.")
    files = _verified_files(directory)  # every file read once, here, and checked against the manifest
    documents = {}
    for name in files:
        if not name.endswith(".keras"):
            try:
                documents[name] = json.loads(files[name].decode("utf-8"))
            except (ValueError, RecursionError) as error:
                raise UserError(
                    f"{directory} holds a damaged bundle: {name} is not JSON ({error}). "
                    f"{_retrain(directory)}") from None
    try:
        settings = Settings.from_dict(documents[SETTINGS_FILE])
        model = Forecaster(settings)
        model.settings_ = settings
        representation = Representation.from_dict(documents[SCALING_FILE])
        model.schema_ = Schema.from_dict(documents[SCHEMA_FILE])
        model.metadata_ = documents[METADATA_FILE]
        model.linear_ = LinearBaseline.from_dict(documents[BASELINES_FILE]["ridge"])
        model.intervals_ = ConformalIntervals.from_dict(documents[INTERVALS_FILE])
        series = documents[SERIES_FILE]
        model.ids_ = [tuple(name) if isinstance(name, list) else name for name in series["ids"]]
        model.scale_ = np.asarray(series["scale"], dtype="float64")
        model.train_mean_ = np.asarray(series["train_mean"], dtype="float64")
        model.season_ = int(series["season_length"])
        model.mase_season_ = int(series.get("mase_season", model.season_))  # older bundles: one
        model.seasons_ = (Seasons.from_dict(series["seasons"]) if "seasons" in series
                          else Seasons((model.season_,), model.season_))
        model.static_ = StaticInputs.from_dict(series["static"])
        model.directory_ = directory
        models = [name for name in files if name.endswith(".keras")]  # MODEL_FILE first
        representations = [representation] + [
            Representation.from_dict(documents[name]) for name in member_files(len(models))[1::2]]
    except KeyError as error:
        raise UserError(
            f"{directory} lacks the field {error} that this version of forecaster reads: it was "
            f"written by another version, or edited. {_retrain(directory)}") from None
    except (ValueError, TypeError) as error:
        raise UserError(f"{directory} holds a damaged bundle ({error}). {_retrain(directory)}") from None
    for name in models:  # every archive checked before any is loaded
        _refuse_code(_model_config(files[name], directory, name), directory, CUSTOM_LAYERS, name)
    loaded = [_load_model(files[name], directory, name, engine) for name in models]
    model.members_ = list(zip(loaded, representations, strict=True))
    return model


def _load_model(archive: bytes, directory: Path, name: str, engine: str):
    """One checked model archive, run by `engine` ("numpy" falls back to Keras for a model that
    forecaster.inference does not run)."""
    if engine == "numpy":
        from forecaster.inference import NumpyModel

        try:
            return NumpyModel.load(archive)
        except (ValueError, OSError):  # a layer it does not run, or bad weights: Keras decides
            pass
    return _keras_model(archive, directory, name)


def _keras_model(archive: bytes, directory: Path, name: str):
    """The Keras model in a checked archive, loaded with safe_mode (Keras is imported only now: a
    refused bundle is refused without TensorFlow)."""
    with tempfile.TemporaryDirectory() as scratch:  # Keras reads the very bytes that were checked
        checked = Path(scratch) / MODEL_FILE
        checked.write_bytes(archive)
        try:
            return load_model(checked, compile=False)
        except Exception as error:  # Keras raises many types for a bad file
            raise UserError(
                f"{directory / name} could not be loaded safely ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}). {_retrain(directory)}") from None


def _retrain(directory: Path) -> str:
    return f"Retrain with `forecaster train --csv FILE --model-dir {directory}`."


def _manifest(folder: Path, names: tuple[str, ...]) -> dict:
    """{"format": 1, "files": {name: {"sha256": hex digest, "bytes": size}}} of `names` in `folder`."""
    files = {}
    for name in names:
        with open(folder / name, "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        files[name] = {"sha256": digest, "bytes": (folder / name).stat().st_size}
    return {"format": MANIFEST_FORMAT, "files": files}


def _swap_into_place(staging: Path, directory: Path) -> None:
    """Rename `staging` to `directory`. An existing bundle is moved aside first, put back if the
    rename fails, and deleted once the new bundle is in place."""
    if not directory.exists():
        os.replace(staging, directory)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.replace(directory, retired / directory.name)
    try:
        os.replace(staging, directory)
    except BaseException:
        os.replace(retired / directory.name, directory)
        retired.rmdir()
        raise
    shutil.rmtree(retired)


def _recorded_files(directory: Path) -> dict[str, tuple[str, int]]:
    """{name: (sha256, bytes)} from the bundle's manifest, for exactly BUNDLE_FILES and the files of
    any further members (`member_files`), in that order, or a UserError."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        if any((directory / name).exists() for name in BUNDLE_FILES):
            raise UserError(
                f"{directory} has no {MANIFEST_FILE}: it was written before bundles carried "
                f"checksums, so its files cannot be verified. {_retrain(directory)}")
        raise UserError(
            f"{directory} holds no forecaster model (no {MANIFEST_FILE}, no {MODEL_FILE}); train one "
            f"with `forecaster train --csv FILE --model-dir {directory}`.")
    expected = (f'expected the JSON checksum list that `forecaster train` writes, {{"format": '
                f'{MANIFEST_FORMAT}, "files": ...}}')
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise UserError(f"{path} is not valid JSON ({error}); {expected}. {_retrain(directory)}") from None
    if not isinstance(manifest, dict) or "format" not in manifest:
        raise UserError(f"{path} has no format number; {expected}. {_retrain(directory)}")
    if manifest["format"] != MANIFEST_FORMAT:
        raise UserError(
            f"{path} has format {manifest['format']!r}; this version of forecaster reads format "
            f"{MANIFEST_FORMAT} (the bundle was written by another version). {_retrain(directory)}")
    files = manifest.get("files")
    names = BUNDLE_FILES + member_files(1 + len(set(files) - set(BUNDLE_FILES)) // 2
                                        if isinstance(files, dict) else 1)
    if not isinstance(files, dict) or set(files) != set(names):
        listed = ", ".join(sorted(files)) if isinstance(files, dict) else "no file list"
        raise UserError(
            f"{path} lists {listed or 'no files'}; expected exactly {', '.join(BUNDLE_FILES)}, and "
            f"member-N.keras and member-N.scaling.json for N from 2 for a combined forecast (it was "
            f"written by another version of forecaster, or edited). {_retrain(directory)}")
    try:
        return {name: (str(files[name]["sha256"]), int(files[name]["bytes"])) for name in names}
    except (KeyError, TypeError, ValueError):
        raise UserError(
            f"{path} lacks a sha256 or a bytes entry for some file; {expected}. "
            f"{_retrain(directory)}") from None


def _verified_files(directory: Path) -> dict[str, bytes]:
    """The contents of the files the manifest lists, in `_recorded_files` order, each read once and
    matching its size and SHA-256; a missing, truncated, edited or swapped file is a UserError that
    names it."""
    recorded = _recorded_files(directory)
    missing = [name for name in recorded if not (directory / name).is_file()]
    if missing:
        raise UserError(
            f"{directory} is not a complete forecaster model: {', '.join(missing)} missing "
            f"(listed in {MANIFEST_FILE}). {_retrain(directory)}")
    files = {}
    for name, (digest, size) in recorded.items():
        path = directory / name
        found = path.stat().st_size
        if found == size:  # read only a file of the recorded size: a huge stray file is not read
            files[name] = path.read_bytes()
            found = len(files[name])
        if found < size:
            raise UserError(
                f"{path} is {found} bytes, short of the {size} that {MANIFEST_FILE} records: it was "
                f"truncated, or copied in from another model, after training. {_retrain(directory)}")
        if found > size:
            raise UserError(
                f"{path} is {found} bytes, more than the {size} that {MANIFEST_FILE} records: it was "
                f"edited, or copied in from another model, after training. {_retrain(directory)}")
        actual = hashlib.sha256(files[name]).hexdigest()
        if actual != digest:
            raise UserError(
                f"{path} does not match its SHA-256 in {MANIFEST_FILE} (found {actual[:12]}..., "
                f"expected {digest[:12]}...): it was edited, or copied in from another model, after "
                f"training. {_retrain(directory)}")
    return files


def _model_config(archive: bytes, directory: Path, name: str) -> dict:
    """The model's config.json from inside a .keras archive, or a UserError if it is not one."""
    path = directory / name
    config, problem = None, None
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            names = opened.namelist()
            if set(KERAS_ARCHIVE_FILES) <= set(names):
                text = opened.read("config.json")
            else:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                problem = f"the zip holds {shown or 'nothing'}"
    except zipfile.BadZipFile as error:
        problem = "not a zip file" if str(error) == "File is not a zip file" else f"a damaged zip: {error}"
    except _BAD_ARCHIVE as error:
        problem = f"a damaged zip: {type(error).__name__}: {error}"
    if not problem:
        try:
            config = json.loads(text.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            problem = f"its config.json is not JSON: {type(error).__name__}: {error}"
        else:
            if not (isinstance(config, dict) and "class_name" in config):
                problem = "its config.json describes no model"
    if problem:
        problem = " ".join(problem.split())  # one line, whatever the error said
        raise UserError(
            f"{path} is not a valid Keras model archive ({problem}); expected a .keras zip holding "
            f"{', '.join(KERAS_ARCHIVE_FILES[:-1])} and {KERAS_ARCHIVE_FILES[-1]}. {_retrain(directory)}")
    return config


def _refuse_code(config: dict, directory: Path, allowed: tuple[str, ...], file_name: str) -> None:
    """A UserError naming the first layer (or other serialized object) in the model config, nested
    models included, that is a Lambda or a class neither built into Keras (module "keras" or
    "keras.*") nor one of `allowed`, forecaster's own registered layers: loading it would run code
    from the file, or code that the file chooses."""
    path = directory / file_name
    pending = [(config, ())]
    while pending:  # depth first, in file order, without recursion
        node, owners = pending.pop()
        children = node if isinstance(node, list) else node.values() if isinstance(node, dict) else ()
        if isinstance(node, dict) and isinstance(node.get("class_name"), str):
            inner = node.get("config")
            name = inner.get("name") if isinstance(inner, dict) else None
            name = name if isinstance(name, str) else None
            class_name, module = node["class_name"], node.get("module")
            registered = node.get("registered_name")
            custom = isinstance(registered, str) and ">" in registered  # "package>Name"
            if class_name in ("Lambda", "__lambda__"):
                raise UserError(
                    f"{path} contains {_place('Lambda', owners, name)}, which holds Python code; "
                    f"forecaster never saves one and loads no code from a model file. "
                    f"{_retrain(directory)}")
            builtin = isinstance(module, str) and (module == "keras" or module.startswith("keras."))
            if not (class_name in _KERAS_DATA or registered in allowed or (builtin and not custom)):
                label = registered if custom else f"{module}.{class_name}" if module else class_name
                raise UserError(
                    f"{path} contains {_place(label, owners, name)}, which is neither built into "
                    f"Keras nor one of forecaster's own ({', '.join(allowed)}); forecaster loads no "
                    f"code from a model file. {_retrain(directory)}")
            if name:
                owners = (*owners, name)
        pending.extend((child, owners) for child in reversed(list(children)))


def _place(label: str, owners: tuple[str, ...], name: str | None) -> str:
    """"the layer 'ensemble/member_1/custom' of class X", or, for an object without a name (an
    initializer), "an object of class X inside the layer 'ensemble/member_1/lstm'"."""
    if name:
        return f"the layer {'/'.join([*owners, name])!r} of class {label}"
    inside = f" inside the layer {'/'.join(owners)!r}" if owners else ""
    return f"an object of class {label}{inside}"


def _write_json(path: Path, values: dict) -> None:
    path.write_text(json.dumps(values, indent=2, default=str) + "\n", encoding="utf-8")
