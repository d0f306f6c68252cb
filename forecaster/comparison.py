"""Compare model families on one data set: "LSTM, GRU or Transformer for my data?"

Each family is trained on the same split with the same seed and settings, scored on the same
held-out test split next to the baselines, and timed.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from forecaster.config import MODEL_KINDS, Settings
from forecaster.errors import UserError
from forecaster.evaluation import evaluate
from forecaster.files import check_output_dir, write_text_atomically
from forecaster.plots import plot_comparison
from forecaster.training import train


@dataclass
class Comparison:
    """One row per model family and per baseline, and where the results were written."""

    rows: list  # dicts: name, kind ("model" or "baseline"), mae, rmse, smape, mase, skill, timing
    target: str
    json_path: Path | None  # None on a worker of --distribute multiworker other than the chief
    plot_path: Path | None

    def table(self) -> str:
        lines = [f"test split, units of {self.target!r}; seconds per epoch: median after the first",
                 f"{'forecaster':<16}{'MAE':>10}{'RMSE':>10}{'MASE':>8}{'skill':>8}"
                 f"{'s/epoch':>9}{'epochs':>8}{'total s':>9}  kept (the members averaged)"]
        for row in self.rows:
            timing = (f"{row['seconds_per_epoch']:>9.2f}{row['epochs']:>8}{row['seconds']:>9.1f}"
                      f"  {row['scaling']}" if row["kind"] == "model" else "")
            lines.append(f"{row['name']:<16}{row['mae']:>10.4g}{row['rmse']:>10.4g}"
                         f"{row['mase']:>8.3f}{row['skill']:>8.3f}{timing}")
        return "\n".join(lines)


def parse_models(value) -> list[str]:
    """'lstm,gru' or ['lstm', 'gru'] -> ['lstm', 'gru'], each a known model family."""
    names = [v.strip() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    unknown = [name for name in names if name not in MODEL_KINDS]
    if unknown or not names:
        raise UserError(
            f"--models {','.join(names) or '(none)'} names {', '.join(unknown) or 'no model'}; "
            f"expected a comma-separated list from {', '.join(MODEL_KINDS)}.")
    return list(dict.fromkeys(names))


def compare(settings: Settings, models, output_dir=None, verbose: int | str = 0) -> Comparison:
    """Train every family in `models` with `settings`, evaluate each on the test split, and write
    compare.json and compare.png (plus each model's folder and report) to `output_dir`
    (default reports/compare-<csv name>)."""
    models = parse_models(models)
    if not settings.csv:
        raise UserError("no data given; pass --csv PATH (a CSV with a time column).")
    if settings.test_fraction == 0:
        raise UserError("compare scores every model on the test split; use a --test-fraction above 0.")
    output_dir = check_output_dir(output_dir or Path("reports") / f"compare-{Path(settings.csv).stem}",
                                  "--output-dir")
    rows, baselines, target = [], {}, None
    for number, kind in enumerate(models, 1):
        if verbose:
            print(f"== {kind} ({number} of {len(models)})", flush=True)
        run = train(dataclasses.replace(settings, model=kind, model_dir=str(output_dir / kind)), verbose)
        if run.model_dir is None:  # a worker of --distribute multiworker other than the chief
            continue  # the chief evaluates and writes
        report = evaluate(run.model_dir, output_dir=output_dir / kind, levels=()).report
        target = report["target"]
        seconds = run.epoch_seconds[1:] or run.epoch_seconds
        rows.append({"name": kind, "kind": "model", **report["models"][kind]["overall"],
                     "seconds_per_epoch": statistics.median(seconds), "epochs": run.epochs_run,
                     "seconds": run.seconds, "scaling": run.scaling, "origins": report["origins"]})
        for name, metrics in list(report["models"].items())[1:]:
            baselines.setdefault(name, {"name": name, "kind": "baseline", **metrics["overall"],
                                        "origins": report["origins"]})
    if target is None:  # every model trained on a worker other than the chief: nothing to write
        return Comparison([], "", None, None)
    rows += list(baselines.values())
    json_path = write_text_atomically(output_dir / "compare.json", json.dumps(
        {"csv": settings.csv, "target": target, "settings": settings.to_dict(), "rows": rows},
        indent=2) + "\n")
    plot_path = plot_comparison(rows, target, output_dir / "compare.png")
    return Comparison(rows, target, json_path, plot_path)
