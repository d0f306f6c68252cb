"""Bundles: a round trip, an atomic replace that never loses the previous good bundle, clear errors."""

from __future__ import annotations

import os
import shutil

import pytest

from forecaster.artifacts import (
    BUNDLE_FILES,
    check_model_dir,
    check_output_dir,
    check_output_file,
    load_bundle,
    save_bundle,
    write_text_atomically,
)
from forecaster.errors import UserError

BASELINES = {"train_mean": 1.0, "ridge": {"alpha": 1.0, "coef": [[0.0]], "intercept": [0.0]}}


@pytest.fixture
def bundle_copy(trained, tmp_path):
    run, _ = trained
    copy = tmp_path / "model"
    shutil.copytree(run.model_dir, copy)
    return copy


@pytest.mark.slow
def test_round_trip_restores_settings_schema_and_representation(trained):
    run, settings = trained
    bundle = load_bundle(run.model_dir)
    assert bundle.settings.time_steps == 24 and bundle.settings.horizon == 6
    assert bundle.settings.csv == settings.csv
    assert bundle.schema.time_column == "time" and bundle.schema.target == "load"
    assert bundle.schema.frequency == "h"
    assert bundle.model.input_shape == (None, 24, 1) and bundle.model.output_shape == (None, 6)
    assert bundle.metadata["versions"]["keras"].startswith("3.")


@pytest.mark.slow
def test_a_failed_save_keeps_the_previous_bundle_and_leaves_no_debris(bundle_copy):
    before = {name: (bundle_copy / name).read_bytes() for name in BUNDLE_FILES}
    good = load_bundle(bundle_copy)

    class BrokenModel:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_bundle(bundle_copy, BrokenModel(), good.settings, good.representation, good.schema, {},
                    BASELINES, good.intervals)
    assert {name: (bundle_copy / name).read_bytes() for name in BUNDLE_FILES} == before
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


@pytest.mark.slow
def test_a_new_save_replaces_the_old_bundle(bundle_copy):
    good = load_bundle(bundle_copy)
    save_bundle(bundle_copy, good.model, good.settings, good.representation, good.schema, {"n": 2},
                BASELINES, good.intervals)
    assert load_bundle(bundle_copy).metadata == {"n": 2}
    assert sorted(p.name for p in bundle_copy.parent.iterdir()) == ["model"]


@pytest.mark.slow
def test_refuses_to_overwrite_a_folder_that_is_not_a_bundle(bundle_copy, tmp_path):
    good = load_bundle(bundle_copy)
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.txt").write_text("do not delete")
    with pytest.raises(UserError, match="is not a forecaster model folder"):
        save_bundle(precious, good.model, good.settings, good.representation, good.schema, {},
                    BASELINES, good.intervals)
    assert (precious / "chapter1.txt").read_text() == "do not delete"


@pytest.mark.slow
def test_missing_file_is_named(bundle_copy):
    (bundle_copy / "scaling.json").unlink()
    with pytest.raises(UserError, match="scaling.json missing"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_damaged_json_is_a_user_error(bundle_copy):
    (bundle_copy / "schema.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged bundle"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_damaged_model_file_is_a_user_error(bundle_copy):
    (bundle_copy / "model.keras").write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="could not be loaded safely"):
        load_bundle(bundle_copy)


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
