"""Bundles: a round trip, an atomic replace that never loses the previous good bundle, clear errors."""

from __future__ import annotations

import shutil

import pytest

from forecaster.artifacts import BUNDLE_FILES, load_bundle, save_bundle
from forecaster.errors import UserError

pytestmark = pytest.mark.slow


@pytest.fixture
def bundle_copy(trained, tmp_path):
    run, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(run.model_dir, copy)
    return copy


def test_round_trip_restores_settings_schema_and_representation(trained):
    run, settings = trained
    bundle = load_bundle(run.model_dir)
    assert bundle.settings.time_steps == 24 and bundle.settings.horizon == 6
    assert bundle.settings.csv == settings.csv
    assert bundle.schema.time_column == "time" and bundle.schema.target == "load"
    assert bundle.schema.frequency == "h"
    assert bundle.model.input_shape == (None, 24, 1) and bundle.model.output_shape == (None, 6)
    assert bundle.metadata["versions"]["keras"].startswith("3.")


def test_a_failed_save_keeps_the_previous_bundle_and_leaves_no_debris(bundle_copy):
    before = {name: (bundle_copy / name).read_bytes() for name in BUNDLE_FILES}
    good = load_bundle(bundle_copy)

    class BrokenModel:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_bundle(bundle_copy, BrokenModel(), good.settings, good.representation, good.schema, {})
    assert {name: (bundle_copy / name).read_bytes() for name in BUNDLE_FILES} == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


def test_a_new_save_replaces_the_old_bundle(bundle_copy):
    good = load_bundle(bundle_copy)
    save_bundle(bundle_copy, good.model, good.settings, good.representation, good.schema, {"n": 2})
    assert load_bundle(bundle_copy).metadata == {"n": 2}
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(bundle_copy, tmp_path):
    good = load_bundle(bundle_copy)
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.txt").write_text("do not delete")
    with pytest.raises(UserError, match="is not a forecaster model folder"):
        save_bundle(precious, good.model, good.settings, good.representation, good.schema, {})
    assert (precious / "chapter1.txt").read_text() == "do not delete"


def test_missing_file_is_named(bundle_copy):
    (bundle_copy / "scaling.json").unlink()
    with pytest.raises(UserError, match="scaling.json missing"):
        load_bundle(bundle_copy)


def test_damaged_json_is_a_user_error(bundle_copy):
    (bundle_copy / "schema.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged bundle"):
        load_bundle(bundle_copy)


def test_damaged_model_file_is_a_user_error(bundle_copy):
    (bundle_copy / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="could not be loaded safely"):
        load_bundle(bundle_copy)
