"""`make benchmark`: one data set, one epoch, written under tmp_path only."""

from __future__ import annotations

import json

import pytest

from benchmarks.backtests import COLUMNS, main
from forecaster.evaluation import BASELINES


@pytest.mark.slow
def test_benchmark_writes_one_markdown_table_and_its_json(tmp_path, capsys):
    reports, models = tmp_path / "reports", tmp_path / "models"
    status = main(["--only", "elnino", "--epochs", "1", "--output-dir", str(reports),
                   "--models-dir", str(models)])

    assert status == 0
    lines = (reports / "backtests.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[COLUMNS.index("forecaster")] for row in cells] == ["lstm", *BASELINES]
    assert cells[0][0] == "elnino (sst)" and cells[0][COLUMNS.index("80% coverage")].endswith("%")
    assert "\n".join(lines) in capsys.readouterr().out

    summary = json.loads((reports / "backtests.json").read_text(encoding="utf-8"))
    [result] = summary["data_sets"]
    assert result["data_set"] == "elnino" and result["origins"] > 0
    assert set(result["metrics"]) == {"lstm", *BASELINES} and set(result["coverage"]) == {"80", "95"}
    assert (models / "elnino" / "model.keras").is_file()
    assert (reports / "elnino" / "metrics.json").is_file()


def test_an_unknown_data_set_is_refused(capsys):
    assert main(["--only", "nowhere"]) == 2
    assert "invalid choice: 'nowhere'" in capsys.readouterr().err
