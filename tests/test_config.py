"""Settings: defaults < TOML file < overrides, and one UserError per out-of-range setting."""

import pytest

from forecaster.config import Settings, load_config, parse_features
from forecaster.errors import UserError


def write_toml(tmp_path, text):
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults():
    settings = load_config()
    assert settings == Settings()
    assert settings.csv is None and settings.time_col is None and settings.target is None
    assert settings.features == ()
    assert settings.fill == "interpolate"
    assert settings.time_steps is None and settings.horizon is None
    assert (settings.val_fraction, settings.test_fraction) == (0.15, 0.15)
    assert (settings.units, settings.epochs, settings.batch_size) == (50, 40, 64)
    assert (settings.learning_rate, settings.patience, settings.seed) == (1e-3, 5, 42)
    assert settings.model_dir is None
    assert settings.ensemble == 1
    assert settings.id_col == () and settings.windows_per_series is None
    assert (settings.val_start, settings.test_start) == (None, None)


def test_toml_overrides_defaults_and_overrides_beat_toml(tmp_path):
    path = write_toml(tmp_path, 'epochs = 10\nunits = 8\nfill = "ffill"\n')
    settings = load_config(path, overrides={"epochs": 3, "units": None, "command": "train"})
    assert settings.epochs == 3  # override beats TOML
    assert settings.units == 8  # override None keeps the TOML value
    assert settings.fill == "ffill"  # TOML beats the default
    assert settings.batch_size == 64  # untouched default


def test_overrides_without_a_file(tmp_path):
    assert load_config(overrides={"horizon": 6, "time_steps": None}).horizon == 6


def test_unknown_setting_in_toml_is_a_user_error(tmp_path):
    path = write_toml(tmp_path, "epoch = 3\n")
    with pytest.raises(UserError, match=r"unknown setting\(s\) epoch"):
        load_config(path)


def test_missing_config_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_is_a_user_error(tmp_path):
    path = write_toml(tmp_path, "epochs = = 3\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config(path)


def test_features_parsing():
    assert parse_features("a,b") == ("a", "b")
    assert parse_features(" a, ,b ") == ("a", "b")
    assert parse_features(["a", "b"]) == ("a", "b")
    assert parse_features(None) == ()
    assert load_config(overrides={"features": "a,b"}).features == ("a", "b")


def test_features_from_a_toml_list(tmp_path):
    path = write_toml(tmp_path, 'features = ["temp", "wind"]\n')
    assert load_config(path).features == ("temp", "wind")


def test_to_dict_from_dict_round_trip():
    settings = Settings(features=("a", "b"), id_col=("store", "item"), epochs=7, test_start="2021-03-01")
    values = settings.to_dict()
    assert values["features"] == ["a", "b"] and values["id_col"] == ["store", "item"]
    assert Settings.from_dict(values) == settings


def test_id_columns_parse_like_features():
    assert load_config(overrides={"id_col": "store, item"}).id_col == ("store", "item")


@pytest.mark.parametrize(
    ("overrides", "flag", "received"),
    [
        ({"time_steps": 0}, "--time-steps", "is 0"),
        ({"horizon": -1}, "--horizon", "is -1"),
        ({"epochs": 0}, "--epochs", "is 0"),
        ({"ensemble": 0}, "--ensemble", "is 0"),
        ({"windows_per_series": 0}, "--windows-per-series", "is 0"),
        ({"val_fraction": 0.0}, "--val-fraction", "is 0.0"),
        ({"val_fraction": 1.0}, "--val-fraction", "is 1.0"),
        ({"test_fraction": 1.0}, "--test-fraction", "is 1.0"),
        ({"fill": "bogus"}, "--fill", "is 'bogus'"),
        ({"val_fraction": 0.5, "test_fraction": 0.4}, "--val-fraction 0.5 + --test-fraction 0.4", ""),
    ],
)
def test_validate_names_the_flag_and_the_value(overrides, flag, received):
    with pytest.raises(UserError) as caught:
        Settings(**overrides).validate()
    assert f"{flag} {received}".strip() in str(caught.value)


def test_test_fraction_zero_is_allowed():
    assert Settings(test_fraction=0.0).validate().test_fraction == 0.0


def test_validate_runs_on_load(tmp_path):
    path = write_toml(tmp_path, "epochs = 0\n")
    with pytest.raises(UserError, match="--epochs is 0"):
        load_config(path)


def test_quoted_number_in_toml_is_a_user_error(tmp_path):
    path = write_toml(tmp_path, 'val_fraction = "0.2"\n')
    with pytest.raises(UserError, match="--val-fraction is '0.2'"):
        load_config(path)


def test_recursive_strategy_refuses_features():
    with pytest.raises(UserError, match="future values of --features temp are unknown"):
        load_config(overrides={"strategy": "recursive", "features": "temp"})
    with pytest.raises(UserError, match="--strategy is 'sideways'"):
        load_config(overrides={"strategy": "sideways"})


def test_season_length_must_be_a_whole_number():
    with pytest.raises(UserError, match="--season-length is 0"):
        load_config(overrides={"season_length": 0})
    assert load_config(overrides={"season_length": 52}).season_length == 52
