"""End-to-end: the command line as a user runs it, through main([...]) and as a real process."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from forecaster.artifacts import member_files
from forecaster.cli import main
from tests.conftest import write_hourly_csv


def test_no_arguments_prints_help_and_succeeds(capsys):
    assert main([]) == 0
    assert "train" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["train", "evaluate", "forecast"])
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "--model-dir" in capsys.readouterr().out


def test_missing_csv_is_one_line_and_exit_2(tmp_path, capsys):
    status = main(["train", "--csv", str(tmp_path / "nope.csv"), "--model-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "nope.csv does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_bad_flag_value_is_exit_2(tmp_path, capsys, hourly_csv):
    assert main(["train", "--csv", str(hourly_csv), "--time-steps", "0"]) == 2
    assert "--time-steps is 0" in capsys.readouterr().err


def test_unknown_target_names_the_columns(capsys, hourly_csv):
    assert main(["train", "--csv", str(hourly_csv), "--target", "Load"]) == 2
    err = capsys.readouterr().err
    assert "no column 'Load'" in err and "'time', 'load'" in err


def test_short_file_trains_with_notes_on_what_was_cut(tmp_path, capsys):
    csv = tmp_path / "short.csv"
    write_hourly_csv(csv, rows=120)
    assert main(["train", "--csv", str(csv), "--epochs", "1", "--scaling", "global",
                 "--model-dir", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert ("is short (120 rows), so the defaults for 'h' data were cut: "
            "time_steps 72 -> 18, horizon 24 -> 10") in err
    assert "the validation split holds only 9 forecast origins" in err


def test_evaluate_without_a_model_says_how_to_train_one(tmp_path, capsys):
    assert main(["evaluate", "--model-dir", str(tmp_path / "none")]) == 2
    assert "forecaster train" in capsys.readouterr().err


@pytest.mark.slow
def test_train_evaluate_forecast(tmp_path, capsys, hourly_csv):
    model_dir, reports = tmp_path / "model", tmp_path / "reports"
    status = main(["train", "--csv", str(hourly_csv), "--time-steps", "24", "--horizon", "6",
                   "--epochs", "2", "--model-dir", str(model_dir)])
    out, err = capsys.readouterr()
    assert status == 0
    assert f"saved {model_dir} (val MAE" in out and "load" in out
    # 36 of the 67 validation origins choose (fewer than 100): every candidate is also trained on
    # the rows before two earlier stretches of 72 hours and scored there, and the members are
    # chosen on all three.
    assert ("the validation split gives only 36 origins to choose on, so every candidate was also "
            "trained on the rows before 2 earlier stretches of its length and scored there "
            "(2021-03-12 to 2021-03-14; 2021-03-09 to 2021-03-11; 134 origins)") in err
    folds = json.loads((model_dir / "metadata.json").read_text())["choice_folds"]
    times = pd.to_datetime(pd.read_csv(hourly_csv)["time"])
    assert [fold["span"] for fold in folds] == [[times[264].isoformat(), times[335].isoformat()],
                                                [times[192].isoformat(), times[263].isoformat()]]
    assert [fold["origins"] for fold in folds] == [67, 67]
    kept = re.search(r"; scaling (\S+) of ", out).group(1).split("+")
    assert len(kept) > 1  # on this file, a mean of members (each a network or a ridge) validates best
    assert {p.name for p in model_dir.iterdir()} == {
        "model.keras", "settings.json", "scaling.json", "schema.json", "metadata.json", "baselines.json",
        "intervals.json", "series.json", "manifest.json", *member_files(len(kept))}

    assert main(["evaluate", "--model-dir", str(model_dir), "--output-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "seasonal_naive" in out and "MAE by step" in out
    assert f"lstm: the mean forecast of {', '.join(kept)}, chosen on validation" in out
    metrics = json.loads((reports / "metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "naive", "seasonal_naive", "mean", "drift", "ridge"}
    assert len(metrics["models"]["lstm"]["per_step"]["mae"]) == 6
    assert (reports / "predictions.png").stat().st_size > 10_000
    # The report takes apart the forecast after the data (forecaster explain's picture).
    explained = json.loads((reports / "explain.json").read_text())
    assert explained["forecast_times"][0] == "2021-03-21T00:00:00"
    assert metrics["explanation"]["origin"] == "2021-03-21"
    assert "What the forecast rests on" in (reports / "report.html").read_text()

    history = tmp_path / "history.csv"
    write_hourly_csv(history, rows=300, seed=5, start="2022-01-01")
    output, plot = tmp_path / "out" / "forecast.csv", tmp_path / "forecast.png"
    output.parent.mkdir()
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(history),
                 "--output", str(output), "--plot", str(plot)]) == 0
    frame = pd.read_csv(output)
    assert list(frame.columns) == ["time", "forecast"]
    assert frame["time"].tolist() == [f"2022-01-13 {h:02d}:00" for h in range(12, 18)]
    assert frame["forecast"].between(0, 20).all()
    assert plot.stat().st_size > 10_000

    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(history), "--horizon", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "time,forecast"

    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(history), "--horizon", "9",
                 "--level", "80"]) == 0
    longer = capsys.readouterr().out.splitlines()
    assert longer[0] == "time,forecast,lower_80,upper_80" and len(longer) == 10
    assert longer[-1].endswith(",,")  # no calibrated interval past the trained 6 steps

    # Bad output paths are refused before any work, and nothing is written.
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(history),
                 "--output", str(tmp_path)]) == 2
    assert "is a folder; expected a file path" in capsys.readouterr().err
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(history),
                 "--output", str(tmp_path / "x.csv"), "--plot", str(tmp_path / "x.txt")]) == 2
    assert "expected one of .png" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.txt").exists()

    # Gaps in the history are filled and reported.
    gappy = tmp_path / "gappy.csv"
    pd.read_csv(history).drop(index=[50, 51]).to_csv(gappy, index=False)
    assert main(["forecast", "--model-dir", str(model_dir), "--csv", str(gappy)]) == 0
    assert "filled 2 missing values in" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_runs_as_a_process_and_fails_cleanly(tmp_path):
    """`python -m forecaster` exits 2 with one line and no traceback on a bad file."""
    bad = tmp_path / "bad.csv"
    bad.write_text("time,load\n2021-01-01,1\n2021-01-01,2\n2021-01-02,3\n")
    result = subprocess.run([sys.executable, "-m", "forecaster", "train", "--csv", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "duplicate timestamps" in result.stderr and "lines 2, 3" in result.stderr


@pytest.mark.slow
def test_no_test_split_then_evaluate_on_a_new_file(tmp_path, capsys, hourly_csv):
    model_dir = tmp_path / "model"
    assert main(["train", "--csv", str(hourly_csv), "--time-steps", "24", "--horizon", "6",
                 "--epochs", "1", "--test-fraction", "0", "--scaling", "global",
                 "--model-dir", str(model_dir)]) == 0
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["splits"]["test"] is None
    assert metadata["splits"]["validation"][1] == "2021-03-20T23:00:00"  # the last row of the file
    capsys.readouterr()

    assert main(["evaluate", "--model-dir", str(model_dir), "--output-dir", str(tmp_path / "r")]) == 2
    assert "--test-fraction 0" in capsys.readouterr().err

    later = tmp_path / "later.csv"
    write_hourly_csv(later, rows=200, seed=9, start="2021-04-01")
    assert main(["evaluate", "--model-dir", str(model_dir), "--csv", str(later),
                 "--output-dir", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    # The tail is val_fraction (0.15) of 200 rows = 30 rows: 30 - 6 + 1 = 25 origins.
    assert metrics["origins"] == 25 and metrics["csv"] == str(later)
    assert metrics["scored_range"] == ["2021-04-08 02:00", "2021-04-09 07:00"]
