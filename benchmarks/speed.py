"""Speed and memory, each measured side by side in one run: `make bench`.

    throughput   the classic Keras example (1000 windows x 1000 steps x 1 feature, LSTM(50) ->
                 Dense(1), batch 64, MSE): seconds per epoch after the first of forecaster's
                 `train` against the plain Keras script, alternating runs; also what was tried to
                 go faster than plain Keras (steps_per_execution, bfloat16, XLA)
    windowing    a 10-million-row x 8-feature float32 series, time_steps 168, horizon 24:
                 forecaster's windows (views) against keras.utils.timeseries_dataset_from_array,
                 time and peak extra memory to build them and to read them in batches of 256
    big-train    `forecaster train` on a generated 10-million-row CSV (8 columns), one epoch capped
                 at a few hundred steps: CSV load time (Arrow, and pandas as before it), Parquet,
                 peak RSS against the raw float32 data
    many-series  10,000 daily series x 1,000 days in one long CSV (and Parquet): reading it, then
                 `train`, `backtest` and `forecast` from the command line: seconds, peak RSS,
                 series per second
    forecast     a cold `forecaster forecast` (a new process) against the same forecast through
                 keras.saving.load_model + predict
    distribute   training with --distribute mirrored on two logical CPU devices against one
    panels       one global model over panels of 10, 1,000 and 10,000 series of equal total rows
                 (long format), 200 batches per epoch: seconds per epoch (flat is the goal), the
                 whole run, and peak RSS against the raw float32 data
    long-window  `forecaster train --scaling change --time-steps 672 --horizon 48` on two years of
                 generated half-hourly demand (a weekly cycle of 336 steps): the default epoch,
                 capped at a million window steps, against --steps-per-epoch reading every
                 training window, alternating runs: batches and seconds per epoch, the whole
                 process, and the validation MAE each reaches

Every measurement runs in a fresh process (cold starts and peak memory need one). Prints a
markdown table and writes it with the raw numbers to <output-dir>/speed.md and speed.json.

    python -m benchmarks.speed                          # everything (about 15 minutes, and
                                                        # about 20 more for long-window on 2 CPUs)
    python -m benchmarks.speed --only throughput --repeats 1 --epochs 3
    python -m benchmarks.speed --only long-window --repeats 1 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("throughput", "windowing", "big-train", "many-series", "forecast", "distribute", "panels",
            "long-window")
PANEL_SERIES = (10, 1_000, 10_000)
PANEL_ROWS = 1_000_000  # rows of each panel, all series together
MANY_SERIES, MANY_ROWS = 10_000, 1_000  # the many-series file: 10,000 series x 1,000 days
MANY_ORIGINS = 7  # backtest origins of each series there
LONG_ROWS = 35_040  # two years of half-hours
LONG_TIME_STEPS, LONG_HORIZON = 672, 48  # two weeks of history, one day ahead


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated sections from {','.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each side")
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per throughput and distribute run (panels and long-window: "
                             "2 to 3 of them)")
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the big series")
    parser.add_argument("--output-dir", default="runs/bench")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one measurement, JSON out
    parser.add_argument("--arguments", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print("RESULT " + json.dumps(MEASUREMENTS[args.measure](**json.loads(args.arguments))))
        return 0
    chosen = args.only.split(",") if args.only else list(SECTIONS)
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; expected some of {', '.join(SECTIONS)}")
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        results[name] = SECTION_RUNNERS[name](args, output)
    markdown = _markdown(results)
    header = (f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} CPU "
              f"cores, Python {platform.python_version()}.\n\n")
    (output / "speed.md").write_text(header + markdown + "\n", encoding="utf-8")
    (output / "speed.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\n" + header + markdown)
    print(f"wrote {output / 'speed.md'} and {output / 'speed.json'}")
    return 0


def measure(name: str, env: dict | None = None, **arguments) -> dict:
    """Run measurement `name` in a fresh Python process; its result, with the process's wall time
    and peak RSS."""
    command = [sys.executable, "-m", "benchmarks.speed", "--measure", name,
               "--arguments", json.dumps(arguments)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, **(env or {})})
    out, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"measurement {name} failed ({process.returncode}):\n{err[-3000:]}")
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    return {**result, "process_seconds": wall}


def run_timed(command: list[str], env: dict | None = None, keep_output: bool = False) -> dict:
    """Wall time and peak RSS of a command in its own process, and what it printed on stdout if
    `keep_output`."""
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as printed:
        started = time.perf_counter()  # files, not pipes: a chatty child never blocks
        process = subprocess.Popen(command, cwd=ROOT, stderr=errors,
                                   stdout=printed if keep_output else subprocess.DEVNULL,
                                   env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n"
                               f"{errors.read().decode(errors='replace')[-3000:]}")
        printed.seek(0)
        output = {"stdout": printed.read().decode(errors="replace")} if keep_output else {}
    return {"seconds": wall, "peak_rss_mb": usage.ru_maxrss / 1024, **output}


def run_cluster(command, workers: int) -> dict:
    """`command(index)` run as each of `workers` workers of `--distribute multiworker` on this
    machine (TF_CONFIG on localhost ports): wall time, and each worker's peak RSS (the largest as
    `peak_rss_mb`)."""
    import socket

    sockets = [socket.socket() for _ in range(workers)]
    for each in sockets:
        each.bind(("localhost", 0))
    cluster = {"worker": [f"localhost:{each.getsockname()[1]}" for each in sockets]}
    for each in sockets:
        each.close()
    started, processes = time.perf_counter(), []
    with tempfile.TemporaryFile() as errors:
        for index in range(workers):
            task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            processes.append(subprocess.Popen(command(index), cwd=ROOT, stderr=errors,
                                              stdout=subprocess.DEVNULL,
                                              env={**os.environ, "TF_CONFIG": json.dumps(task)}))
        peaks = []
        for process in processes:
            _, status, usage = os.wait4(process.pid, 0)
            peaks.append(usage.ru_maxrss / 1024)
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise RuntimeError(f"worker of {' '.join(command(0))} failed:\n"
                                   f"{errors.read().decode(errors='replace')[-3000:]}")
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": max(peaks),
            "worker_rss_mb": peaks}


# Measurements, each run in its own process ------------------------------------------------------

CLASSIC_ROWS = 2353  # 1000 training windows of 1000 steps, 353 validation windows (15%)


def _classic_series() -> np.ndarray:
    rng = np.random.default_rng(0)
    steps = np.arange(CLASSIC_ROWS)
    return 10 + np.sin(2 * np.pi * steps / 24) + 0.01 * steps + rng.normal(0, 0.3, CLASSIC_ROWS)


def _measure_plain_keras(epochs: int, variant: str = "plain") -> dict:
    """The classic example as its script writes it: standardise with training statistics, window,
    LSTM(50) -> Dense(1), fit with validation data."""
    from forecaster import backend

    keras = backend.keras()
    keras.utils.set_random_seed(0)
    if variant == "bfloat16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    series = _classic_series()
    mean, std = series[:2000].mean(), series[:2000].std()
    scaled = ((series - mean) / std).astype("float32")
    windows = np.lib.stride_tricks.sliding_window_view(scaled[:-1], 1000)[:, :, None]
    x, y = np.ascontiguousarray(windows[:1000]), scaled[1000:2000, None]
    x_val, y_val = np.ascontiguousarray(windows[1000:]), scaled[2000:, None]
    inputs = keras.Input(shape=(1000, 1))
    outputs = keras.layers.Dense(1)(keras.layers.LSTM(50)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", jit_compile=variant == "xla",
                  steps_per_execution=16 if variant == "steps16" else 1)
    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.started)

    model.fit(x, y, validation_data=(x_val, y_val), batch_size=64, epochs=epochs, callbacks=[Timer()],
              verbose=0)
    return {"epoch_seconds": seconds}


def _measure_forecaster_train(epochs: int, folder: str, extra: dict | None = None) -> dict:
    """The same data and model through forecaster's own training path (`train`)."""
    import pandas as pd

    from forecaster.config import Settings
    from forecaster.training import train

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "classic.csv"
    pd.DataFrame({"time": pd.date_range("2020-01-01", periods=CLASSIC_ROWS, freq="h"),
                  "value": _classic_series()}).to_csv(csv, index=False)
    settings = Settings(csv=str(csv), time_steps=1000, horizon=1, scaling="global", loss="mse",
                        epochs=epochs, patience=epochs, val_fraction=0.15, test_fraction=0.0,
                        seed=0, model_dir=str(folder / "model"), **(extra or {})).validate()
    run = train(settings, verbose=0)
    return {"epoch_seconds": run.epoch_seconds, "replicas": _replicas(run)}


def _measure_panel_train(series: int, rows: int, folder: str, epochs: int) -> dict:
    """`forecaster train` on a long file of `series` hourly series of rows // series rows each,
    200 batches per epoch: seconds per epoch and of the whole run, and the process's peak RSS."""
    import pandas as pd

    from forecaster.config import Settings
    from forecaster.training import train

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"panel-{series}.csv"
    length = rows // series
    rng = np.random.default_rng(series)
    hours = np.arange(length)
    level = np.exp(rng.uniform(0, 7, series))[:, None]  # levels from 1 to about 1000
    values = level * (1 + 0.3 * np.sin(2 * np.pi * hours / 24)[None, :]
                      + rng.normal(0, 0.05, (series, length)))
    pd.DataFrame({"sensor": np.repeat([f"s{k}" for k in range(series)], length),
                  "time": np.tile(pd.date_range("2020-01-01", periods=length, freq="h"), series),
                  "value": values.ravel().round(4)}).to_csv(csv, index=False)
    del values
    started = time.perf_counter()
    settings = Settings(csv=str(csv), id_col=("sensor",), time_steps=24, horizon=6, scaling="window",
                        epochs=epochs, patience=epochs, steps_per_epoch=200, seed=0,
                        model_dir=str(folder / f"model-{series}")).validate()
    run = train(settings, verbose=0)
    return {"epoch_seconds": run.epoch_seconds, "seconds": time.perf_counter() - started,
            "series": run.series, "raw_float32_mb": rows * 4 / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _replicas(run) -> int | None:
    from forecaster.artifacts import load_bundle

    return (load_bundle(run.model_dir).metadata_.get("distribution") or {}).get("replicas")


def _peak_reset() -> int:
    """Reset the process's peak RSS (Linux clear_refs) and return the current RSS in kB."""
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")
    return _status("VmRSS")


def _status(field: str) -> int:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure_windowing(rows: int, side: str, read_windows: int) -> dict:
    """Build the windows of a (rows, 8) float32 series, then read the first `read_windows` of them
    in batches of 256 (copies, as training gets them); time and peak extra memory of each."""
    from forecaster import backend

    keras = backend.keras()  # imported before the baseline on both sides
    from forecaster.windows import make_windows

    values = np.random.default_rng(0).standard_normal((rows, 8), dtype=np.float32)
    baseline = _peak_reset()
    started = time.perf_counter()
    if side == "forecaster":
        inputs, _ = make_windows(values, 168, 24)
        built = time.perf_counter() - started
        build_peak = _status("VmHWM") - baseline
        read = 0
        for start in range(0, min(read_windows, len(inputs)), 256):
            read += len(np.array(inputs[start:min(start + 256, read_windows)]))
    else:
        dataset = keras.utils.timeseries_dataset_from_array(
            values[:-24], None, sequence_length=168, batch_size=256,
            end_index=read_windows + 167 if read_windows < rows - 191 else None)
        built = time.perf_counter() - started
        build_peak = _status("VmHWM") - baseline
        read = 0
        for batch in dataset:
            read += len(batch.numpy())
    total = time.perf_counter() - started
    return {"build_seconds": built, "build_extra_mb": build_peak / 1024, "read_windows": read,
            "read_seconds": total - built, "peak_extra_mb": (_status("VmHWM") - baseline) / 1024,
            "raw_mb": values.nbytes / 2**20}


def _measure_load(csv: str, features: list = (), reader: str = "arrow", target: str | None = "target",
                  id_columns: list = (), share: list | None = None) -> dict:
    """Read a big file as `train` does: time and peak RSS. `reader` "pandas": a CSV read as
    before Arrow (the reader pandas.read_csv, which takes over from Arrow for odd files).
    `share` [worker, workers]: only that worker's series, as `--distribute multiworker` reads."""
    from forecaster.data import read_panel, reading

    if reader == "pandas":
        reading._read_arrow_csv = lambda *arguments: None
    started = time.perf_counter()
    panel = read_panel(csv, target=target, features=tuple(features), id_columns=tuple(id_columns),
                       share=None if share is None else tuple(share))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": int(panel.offsets[-1]),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _measure_baseline_rss() -> dict:
    """Peak RSS of a process that imports Keras and trains a small LSTM: what any run costs."""
    from forecaster import backend
    from forecaster.models import build_model

    backend.keras()
    model = build_model("lstm", 72, 8, 24)
    model.fit(np.zeros((256, 72, 8), "float32"), np.zeros((256, 24), "float32"), verbose=0)
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _measure_tensorflow_rss() -> dict:
    """Peak RSS of a process that has only imported TensorFlow: what any training run costs."""
    import tensorflow  # noqa: F401

    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


MEASUREMENTS = {
    "tensorflow-rss": _measure_tensorflow_rss,
    "plain-keras": _measure_plain_keras,
    "forecaster-train": _measure_forecaster_train,
    "windowing": _measure_windowing,
    "load": _measure_load,
    "baseline-rss": _measure_baseline_rss,
    "panel-train": _measure_panel_train,
}


# Sections ----------------------------------------------------------------------------------------


def _after_first(seconds: list) -> float:
    return statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]


def _throughput(args, output: Path) -> dict:
    plain, ours = [], []
    for repeat in range(args.repeats):  # alternate, so that both sides share the machine's moods
        plain.append(_after_first(measure("plain-keras", epochs=args.epochs)["epoch_seconds"]))
        ours.append(_after_first(measure("forecaster-train", epochs=args.epochs,
                                         folder=str(output / "throughput"))["epoch_seconds"]))
        print(f"   run {repeat + 1}: plain Keras {plain[-1]:.3f} s/epoch, forecaster {ours[-1]:.3f}",
              flush=True)
    tried = {}
    for variant in ("steps16", "bfloat16", "xla"):
        tried[variant] = _after_first(measure("plain-keras", epochs=args.epochs,
                                              variant=variant)["epoch_seconds"])
        print(f"   plain Keras with {variant}: {tried[variant]:.3f} s/epoch", flush=True)
    jit = [_after_first(measure("forecaster-train", epochs=args.epochs, folder=str(output / "jit"),
                                extra={"jit_compile": True})["epoch_seconds"])
           for _ in range(args.repeats)]
    print(f"   forecaster --jit-compile: {statistics.median(jit):.3f} s/epoch", flush=True)
    return {"plain_keras": plain, "forecaster": ours,
            "ratio": statistics.median(ours) / statistics.median(plain), "tried": tried,
            "forecaster_jit": jit}


def _windowing(args, output: Path) -> dict:
    read = 1_000_000  # windows read on both sides; the Keras utility takes ~1.5 min per million
    result = {side: measure("windowing", rows=args.rows, side=side, read_windows=read)
              for side in ("forecaster", "keras")}
    result["forecaster_all"] = measure("windowing", rows=args.rows, side="forecaster",
                                       read_windows=args.rows)
    for side, numbers in result.items():
        print(f"   {side}: build {numbers['build_seconds']:.4f} s (+{numbers['build_extra_mb']:.0f} MB), "
              f"read {numbers['read_windows']} windows in {numbers['read_seconds']:.1f} s, peak "
              f"+{numbers['peak_extra_mb']:.0f} MB", flush=True)
    return result


def _big_columns(rows: int) -> tuple[np.ndarray, list]:
    """The big series' times and its eight columns: a daily cycle, a trend and noise, and seven
    related features."""
    rng = np.random.default_rng(0)
    steps = np.arange(rows)
    target = 10 + 3 * np.sin(2 * np.pi * steps / 24) + 1e-6 * steps + rng.normal(0, 0.3, rows)
    columns = [target] + [target * (0.5 + k / 10) + rng.normal(0, 1, rows) for k in range(7)]
    return np.datetime64("2000-01-01T00:00") + steps.astype("timedelta64[h]"), columns


def _big_parquet(rows: int, output: Path) -> Path:
    """The big series as a Parquet file: the same values as the CSV (rounded alike), times as
    timestamps, in row groups of a million rows."""
    import pyarrow
    import pyarrow.parquet

    path = output / f"big-{rows}.parquet"
    if path.is_file():
        return path
    times, columns = _big_columns(rows)
    names = ["time", "target", *[f"f{k}" for k in range(1, 8)]]
    temporary = path.with_suffix(".tmp")
    table = pyarrow.table([times.astype("datetime64[s]"), *[np.round(c, 4) for c in columns]], names=names)
    pyarrow.parquet.write_table(table, temporary, row_group_size=1_000_000)
    temporary.rename(path)
    return path


def _big_csv(rows: int, output: Path) -> Path:
    """A 10-million-row hourly CSV of `_big_columns`."""
    path = output / f"big-{rows}.csv"
    if path.is_file():
        return path
    times, columns = _big_columns(rows)
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write("time,target," + ",".join(f"f{k}" for k in range(1, 8)) + "\n")
        for start in range(0, rows, 1_000_000):
            stop = min(start + 1_000_000, rows)
            text = np.datetime_as_string(times[start:stop], unit="m")
            body = np.column_stack([np.round(c[start:stop], 4) for c in columns])
            lines = [t + "," + ",".join(f"{v:.4f}" for v in row) for t, row in zip(text, body, strict=True)]
            file.write("\n".join(lines) + "\n")
    temporary.rename(path)
    return path


def _big_train(args, output: Path) -> dict:
    started = time.perf_counter()
    csv = _big_csv(args.rows, output)
    print(f"   {csv} ready in {time.perf_counter() - started:.0f} s "
          f"({csv.stat().st_size / 2**30:.2f} GiB)", flush=True)
    features = [f"f{k}" for k in range(1, 8)]
    raw_mb = args.rows * 8 * 4 / 2**20
    baseline = measure("baseline-rss")
    tensorflow = measure("tensorflow-rss")["peak_rss_mb"]
    load_pandas = measure("load", csv=str(csv), features=features, reader="pandas")
    load = measure("load", csv=str(csv), features=features)
    parquet = _big_parquet(args.rows, output)
    load_parquet = measure("load", csv=str(parquet), features=features)
    train = run_timed([sys.executable, "-m", "forecaster", "train", "--csv", str(csv), "--target",
                       "target", "--features",
                       ",".join(features), "--epochs", "1", "--steps-per-epoch", "300",
                       "--model-dir", str(output / "big-model")])
    result = {"rows": args.rows, "raw_float32_mb": raw_mb, "csv_gib": csv.stat().st_size / 2**30,
              "keras_baseline_rss_mb": baseline["peak_rss_mb"], "tensorflow_rss_mb": tensorflow,
              "load": load, "load_pandas": load_pandas, "train": train,
              "train_extra_over_tensorflow": (train["peak_rss_mb"] - tensorflow) / raw_mb,
              "parquet_mib": parquet.stat().st_size / 2**20, "load_parquet": load_parquet,
              "train_rss_over_raw": train["peak_rss_mb"] / raw_mb,
              "train_extra_rss_over_raw": (train["peak_rss_mb"] - baseline["peak_rss_mb"]) / raw_mb}
    print(f"   load {load['seconds']:.1f} s (peak RSS {load['peak_rss_mb']:.0f} MB; by pandas "
          f"{load_pandas['seconds']:.1f} s, {load_pandas['peak_rss_mb']:.0f} MB), as Parquet "
          f"{load_parquet['seconds']:.1f} s ({load_parquet['peak_rss_mb']:.0f} MB); train "
          f"{train['seconds']:.0f} s, peak RSS {train['peak_rss_mb']:.0f} MB = "
          f"{result['train_rss_over_raw']:.2f} x raw {raw_mb:.0f} MB (Keras alone "
          f"{baseline['peak_rss_mb']:.0f} MB; TensorFlow imported {tensorflow:.0f} MB)", flush=True)
    return result


def _forecast(args, output: Path) -> dict:
    model_dir = output / "forecast-model"
    csv = ROOT / "data" / "seattle-temps.csv"
    run_timed([sys.executable, "-m", "forecaster", "train", "--csv", str(csv), "--model-dir",
               str(model_dir), "--epochs", "2", "--scaling", "change"])
    cli = ROOT / ".venv" / "bin" / "forecaster"
    command = [str(cli) if cli.exists() else "forecaster", "forecast", "--model-dir", str(model_dir),
               "--csv", str(csv), "--output", str(output / "forecast.csv")]
    keras_script = (
        "import keras, numpy as np, pandas as pd\n"
        "from forecaster.artifacts import load_bundle\n"
        "from forecaster.data import read_panel\n"
        f"bundle = load_bundle({str(model_dir)!r})\n"
        "model = keras.saving.load_model(bundle.directory_ / 'model.keras', compile=False)\n"
        f"history = read_panel({str(csv)!r}, schema=bundle.schema_).values(0, bundle.settings_.fill)\n"
        "representation = bundle.members_[0][1]\n"
        "window = representation.windows(history[None], [0])\n"
        "forecast = representation.decode(model.predict(window, verbose=0), history[None, :, 0], [0])\n")
    ours, plain = [], []
    for _ in range(max(args.repeats, 5)):
        ours.append(run_timed(command)["seconds"])
        plain.append(run_timed([sys.executable, "-c", keras_script])["seconds"])
    print(f"   cold forecaster forecast {statistics.median(ours):.2f} s; load_model + predict "
          f"{statistics.median(plain):.2f} s (medians of {len(ours)})", flush=True)
    return {"forecaster_forecast": ours, "keras_load_predict": plain,
            "ratio": statistics.median(ours) / statistics.median(plain)}


def _distribute(args, output: Path) -> dict:
    one, two = [], []
    for _ in range(args.repeats):
        one.append(_after_first(measure("forecaster-train", epochs=args.epochs,
                                        folder=str(output / "one-device"))["epoch_seconds"]))
        mirrored = measure("forecaster-train", env={"FORECASTER_CPU_DEVICES": "2"}, epochs=args.epochs,
                           folder=str(output / "mirrored"), extra={"distribute": "mirrored"})
        two.append(_after_first(mirrored["epoch_seconds"]))
        print(f"   one device {one[-1]:.3f} s/epoch, mirrored on {mirrored['replicas']} logical CPUs "
              f"{two[-1]:.3f}", flush=True)
    return {"one_device": one, "mirrored_two_cpus": two,
            "ratio": statistics.median(two) / statistics.median(one)}


def _panels(args, output: Path) -> dict:
    results = {}
    for series in PANEL_SERIES:
        result = measure("panel-train", series=series, rows=PANEL_ROWS, folder=str(output / "panels"),
                         epochs=max(2, min(args.epochs, 3)))
        results[str(series)] = result
        print(f"   {series:,} series of {PANEL_ROWS // series:,} rows: "
              f"{_after_first(result['epoch_seconds']):.2f} s/epoch, {result['seconds']:.0f} s in all, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    results["baseline_rss_mb"] = measure("baseline-rss")["peak_rss_mb"]
    return results


def _long_csv(folder: Path) -> Path:
    """Two years of half-hourly demand from Monday 2022-01-03: a daily profile with two peaks on
    weekdays and one broad one at weekends (so a week, 336 steps, is a real cycle), plus AR(1)
    noise (0.7)."""
    rng = np.random.default_rng(0)
    steps = np.arange(LONG_ROWS)
    hours = (steps % 48) / 2
    weekend = (steps // 48) % 7 >= 5
    weekday_profile = (60 + 25 * np.exp(-((hours - 8) / 2) ** 2) + 30 * np.exp(-((hours - 18.5) / 2.5) ** 2)
                       - 10 * np.cos(2 * np.pi * hours / 24))
    weekend_profile = 50 + 20 * np.exp(-((hours - 12.5) / 3.5) ** 2) - 8 * np.cos(2 * np.pi * hours / 24)
    shocks = rng.normal(0, 2, LONG_ROWS)
    noise = np.zeros(LONG_ROWS)
    for step in range(1, LONG_ROWS):
        noise[step] = 0.7 * noise[step - 1] + shocks[step]
    demand = np.where(weekend, weekend_profile, weekday_profile) + noise
    times = np.datetime64("2022-01-03T00:00") + steps * np.timedelta64(30, "m")
    text = np.char.replace(np.datetime_as_string(times, unit="m"), "T", " ")  # %Y-%m-%d %H:%M
    path = folder / "half-hourly-demand.csv"
    path.write_text("time,demand\n" + "".join(f"{t},{v:.3f}\n" for t, v in zip(text, demand, strict=True)),
                    encoding="utf-8")
    return path


def _long_train_run(found: dict, model_dir: Path) -> dict:
    """What one `forecaster train` printed and saved: batches per epoch (Keras's "N/N - 12s"
    lines), seconds of each epoch, and the validation MAE of its "saved ... (val MAE X" line."""
    from forecaster.artifacts import METADATA_FILE

    printed = found.pop("stdout")
    batches = [int(total) for total in re.findall(r"^\s*\d+/(\d+) - \d+s", printed, re.MULTILINE)]
    saved = re.search(r"^saved .*\(val MAE ([-+.\deE]+) .*$", printed, re.MULTILINE)
    if not batches or saved is None:
        raise RuntimeError(f"forecaster train printed no progress or no 'saved' line:\n{printed[-3000:]}")
    metadata = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    return {**found, "batches_per_epoch": batches[-1], "epoch_seconds": metadata["epoch_seconds"],
            "val_mae": float(saved.group(1)), "best_epoch": metadata["best_epoch"],
            "saved_line": saved.group(0)}


def _long_window(args, output: Path) -> dict:
    epochs = max(2, min(args.epochs, 3))
    sides = {"capped": [],  # the default: at most WINDOW_STEPS_PER_EPOCH window steps an epoch
             "uncapped": ["--steps-per-epoch", str(LONG_ROWS)]}  # more than the batches there are
    results = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as folder:
        csv = _long_csv(Path(folder))
        for repeat in range(args.repeats):  # alternate, so that both sides share the machine's moods
            for side, flags in sides.items():
                model_dir = Path(folder) / f"model-{side}"
                found = run_timed([sys.executable, "-m", "forecaster", "train", "--csv", str(csv),
                                   "--target", "demand", "--scaling", "change", "--time-steps",
                                   str(LONG_TIME_STEPS), "--horizon", str(LONG_HORIZON), "--epochs",
                                   str(epochs), "--model-dir", str(model_dir), *flags], keep_output=True)
                results[side].append(_long_train_run(found, model_dir))
            capped, uncapped = results["capped"][-1], results["uncapped"][-1]
            print(f"   run {repeat + 1}: capped {capped['batches_per_epoch']} batches, "
                  f"{_after_first(capped['epoch_seconds']):.1f} s/epoch, {capped['seconds']:.0f} s in "
                  f"all, val MAE {capped['val_mae']:.4g}; every window {uncapped['batches_per_epoch']} "
                  f"batches, {_after_first(uncapped['epoch_seconds']):.1f} s/epoch, "
                  f"{uncapped['seconds']:.0f} s in all, val MAE {uncapped['val_mae']:.4g}", flush=True)
    return {"rows": LONG_ROWS, "time_steps": LONG_TIME_STEPS, "horizon": LONG_HORIZON,
            "epochs": epochs, **results,
            "ratio": {key: _median_run(results["uncapped"], key) / _median_run(results["capped"], key)
                      for key in ("batches_per_epoch", "epoch_seconds", "seconds", "val_mae")}}


def _median_run(runs: list, key: str) -> float:
    """The median of `key` over runs; of epoch_seconds, of each run's seconds after the first."""
    return statistics.median(_after_first(run[key]) if key == "epoch_seconds" else run[key]
                             for run in runs)


SECTION_RUNNERS = {"throughput": _throughput, "windowing": _windowing, "big-train": _big_train,
                   "many-series": lambda args, output: _many_series(args, output),  # defined below
                   "forecast": _forecast, "distribute": _distribute, "panels": _panels,
                   "long-window": _long_window}


def _markdown(results: dict) -> str:
    rows = ["| measurement | forecaster | reference | ratio |", "|---|---|---|---|"]
    if "throughput" in results:
        r = results["throughput"]
        rows.append(f"| training, classic example (s/epoch after the first, median of "
                    f"{len(r['forecaster'])}) | {statistics.median(r['forecaster']):.3f} | plain Keras "
                    f"{statistics.median(r['plain_keras']):.3f} | {r['ratio']:.3f} |")
        plain = statistics.median(r["plain_keras"])
        for variant, seconds in r["tried"].items():
            rows.append(f"| plain Keras with {variant} (tried) | | {seconds:.3f} | "
                        f"{seconds / plain:.3f} of plain |")
        jit = statistics.median(r["forecaster_jit"])
        rows.append(f"| forecaster --jit-compile (XLA; not bit-repeatable) | {jit:.3f} | plain Keras "
                    f"{plain:.3f} | {jit / plain:.3f} |")
    if "windowing" in results:
        r = results["windowing"]
        ours, keras = r["forecaster"], r["keras"]
        rows.append(f"| windows of 10M x 8 float32: build (s) | {ours['build_seconds']:.4f} | "
                    f"timeseries_dataset_from_array {keras['build_seconds']:.4f} | |")
        rows.append(f"| read {ours['read_windows']:,} windows in batches of 256 (s) | "
                    f"{ours['read_seconds']:.2f} | {keras['read_seconds']:.2f} | "
                    f"{keras['read_seconds'] / ours['read_seconds']:.0f}x faster |")
        rows.append(f"| peak extra memory (MB; raw data {ours['raw_mb']:.0f}) | "
                    f"{ours['peak_extra_mb']:.0f} | {keras['peak_extra_mb']:.0f} | |")
        every = r["forecaster_all"]
        rows.append(f"| read all {every['read_windows']:,} windows (s, peak extra MB) | "
                    f"{every['read_seconds']:.1f}, +{every['peak_extra_mb']:.0f} | | |")
    if "big-train" in results:
        r = results["big-train"]
        before = r.get("load_pandas")
        rows.append(f"| read a {r['rows']:,}-row CSV ({r['csv_gib']:.2f} GiB) (s; peak RSS MB) | "
                    f"{r['load']['seconds']:.1f}; {r['load']['peak_rss_mb']:.0f} | "
                    + (f"pandas.read_csv {before['seconds']:.1f}; {before['peak_rss_mb']:.0f} | "
                       f"{before['seconds'] / r['load']['seconds']:.1f}x faster |" if before else "| |"))
        if "load_parquet" in r:
            parquet = r["load_parquet"]
            rows.append(f"| ... the same rows as Parquet ({r['parquet_mib']:.0f} MiB) (s; peak RSS MB) | "
                        f"{parquet['seconds']:.1f}; {parquet['peak_rss_mb']:.0f} | the CSV "
                        f"{r['load']['seconds']:.1f} | {r['load']['seconds'] / parquet['seconds']:.1f}x "
                        f"faster |")
        rows.append(f"| train 1 epoch x 300 steps on it: peak RSS (MB) | {r['train']['peak_rss_mb']:.0f} | "
                    f"raw float32 {r['raw_float32_mb']:.0f} | {r['train_rss_over_raw']:.2f}x raw |")
        rows.append(f"| ... less Keras's own peak ({r['keras_baseline_rss_mb']:.0f} MB) | "
                    f"{r['train']['peak_rss_mb'] - r['keras_baseline_rss_mb']:.0f} | | "
                    f"{r['train_extra_rss_over_raw']:.2f}x raw |")
        if "tensorflow_rss_mb" in r:
            rows.append(f"| ... less a process that only imported TensorFlow ({r['tensorflow_rss_mb']:.0f} "
                        f"MB) | {r['train']['peak_rss_mb'] - r['tensorflow_rss_mb']:.0f} | | "
                        f"{r['train_extra_over_tensorflow']:.2f}x raw |")
    if "many-series" in results:
        r = results["many-series"]
        what = f"{r['series']:,} series x {r['rows']:,} days"
        pandas_, arrow, parquet = (r["load"][name] for name in ("pandas", "arrow", "parquet"))
        rows.append(f"| read {what} ({r['csv_mib']:.0f} MiB CSV) (s; peak RSS MB) | {arrow['seconds']:.1f}; "
                    f"{arrow['peak_rss_mb']:.0f} | pandas.read_csv {pandas_['seconds']:.1f}; "
                    f"{pandas_['peak_rss_mb']:.0f} | {pandas_['seconds'] / arrow['seconds']:.1f}x faster |")
        rows.append(f"| ... as Parquet ({r['parquet_mib']:.0f} MiB) | {parquet['seconds']:.1f}; "
                    f"{parquet['peak_rss_mb']:.0f} | the CSV {arrow['seconds']:.1f} | "
                    f"{arrow['seconds'] / parquet['seconds']:.1f}x faster |")
        extra = r["train"]["peak_rss_mb"] - r["tensorflow_rss_mb"]
        rows.append(f"| `train` on it, 1 epoch x 300 steps (s; peak RSS MB) | {r['train']['seconds']:.0f}; "
                    f"{r['train']['peak_rss_mb']:.0f} | less TensorFlow imported "
                    f"({r['tensorflow_rss_mb']:.0f}): {extra:.0f} | "
                    f"{r['train_extra_over_values']:.1f}x the values, "
                    f"{r['train_extra_over_cells']:.1f}x every cell as float32 |")
        if "parquet, a quarter" in r["load"]:
            quarter = r["load"]["parquet, a quarter"]
            rows.append(f"| ... a quarter of its series (one of 4 workers), Parquet | "
                        f"{quarter['seconds']:.1f}; {quarter['peak_rss_mb']:.0f} | every series "
                        f"{parquet['seconds']:.1f}; {parquet['peak_rss_mb']:.0f} | "
                        f"{quarter['peak_rss_mb'] / parquet['peak_rss_mb']:.2f}x the memory |")
        if "train, 2 workers" in r:
            one, two = r["train, 1 worker"], r["train, 2 workers"]
            rows.append(f"| `train --distribute multiworker`, 2 local workers each reading its "
                        f"series (1 epoch x 100 steps; s; each worker's peak RSS MB) | "
                        f"{two['seconds']:.0f}; {', '.join(f'{m:.0f}' for m in two['worker_rss_mb'])} "
                        f"| 1 worker {one['seconds']:.0f}; {one['peak_rss_mb']:.0f} | "
                        f"{two['seconds'] / one['seconds']:.2f}x the time |")
        for name in ("backtest", "forecast"):
            found = r[name]
            what = f"last {r['origins']} origins" if name == "backtest" else "from the Parquet file"
            rows.append(f"| `{name}` of every series ({what}; s; peak RSS MB) | {found['seconds']:.1f}; "
                        f"{found['peak_rss_mb']:.0f} | | {r['series'] / found['seconds']:.0f} series/s |")
    if "forecast" in results:
        r = results["forecast"]
        rows.append(f"| cold forecast, new process (s, median) | "
                    f"{statistics.median(r['forecaster_forecast']):.2f} | load_model + predict "
                    f"{statistics.median(r['keras_load_predict']):.2f} | {r['ratio']:.2f} |")
    if "distribute" in results:
        r = results["distribute"]
        rows.append(f"| classic example, --distribute mirrored on 2 logical CPUs (s/epoch) | "
                    f"{statistics.median(r['mirrored_two_cpus']):.3f} | one device "
                    f"{statistics.median(r['one_device']):.3f} | {r['ratio']:.2f} |")
    if "panels" in results:
        r = results["panels"]
        first = _after_first(r[str(PANEL_SERIES[0])]["epoch_seconds"])
        for series in PANEL_SERIES:
            found = r[str(series)]
            epoch = _after_first(found["epoch_seconds"])
            rows.append(f"| one model over {series:,} series x {PANEL_ROWS // series:,} rows: s/epoch "
                        f"(200 batches), whole run s | {epoch:.2f}, {found['seconds']:.0f} | "
                        f"{PANEL_SERIES[0]} series {first:.2f} | {epoch / first:.2f} |")
        largest = r[str(PANEL_SERIES[-1])]
        extra = largest["peak_rss_mb"] - r["baseline_rss_mb"]
        rows.append(f"| {PANEL_SERIES[-1]:,}-series panel: peak RSS less Keras's own "
                    f"({r['baseline_rss_mb']:.0f} MB) | {extra:.0f} MB | raw float32 "
                    f"{largest['raw_float32_mb']:.1f} MB | {extra / largest['raw_float32_mb']:.1f}x raw |")
    if "long-window" in results:
        r = results["long-window"]
        capped, uncapped, ratio = r["capped"], r["uncapped"], r["ratio"]
        median = _median_run
        what = (f"{r['rows']:,} half-hours, --time-steps {r['time_steps']} --horizon {r['horizon']}, "
                f"{r['epochs']} epochs, median of {len(capped)}; ratio uncapped / capped")
        rows.append(f"| {what}: batches per epoch | {median(capped, 'batches_per_epoch'):.0f} (default "
                    f"cap) | every window {median(uncapped, 'batches_per_epoch'):.0f} | "
                    f"{ratio['batches_per_epoch']:.1f} |")
        rows.append(f"| ... s/epoch after the first | {median(capped, 'epoch_seconds'):.1f} | "
                    f"{median(uncapped, 'epoch_seconds'):.1f} | {ratio['epoch_seconds']:.1f} |")
        rows.append(f"| ... whole train process (s) | {median(capped, 'seconds'):.0f} | "
                    f"{median(uncapped, 'seconds'):.0f} | {ratio['seconds']:.1f} |")
        rows.append(f"| ... val MAE (demand) | {median(capped, 'val_mae'):.4g} | "
                    f"{median(uncapped, 'val_mae'):.4g} | {ratio['val_mae']:.3f} |")
    return "\n".join(rows)



def _many_series(args, output: Path) -> dict:
    """10,000 daily series x 1,000 days in one long file: reading it (pandas as before Arrow,
    Arrow, Parquet), then `train`, `backtest` and `forecast` from the command line, each in its
    own process: seconds, peak RSS, series per second."""
    started = time.perf_counter()
    csv, parquet = _many_files(MANY_SERIES, MANY_ROWS, output)
    print(f"   {csv} ready in {time.perf_counter() - started:.0f} s "
          f"({csv.stat().st_size / 2**20:.0f} MiB; Parquet {parquet.stat().st_size / 2**20:.0f} MiB)",
          flush=True)
    read = {"target": "sales", "id_columns": ["item"]}
    loads = {"pandas": measure("load", csv=str(csv), reader="pandas", **read),
             "arrow": measure("load", csv=str(csv), **read),
             "parquet": measure("load", csv=str(parquet), **read),
             "arrow, a quarter": measure("load", csv=str(csv), share=[0, 4], **read),
             "parquet, a quarter": measure("load", csv=str(parquet), share=[0, 4], **read)}
    tensorflow = measure("tensorflow-rss")["peak_rss_mb"]
    model = output / "many-model"
    cli = [sys.executable, "-m", "forecaster"]
    runs = {"train": run_timed([*cli, "train", "--csv", str(csv), "--id-col", "item", "--target", "sales",
                                "--epochs", "1", "--steps-per-epoch", "300", "--model-dir", str(model)]),
            "backtest": run_timed([*cli, "backtest", "--model-dir", str(model), "--csv", str(csv),
                                   "--last", str(MANY_ORIGINS), "--output",
                                   str(output / "many-backtest.csv")]),
            "forecast": run_timed([*cli, "forecast", "--model-dir", str(model), "--csv", str(parquet),
                                   "--output", str(output / "many-forecast.csv")])}
    trained = ["--target", "sales", "--epochs", "1", "--steps-per-epoch", "100", "--scaling", "window",
               "--id-col", "item", "--distribute", "multiworker"]
    for workers in (1, 2):  # each worker reads its own series
        runs[f"train, {workers} worker{'s' if workers > 1 else ''}"] = run_cluster(
            lambda index, workers=workers: [*cli, "train", "--csv", str(parquet), *trained, "--model-dir",
                                            str(output / f"many-model-{workers}w-{index}")], workers)
    values_mb = MANY_SERIES * MANY_ROWS * 4 / 2**20  # the sales column as float32
    result = {"series": MANY_SERIES, "rows": MANY_ROWS, "origins": MANY_ORIGINS,
              "csv_mib": csv.stat().st_size / 2**20, "parquet_mib": parquet.stat().st_size / 2**20,
              "values_float32_mb": values_mb, "tensorflow_rss_mb": tensorflow, "load": loads, **runs,
              "train_extra_over_values": (runs["train"]["peak_rss_mb"] - tensorflow) / values_mb,
              "train_extra_over_cells": (runs["train"]["peak_rss_mb"] - tensorflow) / (3 * values_mb)}
    for name, found in loads.items():
        print(f"   read ({name}) {found['seconds']:.1f} s, peak RSS {found['peak_rss_mb']:.0f} MB",
              flush=True)
    for name, found in runs.items():
        each = ", ".join(f"{peak:.0f}" for peak in found.get("worker_rss_mb", []))
        print(f"   {name} {found['seconds']:.1f} s ({MANY_SERIES / found['seconds']:.0f} series/s), "
              f"peak RSS {found['peak_rss_mb']:.0f} MB{f' (each worker: {each})' if each else ''}",
              flush=True)
    return result


def _many_columns(series: int, rows: int) -> dict:
    """`series` daily series of `rows` days each, long format (item, date, sales): levels from 1
    to about 1000, a weekly cycle, a slow trend and noise."""
    import pandas as pd

    rng = np.random.default_rng(series)
    days = np.arange(rows)
    level = np.exp(rng.uniform(0, 7, series))[:, None]
    weekly = 1 + 0.3 * np.sin(2 * np.pi * (days + rng.integers(0, 7, series)[:, None]) / 7)
    values = level * (weekly + 1e-4 * days + rng.normal(0, 0.05, (series, rows)))
    return {"item": np.repeat(np.char.add("item-", np.char.zfill(np.arange(series).astype(str), 5)), rows),
            "date": np.tile(pd.date_range("2021-01-01", periods=rows, freq="D").to_numpy(), series),
            "sales": values.ravel().round(3)}


def _many_files(series: int, rows: int, output: Path) -> tuple[Path, Path]:
    """The many-series file as CSV and as Parquet (row groups of a million rows)."""
    import pyarrow
    import pyarrow.parquet

    csv, parquet = output / f"many-{series}x{rows}.csv", output / f"many-{series}x{rows}.parquet"
    if csv.is_file() and parquet.is_file():
        return csv, parquet
    columns = _many_columns(series, rows)
    table = pyarrow.table({"item": columns["item"], "date": columns["date"].astype("datetime64[s]"),
                           "sales": columns["sales"]})
    pyarrow.parquet.write_table(table, parquet.with_suffix(".tmp"), row_group_size=1_000_000)
    parquet.with_suffix(".tmp").rename(parquet)
    dates = np.datetime_as_string(columns["date"][:rows], unit="D")
    with open(csv.with_suffix(".tmp"), "w", encoding="utf-8") as file:
        file.write("item,date,sales\n")
        for k in range(series):
            block = slice(k * rows, (k + 1) * rows)
            item = columns["item"][k * rows]
            file.write("".join(f"{item},{d},{v:.3f}\n" for d, v in
                               zip(dates, columns["sales"][block], strict=True)))
    csv.with_suffix(".tmp").rename(csv)
    return csv, parquet


if __name__ == "__main__":
    sys.exit(main())
