"""Bundles: a round trip, an atomic replace that never loses the previous good bundle, a manifest of
checksums checked before anything is parsed, no code loaded from a model file, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import forecaster.artifacts as artifacts
from forecaster.artifacts import BUNDLE_FILES, MANIFEST_FILE, check_model_dir, load_bundle, save_bundle
from forecaster.config import Settings
from forecaster.data import Schema
from forecaster.errors import UserError
from forecaster.estimator import Forecaster
from forecaster.files import check_output_dir, check_output_file, write_text_atomically
from forecaster.intervals import ConformalIntervals
from forecaster.models import LinearBaseline
from forecaster.scaling import Representation, StaticInputs
from forecaster.seasons import Seasons

RIDGE = {"alpha": 1.0, "coef": [[0.0]], "intercept": [0.0]}
RETRAIN = "Retrain with `forecaster train --csv FILE --model-dir "


def tiny_model(kind: str = "lstm", units: int = 3):
    """A factory model of 4-step windows, 1 feature, 2-step horizon: small enough to save in a blink."""
    from forecaster.models import build_model

    return build_model(kind, time_steps=4, features=1, horizon=2, units=units)


def fitted(models, ids=("series",)) -> Forecaster:
    """A Forecaster with tiny fitted parts set as `load_bundle` sets them, whose forecast is the
    mean of `models`' forecasts: the first with the "global" representation, the others with
    "window" (4-step windows, 2-step horizon), one statistics row per series of `ids`."""
    series = len(ids)
    values = np.concatenate([np.arange(40.0) * (k + 1) for k in range(series)])[:, None]
    representations = [Representation("global" if number == 0 else "window", season=1).fit(
        values, train_rows=30, time_steps=4, horizon=2, offsets=np.arange(series + 1) * 40)
        for number in range(len(models))]
    settings = Settings(time_steps=4, horizon=2, epochs=2)
    model = Forecaster(settings)
    model.settings_, model.schema_ = settings, Schema("time", "load", (), "datetime", "h")
    model.ids_, model.season_, model.static_ = list(ids), 1, StaticInputs().fit({})
    model.seasons_, model.mase_season_ = Seasons((), 1), 1
    model.scale_, model.train_mean_ = np.arange(1.0, series + 1), np.arange(14.5, 14.5 + series)
    model.linear_ = LinearBaseline.from_dict(RIDGE)
    model.intervals_ = ConformalIntervals().fit(np.ones((5, 2)))
    model.members_ = list(zip(models, representations, strict=True))
    return model


def write_bundle(directory, model, metadata=None):
    """save_bundle with tiny fitted parts: a 4-step, 2-horizon bundle of `model` in `directory`."""
    return save_bundle(directory, fitted([model]), {"n": 1} if metadata is None else metadata)


def write_combined(directory, models):
    """A bundle whose forecast is the mean of `models`' forecasts, the first with the "global"
    representation of `write_bundle`, the others with "window" (4-step windows, 2-step horizon)."""
    return save_bundle(directory, fitted(models), {"n": 1})


def reseal(directory) -> None:
    """Rewrite the manifest for the files it lists, as they are now, as a forger would: the checks
    after the checksums (JSON, the model archive, the layer classes) must hold on their own."""
    files = {}
    for name in json.loads((directory / MANIFEST_FILE).read_text())["files"]:
        data = (directory / name).read_bytes()
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (directory / MANIFEST_FILE).write_text(json.dumps({"format": 1, "files": files}))


def rewrite_model_config(directory, change) -> None:
    """Apply `change` to the config.json inside directory/model.keras (other entries kept), then reseal."""
    path = directory / "model.keras"
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    change(config)
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    reseal(directory)


def predict(model) -> np.ndarray:
    return model.predict_on_batch(np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4, 1))


@pytest.fixture
def bundle_copy(tmp_path):
    """A freshly saved tiny LSTM bundle at tmp_path/models/model, alone in its folder."""
    return write_bundle(tmp_path / "models" / "model", tiny_model())


@pytest.mark.slow
def test_round_trip_restores_settings_schema_and_representation(trained):
    run, settings = trained
    bundle = load_bundle(run.model_dir, engine="keras")
    assert bundle.settings_.time_steps == 24 and bundle.settings_.horizon == 6
    assert bundle.settings_.csv == settings.csv
    assert bundle.schema_.time_column == "time" and bundle.schema_.target == "load"
    assert bundle.schema_.frequency == "h"
    first = bundle.members_[0][0]
    assert first.input_shape == (None, 24, 1) and first.output_shape == (None, 6)
    assert bundle.metadata_["versions"]["keras"].startswith("3.")
    assert bundle.directory_ == run.model_dir and bundle.scaling == run.model.scaling
    # series.json: the training series, each one's scale and training mean, and the season.
    assert bundle.ids_ == run.model.ids_ and len(bundle.ids_) == run.series == 1
    np.testing.assert_array_equal(bundle.scale_, run.model.scale_)
    np.testing.assert_array_equal(bundle.train_mean_, run.model.train_mean_)
    assert bundle.season_ == run.model.season_ == 24
    assert [r.to_dict() for _, r in bundle.members_] == [r.to_dict() for _, r in run.model.members_]


@pytest.mark.slow
def test_the_manifest_records_the_sha256_and_size_of_every_file(bundle_copy):
    manifest = json.loads((bundle_copy / MANIFEST_FILE).read_text())
    assert manifest["format"] == 1 and set(manifest["files"]) == set(BUNDLE_FILES)
    for name in BUNDLE_FILES:
        data = (bundle_copy / name).read_bytes()
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert {p.name for p in bundle_copy.iterdir()} == {*BUNDLE_FILES, MANIFEST_FILE}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_factory_models_load_with_their_weights(kind, tmp_path):
    model = tiny_model(kind, units=4)
    folder = write_bundle(tmp_path / kind, model)
    for engine in ("keras", "numpy"):
        bundle = load_bundle(folder, engine=engine)
        np.testing.assert_allclose(predict(bundle.members_[0][0]), predict(model), rtol=1e-5, atol=1e-6)
    assert bundle.settings_.horizon == 2 and bundle.metadata_ == {"n": 1}


@pytest.mark.slow
def test_an_ensemble_of_nested_members_loads(tmp_path):
    from forecaster.models import combine_members, ensemble_members

    ensemble = combine_members([tiny_model(), tiny_model(), tiny_model("transformer", units=4)])
    folder = write_bundle(tmp_path / "ensemble", ensemble)
    bundle = load_bundle(folder, engine="keras")
    assert len(ensemble_members(bundle.members_[0][0])) == 3
    np.testing.assert_allclose(predict(bundle.members_[0][0]), predict(ensemble), rtol=1e-6)
    np.testing.assert_allclose(predict(load_bundle(folder).members_[0][0]), predict(ensemble), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.slow
def test_a_combined_bundle_keeps_every_member_with_its_representation(tmp_path):
    from forecaster.models import LinearBaseline, ridge_model

    ridge = LinearBaseline().fit(np.linspace(0, 1, 40).reshape(5, 4, 2)[..., :1], np.ones((5, 2)))
    models = [tiny_model(), tiny_model(units=4), tiny_model("transformer", units=4),
              ridge_model(ridge, time_steps=4, features=1)]
    folder = write_combined(tmp_path / "combined", models)
    extra = [f"member-{n}{suffix}" for n in (2, 3, 4) for suffix in (".keras", ".scaling.json")]
    assert set(json.loads((folder / MANIFEST_FILE).read_text())["files"]) == {*BUNDLE_FILES, *extra}
    for engine in ("keras", "numpy"):
        bundle = load_bundle(folder, engine=engine)
        assert bundle.scaling == "global+window+window+ridge(window)"
        assert len(bundle.members_) == 4
        for (model, _), original in zip(bundle.members_, models, strict=True):
            np.testing.assert_allclose(predict(model), predict(original), rtol=1e-5, atol=1e-6)
        assert [r.scaling for _, r in bundle.members_] == ["global", "window", "window", "window"]


@pytest.mark.slow
def test_a_baseline_member_is_saved_named_and_run_as_its_anchor(tmp_path):
    from forecaster.models import baseline_model

    naive = baseline_model("naive", time_steps=4, features=1, horizon=2)
    assert naive.name == "naive_forecaster" and not predict(naive).any()  # zeros: the anchor itself
    folder = write_combined(tmp_path / "with-naive", [tiny_model(), naive])
    for engine in ("keras", "numpy"):
        bundle = load_bundle(folder, engine=engine)
        assert bundle.scaling == "global+naive"
        assert not np.asarray(predict(bundle.members_[1][0])).any()


@pytest.mark.slow
def test_the_series_file_keeps_each_series_id_scale_and_training_mean(tmp_path):
    ids = (("store 1", "item 7"), ("store 2", "item 3"))
    folder = save_bundle(tmp_path / "panel", fitted([tiny_model()], ids=ids), {"n": 1})
    assert json.loads((folder / "series.json").read_text()) == {
        "ids": [["store 1", "item 7"], ["store 2", "item 3"]], "scale": [1.0, 2.0],
        "train_mean": [14.5, 15.5], "season_length": 1, "mase_season": 1,
        "seasons": {"periods": [], "season": 1, "cycle": False, "evidence": {}},
        "static": {"columns": {}}}
    loaded = load_bundle(folder)
    assert loaded.ids_ == list(ids) and loaded.season_ == 1 and loaded.mase_season_ == 1
    assert loaded.seasons_ == Seasons((), 1)
    assert loaded.scale_.tolist() == [1.0, 2.0] and loaded.train_mean_.tolist() == [14.5, 15.5]
    representation = loaded.members_[0][1]
    assert len(representation.level_) == 2 and representation.level_.tolist() == [14.5, 29.0]


@pytest.mark.slow
def test_a_series_file_without_a_field_is_refused(bundle_copy):
    path = bundle_copy / "series.json"
    values = json.loads(path.read_text())
    del values["scale"]
    path.write_text(json.dumps(values))
    reseal(bundle_copy)
    with pytest.raises(UserError, match=rf"lacks the field 'scale' that this version of forecaster reads: "
                                        rf"it was written by another version, or edited. {RETRAIN}"):
        load_bundle(bundle_copy)


@pytest.mark.slow
@pytest.mark.parametrize(("damage", "message"), [
    ("edit", r"member-2.scaling.json does not match its SHA-256 in manifest.json"),
    ("delete", r"is not a complete forecaster model: member-2.keras missing"),
    ("unlist", r"manifest.json lists .*member-3.keras.*; expected exactly model.keras, .* and "
               r"member-N.keras and member-N.scaling.json for N from 2"),
    ("lambda", r"member-2.keras contains the layer 'lambda_forecaster/double' of class Lambda"),
])
def test_a_damaged_member_of_a_combined_bundle_is_named(tmp_path, damage, message):
    folder = write_combined(tmp_path / "combined", [tiny_model(), tiny_model(), tiny_model()])
    if damage == "edit":
        path = folder / "member-2.scaling.json"
        path.write_text(path.read_text().replace('"window"', '"global"'))
    elif damage == "delete":
        (folder / "member-2.keras").unlink()
    elif damage == "unlist":  # member 2 taken out of the manifest, member 3 left: not a sequence
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
        del manifest["files"]["member-2.keras"], manifest["files"]["member-2.scaling.json"]
        (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    else:
        import keras

        inputs = keras.Input(shape=(4, 1), name="window")
        doubled = keras.layers.Lambda(lambda window: window * 2, name="double")(inputs)
        outputs = keras.layers.Dense(2, name="forecast")(keras.layers.Flatten()(doubled))
        keras.Model(inputs, outputs, name="lambda_forecaster").save(folder / "member-2.keras")
        reseal(folder)
    with pytest.raises(UserError, match=message):
        load_bundle(folder)


@pytest.mark.slow
def test_a_failed_save_keeps_the_previous_bundle_and_leaves_no_debris(bundle_copy):
    before = {name: (bundle_copy / name).read_bytes() for name in (*BUNDLE_FILES, MANIFEST_FILE)}
    good = load_bundle(bundle_copy, engine="keras")

    class BrokenModel:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError("disk full")

    good.members_ = [(BrokenModel(), good.members_[0][1])]
    with pytest.raises(OSError, match="disk full"):
        save_bundle(bundle_copy, good, {})
    assert {name: (bundle_copy / name).read_bytes() for name in (*BUNDLE_FILES, MANIFEST_FILE)} == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


@pytest.mark.slow
@pytest.mark.parametrize("failing", ["schema.json", MANIFEST_FILE])
def test_an_error_midway_through_a_save_keeps_the_previous_bundle(bundle_copy, monkeypatch, failing):
    before = {p.name: p.read_bytes() for p in bundle_copy.iterdir()}
    write_json = artifacts._write_json

    def write_json_or_fail(path, values):
        if path.name == failing:
            path.write_text('{"half": ')
            raise OSError(f"disk full writing {failing}")
        write_json(path, values)

    monkeypatch.setattr(artifacts, "_write_json", write_json_or_fail)
    with pytest.raises(OSError, match=f"disk full writing {failing}"):
        write_bundle(bundle_copy, tiny_model(units=5), {"n": 2})
    assert {p.name: p.read_bytes() for p in bundle_copy.iterdir()} == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]
    assert load_bundle(bundle_copy).metadata_ == {"n": 1}


@pytest.mark.slow
def test_a_failed_swap_puts_the_previous_bundle_back(bundle_copy, monkeypatch):
    before = {p.name: p.read_bytes() for p in bundle_copy.iterdir()}
    replace = os.replace

    def replace_but_not_the_new_bundle(source, target):
        if os.path.basename(source).startswith(".model.") and ".old." not in os.path.basename(source):
            raise OSError("rename failed")
        replace(source, target)

    monkeypatch.setattr(os, "replace", replace_but_not_the_new_bundle)
    with pytest.raises(OSError, match="rename failed"):
        write_bundle(bundle_copy, tiny_model(units=5), {"n": 2})
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in bundle_copy.iterdir()} == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]
    assert load_bundle(bundle_copy).metadata_ == {"n": 1}


@pytest.mark.slow
def test_a_new_save_replaces_the_old_bundle(bundle_copy):
    good = load_bundle(bundle_copy, engine="keras")
    save_bundle(bundle_copy, good, {"n": 2})
    assert load_bundle(bundle_copy).metadata_ == {"n": 2}
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


@pytest.mark.slow
def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(bundle_copy, tmp_path):
    good = load_bundle(bundle_copy, engine="keras")
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.txt").write_text("do not delete")
    with pytest.raises(UserError, match="is not a forecaster model folder"):
        save_bundle(precious, good, {})
    assert (precious / "chapter1.txt").read_text() == "do not delete"


@pytest.mark.slow
def test_missing_file_is_named(bundle_copy):
    (bundle_copy / "scaling.json").unlink()
    with pytest.raises(UserError, match="scaling.json missing"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_truncated_file_is_refused_before_it_is_parsed(bundle_copy):
    path = bundle_copy / "model.keras"
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    with pytest.raises(UserError, match=rf"model.keras is {size // 2} bytes, short of the {size} that "
                                        rf"manifest.json records: it was truncated"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_an_edited_file_is_named(bundle_copy):
    path = bundle_copy / "settings.json"
    text = path.read_text()
    assert '"epochs": 2,' in text
    path.write_text(text.replace('"epochs": 2,', '"epochs": 9,'))  # the same size: only the hash tells
    with pytest.raises(UserError, match=r"settings.json does not match its SHA-256 in manifest.json "
                                        r"\(found [0-9a-f]{12}\.\.\., expected [0-9a-f]{12}\.\.\.\): it "
                                        r"was edited, or copied in from another model"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_model_copied_in_from_another_bundle_is_refused(bundle_copy, tmp_path):
    other = write_bundle(tmp_path / "other", tiny_model())  # same architecture, other weights
    (bundle_copy / "model.keras").write_bytes((other / "model.keras").read_bytes())
    assert load_bundle(other).metadata_ == {"n": 1}  # the other bundle itself is fine
    # Caught by its size when the archives differ in length, by its SHA-256 when they do not.
    with pytest.raises(UserError, match=r"model.keras (does not match its SHA-256|is \d+ bytes).*: it "
                                        r"was (edited|truncated), or copied in from another model"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_bundle_without_a_manifest_predates_checksums(bundle_copy):
    (bundle_copy / MANIFEST_FILE).unlink()
    with pytest.raises(UserError, match=f"has no manifest.json: it was written before bundles carried "
                                        f"checksums.*{RETRAIN}"):
        load_bundle(bundle_copy)


@pytest.mark.slow
@pytest.mark.parametrize(("manifest", "message"), [
    ("{not json", "manifest.json is not valid JSON"),
    ("[]", "manifest.json has no format number"),
    ('{"format": 2, "files": {}}', "manifest.json has format 2; this version of forecaster reads format 1"),
    ('{"format": 1, "files": {"model.keras": {"sha256": "0", "bytes": 1}}}',
     "manifest.json lists model.keras; expected exactly model.keras, settings.json"),
])
def test_an_unreadable_manifest_is_refused(bundle_copy, manifest, message):
    (bundle_copy / MANIFEST_FILE).write_text(manifest)
    with pytest.raises(UserError, match=message):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_manifest_entry_without_a_checksum_is_refused(bundle_copy):
    manifest = json.loads((bundle_copy / MANIFEST_FILE).read_text())
    del manifest["files"]["schema.json"]["sha256"]
    (bundle_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="manifest.json lacks a sha256 or a bytes entry"):
        load_bundle(bundle_copy)


def test_an_empty_folder_holds_no_model(tmp_path):
    with pytest.raises(UserError, match="holds no forecaster model .*forecaster train"):
        load_bundle(tmp_path)


def test_a_refused_bundle_is_refused_without_importing_tensorflow(tmp_path):
    (tmp_path / "settings.json").write_text("{}")
    script = ("import sys\nfrom forecaster.artifacts import load_bundle\n"
              "from forecaster.errors import UserError\n"
              f"try:\n    load_bundle({str(tmp_path)!r})\nexcept UserError as error:\n    print(error)\n"
              "print(sorted({'keras', 'tensorflow'} & set(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.splitlines() == [
        f"{tmp_path} has no manifest.json: it was written before bundles carried checksums, so its files "
        f"cannot be verified. {RETRAIN}{tmp_path}`.", "[]"]


@pytest.mark.slow
def test_files_the_manifest_does_not_name_are_ignored(bundle_copy):
    (bundle_copy / "NOTES.txt").write_text("trained on the March export")
    assert load_bundle(bundle_copy).metadata_ == {"n": 1}


@pytest.mark.slow
def test_damaged_json_is_a_user_error(bundle_copy):
    (bundle_copy / "schema.json").write_text("{not json")
    reseal(bundle_copy)
    with pytest.raises(UserError, match="holds a damaged bundle: schema.json is not JSON"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_model_file_that_is_not_a_keras_archive_is_refused(bundle_copy):
    (bundle_copy / "model.keras").write_bytes(b"not a zip file")
    reseal(bundle_copy)
    with pytest.raises(UserError, match=r"model.keras is not a valid Keras model archive \(not a zip file\); "
                                        r"expected a .keras zip holding config.json, metadata.json and "):
        load_bundle(bundle_copy)
    with zipfile.ZipFile(bundle_copy / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    reseal(bundle_copy)
    with pytest.raises(UserError, match=r"not a valid Keras model archive \(the zip holds config.json\)"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_damaged_model_weights_are_a_user_error(bundle_copy):
    path = bundle_copy / "model.keras"
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["model.weights.h5"] = b"not hdf5"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    reseal(bundle_copy)
    with pytest.raises(UserError, match="could not be loaded safely"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_lambda_layer_is_refused_before_keras_reads_the_file(bundle_copy):
    import keras

    inputs = keras.Input(shape=(4, 1), name="window")
    doubled = keras.layers.Lambda(lambda window: window * 2, name="double")(inputs)
    outputs = keras.layers.Dense(2, name="forecast")(keras.layers.Flatten()(doubled))
    keras.Model(inputs, outputs, name="lambda_forecaster").save(bundle_copy / "model.keras")
    reseal(bundle_copy)
    with pytest.raises(UserError) as refused:
        load_bundle(bundle_copy)
    assert str(refused.value).startswith(
        f"{bundle_copy / 'model.keras'} contains the layer 'lambda_forecaster/double' of class Lambda, "
        f"which holds Python code; forecaster never saves one and loads no code from a model file.")
    assert str(refused.value).endswith(f"{RETRAIN}{bundle_copy}`.") and "\n" not in str(refused.value)


@pytest.mark.slow
def test_a_lambda_inside_a_nested_sequential_model_is_found(bundle_copy):
    import keras

    def sequential(name):
        return keras.Sequential([keras.Input(shape=(4, 1)), keras.layers.Flatten(name="flat"),
                                 keras.layers.Lambda(lambda flat: flat[:, -2:], name="last_two")],
                                name=name)

    inputs = keras.Input(shape=(4, 1), name="window")
    members = [sequential("first")(inputs), sequential("second")(inputs)]
    average = keras.layers.Average(name="average")(members)
    keras.Model(inputs, average, name="ensemble").save(bundle_copy / "model.keras")
    reseal(bundle_copy)
    with pytest.raises(UserError, match="the layer 'ensemble/first/last_two' of class Lambda"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_another_packages_registered_layer_is_refused_even_inside_an_ensemble(bundle_copy):
    import keras

    from forecaster.models import combine_members

    @keras.saving.register_keras_serializable(package="evil")
    class Custom(keras.layers.Layer):  # registered in this process, so Keras alone would load it
        def call(self, inputs):
            return inputs

    def member():
        inputs = keras.Input(shape=(4, 1), name="window")
        hidden = keras.layers.Flatten(name="flat")(Custom(name="custom")(inputs))
        return keras.Model(inputs, keras.layers.Dense(2, name="forecast")(hidden))

    combine_members([member(), member()]).save(bundle_copy / "model.keras")
    reseal(bundle_copy)
    with pytest.raises(UserError) as refused:
        load_bundle(bundle_copy)
    assert str(refused.value).startswith(
        f"{bundle_copy / 'model.keras'} contains the layer 'ensemble/member_1/custom' of class "
        f"evil>Custom, which is neither built into Keras nor one of forecaster's own "
        f"(forecaster>PositionalEncoding, forecaster>Median); forecaster loads no code from a model file.")


def _layer(config, name):
    return next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == name)


@pytest.mark.slow
@pytest.mark.parametrize(("change", "message"), [
    (lambda config: _layer(config, "lstm").update(module="evil.layers"),
     "the layer 'lstm_forecaster/lstm' of class evil.layers.LSTM, which is neither built into Keras"),
    (lambda config: _layer(config, "forecast").update(registered_name="evil>Dense"),
     "the layer 'lstm_forecaster/forecast' of class evil>Dense"),
    (lambda config: _layer(config, "lstm")["config"]["kernel_initializer"].update(module="os"),
     "an object of class os.GlorotUniform inside the layer 'lstm_forecaster/lstm'"),
    (lambda config: _layer(config, "forecast").update(module=None),
     "the layer 'lstm_forecaster/forecast' of class Dense, which is neither"),
    (lambda config: _layer(config, "forecast")["config"].update(
        activation={"module": "builtins", "class_name": "function", "config": "print",
                    "registered_name": "function"}),
     "an object of class builtins.function inside the layer 'lstm_forecaster/forecast'"),
])
def test_a_class_that_is_not_keras_or_forecasters_is_refused(bundle_copy, change, message):
    rewrite_model_config(bundle_copy, change)
    with pytest.raises(UserError, match=message):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_forecasters_own_layers_are_the_registered_ones():
    from forecaster.models import register_custom_layers

    assert register_custom_layers() == ("forecaster>PositionalEncoding", "forecaster>Median")


def test_write_text_atomically(tmp_path):
    path = tmp_path / "metrics.json"
    write_text_atomically(path, "{}\n")
    write_text_atomically(path, '{"mae": 1}\n')
    assert path.read_text(encoding="utf-8") == '{"mae": 1}\n'
    assert list(tmp_path.iterdir()) == [path]


def test_write_text_atomically_leaves_nothing_when_it_fails(tmp_path):
    with pytest.raises(TypeError):
        write_text_atomically(tmp_path / "metrics.json", None)
    assert list(tmp_path.iterdir()) == []


def test_written_files_and_bundles_are_readable_by_others(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_text_atomically(tmp_path / "new" / "forecast.csv", "time,forecast\n")
    finally:
        os.umask(mask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_a_file_where_a_model_folder_should_be(tmp_path):
    (tmp_path / "data.csv").write_text("precious")
    with pytest.raises(UserError, match="--model-dir .*data.csv is a file, not a folder"):
        check_model_dir(tmp_path / "data.csv")
    with pytest.raises(UserError, match="data.csv is a file; expected the folder"):
        load_bundle(tmp_path / "data.csv")
    assert (tmp_path / "data.csv").read_text() == "precious"


def test_output_paths_are_checked_before_any_work(tmp_path):
    with pytest.raises(UserError, match="--output .* is a folder; expected a file path"):
        check_output_file(tmp_path, "--output")
    with pytest.raises(UserError, match="--plot .*x.txt has the suffix '.txt'; expected one of .png"):
        check_output_file(tmp_path / "x.txt", "--plot", (".png", ".svg"))
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="--output-dir .* is a file, not a folder"):
        check_output_dir(tmp_path / "f", "--output-dir")
    assert check_output_file(tmp_path / "new.png", "--plot", (".png",)) == tmp_path / "new.png"
