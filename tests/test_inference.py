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
