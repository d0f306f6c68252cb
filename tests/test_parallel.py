"""Many series on Ray (`--ray`): the series in partitions, each task loading the bundle once, and
the same numbers as one process, to the last digit."""

import builtins
import json
import socket

import numpy as np
import pandas as pd
import pytest

from forecaster import parallel
from forecaster.artifacts import load_bundle
from forecaster.cli import main
from forecaster.data import read_panel
from forecaster.errors import UserError
from forecaster.evaluation import backtest
from forecaster.forecasting import forecast


def test_partitions_are_runs_of_whole_series_with_about_equal_origins():
    origins = np.array([[0, 5], [0, 6], [2, 5], [2, 6], [2, 7], [2, 8], [3, 5], [5, 5], [5, 6]])
    parts = parallel._partitions(origins, 3)
    assert [part.tolist() for part in parts] == [[0], [2], [3, 5]]  # 2, 4 and 3 origins
    assert [part.tolist() for part in parallel._partitions(origins, 10)] == [[0], [2], [3], [5]]
    assert parallel._partitions(np.zeros((0, 2), dtype=int), 4) == []


def test_merged_puts_each_partitions_rows_back_in_place():
    parts = [{"forecast": np.array([[1.0], [2.0]])}, {"forecast": np.array([[3.0]])}]
    merged = parallel._merged(parts, [np.array([2, 0]), np.array([1])], 3)
    assert merged["forecast"].ravel().tolist() == [2.0, 3.0, 1.0]


def test_without_ray_installed_the_flag_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UserError, match=r"--ray auto runs on Ray, which is not installed; install the "
                                        r"extra with `pip install 'forecaster\[ray\]'`"):
        parallel._connect("auto")


def test_an_address_where_nothing_answers_is_refused_at_once():
    with socket.socket() as server:  # a port that was open and is closed again: nothing listens
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
    with pytest.raises(UserError, match=rf"--ray 127.0.0.1:{port}: nothing answers at 127.0.0.1:{port}"):
        parallel._refuse_unreachable(f"127.0.0.1:{port}")
    parallel._refuse_unreachable("auto")  # no address to try


def test_the_library_without_the_bundle_folder_is_told_that_ray_needs_it():
    with pytest.raises(ValueError, match=r"running on Ray needs the model's bundle folder \(model_dir\)"):
        parallel.run_by_series(lambda *arguments: {}, None, None, None, np.zeros((1, 2), int), "auto")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of two workers (skipped, saying why, where Ray cannot start)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'forecaster[ray]')")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as error:  # noqa: BLE001 - any failure to start is a reason to skip
        pytest.skip(f"a local Ray cluster cannot start here: {error}")
    yield ray
    ray.shutdown()


def stores(series: int = 6, days: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frames = []
    for k in range(series):
        day = np.arange(days)
        sales = (20 + 7 * k) * (1 + 0.3 * np.sin(2 * np.pi * day / 7)) + rng.normal(0, 1, days)
        frames.append(pd.DataFrame({"store": f"st{k}", "date": pd.date_range("2024-01-01", periods=days),
                                    "sales": sales.round(3)}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
def test_ray_gives_the_forecasts_backtests_and_scores_of_one_process(cluster, tmp_path):
    csv, model_dir = tmp_path / "stores.csv", tmp_path / "model"
    stores().to_csv(csv, index=False)
    assert main(["train", "--csv", str(csv), "--id-col", "store", "--model-dir", str(model_dir),
                 "--time-steps", "14", "--horizon", "7", "--epochs", "1", "--scaling", "window"]) == 0
    model = load_bundle(model_dir)
    here = forecast(model, csv, levels=[80])
    spread = forecast(model, csv, levels=[80], model_dir=model_dir, ray="auto")
    assert np.array_equal(here.values, spread.values)
    assert all(np.array_equal(a, b) for level in (80,) for a, b in
               zip(here.intervals[level], spread.intervals[level], strict=True))
    pd.testing.assert_frame_equal(here.frame, spread.frame)

    panel = read_panel(csv, schema=model.schema_)
    origins = np.array([[k, row] for k in range(len(panel)) for row in range(40, 113, 3)])
    alone, together = backtest(model, panel, origins), backtest(model, panel, origins, model_dir, "auto")
    assert np.array_equal(alone.truth, together.truth, equal_nan=True)
    assert list(alone.forecasts) == list(together.forecasts)
    assert all(np.array_equal(alone.forecasts[name], together.forecasts[name]) for name in alone.forecasts)

    scored = {}
    for flags in ([], ["--ray", "auto"]):
        out = tmp_path / f"report{len(flags)}"
        assert main(["evaluate", "--model-dir", str(model_dir), "--output-dir", str(out), *flags]) == 0
        scored[len(flags)] = json.loads((out / "metrics.json").read_text())
    assert scored[0] == scored[2]

    written = {}
    for flags in ([], ["--ray", "auto"]):
        path = tmp_path / f"backtest{len(flags)}.csv"
        assert main(["backtest", "--model-dir", str(model_dir), "--csv", str(csv), "--last", "9",
                     "--output", str(path), *flags]) == 0
        written[len(flags)] = path.read_bytes()
    assert written[0] == written[2]
