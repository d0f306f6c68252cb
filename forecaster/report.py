"""One self-contained HTML page of an evaluation: metrics tables and the figures embedded in it.

The page needs nothing beside it: figures are base64 `data:` images and the styling is inline, so it
opens offline and can be mailed or archived as a single file.
"""

from __future__ import annotations

import base64
import math
from html import escape
from pathlib import Path

from forecaster.files import write_text_atomically
from forecaster.plots import LABELS

# The caption of the figure of `forecaster explain` (evaluate's explain.png): drawn in its own section
EXPLANATION = "What the forecast after the data rests on, and what the network did"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
COLUMNS = (("mae", "MAE"), ("rmse", "RMSE"), ("smape", "sMAPE %"), ("mase", "MASE"),
           ("skill", "skill vs seasonal naive"))
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       margin: 0; background: #fff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #bbb; padding: 0.3rem 0.6rem; }
th { background: #f2f2f2; text-align: left; }
td.number { text-align: right; }
tr.best td { background: #e4f4e4; font-weight: 600; }
td.lowest { font-weight: 700; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9rem; margin-top: 0.3rem; }
p.note { color: #555; font-size: 0.9rem; }
table.sortable th { cursor: pointer; }
"""
# Sorts a table.sortable by the column whose heading is clicked (numbers as numbers; again: reversed).
SORTING = """
document.querySelectorAll("table.sortable th").forEach((heading, column) => {
  heading.addEventListener("click", () => {
    const body = heading.closest("table").tBodies[0];
    const value = row => {
      const text = row.cells[column].textContent.replace(/,/g, "");
      const number = parseFloat(text);
      return isNaN(number) ? text : number;
    };
    const up = heading.dataset.order !== "up";
    heading.dataset.order = up ? "up" : "down";
    [...body.rows].sort((a, b) => (value(a) > value(b) ? 1 : value(a) < value(b) ? -1 : 0) * (up ? 1 : -1))
      .forEach(row => body.appendChild(row));
  });
});
"""


def write_report(report: dict, figures: dict, path) -> Path:
    """Write `report` (what evaluate writes to metrics.json) and `figures` (caption -> image file;
    missing files are skipped) as one HTML page at `path`, atomically."""
    return write_text_atomically(path, render_report(report, figures))


def render_report(report: dict, figures: dict) -> str:
    """The HTML text of `write_report`."""
    target = str(report["target"])
    models = report["models"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>forecaster report: {escape(target)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>forecaster report: {escape(target)}</h1>",
        _summary(report),
        "<h2>Overall accuracy</h2>",
        _overall_table(models),
        f'<p class="note">MAE and RMSE are in the units of {escape(target)}, over every scored '
        "forecast step; MASE scales MAE by the seasonal naive forecast's in-sample MAE; skill above "
        "0 means more accurate than seasonal naive. The highlighted row has the lowest MAE.</p>",
    ]
    if report.get("coverage"):
        parts += ["<h2>Prediction interval coverage</h2>", _coverage_table(report["coverage"])]
    parts += ["<h2>MAE by horizon step</h2>", _per_step_table(models)]
    if report.get("per_series"):
        parts += ["<h2>Across series</h2>", _aggregates_table(report["aggregates"]),
                  '<p class="note">MASE of each series over its own in-sample seasonal-naive MAE; ND: '
                  "the sum of absolute errors over the sum of absolute actual values, all series "
                  "pooled; the last column: the share of series whose MAE is below seasonal "
                  "naive's.</p>",
                  "<h2>Per series</h2>", _per_series_table(report["per_series"], next(iter(models))),
                  '<p class="note">Click a column heading to sort by it.</p>', f"<script>{SORTING}</script>"]
    explained = figures.get(EXPLANATION)
    if report.get("explanation") and explained is not None and Path(explained).is_file():
        parts += ["<h2>What the forecast rests on</h2>", _explanation(report["explanation"]),
                  _figure(EXPLANATION, Path(explained))]
        figures = {caption: image for caption, image in figures.items() if caption != EXPLANATION}
    embedded = [_figure(caption, Path(image)) for caption, image in figures.items()
                if Path(image).is_file() and Path(image).suffix.lower() in IMAGE_TYPES]
    if embedded:
        parts += ["<h2>Figures</h2>", *embedded]
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _summary(report: dict) -> str:
    scored = report.get("scored_range") or ("–", "–")
    facts = [
        ("data", report.get("csv", "–")),
        ("model", report.get("model_dir", "–")),
        ("scored range", f"{scored[0]} to {scored[-1]}"),
        ("forecasts", f"{report.get('origins', '–')} origins × {report.get('horizon', '–')} steps"
                      + (f" ({report['scored_values']} scored values)" if "scored_values" in report
                         else "")),
        ("season length", report.get("season_length", "–")),
        ("scaling", report.get("scaling", "–")),
    ]
    items = "; ".join(f"<strong>{escape(name)}</strong>: {escape(str(value))}" for name, value in facts)
    return f"<p>{items}.</p>"


def _explanation(found: dict) -> str:
    """What `forecaster explain` found, in two sentences (`Explanation.summary`)."""
    rows = ", ".join(f"{escape(time)} ({share:+.4g})" for time, share in found["strongest_rows"])
    series = f" of {escape(found['series'])}" if found.get("series") else ""
    return (f'<p class="note">The forecast{series} of {found["steps"]} steps from '
            f'{escape(found["origin"])} averages {_number(found["forecast_mean"])}; from '
            f'{escape(found["baseline"])} it would average {_number(found["baseline_forecast_mean"])}. '
            f"Each bar is a row's share of the difference, summed over the steps "
            f"({_number(found['change'])} in all), in the target's units: Shapley values over "
            f"{found['permutations']} orders of the cells of the {found['rows']} rows read, which "
            f"add up to it exactly. The rows that moved it most: {rows}. "
            f"Below, the last layer of the first network kept, over its window: each unit's gates "
            f"and states, or each attention head's weights.</p>")


def _overall_table(models: dict) -> str:
    maes = {name: _finite(scores["overall"].get("mae")) for name, scores in models.items()}
    finite = [mae for mae in maes.values() if mae is not None]
    lowest = min(finite) if finite else None
    header = "".join(f"<th>{escape(title)}</th>" for _, title in COLUMNS)
    rows = []
    for name, scores in models.items():
        best = lowest is not None and maes[name] == lowest
        cells = "".join(f'<td class="number">{_number(scores["overall"].get(key))}</td>'
                        for key, _ in COLUMNS)
        opening, marker = ('<tr class="best">', " (best MAE)") if best else ("<tr>", "")
        rows.append(f"{opening}<td>{escape(_label(name))}{marker}</td>{cells}</tr>")
    return _table(f"<tr><th>model</th>{header}</tr>", rows)


def _aggregates_table(aggregates: dict) -> str:
    rows = [f"<tr><td>{escape(_label(name))}</td>"
            f'<td class="number">{_number(found["mean_mase"])}</td>'
            f'<td class="number">{_number(found["median_mase"])}</td>'
            f'<td class="number">{_number(found["nd"])}</td>'
            f'<td class="number">{_percent(found["beats_seasonal_naive"])}</td></tr>'
            for name, found in aggregates.items()]
    return _table("<tr><th>model</th><th>mean MASE</th><th>median MASE</th><th>ND</th>"
                  "<th>series beating seasonal naive %</th></tr>", rows)


def _per_series_table(per_series: dict, model: str) -> str:
    """One row per series: the model's MASE, MAE and sMAPE, and the MASE of the baselines."""
    baselines = [name for name in next(iter(per_series.values())) if name != model]
    header = ("<tr><th>series</th>" + f"<th>{escape(_label(model))} MASE</th>"
              + "".join(f"<th>{escape(_label(name))} MASE</th>" for name in baselines)
              + f"<th>{escape(_label(model))} MAE</th><th>{escape(_label(model))} sMAPE %</th></tr>")
    rows = []
    for name, scores in per_series.items():
        cells = "".join(f'<td class="number">{_number(scores[key]["mase"])}</td>'
                        for key in (model, *baselines))
        rows.append(f"<tr><td>{escape(str(name))}</td>{cells}"
                    f'<td class="number">{_number(scores[model]["mae"])}</td>'
                    f'<td class="number">{_number(scores[model]["smape"])}</td></tr>')
    return _table(header, rows).replace("<table>", '<table class="sortable">', 1)


def _coverage_table(coverage: dict) -> str:
    rows = []
    for level, values in sorted(coverage.items(), key=lambda item: float(item[0])):
        rows.append(f"<tr><td>{escape(str(level))}%</td>"
                    f'<td class="number">{_percent(values.get("nominal"))}</td>'
                    f'<td class="number">{_percent(values.get("empirical"))}</td></tr>')
    return _table("<tr><th>interval</th><th>nominal %</th><th>empirical %</th></tr>", rows)


def _per_step_table(models: dict) -> str:
    columns = {name: scores.get("per_step", {}).get("mae", []) for name, scores in models.items()}
    steps = max((len(values) for values in columns.values()), default=0)
    header = "".join(f"<th>{escape(_label(name))}</th>" for name in columns)
    rows = []
    for step in range(steps):
        values = {name: _finite(maes[step]) if step < len(maes) else None
                  for name, maes in columns.items()}
        finite = [value for value in values.values() if value is not None]
        lowest = min(finite) if finite else None
        cells = "".join(
            f'<td class="number{" lowest" if value is not None and value == lowest else ""}">'
            f"{_number(value)}</td>" for value in values.values())
        rows.append(f"<tr><td>{step + 1}</td>{cells}</tr>")
    return _table(f"<tr><th>step</th>{header}</tr>", rows)


def _figure(caption: str, image: Path) -> str:
    data = base64.b64encode(image.read_bytes()).decode("ascii")
    kind = IMAGE_TYPES[image.suffix.lower()]
    return (f'<figure><img src="data:{kind};base64,{data}" alt="{escape(str(caption))}">'
            f"<figcaption>{escape(str(caption))}</figcaption></figure>")


def _table(header: str, rows: list) -> str:
    return "\n".join(["<table>", f"<thead>{header}</thead>", "<tbody>", *rows, "</tbody>", "</table>"])


def _label(name: str) -> str:
    return LABELS.get(name, name)


def _finite(value) -> float | None:
    """`value` as a float, or None when it is missing or NaN (JSON writes NaN as NaN or null)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _number(value) -> str:
    """Four significant digits, without exponents between 1e-4 and 1e15; "–" when missing or NaN."""
    value = _finite(value)
    if value is None:
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    rounded = float(f"{value:.4g}")
    if 1e4 <= abs(rounded) < 1e15:
        return f"{rounded:,.0f}"
    return f"{rounded:.4g}"


def _percent(fraction) -> str:
    fraction = _finite(fraction)
    return "–" if fraction is None else f"{100 * fraction:.1f}"
