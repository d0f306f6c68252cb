"""--distribute: MirroredStrategy over two logical CPU devices, and two workers on localhost, train the
model that one device trains, up to float rounding; only the chief writes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster import distribution
from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.config import load_config
from forecaster.data.panel import owner
from forecaster.errors import UserError
from forecaster.forecasting import forecast
from tests.conftest import write_hourly_csv

ROOT = Path(__file__).resolve().parents[1]
# 480 hourly rows give 298 training windows and 70 validation windows with these settings: with
# --batch-size 16 every batch, the last ones (10 and 6 windows) included, splits into equal halves
# over two replicas. The loss histories compare every epoch; the forecasts, the weights that early
# stopping kept (with seed 43, those after both epochs when this was written; with 42, the first's).
SMALL = ["--time-steps", "12", "--horizon", "3", "--scaling", "change", "--epochs", "2",
         "--batch-size", "16", "--seed", "43"]
# Distributed and single-device training agree to float32 rounding, as the replicas' gradients are
# summed in another order: forecasts within 6e-10 relative, the logged losses within 8e-8 (about one
# float32 step). 1e-6, relative, allows ten such steps and is still far below a real difference: one
# batch per epoch split unevenly over the replicas (Keras then weighs its halves equally) moves the
# forecasts by 1e-5 relative, every batch split unevenly by 1e-4, and another seed by 3e-3.
TOLERANCE = 1e-6


def _environment(**variables) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("TF_CONFIG", distribution.CPU_DEVICES_VARIABLE)}
    return {**environment, **variables}


def _train_command(csv, model_dir, *more) -> list[str]:
    return [sys.executable, "-m", "forecaster", "train", "--csv", str(csv), "--model-dir",
            str(model_dir), *SMALL, *more]


def _forecasts(model_dir, csv) -> np.ndarray:
    """24 steps after the end of `csv`: the trained 3, then the model fed its own forecasts."""
    return forecast(load_bundle(model_dir), csv, horizon=24).values


def _assert_same_training(model_dir, single_dir, csv):
    distributed, single = load_bundle(model_dir), load_bundle(single_dir)
    for name in ("loss", "val_loss"):
        np.testing.assert_allclose(distributed.metadata_["history"][name],
                                   single.metadata_["history"][name], rtol=TOLERANCE)
    np.testing.assert_allclose(distributed.metadata_["val_mae"], single.metadata_["val_mae"], rtol=TOLERANCE)
    np.testing.assert_allclose(_forecasts(model_dir, csv), _forecasts(single_dir, csv), rtol=TOLERANCE)


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    """(csv, model folder) of the same training on one device, in a process of its own."""
    folder = tmp_path_factory.mktemp("single")
    csv = folder / "load.csv"
    write_hourly_csv(csv, rows=480)
    result = subprocess.run(_train_command(csv, folder / "model"), cwd=ROOT, env=_environment(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return csv, folder / "model"


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_trains_the_single_device_model(tmp_path, single_device):
    csv, single_dir = single_device
    environment = _environment(**{distribution.CPU_DEVICES_VARIABLE: "2"})
    result = subprocess.run(_train_command(csv, tmp_path / "model", "--distribute", "mirrored"),
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("--distribute mirrored: trained on 2 replicas in sync (/device:CPU:0, /device:CPU:1); "
            "--batch-size 16 is the global batch, 8 windows per replica.") in result.stderr
    model = load_bundle(tmp_path / "model")  # in this process: no strategy, no logical devices
    assert model.metadata_["distribution"] == {
        "distribute": "mirrored", "replicas": 2, "workers": 1,
        "devices": ["/device:CPU:0", "/device:CPU:1"]}
    assert model.settings_.distribute == "mirrored"
    _assert_same_training(tmp_path / "model", single_dir, csv)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("localhost", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


@pytest.mark.slow
def test_two_workers_train_the_single_device_model_and_only_the_chief_writes(tmp_path, single_device):
    csv, single_dir = single_device
    for index in range(2):
        (tmp_path / f"temp{index}").mkdir()  # the worker's TMPDIR
    (outputs,) = _clusters((lambda index: _train_command(
        csv, tmp_path / f"worker{index}" / "model", "--distribute", "multiworker"), 2),
        environment=lambda index: {"TMPDIR": str(tmp_path / f"temp{index}")})
    (chief_out, chief_err), (other_out, other_err) = outputs
    assert "trained on 2 replicas in sync (2 workers; this is worker 0, the chief)" in chief_err
    assert chief_out.splitlines()[-1].startswith(f"saved {tmp_path / 'worker0' / 'model'} (val MAE")
    assert "this is worker 1)" in other_err and "this worker's copy was discarded" in other_err
    assert other_out.splitlines()[-1].startswith("trained, not saved (only the chief saves)")

    assert not (tmp_path / "worker1").exists()  # no bundle, no resume folder, no staging folder
    assert not any((tmp_path / "temp1").iterdir())  # its scratch copy is gone
    assert [p.name for p in (tmp_path / "worker0").iterdir()] == ["model"]  # resume folder removed
    model = load_bundle(tmp_path / "worker0" / "model")
    assert model.metadata_["distribution"]["replicas"] == 2
    assert model.metadata_["distribution"]["workers"] == 2
    _assert_same_training(tmp_path / "worker0" / "model", single_dir, csv)


def _clusters(*clusters, environment=lambda index: {}) -> list[list[tuple[str, str]]]:
    """Run clusters of (command, workers) on localhost at once, `command(index)` as each of their
    workers, with the variables `environment(index)` besides TF_CONFIG; each cluster's list of
    (stdout, stderr)."""
    processes = []
    try:
        for command, workers in clusters:
            cluster = {"worker": [f"localhost:{port}" for port in _free_ports(workers)]}
            for index in range(workers):
                task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
                processes.append(subprocess.Popen(
                    command(index), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    env=_environment(TF_CONFIG=json.dumps(task), **environment(index))))
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    sizes = np.cumsum([0] + [workers for _, workers in clusters])
    return [outputs[a:b] for a, b in zip(sizes[:-1], sizes[1:], strict=True)]


def _write_stores(path: Path) -> list[str]:
    """Seven hourly series of different lengths and starts, one with a region (a static input),
    a few values missing; the ids."""
    rng = np.random.default_rng(5)
    frames = []
    for k in range(7):
        rows = 200 + 13 * k
        times = pd.date_range("2021-01-01", periods=rows, freq="h") + pd.Timedelta(hours=7 * k)
        values = 10 + k + 3 * np.sin(2 * np.pi * np.arange(rows) / 24) + rng.normal(0, 0.5, rows)
        values[rng.random(rows) < 0.03] = np.nan
        frames.append(pd.DataFrame({"time": times, "store": f"store{k}",
                                    "region": "north" if k % 3 else "south", "load": values.round(3)}))
    pd.concat(frames).sort_values(["time", "store"]).to_csv(path, index=False)
    return [f"store{k}" for k in range(7)]


@pytest.mark.slow
def test_workers_reading_only_their_own_series_train_the_one_worker_model(tmp_path):
    """--distribute multiworker on a long file: each worker reads only the series whose id hashes
    to it, and two workers end with the model that one worker reading them all trains, within
    float rounding (the batches are drawn from every series whatever the workers)."""
    csv = tmp_path / "stores.csv"
    ids = _write_stores(csv)
    flags = ["--id-col", "store", "--static", "region", "--calendar", "--scaling", "window",
             "--time-steps", "12", "--horizon", "3", "--epochs", "2", "--batch-size", "16",
             "--seed", "7", "--distribute", "multiworker"]

    def command(folder):
        return lambda index: [sys.executable, "-m", "forecaster", "train", "--csv", str(csv),
                              "--model-dir", str(tmp_path / folder / f"worker{index}"), *flags]

    alone, together = _clusters((command("one"), 1), (command("two"), 2))
    assert "this worker read 7 of the 7 series" in alone[0][1]
    owners = owner(ids, 2)
    for index, (_, stderr) in enumerate(together):
        mine = int((owners == index).sum())
        assert f"this worker read {mine} of the 7 series (those whose id hashes to it)" in stderr
    assert 0 < (owners == 0).sum() < 7  # both workers had series of their own
    one, two = load_bundle(tmp_path / "one" / "worker0"), load_bundle(tmp_path / "two" / "worker0")
    assert not (tmp_path / "two" / "worker1").exists()
    assert two.ids_ == one.ids_ == ids  # every series, in file order
    for name in ("loss", "val_loss", "mae", "val_mae"):
        np.testing.assert_allclose(two.metadata_["history"][name], one.metadata_["history"][name],
                                   rtol=TOLERANCE)
    for key in ("splits", "series", "rows", "filled_values", "seasons", "scaling"):
        assert two.metadata_[key] == one.metadata_[key], key
    np.testing.assert_allclose(two.metadata_["val_mae"], one.metadata_["val_mae"], rtol=TOLERANCE)
    np.testing.assert_allclose(two.scale_, one.scale_, rtol=1e-12)
    np.testing.assert_allclose(forecast(two, csv, horizon=6).values,
                               forecast(one, csv, horizon=6).values, rtol=TOLERANCE)


def test_settings_refuse_an_unknown_distribution():
    with pytest.raises(UserError, match=r"--distribute is 'ring'; expected one of none, mirrored, "
                                        r"multiworker\."):
        load_config(overrides={"distribute": "ring"})
    assert load_config().distribute == "none"


def test_multiworker_needs_a_tf_config_and_says_how_to_write_one(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    status = main(["train", "--csv", str(tmp_path / "load.csv"), "--distribute", "multiworker"])
    assert status == 2
    assert "--distribute multiworker needs the TF_CONFIG environment variable" in capsys.readouterr().err
    for text in ("not json", '{"cluster": {"worker": ["a:1"]}}',
                 '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}'):
        monkeypatch.setenv("TF_CONFIG", text)
        with pytest.raises(UserError, match=r"TF_CONFIG is .*; expected JSON naming the cluster"):
            distribution.start("multiworker")


def test_multiworker_refuses_resume():
    with pytest.raises(UserError, match="--resume is not supported with --distribute multiworker"):
        distribution.start("multiworker", resume=True)


def test_the_cpu_devices_variable_must_be_a_whole_number(monkeypatch):
    monkeypatch.setenv(distribution.CPU_DEVICES_VARIABLE, "two")
    with pytest.raises(UserError, match=r"FORECASTER_CPU_DEVICES is 'two'; expected a whole number"):
        distribution.split_cpu(tensorflow=None)


def test_only_the_chief_writes_where_it_is_told(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    with distribution.Worker("multiworker", None).writing(tmp_path / "model") as folder:
        assert folder == tmp_path / "model"
    other = distribution.Worker("multiworker", None, index=1, chief=False)
    with other.writing(tmp_path / "model") as folder:
        assert folder.name == "model" and folder.parent.parent == tmp_path / "temp"
        folder.mkdir()
    assert not any((tmp_path / "temp").iterdir())
    assert not (tmp_path / "model").exists()
