"""The model factory: every kind builds, trains and reloads; the default is the classic Keras LSTM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from forecaster import backend
from forecaster.models import (
    MODEL_KINDS,
    build_lstm,
    build_model,
    combine_members,
    ensemble_members,
    register_custom_layers,
)

pytestmark = pytest.mark.slow  # imports Keras

ROOT = Path(__file__).resolve().parents[1]
SHAPE = {"time_steps": 6, "features": 2, "horizon": 3, "units": 8}


@pytest.fixture
def keras():
    module = backend.keras()
    module.utils.set_random_seed(0)
    return module


def _samples(samples: int = 32):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(samples, SHAPE["time_steps"], SHAPE["features"])).astype("float32")
    targets = rng.normal(size=(samples, SHAPE["horizon"])).astype("float32")
    return inputs, targets


def _layers(model):
    return [(type(layer).__name__, layer.name) for layer in model.layers]


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_builds_and_trains_one_epoch(keras, kind):
    model = build_model(kind, **SHAPE)
    assert model.name == f"{kind}_forecaster"
    assert model.input_shape == (None, 6, 2) and model.output_shape == (None, 3)
    assert model.layers[0].name == "window" and model.layers[-1].name == "forecast"
    history = model.fit(*_samples(), epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and np.isfinite(history.history["mae"][0])


def test_default_lstm_is_the_classic_keras_example(keras):
    model = build_model(time_steps=24, features=1, horizon=6)
    assert _layers(model) == [("InputLayer", "window"), ("LSTM", "lstm"), ("Dense", "forecast")]
    lstm = model.get_layer("lstm")
    assert lstm.units == 50 and lstm.activation.__name__ == "tanh" and not lstm.return_sequences
    assert model.get_layer("forecast").units == 6
    classic = keras.Sequential([keras.Input((24, 1)), keras.layers.LSTM(50), keras.layers.Dense(6)])
    assert model.count_params() == classic.count_params() == 10_706
    assert model.loss == "mse" and model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_build_lstm_is_build_model_lstm(keras):
    model = build_lstm(6, 2, 3, units=8, learning_rate=0.01)
    assert _layers(model) == [("InputLayer", "window"), ("LSTM", "lstm"), ("Dense", "forecast")]
    assert model.name == "lstm_forecaster" and model.get_layer("lstm").units == 8
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)


@pytest.mark.parametrize(("kind", "layer_type"), [("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "SimpleRNN")])
def test_stacked_recurrent_layers_return_sequences_until_the_last(keras, kind, layer_type):
    model = build_model(kind, **SHAPE, layers=2, dropout=0.25)
    assert _layers(model) == [
        ("InputLayer", "window"),
        (layer_type, f"{kind}_1"), ("Dropout", f"{kind}_1_dropout"),
        (layer_type, f"{kind}_2"), ("Dropout", f"{kind}_2_dropout"),
        ("Dense", "forecast")]
    assert model.get_layer(f"{kind}_1").return_sequences and not model.get_layer(f"{kind}_2").return_sequences
    assert model.get_layer(f"{kind}_1_dropout").rate == 0.25


def test_one_recurrent_layer_with_dropout(keras):
    model = build_model("gru", **SHAPE, dropout=0.1)
    assert _layers(model) == [("InputLayer", "window"), ("GRU", "gru"), ("Dropout", "gru_dropout"),
                              ("Dense", "forecast")]


def test_stacked_dense_layers(keras):
    model = build_model("dense", **SHAPE, layers=2, dropout=0.5)
    assert _layers(model) == [
        ("InputLayer", "window"), ("Flatten", "flatten"),
        ("Dense", "dense_1"), ("Dropout", "dense_1_dropout"),
        ("Dense", "dense_2"), ("Dropout", "dense_2_dropout"),
        ("Dense", "forecast")]
    assert model.get_layer("dense_1").units == 8
    assert model.get_layer("dense_1").activation.__name__ == "relu"


def test_transformer_blocks_heads_and_dropout(keras):
    plain = build_model("transformer", **SHAPE)
    assert [name for _, name in _layers(plain)] == [
        "window", "projection", "positional_encoding",
        "encoder_1_attention", "encoder_1_attention_residual", "encoder_1_attention_norm",
        "encoder_1_expand", "encoder_1_contract", "encoder_1_feed_forward_residual",
        "encoder_1_feed_forward_norm", "last_step", "last_step_flat", "forecast"]
    attention = plain.get_layer("encoder_1_attention")
    assert attention.num_heads == 4 and attention.key_dim == 2  # units 8: 4 heads of 2
    assert plain.get_layer("encoder_1_expand").units == 16

    deeper = build_model("transformer", **{**SHAPE, "units": 6}, layers=2, dropout=0.1)
    names = [layer.name for layer in deeper.layers]
    assert "encoder_2_feed_forward_norm" in names and "encoder_3_attention" not in names
    assert {"encoder_1_attention_dropout", "encoder_2_feed_forward_dropout"} <= set(names)
    assert deeper.get_layer("encoder_1_attention").num_heads == 1  # 6 is not a multiple of 4
    assert deeper.get_layer("encoder_1_attention").key_dim == 6


def test_positional_encoding_is_sine_and_cosine_pairs(keras):
    register_custom_layers()
    layer = keras.saving.get_registered_object("forecaster>PositionalEncoding")(name="encoding")
    encoding = keras.ops.convert_to_numpy(layer(np.zeros((1, 3, 4), "float32")))[0]
    # depth 4: channels 0, 1 turn at rate 1, channels 2, 3 at rate 1 / 10000 ** (2 / 4) = 1 / 100
    for position in range(3):
        np.testing.assert_allclose(encoding[position], [
            np.sin(position), np.cos(position), np.sin(position / 100), np.cos(position / 100)], rtol=1e-6)
    assert layer.get_config()["max_wavelength"] == 10000.0


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_saved_model_reloads_safely_with_identical_predictions(keras, kind, tmp_path):
    model = build_model(kind, **SHAPE, layers=2, dropout=0.1)
    inputs, _ = _samples(8)
    path = tmp_path / "m.keras"
    model.save(path)
    register_custom_layers()
    loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    assert _layers(loaded) == _layers(model)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


@pytest.mark.parametrize("count", [2, 3])
def test_ensemble_forecasts_the_median_of_its_members_and_reloads(keras, count, tmp_path):
    members = []
    for seed in range(count):
        keras.utils.set_random_seed(seed)
        members.append(build_model("lstm", **SHAPE))
    inputs, _ = _samples(8)
    outputs = np.stack([member.predict_on_batch(inputs) for member in members])
    ensemble = combine_members(members)
    np.testing.assert_allclose(ensemble.predict_on_batch(inputs), np.median(outputs, axis=0), rtol=0,
                               atol=1e-6)
    assert [m.name for m in ensemble_members(ensemble)] == [f"member_{i}" for i in range(1, count + 1)]
    ensemble.save(tmp_path / "e.keras")
    register_custom_layers()
    loaded = keras.saving.load_model(tmp_path / "e.keras", compile=False, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict_on_batch(inputs), ensemble.predict_on_batch(inputs))


def test_an_ensemble_of_one_is_refused(keras):
    with pytest.raises(ValueError, match="at least two members; got 1"):
        combine_members([build_model("lstm", **SHAPE)])


FRESH_PROCESS_LOAD = """
import sys
import numpy as np
from forecaster.models import register_custom_layers
assert "keras" not in sys.modules, "importing forecaster.models must not import Keras"
register_custom_layers()
import keras
model = keras.saving.load_model(sys.argv[1], compile=False, safe_mode=True)
np.testing.assert_array_equal(model.predict(np.load(sys.argv[2]), verbose=0), np.load(sys.argv[3]))
"""


def test_transformer_loads_in_a_fresh_process(keras, tmp_path):
    model = build_model("transformer", **SHAPE)
    inputs, _ = _samples(8)
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "inputs.npy", inputs)
    np.save(tmp_path / "expected.npy", model.predict(inputs, verbose=0))
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_LOAD, str(tmp_path / "m.keras"), str(tmp_path / "inputs.npy"),
         str(tmp_path / "expected.npy")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_unknown_kind_names_the_kinds():
    with pytest.raises(ValueError, match="unknown model kind 'cnn'; expected one of lstm, gru, rnn, "
                                         "transformer, dense"):
        build_model("cnn", **SHAPE)


def test_layers_must_be_at_least_one():
    with pytest.raises(ValueError, match="layers must be at least 1; received 0"):
        build_model("lstm", **SHAPE, layers=0)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5])
def test_dropout_must_be_a_fraction_below_one(dropout):
    with pytest.raises(ValueError, match=rf"dropout is a fraction in \[0, 1\); received {dropout}"):
        build_model("dense", **SHAPE, dropout=dropout)


def test_window_shape_is_required():
    with pytest.raises(TypeError, match="needs time_steps and features"):
        build_model("lstm", features=2)


def test_tensorflows_retracing_advice_is_dropped_and_other_warnings_are_kept(keras, caplog):
    import logging

    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 5 calls to <function f at 0x1> triggered tf.function "
                       "retracing. Tracing is expensive")
        logger.warning("something else went wrong")
    assert [record.getMessage() for record in caplog.records] == ["something else went wrong"]
