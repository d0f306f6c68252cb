"""NumpyModel: every model the factory builds forecasts as Keras does, without importing Keras."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from forecaster import backend
from forecaster.inference import NumpyModel
from forecaster.models import MODEL_KINDS, build_model, combine_members

pytestmark = pytest.mark.slow  # imports Keras, to build the models that NumpyModel must match

ROOT = Path(__file__).resolve().parents[1]
TIME_STEPS = 12
# (layers, dropout, features, horizon, units): each kind meets every value of each setting; units 6
# gives the transformer one attention head of 6, units 8 four heads of 2.
SHAPES = [(1, 0.0, 1, 4, 8), (1, 0.1, 3, 1, 6), (2, 0.0, 3, 4, 6), (2, 0.1, 1, 1, 8)]


@pytest.fixture
def keras():
    module = backend.keras()
    module.utils.set_random_seed(0)
    return module


def _perturbed(model, seed: int = 0):
    """`model` with noise added to every weight, so that no bias is zero and no kernel is as built."""
    rng = np.random.default_rng(seed)
    model.set_weights([weight + rng.normal(0, 0.1, weight.shape).astype("float32")
                       for weight in model.get_weights()])
    return model


def _windows(features: int, samples: int = 8) -> np.ndarray:
    """float64 windows (samples, TIME_STEPS, features) of standardised scale, as predict_next builds."""
    rng = np.random.default_rng(1)
    return rng.normal(0.2, 1.5, size=(samples, TIME_STEPS, features))


def _assert_same_forecasts(model, tmp_path, features: int) -> None:
    model.save(tmp_path / "model.keras")
    windows = _windows(features)
    found = NumpyModel.load(tmp_path / "model.keras").predict_on_batch(windows)
    expected = model.predict_on_batch(windows)
    assert found.dtype == np.float32 and found.shape == expected.shape
    np.testing.assert_allclose(found, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("layers", "dropout", "features", "horizon", "units"), SHAPES)
@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_factory_model_forecasts_as_keras_does(keras, tmp_path, kind, layers, dropout, features,
                                                      horizon, units):
    model = build_model(kind, TIME_STEPS, features, horizon, units=units, layers=layers, dropout=dropout)
    _assert_same_forecasts(_perturbed(model), tmp_path, features)


@pytest.mark.parametrize("kinds", [("lstm", "gru", "transformer"), ("rnn", "dense")])
def test_an_ensemble_forecasts_the_median_of_its_members_as_keras_does(keras, tmp_path, kinds):
    # two members: the median is the mean of the two, as keras.ops.median takes it
    members = [_perturbed(build_model(kind, TIME_STEPS, 3, 4, units=8), seed)
               for seed, kind in enumerate(kinds)]
    _assert_same_forecasts(combine_members(members), tmp_path, features=3)


def test_reads_the_checked_bytes_of_an_archive_as_well_as_its_path(keras, tmp_path):
    model = _perturbed(build_model("lstm", TIME_STEPS, 1, 2, units=4))
    model.save(tmp_path / "model.keras")
    windows = _windows(1)
    from_bytes = NumpyModel.load((tmp_path / "model.keras").read_bytes()).predict_on_batch(windows)
    from_path = NumpyModel.load(str(tmp_path / "model.keras")).predict_on_batch(windows)
    assert np.array_equal(from_bytes, from_path)


def test_a_lambda_layer_is_refused_by_name(keras, tmp_path):
    inputs = keras.Input(shape=(TIME_STEPS, 1), name="window")
    doubled = keras.layers.Lambda(lambda x: 2 * x, name="doubled")(inputs)
    outputs = keras.layers.Dense(1, name="forecast")(keras.layers.Flatten()(doubled))
    keras.Model(inputs, outputs).save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match=r"the layer '.*doubled' of class Lambda"):
        NumpyModel.load(tmp_path / "model.keras")


def test_a_setting_the_factory_never_uses_is_refused_by_name(keras, tmp_path):
    inputs = keras.Input(shape=(TIME_STEPS, 1), name="window")
    hidden = keras.layers.GRU(4, reset_after=False, name="gru")(inputs)
    keras.Model(inputs, keras.layers.Dense(1, name="forecast")(hidden)).save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match=r"'.*gru' of class GRU has reset_after=False"):
        NumpyModel.load(tmp_path / "model.keras")


def test_windows_of_another_shape_are_refused(keras, tmp_path):
    build_model("dense", TIME_STEPS, 2, 1, units=4).save(tmp_path / "model.keras")
    model = NumpyModel.load(tmp_path / "model.keras")
    with pytest.raises(ValueError, match=r"windows have the shape \(1, 12, 3\); .* reads \(batch, 12, 2\)"):
        model.predict_on_batch(np.zeros((1, TIME_STEPS, 3)))


def test_a_zip_without_a_model_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("notes.txt", "not a model")
    with pytest.raises(ValueError, match="lacks config.json and model.weights.h5"):
        NumpyModel.load(tmp_path / "model.keras")


def test_loading_and_forecasting_import_neither_tensorflow_nor_keras(keras, tmp_path):
    members = [_perturbed(build_model(kind, TIME_STEPS, 1, 2, units=8)) for kind in ("lstm", "transformer")]
    combine_members(members).save(tmp_path / "model.keras")
    script = (
        "import json, sys\n"
        "import numpy as np\n"
        "from forecaster.inference import NumpyModel\n"
        f"model = NumpyModel.load({str(tmp_path / 'model.keras')!r})\n"
        f"forecast = model.predict_on_batch(np.zeros((1, {TIME_STEPS}, 1)))\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & "
        "{'tensorflow', 'keras', 'pandas', 'scipy'})\n"
        "print(json.dumps({'shape': list(forecast.shape), 'heavy': heavy}))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert json.loads(result.stdout) == {"shape": [1, 2], "heavy": []}


def _loaded(model, tmp_path) -> NumpyModel:
    """`model` saved to tmp_path and loaded by NumpyModel."""
    model.save(tmp_path / "model.keras")
    return NumpyModel.load(tmp_path / "model.keras")


def _keras_output(keras, model, tensor, windows) -> np.ndarray:
    """The value Keras computes for `tensor` (a layer's input or output inside `model`) from `windows`."""
    return np.asarray(keras.Model(model.inputs, tensor).predict_on_batch(windows))


def _stepped_by_keras(layer, inputs: np.ndarray) -> list[np.ndarray]:
    """Keras's own states of a recurrent `layer` after each step: its cell stepped over axis 1 of
    `inputs` (batch, steps, features) from zero states -> [hidden] (SimpleRNN, GRU) or [hidden, cell]
    (LSTM), each (batch, steps, units)."""
    count = 2 if type(layer).__name__ == "LSTM" else 1
    states = [np.zeros((len(inputs), layer.units), dtype="float32")] * count
    steps = []
    for step in range(inputs.shape[1]):
        _, states = layer.cell(inputs[:, step].astype("float32"), states)
        steps.append([np.asarray(state) for state in states])
    return [np.stack([step[index] for step in steps], axis=1) for index in range(count)]


@pytest.mark.parametrize(("kind", "layers"), [("lstm", 1), ("lstm", 2), ("gru", 1), ("gru", 2), ("rnn", 1)])
def test_traced_states_are_those_of_keras_stepping_each_cell(keras, tmp_path, kind, layers):
    model = _perturbed(build_model(kind, TIME_STEPS, 2, 3, units=6, layers=layers))
    windows = _windows(2, samples=3)
    _, traces = _loaded(model, tmp_path).trace(windows)
    names = [kind] if layers == 1 else [f"{kind}_1", f"{kind}_2"]
    assert [trace.path for trace in traces] == names
    for trace in traces:
        layer = model.get_layer(trace.path)
        assert trace.kind == type(layer).__name__
        inputs = windows if trace.path == names[0] else _keras_output(keras, model, layer.input, windows)
        expected = _stepped_by_keras(layer, inputs)
        for name, states in zip(("hidden", "cell"), expected, strict=False):
            assert trace.arrays[name].dtype == np.float32 and trace.arrays[name].shape == (3, TIME_STEPS, 6)
            np.testing.assert_allclose(trace.arrays[name], states, atol=1e-5, rtol=0)
        output = _keras_output(keras, model, layer.output, windows)  # a sequence, or the last state
        hidden = trace.arrays["hidden"] if layer.return_sequences else trace.arrays["hidden"][:, -1]
        np.testing.assert_allclose(hidden, output, atol=1e-5, rtol=0)


def test_lstm_gates_compose_its_cell_and_hidden_states(keras, tmp_path):
    model = _perturbed(build_model("lstm", TIME_STEPS, 2, 1, units=6))
    _, (trace,) = _loaded(model, tmp_path).trace(_windows(2, samples=3))
    gates = trace.arrays
    previous = np.concatenate([np.zeros_like(gates["cell"][:, :1]), gates["cell"][:, :-1]], axis=1)
    cell = gates["forget_gate"] * previous + gates["input_gate"] * gates["candidate"]
    np.testing.assert_allclose(gates["cell"], cell, atol=1e-6, rtol=0)
    hidden = gates["output_gate"] * np.tanh(gates["cell"])
    np.testing.assert_allclose(gates["hidden"], hidden, atol=1e-6, rtol=0)


def test_gru_update_gate_mixes_its_hidden_state_and_candidate(keras, tmp_path):
    model = _perturbed(build_model("gru", TIME_STEPS, 2, 1, units=6))
    _, (trace,) = _loaded(model, tmp_path).trace(_windows(2, samples=3))
    gates = trace.arrays
    previous = np.concatenate([np.zeros_like(gates["hidden"][:, :1]), gates["hidden"][:, :-1]], axis=1)
    hidden = gates["update_gate"] * previous + (1 - gates["update_gate"]) * gates["candidate"]
    np.testing.assert_allclose(gates["hidden"], hidden, atol=1e-6, rtol=0)
    assert set(gates) == {"update_gate", "reset_gate", "candidate", "hidden"}


def test_traced_attention_is_the_scores_keras_returns(keras, tmp_path):
    model = _perturbed(build_model("transformer", TIME_STEPS, 2, 1, units=8, layers=2))  # 4 heads of 2
    windows = _windows(2, samples=3)
    _, traces = _loaded(model, tmp_path).trace(windows)
    assert [trace.path for trace in traces] == ["encoder_1_attention", "encoder_2_attention"]
    for trace, source in zip(traces, ["positional_encoding", "encoder_1_feed_forward_norm"], strict=True):
        inputs = _keras_output(keras, model, model.get_layer(source).output, windows)
        _, scores = model.get_layer(trace.path)(inputs, inputs, return_attention_scores=True)
        weights = trace.arrays["attention"]
        assert trace.kind == "MultiHeadAttention" and weights.dtype == np.float32
        assert weights.shape == (3, 4, TIME_STEPS, TIME_STEPS)
        np.testing.assert_allclose(weights, np.asarray(scores), atol=1e-5, rtol=0)
        np.testing.assert_allclose(weights.sum(axis=-1), 1, atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_trace_forecasts_exactly_as_predict_on_batch(keras, tmp_path, kind):
    model = _loaded(_perturbed(build_model(kind, TIME_STEPS, 2, 3, units=8, layers=2, dropout=0.1)), tmp_path)
    windows = _windows(2, samples=3)
    outputs, traces = model.trace(windows)
    assert np.array_equal(outputs, model.predict_on_batch(windows))
    expected = {"lstm": ["lstm_1", "lstm_2"], "gru": ["gru_1", "gru_2"], "rnn": ["rnn_1", "rnn_2"],
                "transformer": ["encoder_1_attention", "encoder_2_attention"], "dense": []}[kind]
    assert [trace.path for trace in traces] == expected


def test_an_ensemble_traces_each_member_under_its_name(keras, tmp_path):
    members = [_perturbed(build_model("lstm", TIME_STEPS, 2, 3, units=6), seed) for seed in (0, 1)]
    model = _loaded(combine_members(members), tmp_path)
    windows = _windows(2, samples=3)
    outputs, traces = model.trace(windows)
    assert np.array_equal(outputs, model.predict_on_batch(windows))
    assert [(trace.path, trace.kind) for trace in traces] == [
        ("member_1/lstm", "LSTM"), ("member_2/lstm", "LSTM")]
    assert not np.array_equal(traces[0].arrays["hidden"], traces[1].arrays["hidden"])
