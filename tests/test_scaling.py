"""Scaler: statistics from the rows passed to fit only; JSON round trip; unfitted use fails."""

import json

import numpy as np
import pytest

from forecaster.errors import UserError
from forecaster.scaling import Scaler

VALUES = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0], [7.0, 70.0]])


def test_statistics_come_only_from_the_rows_passed_to_fit():
    values = np.array([[1.0, 5.0], [3.0, 5.0], [1e9, 5.0]])
    other = np.array([[1.0, 5.0], [3.0, 5.0], [-7.0, 5.0]])
    scaler = Scaler().fit(values[:2])
    assert scaler.mean_.tolist() == [2.0, 5.0]
    assert scaler.scale_.tolist() == [1.0, 1.0]
    same = Scaler().fit(other[:2])
    assert same.mean_.tolist() == scaler.mean_.tolist()
    assert same.scale_.tolist() == scaler.scale_.tolist()
    assert scaler.transform(values)[:, 0].tolist() == [-1.0, 1.0, np.float32(1e9 - 2)]


def test_fit_returns_self_and_standardises():
    scaler = Scaler()
    assert scaler.fit([[0.0], [2.0]]) is scaler
    assert (scaler.mean_.tolist(), scaler.scale_.tolist()) == ([1.0], [1.0])
    scaled = scaler.transform([[0.0], [2.0], [5.0]])
    assert scaled.dtype == np.float32
    assert scaled[:, 0].tolist() == [-1.0, 1.0, 4.0]


def test_transform_then_inverse_target_round_trips():
    scaler = Scaler().fit(VALUES)
    scaled = scaler.transform(VALUES)
    assert np.allclose(scaled.mean(axis=0), 0, atol=1e-6)
    assert np.allclose(scaled.std(axis=0), 1, atol=1e-6)
    restored = scaler.inverse_target(scaled[:, 0])
    assert restored.dtype == np.float64
    assert np.allclose(restored, VALUES[:, 0], rtol=0, atol=1e-6)


def test_inverse_target_keeps_any_shape():
    scaler = Scaler().fit([[0.0], [2.0]])
    assert scaler.inverse_target([[-1.0, 0.0], [1.0, 3.0]]).tolist() == [[0.0, 1.0], [2.0, 4.0]]


def test_constant_column_gets_scale_one():
    scaler = Scaler().fit([[1.0, 3.0], [2.0, 3.0], [3.0, 3.0]])
    assert scaler.scale_[1] == 1.0
    assert scaler.transform([[2.0, 3.0], [2.0, 5.0]])[:, 1].tolist() == [0.0, 2.0]


def test_fit_ignores_missing_values():
    scaler = Scaler().fit([[1.0], [np.nan], [3.0]])
    assert (scaler.mean_.tolist(), scaler.scale_.tolist()) == ([2.0], [1.0])


def test_fit_needs_a_non_empty_two_dimensional_array():
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        Scaler().fit([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"got shape \(0, 2\)"):
        Scaler().fit(np.empty((0, 2)))


@pytest.mark.parametrize("use", [lambda s: s.transform([[1.0]]), lambda s: s.inverse_target([1.0]),
                                 lambda s: s.to_dict()])
def test_unfitted_use_raises(use):
    with pytest.raises(RuntimeError, match=r"not fitted yet; call fit\(training_values\) first"):
        use(Scaler())


def test_to_dict_from_dict_round_trip():
    scaler = Scaler().fit(VALUES)
    values = json.loads(json.dumps(scaler.to_dict()))
    assert values["kind"] == "standard"
    restored = Scaler.from_dict(values)
    assert restored.mean_.tolist() == scaler.mean_.tolist()
    assert restored.scale_.tolist() == scaler.scale_.tolist()
    assert restored.transform(VALUES).tolist() == scaler.transform(VALUES).tolist()


def test_from_dict_of_an_unknown_kind():
    with pytest.raises(UserError, match="scaler kind 'minmax' is unknown"):
        Scaler.from_dict({"kind": "minmax", "mean": [0.0], "scale": [1.0]})
