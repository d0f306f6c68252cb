import numpy as np
import pandas as pd
import pytest
from matplotlib import colors

from forecaster import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def figures(monkeypatch):
    """The Figure objects the plot functions save, in order (the PNG files are still written)."""
    saved = []
    original = plots._save

    def keep(figure, path):
        saved.append(figure)
        return original(figure, path)

    monkeypatch.setattr(plots, "_save", keep)
    return saved


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 5_000


def legend_texts(axes):
    return [text.get_text() for text in axes.get_legend().get_texts()]


def hourly(start, rows):
    return pd.date_range(start, periods=rows, freq="h")


def test_new_baselines_have_labels_and_colours():
    for name, label in {"mean": "training mean", "drift": "drift", "ridge": "ridge (linear)"}.items():
        assert plots.LABELS[name] == label
        assert name in plots.COLOURS
    assert len(set(plots.COLOURS.values())) == len(plots.COLOURS)


def test_loss_curves_are_log_scaled_and_mark_the_best_epoch(tmp_path, figures):
    history = {"loss": [0.9, 0.4, 0.3, 0.25], "val_loss": [1.0, 0.5, 0.45, 0.5], "mae": [1, 1, 1, 1]}
    path = plots.plot_loss_curves(history, tmp_path / "loss.png", best_epoch=3)
    assert path == tmp_path / "loss.png"
    assert_png(path)
    (axes,) = figures[0].axes
    assert axes.get_yscale() == "log"
    assert axes.get_title() and axes.get_xlabel() == "epoch"
    assert axes.get_ylabel() == "loss (MSE, scaled units)"
    training, validation, best = axes.get_lines()
    assert training.get_xdata().tolist() == [1, 2, 3, 4]
    assert validation.get_ydata().tolist() == [1.0, 0.5, 0.45, 0.5]
    assert best.get_xdata()[0] == 3 and best.get_linestyle() == ":"
    assert legend_texts(axes) == ["training", "validation", "best epoch: 3, validation loss 0.45"]


def test_loss_curves_with_a_zero_loss_stay_linear_and_without_best_epoch(tmp_path, figures):
    path = plots.plot_loss_curves({"loss": [0.5, 0.1, 0.0]}, tmp_path / "loss.png")
    assert_png(path)
    (axes,) = figures[0].axes
    assert axes.get_yscale() == "linear"
    assert legend_texts(axes) == ["training"]


def test_loss_curves_best_epoch_zero_marks_nothing(tmp_path, figures):
    plots.plot_loss_curves({"loss": [0.5, 0.2]}, tmp_path / "loss.png", best_epoch=0)
    assert legend_texts(figures[0].axes[0]) == ["training"]


def test_loss_curves_reject_a_missing_loss_and_an_impossible_best_epoch(tmp_path):
    with pytest.raises(ValueError, match="expected a non-empty 'loss'"):
        plots.plot_loss_curves({"mae": [1.0]}, tmp_path / "loss.png")
    with pytest.raises(ValueError, match="best_epoch is 5; expected an epoch from 1 to 2"):
        plots.plot_loss_curves({"loss": [1.0, 0.5]}, tmp_path / "loss.png", best_epoch=5)
    assert list(tmp_path.iterdir()) == []


def test_residual_histogram_drops_nan_and_shares_bins(tmp_path, figures):
    rng = np.random.default_rng(0)
    residuals = {name: rng.normal(offset, 1, 200) for name, offset in
                 [("lstm", 0), ("seasonal_naive", 0.5), ("naive", 1), ("mean", -1), ("drift", 2),
                  ("ridge", 0.2), ("theta", 0)]}
    residuals["lstm"][:10] = np.nan
    path = plots.plot_residual_histogram(residuals, "load (MW)", tmp_path / "residuals.png")
    assert_png(path)
    (axes,) = figures[0].axes
    assert axes.get_xlabel() == "actual − forecast (load (MW))"
    assert axes.get_ylabel() == "count" and axes.get_title()
    texts = legend_texts(axes)
    assert texts[0].startswith("LSTM (n=190, mean ")
    assert [text.split(" (n=")[0] for text in texts[:7]] == [
        "LSTM", "seasonal naive", "naive (last value)", "training mean", "drift", "ridge (linear)", "theta"]
    assert texts[7] == "zero error"
    spans = {(patch.get_path().vertices[:, 0].min(), patch.get_path().vertices[:, 0].max())
             for patch in axes.patches}
    assert len(axes.patches) == 7 and len(spans) == 1  # one set of bins for every model
    assert axes.patches[0].get_edgecolor() == colors.to_rgba("tab:blue")
    assert axes.patches[3].get_edgecolor() == colors.to_rgba(plots.COLOURS["mean"])


def test_residual_histogram_with_a_model_of_only_nan(tmp_path, figures):
    residuals = {"lstm": np.array([0.5, -0.2, np.nan, 1.0] * 20), "naive": np.full(80, np.nan)}
    assert_png(plots.plot_residual_histogram(residuals, "load", tmp_path / "residuals.png"))
    texts = legend_texts(figures[0].axes[0])
    assert texts[0].startswith("LSTM (n=60,") and texts[1] == "naive (last value) (no values)"


def test_residual_histogram_with_no_finite_values_still_draws(tmp_path):
    path = plots.plot_residual_histogram({"lstm": [np.nan, np.nan]}, "load", tmp_path / "r.png")
    assert_png(path)


def test_fan_chart_draws_wider_intervals_lighter_and_underneath(tmp_path, figures):
    times = hourly("2021-03-01", 100)
    future = hourly("2021-03-05 04:00", 6)
    forecast = np.linspace(10, 12, 6)
    intervals = {80: (forecast - 1, forecast + 1), 95: (forecast - 2, forecast + 2)}
    path = plots.plot_fan_chart(times, np.arange(100.0), future, forecast, intervals, "load",
                                tmp_path / "fan.png")
    assert_png(path)
    (axes,) = figures[0].axes
    assert axes.get_ylabel() == "load" and axes.get_xlabel() == "time"
    assert axes.get_title() == "load: forecast of the next 6 steps with 80% and 95% intervals"
    assert legend_texts(axes) == ["history", "95% interval", "80% interval", "forecast"]
    wide, narrow = axes.collections
    assert wide.get_label() == "95% interval" and wide.get_alpha() < narrow.get_alpha()
    assert wide.get_zorder() < narrow.get_zorder() < axes.get_lines()[1].get_zorder()
    history_line = axes.get_lines()[0]
    assert history_line.get_ydata().tolist() == list(range(76, 100))  # max(4 * 6, 24) rows


def test_fan_chart_with_no_intervals_and_a_short_history(tmp_path, figures):
    path = plots.plot_fan_chart(hourly("2021-03-01", 10), np.arange(10.0), hourly("2021-03-01 10:00", 8),
                                np.ones(8), {}, "load", tmp_path / "fan.png")
    assert_png(path)
    (axes,) = figures[0].axes
    assert len(axes.collections) == 0
    assert legend_texts(axes) == ["history", "forecast"]
    assert len(axes.get_lines()[0].get_ydata()) == 10
    assert axes.get_title() == "load: forecast of the next 8 steps"


def test_fan_chart_rejects_bounds_of_the_wrong_length(tmp_path):
    with pytest.raises(ValueError, match=r"the 80% interval has bounds of shapes \(5,\) and \(6,\)"):
        plots.plot_fan_chart(hourly("2021-03-01", 30), np.arange(30.0), hourly("2021-03-02 06:00", 6),
                             np.ones(6), {80: (np.zeros(5), np.ones(6))}, "load", tmp_path / "fan.png")


def test_fan_chart_without_bands_is_the_plain_forecast(tmp_path, figures):
    path = plots.plot_fan_chart(hourly("2021-03-01", 50), pd.Series(np.arange(50.0)),
                                hourly("2021-03-03 02:00", 12), np.ones(12), {}, "load", tmp_path / "f.png")
    assert_png(path)
    (axes,) = figures[0].axes
    assert legend_texts(axes) == ["history", "forecast"]
    assert len(axes.get_lines()[0].get_ydata()) == 48


def test_the_loss_axis_names_the_training_loss(tmp_path, figures):
    plots.plot_loss_curves({"loss": [0.5, 0.2]}, tmp_path / "loss.png", loss="huber")
    (axes,) = figures[0].axes
    assert axes.get_ylabel() == "loss (Huber, scaled units)"
