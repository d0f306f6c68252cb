"""compare: every family on the same split and seed, scored next to the baselines, and timed."""

from __future__ import annotations

import json
import re

import pytest

from forecaster.cli import main
from forecaster.comparison import parse_models
from forecaster.errors import UserError


def test_model_list_is_checked():
    assert parse_models("lstm, gru,lstm") == ["lstm", "gru"]
    with pytest.raises(UserError, match="names cnn; expected a comma-separated list from lstm"):
        parse_models("lstm,cnn")


@pytest.mark.slow
def test_compare_two_families(tmp_path, capsys, hourly_csv):
    out = tmp_path / "cmp"
    assert main(["compare", "--csv", str(hourly_csv), "--models", "lstm,dense", "--epochs", "1",
                 "--time-steps", "24", "--horizon", "6", "--scaling", "global",
                 "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert [row["name"] for row in rows] == ["lstm", "dense", "naive", "seasonal_naive", "mean",
                                             "drift", "ridge"]
    assert all(row["seconds_per_epoch"] > 0 and row["epochs"] == 1 for row in rows[:2])
    assert rows[0]["origins"] == rows[1]["origins"] == 67  # the same test origins for both
    assert "s/epoch" in printed and "dense" in printed
    assert re.search(r"^dense .* global$", printed, re.M)  # the member kept, named
    assert (out / "compare.png").stat().st_size > 10_000
    assert (out / "lstm" / "model.keras").exists() and (out / "dense" / "report.html").exists()


def test_compare_needs_a_test_split(hourly_csv, capsys):
    assert main(["compare", "--csv", str(hourly_csv), "--test-fraction", "0"]) == 2
    assert "use a --test-fraction above 0" in capsys.readouterr().err
