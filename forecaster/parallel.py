"""Many series forecast, backtested or evaluated on Ray: the series split into partitions, each
a Ray task that loads the model bundle once and works on its own series.

The work is the same function either way (`task(model, panel, origins) -> {name: array}`, one row
per origin), so the results are those of one process, to the last digit: a forecast of a series
reads that series alone. Ray is an optional extra (`pip install forecaster[ray]`); `address`
"auto" starts a local cluster on this machine, anything else is a cluster's address (as
`ray.init` takes it: "ray://head:10001", or "head:6379" from one of its nodes).
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import numpy as np

from forecaster.artifacts import load_bundle
from forecaster.data import Panel
from forecaster.errors import UserError

PARTITIONS_PER_CPU = 2  # more partitions than workers, so that one slow partition does not hold all


def run_by_series(task, model, model_dir, panel: Panel, origins: np.ndarray, address: str | None,
                  **options) -> dict:
    """{name: (origins, ...) array} of `task(model, panel, origins, **options)`: here when
    `address` is None, else on Ray, the series of `panel` in partitions of whole series (each
    task loads the bundle in `model_dir` once), its rows put back in the order of `origins`."""
    if address is None:
        return task(model, panel, origins, **options)
    if model_dir is None:
        raise ValueError("running on Ray needs the model's bundle folder (model_dir): each task "
                         "loads the model from it; pass model_dir, or ray=None to run here")
    ray, remote = _connect(address)
    partitions = _partitions(origins, int(ray.cluster_resources().get("CPU", 1)) * PARTITIONS_PER_CPU)
    bundle = ray.put(_bundle_files(model_dir))
    futures, places = [], []
    for series in partitions:
        rows = np.flatnonzero(np.isin(origins[:, 0], series))
        renumbered = np.column_stack([np.searchsorted(series, origins[rows, 0]), origins[rows, 1]])
        futures.append(remote.remote(task, bundle, panel.select(series), renumbered, options))
        places.append(rows)
    try:
        parts = ray.get(futures)
    except ray.exceptions.RayTaskError as error:
        cause = error.as_instanceof_cause()
        if isinstance(cause, UserError):
            raise UserError(str(cause).splitlines()[-1]) from None
        raise
    return _merged(parts, places, len(origins))


def _connect(address: str):
    """Ray, connected to the cluster at `address` ("auto": a local one started here), and the
    remote version of `_run_partition`."""
    try:
        import ray
    except ImportError:
        raise UserError(
            f"--ray {address} runs on Ray, which is not installed; install the extra with "
            f"`pip install 'forecaster[ray]'`, or leave out --ray.") from None
    if not ray.is_initialized():
        _refuse_unreachable(address)
        try:
            ray.init(address=None if address == "auto" else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UserError(
                f"--ray {address}: cannot connect to a Ray cluster there ({reason}); expected "
                f"'auto' (a local cluster) or a running cluster's address, such as "
                f"ray://head:10001.") from None
    return ray, ray.remote(_run_partition)


def _refuse_unreachable(address: str, seconds: float = 5.0) -> None:
    """A UserError, at once, for a cluster address (host:port, or ray://host:port) where nothing
    answers: `ray.init` would wait minutes for it."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: ray.init says what it makes of it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as error:
        raise UserError(
            f"--ray {address}: nothing answers at {host}:{port} ({error.strerror or error}); expected "
            f"a running Ray cluster's address (`ray start --head` prints it; ray://HOST:10001 for "
            f"Ray Client), or 'auto' for a local cluster.") from None


def _run_partition(task, files: dict, panel: Panel, origins: np.ndarray, options: dict) -> dict:
    """One Ray task: the bundle written out from `files` and loaded once, then `task` on the
    partition's series."""
    with tempfile.TemporaryDirectory(prefix="forecaster-bundle-") as folder:
        for name, data in files.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        model = load_bundle(folder)
    return task(model, panel, origins, **options)


def _bundle_files(model_dir) -> dict:
    """{relative path: bytes} of every file of the bundle, sent to the workers once: a cluster's
    nodes need not share a file system."""
    root = Path(model_dir)
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file()}


def _partitions(origins: np.ndarray, most: int) -> list[np.ndarray]:
    """The series that have origins, in order, cut into at most `most` runs of consecutive
    series holding about as many origins each."""
    series, counts = np.unique(origins[:, 0], return_counts=True)
    if len(series) == 0:
        return []
    parts = min(most, len(series))
    if parts == len(series):
        return [series[k:k + 1] for k in range(parts)]
    cuts = np.searchsorted(np.cumsum(counts), np.arange(1, parts) * counts.sum() / parts, side="right")
    return [found for found in np.split(series, np.unique(cuts)) if len(found)]


def _merged(parts: list[dict], places: list[np.ndarray], total: int) -> dict:
    """The partitions' arrays put back together, row `places[i][j]` from row j of part i."""
    merged = {}
    for name, first in parts[0].items():
        array = np.empty((total, *first.shape[1:]), dtype=first.dtype)
        for part, rows in zip(parts, places, strict=True):
            array[rows] = part[name]
        merged[name] = array
    return merged
