"""Settings: one flat object with commented defaults. Defaults < TOML file < command-line flags."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

from forecaster.errors import UserError

FILL_METHODS = ("interpolate", "ffill", "error")
SCALINGS = ("auto", "global", "change", "window", "seasonal")
STRATEGIES = ("direct", "recursive")
LOSSES = ("mse", "mae", "huber")
MODEL_KINDS = ("lstm", "gru", "rnn", "transformer", "dense")  # built by forecaster.models.build_model
DISTRIBUTIONS = ("none", "mirrored", "multiworker")  # see forecaster.distribution


@dataclass
class Settings:
    """Everything a training run needs; saved in the bundle so forecasts never use today's defaults."""

    # Data
    csv: str | None = None  # the CSV to train on
    time_col: str | None = None  # time column; found automatically when only one parses as dates
    # Column to forecast; found automatically when only one is numeric. Several names "A,B,C" (or
    # "all": every numeric column but the time and the features) read a wide file: each column
    # one series of one global model.
    target: str | None = None
    # Long format: the column(s) whose values name a series ("store,item": one key over both); one
    # global model over every series. Empty: the file is one series (or wide, by --target).
    id_col: tuple[str, ...] = ()
    # Long format: columns constant within each series (a category, a store's size) given to the
    # network as inputs: numbers standardised over the training series, text one-hot.
    static: tuple[str, ...] = ()
    features: tuple[str, ...] = ()  # extra input columns (their past values), besides the target
    # Inputs known ahead (a planned promotion, a price, a holiday, a weather forecast): the network
    # reads their past values and their values on every step it forecasts.
    future: tuple[str, ...] = ()
    calendar: bool = False  # add hour/weekday/month inputs (sine and cosine) from the timestamps
    fill: str = "interpolate"  # missing values and missing timestamps: interpolate | ffill | error
    # Windows: None means "chosen from the data": the horizon is one calendar season (the next day
    # of hourly data, the next year of monthly data); the window three of the shortest seasonal
    # period found in the training rows and the whole longest (hourly with a weekly cycle: 168).
    time_steps: int | None = None  # length of each input window, in rows
    horizon: int | None = None  # steps forecast at once
    # Steps per season (seasonal naive, "change", MASE). None: the periods found in the training
    # rows (`forecaster.seasons`), MASE keeping the calendar season: 24 hourly, 7 daily, 12 monthly.
    season_length: int | None = None
    val_fraction: float = 0.15  # share of the time range (the middle) for validation and early
    #                             stopping; one cutoff in time for every series
    test_fraction: float = 0.15  # share of the time range (the end) held out for `evaluate`; 0 allowed
    val_start: str | None = None  # timestamp where validation starts (instead of val_fraction)
    test_start: str | None = None  # timestamp where the test split starts (instead of test_fraction)
    # How the series is shown to the model: "global" (the classic recipe: levels standardised
    # with training statistics), "change" (the target's change over one season or one step; the
    # model forecasts a correction to the better of naive and seasonal naive), "window" (each
    # window relative to its last value and spread), or "auto": train all three, and keep the
    # network, or the equal-weight mean of several networks and their ridge baselines (at least
    # one network among them), with the lowest validation error.
    scaling: str = "auto"
    # Multi-step forecasts: "direct" (one Dense(horizon) head forecasts every step at once) or
    # "recursive" (a one-step model fed its own forecasts, step after step).
    strategy: str = "direct"
    # Model and training: by default the classic Keras example, LSTM(units) -> Dense(horizon),
    # Adam, MSE. `model` picks the family: lstm, gru, rnn (SimpleRNN), transformer (a small
    # self-attention encoder), dense; `layers` stacks them; `dropout` follows each.
    model: str = "lstm"
    units: int = 50  # units per layer (the transformer's model width)
    layers: int = 1
    dropout: float = 0.0
    epochs: int = 40  # upper bound; early stopping usually ends sooner
    batch_size: int = 64
    learning_rate: float = 1e-3  # Adam
    loss: str = "huber"  # training loss: huber (by the benchmark's evidence), mse (the classic
    #                      recipe's), or mae
    patience: int = 5  # epochs without validation improvement before stopping
    # Compile training with XLA. On this project's CPUs the classic example (1000-step windows)
    # trained about 1.6x faster, 72-step windows about 5%; but Keras allows XLA only without
    # TensorFlow's deterministic ops, so two runs may then differ in the last digits.
    jit_compile: bool = False
    steps_per_epoch: int | None = None  # batches per epoch at most (None: every training window
    #   once, up to a million window steps, windows x time_steps); each capped epoch reads another share
    # Training windows drawn from each series per epoch at most, anew each epoch, so that long
    # series do not outweigh short ones and an epoch's cost is bounded however many series there
    # are. None: the median series' number of training windows (one series: all of them).
    windows_per_series: int | None = None
    # Give the network each series' size (the log of its mean absolute value over its training
    # rows, standardised over the training series) as one more input, so that one model can tell
    # large series from small ones, whose windows every representation scales alike.
    series_size: bool = False
    seed: int = 42  # one seed for Python, NumPy and Keras, set at the entry point
    # Models trained from seeds seed, seed + 1, ... whose median is the forecast (1: one model).
    # The members are chosen once, on the first seed; each kept network then gets the further
    # seeds, each costing one more training (their median, then the mean across members).
    ensemble: int = 1
    # `--scaling auto` on a short validation split (fewer than 100 origins to choose on): every
    # candidate is also trained on the rows before each of this many earlier stretches of the
    # validation split's length and scored on that stretch, and the members are chosen on all of
    # them (each candidate's errors relative to the best's, averaged); 0: on the validation split
    # alone. Each fold costs one more training of every network, on short files only.
    choice_folds: int = 2
    # Training on several devices: "none", "mirrored" (every local GPU, or logical CPU device) or
    # "multiworker" (the machines in the TF_CONFIG environment variable); --batch-size stays global.
    distribute: str = "none"
    model_dir: str | None = None  # where the bundle goes; None = models/<csv name>

    def validate(self) -> Settings:
        """Raise UserError naming the first setting that is out of range; return self."""
        for name in ("val_fraction", "test_fraction", "learning_rate", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"--{_flag(name)} is {value!r}; expected a number, such as 0.15.")
        for name in ("time_steps", "horizon", "season_length", "steps_per_epoch", "windows_per_series"):
            value = getattr(self, name)
            if value is not None and (_not_whole(value) or value < 1):
                raise UserError(
                    f"--{_flag(name)} is {value!r}; expected a whole number of at least 1.")
        for name in ("epochs", "batch_size", "units", "layers", "patience", "ensemble",
                     "choice_folds"):
            value = getattr(self, name)
            minimum = 0 if name in ("patience", "choice_folds") else 1
            if _not_whole(value) or value < minimum:
                raise UserError(
                    f"--{_flag(name)} is {value!r}; expected a whole number of at least {minimum}.")
        if not 0 < self.val_fraction < 1:
            raise UserError(
                f"--val-fraction is {self.val_fraction!r}; expected a number between 0 and 1 "
                f"(exclusive), such as 0.15.")
        if not 0 <= self.test_fraction < 1:
            raise UserError(
                f"--test-fraction is {self.test_fraction!r}; expected a number from 0 up to "
                f"(not including) 1, such as 0.15.")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise UserError(
                f"--val-fraction {self.val_fraction} + --test-fraction {self.test_fraction} leave "
                f"under 10% of the rows for training; lower one of them.")
        for name in ("jit_compile", "series_size", "calendar"):
            if not isinstance(getattr(self, name), bool):
                raise UserError(f"{name} is {getattr(self, name)!r}; expected true or false.")
        if self.model not in MODEL_KINDS:
            raise UserError(f"--model is {self.model!r}; expected one of {', '.join(MODEL_KINDS)}.")
        if not 0 <= self.dropout < 1:
            raise UserError(f"--dropout is {self.dropout!r}; expected a number from 0 up to 1, like 0.2.")
        if self.loss not in LOSSES:
            raise UserError(f"--loss is {self.loss!r}; expected one of {', '.join(LOSSES)}.")
        if self.strategy not in STRATEGIES:
            raise UserError(
                f"--strategy is {self.strategy!r}; expected one of {', '.join(STRATEGIES)}.")
        if self.strategy == "recursive" and self.features:
            raise UserError(
                "--strategy recursive feeds the model its own forecasts, but the future values of "
                f"--features {','.join(self.features)} are unknown; use --strategy direct with them.")
        if self.scaling not in SCALINGS:
            raise UserError(
                f"--scaling is {self.scaling!r}; expected one of {', '.join(SCALINGS)}.")
        if self.fill not in FILL_METHODS:
            raise UserError(
                f"--fill is {self.fill!r}; expected one of {', '.join(FILL_METHODS)}.")
        if self.distribute not in DISTRIBUTIONS:
            raise UserError(
                f"--distribute is {self.distribute!r}; expected one of {', '.join(DISTRIBUTIONS)}.")
        if not self.learning_rate > 0:
            raise UserError(
                f"--learning-rate is {self.learning_rate!r}; expected a positive number like 0.001.")
        return self

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["features"] = list(self.features)
        values["id_col"] = list(self.id_col)
        values["static"] = list(self.static)
        values["future"] = list(self.future)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Settings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UserError(
                f"unknown setting(s) {', '.join(unknown)}; known settings are "
                f"{', '.join(sorted(known))}.")
        values = dict(values)
        for name in ("features", "id_col", "static", "future"):
            if name in values:
                values[name] = parse_features(values[name])
        return cls(**values)


def parse_features(value) -> tuple[str, ...]:
    """'a,b' or ['a', 'b'] -> ('a', 'b'); empty names are dropped."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Settings:
    """Defaults, then the TOML file at `path` (if any), then `overrides` whose value is not None.

    Keys of `overrides` that are not settings (such as the CLI's own `command`) are ignored.
    """
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"config file {path} does not exist; pass the path of a TOML file.")
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"config file {path} is not valid TOML ({error}); fix the file.") from None
    known = {f.name for f in dataclasses.fields(Settings)}
    for key, value in (overrides or {}).items():
        if key in known and value is not None:
            values[key] = value
    return Settings.from_dict(values).validate()


def _not_whole(value) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _flag(name: str) -> str:
    return name.replace("_", "-")
