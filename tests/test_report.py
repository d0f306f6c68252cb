import base64
import re

import numpy as np
import pytest

from forecaster import plots
from forecaster.report import EXPLANATION, _number, write_report

NAN = float("nan")


def scores(mae, horizon=3, mase=1.0):
    return {"overall": {"mae": mae, "rmse": 1.5 * mae, "smape": 12.3456, "mase": mase, "skill": 0.25},
            "per_step": {"mae": [mae + step for step in range(horizon)], "rmse": [mae] * horizon,
                         "smape": [1.0] * horizon, "mase": [1.0] * horizon, "skill": [0.0] * horizon}}


def metrics(target="load", **maes):
    maes = maes or {"lstm": 0.5, "naive": 1.2, "seasonal_naive": 0.9, "mean": 3.0, "drift": 1.3,
                    "ridge": 0.7, "theta": 0.8}
    return {
        "model_dir": "models/load", "csv": "data/load.csv", "target": target,
        "scored_range": ["2021-03-10 00:00", "2021-03-20 23:00"], "origins": 240, "horizon": 3,
        "season_length": 24, "scaling": "standard", "scored_values": 720,
        "models": {name: scores(mae) for name, mae in maes.items()},
        "coverage": {"95": {"nominal": 0.95, "empirical": 0.912, "per_step": [0.9, 0.91, 0.92]},
                     "80": {"nominal": 0.8, "empirical": 0.79, "per_step": [0.8, 0.79, 0.78]}},
    }


def best_rows(html):
    return re.findall(r'<tr class="best"><td>([^<]*)</td>', html)


def test_report_is_one_self_contained_page_with_every_model(tmp_path):
    figures_dir = tmp_path / "figures"
    figures_dir.mkdir()
    (figures_dir / "loss.png").write_bytes(b"\x89PNG\r\n\x1a\nloss")
    (figures_dir / "fan.png").write_bytes(b"\x89PNG\r\n\x1a\nfan")
    out = tmp_path / "out"
    path = write_report(metrics(), {"training loss": figures_dir / "loss.png",
                                    "forecast with intervals": figures_dir / "fan.png",
                                    "missing figure": figures_dir / "absent.png"}, out / "report.html")
    assert path == out / "report.html"
    assert sorted(item.name for item in out.iterdir()) == ["report.html"]  # no temporary files left
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "<h1>forecaster report: load</h1>" in html
    for label in ["LSTM", "naive (last value)", "seasonal naive", "training mean", "drift",
                  "ridge (linear)", "theta"]:
        assert f"<td>{label}" in html and f"<th>{label}</th>" in html
    for name in ["loss", "fan"]:
        data = base64.b64encode(f"\x89PNG\r\n\x1a\n{name}".encode("latin-1")).decode("ascii")
        assert f'src="data:image/png;base64,{data}"' in html
    assert html.count("data:image/png;base64,") == 2
    assert 'alt="training loss"' in html and "<figcaption>forecast with intervals</figcaption>" in html
    assert "missing figure" not in html
    for external in ["http://", "https://", 'src="/', "<link", "<script"]:
        assert external not in html


def test_report_summarises_the_evaluation(tmp_path):
    html = write_report(metrics(), {}, tmp_path / "report.html").read_text(encoding="utf-8")
    for fact in ["data/load.csv", "models/load", "2021-03-10 00:00 to 2021-03-20 23:00",
                 "240 origins × 3 steps", "720 scored values", "<strong>season length</strong>: 24",
                 "<strong>scaling</strong>: standard"]:
        assert fact in html
    assert "<h2>Figures</h2>" not in html


def test_report_highlights_the_lowest_mae_only(tmp_path):
    html = write_report(metrics(), {}, tmp_path / "report.html").read_text(encoding="utf-8")
    assert best_rows(html) == ["LSTM (best MAE)"]
    html = write_report(metrics(lstm=NAN, seasonal_naive=0.9, naive=1.0), {},
                        tmp_path / "report.html").read_text(encoding="utf-8")
    assert best_rows(html) == ["seasonal naive (best MAE)"]


def test_report_formats_numbers_and_shows_nan_as_a_dash(tmp_path):
    report = metrics(lstm=1234.5678, naive=NAN)
    report["models"]["lstm"]["overall"]["mase"] = None
    html = write_report(report, {}, tmp_path / "report.html").read_text(encoding="utf-8")
    lstm_row = re.search(r"<tr class=\"best\"><td>LSTM \(best MAE\)</td>(.*?)</tr>", html).group(1)
    assert re.findall(r'<td class="number">([^<]*)</td>', lstm_row) == ["1235", "1852", "12.35", "–",
                                                                         "0.25"]
    naive_row = re.search(r"<tr><td>naive \(last value\)</td>(.*?)</tr>", html).group(1)
    assert naive_row.count(">–<") == 2  # MAE and RMSE


@pytest.mark.parametrize(("value", "text"), [
    (0.123456, "0.1235"), (3.0, "3"), (12345.678, "12,350"), (-0.5, "-0.5"), (1.5e-6, "1.5e-06"),
    (NAN, "–"), (None, "–"), (float("inf"), "∞"), (np.float64(2.71828), "2.718"),
])
def test_numbers_have_four_significant_digits(value, text):
    assert _number(value) == text


def test_report_tables_coverage_and_mae_by_step(tmp_path):
    html = write_report(metrics(lstm=0.5, naive=1.0), {}, tmp_path / "report.html").read_text(
        encoding="utf-8")
    assert ('<tr><td>80%</td><td class="number">80.0</td><td class="number">79.0</td></tr>' in html)
    assert html.index("<td>80%</td>") < html.index("<td>95%</td>")
    assert "<td>95%</td><td class=\"number\">95.0</td><td class=\"number\">91.2</td>" in html
    assert "<tr><th>step</th><th>LSTM</th><th>naive (last value)</th></tr>" in html
    assert ('<tr><td>3</td><td class="number lowest">2.5</td><td class="number">3</td></tr>'
            in html)
    without = metrics()
    del without["coverage"]
    html = write_report(without, {}, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "coverage" not in html


def test_report_escapes_text(tmp_path):
    figure = tmp_path / "f.png"
    figure.write_bytes(b"png")
    report = metrics(target="<temp & co>")
    report["models"]["<b>odd</b>"] = scores(2.0)
    html = write_report(report, {'a "quoted" <caption>': figure}, tmp_path / "report.html").read_text(
        encoding="utf-8")
    assert "forecaster report: &lt;temp &amp; co&gt;" in html
    assert "<temp & co>" not in html and "<b>odd</b>" not in html and "&lt;b&gt;odd&lt;/b&gt;" in html
    assert 'alt="a &quot;quoted&quot; &lt;caption&gt;"' in html


def test_report_embeds_a_real_figure(tmp_path):
    png = plots.plot_residual_histogram({"lstm": np.linspace(-1, 1, 50)}, "load", tmp_path / "r.png")
    html = write_report(metrics(), {"residuals": png}, tmp_path / "report.html").read_text(
        encoding="utf-8")
    assert base64.b64encode(png.read_bytes()).decode("ascii") in html


def test_the_explanation_has_its_own_section(tmp_path):
    png = tmp_path / "explain.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nexplain")
    report = metrics()
    report["explanation"] = {"series": "", "origin": "2021-03-21T00:00:00", "steps": 6, "rows": 24,
                             "baseline": "the same 24 rows held flat at each column's mean over them",
                             "forecast_mean": 10.5, "baseline_forecast_mean": 9.25, "change": 7.5,
                             "strongest_rows": [["2021-03-20T22:00:00", 0.75]], "permutations": 64,
                             "members": ["LSTM (window scaling)"]}
    html = write_report(report, {EXPLANATION: png}, tmp_path / "report.html").read_text(encoding="utf-8")
    section = html[html.index("<h2>What the forecast rests on</h2>"):]
    assert "averages 10.5; from the same 24 rows held flat" in section and "9.25" in section
    assert "2021-03-20T22:00:00 (+0.75)" in section and "64 orders" in section
    assert "summed over the steps (7.5 in all)" in section
    assert section.count("<img") == 1 and "<h2>Figures</h2>" not in section[:section.index("<img")]
    # Without the summary (an older metrics.json), the picture is one figure among the others.
    del report["explanation"]
    html = write_report(report, {EXPLANATION: png}, tmp_path / "plain.html").read_text(encoding="utf-8")
    assert "What the forecast rests on" not in html and html.count("<img") == 1
