"""The notebooks are executed, so they never rot: each must run top to bottom without an error and
write its evaluation report."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# The folder each notebook's `evaluate` writes its report to, under the folder it runs in.
REPORTS = {"01-quickstart.ipynb": "reports/elnino", "02-many-series.ipynb": "reports/us-employment"}


def test_every_notebook_names_its_report():
    assert [path.name for path in NOTEBOOKS] == sorted(REPORTS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert (tmp_path / REPORTS[path.name] / "predictions.png").exists()
    if path.name == "01-quickstart.ipynb":  # it draws what a forecast rests on
        assert (tmp_path / REPORTS[path.name] / "explain-2008.png").exists()
