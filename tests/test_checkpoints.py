"""Training that survives interruption (--resume), stops on a non-finite loss, and repeats exactly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from forecaster.artifacts import load_bundle
from forecaster.checkpoints import Checkpoints, fingerprint, resume_folder
from forecaster.cli import main
from forecaster.errors import UserError
from tests.conftest import write_hourly_csv

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--time-steps", "12", "--horizon", "3", "--scaling", "change"]


def _train_args(csv, model_dir, *more):
    return ["train", "--csv", str(csv), "--model-dir", str(model_dir), *SMALL, *more]


def test_a_fresh_run_discards_an_old_resume_folder_and_resume_needs_one(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=48)
    folder = resume_folder(tmp_path / "m")
    folder.mkdir()
    (folder / "state.json").write_text("{}")
    Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 1}))
    assert not folder.exists()
    with pytest.raises(UserError, match=r"no interrupted training of .*m to resume .* without --resume"):
        Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 1}), resume=True)


def test_resume_refuses_other_data_or_other_settings(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=48)
    checkpoints = Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 1}))
    checkpoints.folder.mkdir()
    checkpoints._commit("change.seed42", {"done": False, "model": "x.keras", "best_weights": None})
    resumed = Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 1}), resume=True)
    assert resumed.state == checkpoints.state
    with pytest.raises(UserError, match="used a different data file or different settings"):
        Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 2}), resume=True)
    write_hourly_csv(csv, rows=49)
    with pytest.raises(UserError, match="used a different data file or different settings"):
        Checkpoints(tmp_path / "m", fingerprint(csv, {"epochs": 1}), resume=True)


@pytest.mark.slow
def test_a_killed_train_resumes_from_its_last_epoch_and_the_old_bundle_survives(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=480)
    model_dir = tmp_path / "m"
    assert main(_train_args(csv, model_dir, "--epochs", "1")) == 0
    old = load_bundle(model_dir).metadata_["created"]

    # Retrain with more epochs (and patience, so early stopping cannot end it), and kill it once
    # it has completed two epochs.
    args = _train_args(csv, model_dir, "--epochs", "6", "--patience", "6")
    process = subprocess.Popen([sys.executable, "-m", "forecaster", *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_path = resume_folder(model_dir) / "state.json"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if state_path.is_file():
                models = json.loads(state_path.read_text())["models"]
                if models.get("change.seed42", {}).get("epoch", 0) >= 2:
                    break
            time.sleep(0.05)
        assert process.poll() is None, "training ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    state = json.loads(state_path.read_text())["models"]["change.seed42"]
    assert not state["done"] and 2 <= state["epoch"] < 6
    assert load_bundle(model_dir).metadata_["created"] == old  # the previous good bundle is intact

    assert main(args + ["--resume"]) == 0
    model = load_bundle(model_dir)
    history = model.metadata_["history"]
    assert len(history["loss"]) == 6  # the epochs before the kill and the rest, once each
    assert history["loss"][:state["epoch"]] == state["history"]["loss"]
    # Not retrained from the start (which, being deterministic, would repeat the losses): the
    # completed epochs keep the wall times measured before the kill.
    assert model.metadata_["epoch_seconds"][:state["epoch"]] == state["epoch_seconds"]
    assert len(model.metadata_["epoch_seconds"]) == 6
    assert not resume_folder(model_dir).exists()
    assert np.isfinite(model.members_[0][0].predict_on_batch(np.zeros((1, 12, 1)))).all()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_resume_skips_models_that_had_finished(tmp_path, capsys):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=240)
    model_dir = tmp_path / "m"
    args = _train_args(csv, model_dir, "--epochs", "2", "--ensemble", "2")
    assert main(args) == 0
    assert re.search(r"^each network kept is the median of 2 models; their own val MAE: "
                     r"change [\d.]+, [\d.]+(; \w+ [\d.]+, [\d.]+)*$", capsys.readouterr().out, re.M)
    first = load_bundle(model_dir).metadata_["member_val_mae"]
    # Leave a resume folder whose first member had finished, as a kill during the second would.
    checkpoints = Checkpoints(model_dir, fingerprint(csv, _settings_dict(args)))
    network = load_bundle(model_dir, engine="keras").members_[0][0]
    member = network.layers[1]
    member.compile(loss="mse")
    checkpoints.save_finished("change.seed42", member, {"loss": [9.0, 8.0]}, [0.1, 0.1])
    assert main(args + ["--resume"]) == 0
    resumed = load_bundle(model_dir).metadata_
    assert resumed["member_val_mae"].keys() == first.keys()
    for name, maes in first.items():
        assert resumed["member_val_mae"][name] == pytest.approx(maes, rel=1e-5)
    assert resumed["history"]["loss"] == [9.0, 8.0]  # the first member came from the checkpoint


def _settings_dict(args):
    from forecaster.cli import _settings, build_parser

    return _settings(build_parser().parse_args(args)).to_dict()


@pytest.mark.slow
def test_a_non_finite_loss_stops_training_and_saves_nothing(tmp_path, capsys):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=240)
    model_dir = tmp_path / "m"
    code = main(_train_args(csv, model_dir, "--epochs", "3", "--learning-rate", "1e30", "--loss", "mse"))
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(error) == 1
    assert "training diverged: the loss was nan after epoch 1" in error[0]
    assert "no model was saved" in error[0] and "smaller --learning-rate" in error[0]
    assert not model_dir.exists() and not resume_folder(model_dir).exists()


@pytest.mark.slow
def test_same_data_settings_and_seed_give_identical_forecasts_in_two_processes(tmp_path):
    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=480)
    outputs = []
    for run in ("a", "b"):
        model_dir, output = tmp_path / run, tmp_path / f"{run}.csv"
        script = (f"from forecaster.cli import main; import sys; "
                  f"sys.exit(main({_train_args(csv, model_dir, '--epochs', '3', '--dropout', '0.2')!r}) "
                  f"or main(['forecast', '--model-dir', {str(model_dir)!r}, '--csv', {str(csv)!r}, "
                  f"'--output', {str(output)!r}]))")
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        outputs.append(output.read_text())
    assert outputs[0] == outputs[1]


@pytest.mark.slow
def test_jit_compile_trains_with_xla_and_deterministic_ops_come_back_after(tmp_path):
    from tensorflow.python.framework.config import is_op_determinism_enabled  # what Keras checks

    from forecaster.config import load_config
    from forecaster.training import train

    csv = tmp_path / "load.csv"
    write_hourly_csv(csv, rows=240)

    def run(name, **more):
        return train(load_config(overrides={"csv": str(csv), "time_steps": 12, "horizon": 3, "epochs": 1,
                                            "scaling": "change", "model_dir": str(tmp_path / name),
                                            **more}), verbose=0)

    assert np.isfinite(run("xla", jit_compile=True).val_mae)
    assert not is_op_determinism_enabled()  # so Keras keeps jit_compile=True
    run("exact")
    assert is_op_determinism_enabled()
