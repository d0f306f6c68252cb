"""The command line: each handler parses, calls one library function, prints. `main` returns the
exit status: 0 on success, 2 on a user error (one line on stderr, no traceback)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from forecaster.config import MODEL_KINDS, SCALINGS, load_config, parse_features
from forecaster.errors import UserError, count
from forecaster.files import check_output_file, write_text_atomically


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse's own usage error (status 2)
        return int(exit_.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except UserError as error:
        print(f"forecaster {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "; run the same command with --resume to continue" if args.command == "train" else ""
        print(f"forecaster {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forecaster",
        description="Train an LSTM forecaster on a CSV of one time series or many (one global "
                    "model), score it against baselines, and forecast the steps after the end of "
                    "a history.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = commands.add_parser(
        "inspect", help="show what forecaster reads in a CSV and what would stop train",
        description="Report what forecaster sees in a CSV: rows, columns and their types, the time "
                    "column and target it would use, the time range and frequency, gaps, duplicate "
                    "timestamps, missing values, non-numeric cells and constant columns; then each "
                    "problem that would stop train, with its fix. Reads nothing but the CSV.")
    inspect.add_argument("--csv", required=True, help="the CSV (or Parquet) file to inspect")
    inspect.add_argument("--time-col", dest="time_col", help="time column (default: as train finds it)")
    inspect.add_argument("--target", help="column to forecast (default: as train finds it); several "
                         "A,B,C or all for a wide file (a series per column)")
    inspect.add_argument("--id-col", dest="id_col", help="long format: the column(s) naming each "
                         "series, comma-separated")
    inspect.add_argument("--features", help="extra input columns, comma-separated: A,B")
    inspect.set_defaults(handler=_inspect)

    train = commands.add_parser(
        "train", help="train a model on a CSV and save it to a model folder",
        description="Train LSTM(50) -> Dense(horizon) on a CSV of one series or many (split by "
                    "time into train, validation and test, one cutoff for every series) and save a "
                    "self-describing model folder.")
    _training_options(train)
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted train (Ctrl-C or a killed process) of the same "
                            "command from its last completed epoch")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser(
        "evaluate", help="backtest a model on held-out data next to five baselines",
        description="Backtest the model over its held-out test split (or the tail of --csv): MAE, "
                    "RMSE, sMAPE, MASE and skill, overall and per step, next to the naive, "
                    "seasonal-naive, mean, drift and ridge baselines, and the coverage of its "
                    "prediction intervals. Writes metrics.json, figures and report.html.")
    evaluate.add_argument("--model-dir", dest="model_dir", required=True)
    evaluate.add_argument("--csv", help="score the tail of this CSV (or Parquet) file instead of the "
                                        "test split")
    evaluate.add_argument("--output-dir", dest="output_dir",
                          help="where to write metrics.json, the figures and report.html "
                               "(default reports/<model name>)")
    evaluate.add_argument("--level", type=float, nargs="+", default=[80, 95],
                          help="prediction-interval levels whose coverage to report (default 80 95)")
    _series_option(evaluate, "score")
    _ray_option(evaluate, "forecast")
    evaluate.set_defaults(handler=_evaluate)

    backtest = commands.add_parser(
        "backtest", help="forecast from many past origins and score every one",
        description="Rolling-origin backtest: at each origin the model and every baseline forecast "
                    "from the rows before it only (scaling and settings from the model folder). "
                    "Writes one row per origin and step; prints the summary.")
    backtest.add_argument("--model-dir", dest="model_dir", required=True)
    backtest.add_argument("--csv", required=True, help="the series to backtest on")
    where = backtest.add_mutually_exclusive_group()
    where.add_argument("--start", help="first origin: the first forecast step's timestamp")
    where.add_argument("--last", type=int, help="backtest the last N possible origins")
    backtest.add_argument("--stride", type=int, default=1, help="steps between origins (default 1)")
    backtest.add_argument("--level", type=float, nargs="*", default=[],
                          help="add lower_L/upper_L conformal interval columns, e.g. --level 80 95")
    backtest.add_argument("--output", help="CSV of every forecast (default "
                          "reports/<model name>/backtest.csv; - for stdout)")
    _series_option(backtest, "backtest")
    _ray_option(backtest, "backtest")
    backtest.set_defaults(handler=_backtest)

    compare = commands.add_parser(
        "compare", help="train several model families on one CSV and compare them",
        description="Train each model family on the same split with the same seed and settings, "
                    "score each on the test split next to the baselines, and time them: table, "
                    "compare.json and a bar chart compare.png.")
    compare.add_argument("--models", default="lstm,gru,rnn,transformer",
                         help=f"comma-separated families from {','.join(MODEL_KINDS)} "
                              f"(default lstm,gru,rnn,transformer)")
    compare.add_argument("--output-dir", dest="output_dir",
                         help="where results go (default reports/compare-<csv name>)")
    _training_options(compare, comparing=True)
    compare.set_defaults(handler=_compare)

    forecast = commands.add_parser(
        "forecast", help="forecast the steps after the end of a CSV",
        description="Read a history CSV with the training columns and forecast the steps after "
                    "the last timestamp of each series. Writes one long CSV: the id column(s) of a "
                    "file of many series, the time column and 'forecast'.")
    forecast.add_argument("--model-dir", dest="model_dir", required=True)
    forecast.add_argument("--csv", required=True, help="the history to forecast from")
    forecast.add_argument("--future-csv", dest="future_csv",
                          help="the values of the inputs known ahead (train's --future) on the "
                               "steps forecast: a row per series and step, with the history's "
                               "id and time columns (default: the history's rows after each "
                               "series' last target value)")
    forecast.add_argument("--horizon", type=int,
                          help="steps to forecast (default: as trained; beyond it the model "
                               "continues from its own forecasts)")
    forecast.add_argument("--output", default="-", help="CSV file to write (default - : stdout)")
    forecast.add_argument("--level", type=float, nargs="*", default=[],
                          help="add lower_L/upper_L conformal prediction intervals, e.g. --level 80 95")
    forecast.add_argument("--plot", help="PNG file of the history's tail and the forecast of one "
                          "series: the first, or the first of --series")
    _series_option(forecast, "forecast")
    _ray_option(forecast, "forecast")
    forecast.set_defaults(handler=_forecast)

    explain = commands.add_parser(
        "explain", help="show which past steps a forecast rests on and what the LSTM's gates did",
        description="Take apart one series' forecast from one origin: each past step's and input "
                    "column's share of it in the target's units (Shapley values against the history "
                    "held flat at its mean; they add up to the forecast minus that one's), and "
                    "inside each network: LSTM/GRU gates, cell and hidden state per unit over the "
                    "window, or a transformer's attention per head. Writes a PNG and explain.json "
                    "beside it.")
    explain.add_argument("--model-dir", dest="model_dir", required=True)
    explain.add_argument("--csv", required=True, help="the history to forecast from")
    explain.add_argument("--origin", help="the first forecast step's timestamp (default: right "
                         "after the end of the series)")
    explain.add_argument("--series", help="the series to explain: its id (with several id columns, "
                         "their values in order: S1,A; default: the first)")
    explain.add_argument("--future-csv", dest="future_csv",
                         help="the values of the inputs known ahead (train's --future) on the steps "
                              "forecast, as for forecast (default: the history's rows after each "
                              "series' last target value)")
    explain.add_argument("--output", help="the picture (default reports/<model name>/explain.png); "
                         "explain.json is written beside it")
    explain.set_defaults(handler=_explain)
    return parser


def _ray_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--ray", metavar="auto|ADDRESS",
                        help=f"{what} the series on Ray (pip install 'forecaster[ray]'): 'auto' starts a "
                             f"local cluster, or a cluster's address such as ray://head:10001; the "
                             f"same results as without it")


def _series_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--series", help=f"{what} only these series: ids, comma-separated (with "
                        f"several id columns, their values in order: S1,A,S2,B)")


def _training_options(parser: argparse.ArgumentParser, comparing: bool = False) -> None:
    """The settings flags shared by train and compare."""
    parser.add_argument("--csv", help="the CSV (or Parquet) file to train on (required, here or in --config)")
    parser.add_argument("--time-col", dest="time_col", help="time column (default: the one "
                       "column that parses as dates, years or yyyymmdd)")
    parser.add_argument("--target", help="column to forecast (default: the one numeric column); "
                        "several A,B,C, or all (every numeric column but the time and --features), "
                        "read a wide file: each column one series of one global model")
    parser.add_argument("--id-col", dest="id_col",
                        help="long format, many series: the column naming each series (several "
                             "comma-separated form one key: store,item); one global model over all")
    parser.add_argument("--features", help="extra input columns, comma-separated: A,B")
    parser.add_argument("--future", help="input columns known ahead (a planned promotion, a price, "
                        "a holiday): the model reads their values on the steps it forecasts too, "
                        "which forecast then needs (rows after the history's last target value, "
                        "or --future-csv): A,B")
    parser.add_argument("--static", help="long format: columns constant within each series (a "
                        "category, a size), given to the model as per-series inputs: A,B")
    parser.add_argument("--calendar", action="store_true", default=None,
                        help="add calendar inputs from the timestamps (hour of day, day of week, "
                             "month, as sine and cosine: those that vary at the data's frequency)")
    parser.add_argument("--time-steps", dest="time_steps", type=int,
                       help="rows in each input window (default: three of the shortest "
                            "seasonal period found and the whole longest, e.g. 72 for hourly data "
                            "with a daily cycle, 168 with a weekly one too)")
    parser.add_argument("--horizon", type=int,
                       help="steps to forecast at once (default: one season, e.g. 24 for hourly)")
    parser.add_argument("--season-length", dest="season_length", type=int,
                        help="steps per season for seasonal naive, --scaling change and MASE "
                             "(default: the periods found in the training rows, among those the "
                             "frequency suggests, e.g. 24 and 168 for hourly data; MASE then uses "
                             "the calendar season: 24 hourly, 7 daily, 12 monthly)")
    parser.add_argument("--epochs", type=int, help="most epochs to train (default 40; early "
                       "stopping on validation loss usually ends sooner)")
    parser.add_argument("--batch-size", dest="batch_size", type=int, help="default 64")
    parser.add_argument("--learning-rate", dest="learning_rate", type=float,
                        help="Adam's learning rate (default 0.001)")
    parser.add_argument("--patience", type=int,
                        help="epochs without a better validation loss before stopping (default 5)")
    parser.add_argument("--jit-compile", dest="jit_compile", action="store_true", default=None,
                        help="compile training with XLA: faster on long windows (1.6x on 1000 steps "
                             "here), but runs are then repeatable only up to the last digits")
    parser.add_argument("--steps-per-epoch", dest="steps_per_epoch", type=int,
                        help="batches per epoch at most (default: every training window once); "
                             "for long series")
    if not comparing:
        parser.add_argument("--model", choices=MODEL_KINDS,
                            help="model family (default lstm: the classic LSTM(50) -> Dense)")
    parser.add_argument("--units", type=int, help="units per layer (default 50)")
    parser.add_argument("--layers", type=int, help="stacked layers (default 1)")
    parser.add_argument("--dropout", type=float, help="dropout after each layer (default 0)")
    parser.add_argument("--val-fraction", dest="val_fraction", type=float,
                       help="share of the time range for validation (default 0.15; one cutoff in "
                            "time for every series)")
    parser.add_argument("--test-fraction", dest="test_fraction", type=float,
                       help="share of the time range held out for evaluate (default 0.15; 0 allowed)")
    parser.add_argument("--val-start", dest="val_start",
                        help="timestamp where validation starts (instead of --val-fraction)")
    parser.add_argument("--test-start", dest="test_start",
                        help="timestamp where the test split starts (instead of --test-fraction)")
    parser.add_argument("--series-size", dest="series_size", action="store_true", default=None,
                        help="give the network each series' size (log of its mean absolute value, "
                             "standardised over the series) as one more input")
    parser.add_argument("--windows-per-series", dest="windows_per_series", type=int,
                        help="training windows drawn from each series per epoch at most, anew each "
                             "epoch (default: the median series' count, so long series do not "
                             "outweigh short ones)")
    parser.add_argument("--scaling", choices=SCALINGS,
                       help="how the series is shown to the model: global (the classic recipe: "
                            "standardised levels), change (changes, forecasting a correction to "
                            "the better naive baseline), window (each window relative to its last "
                            "value and spread), seasonal (relative to the mean of the last cycles "
                            "of the longest seasonal period), or auto (default: train the first "
                            "three, and average every candidate - those networks, their ridges, "
                            "the baselines, the seasonal mean and its ridge - that validates "
                            "within 5%% of the best)")
    parser.add_argument("--loss", choices=("mse", "mae", "huber"),
                        help="training loss (default huber; mse is the classic recipe's)")
    parser.add_argument("--strategy", choices=("direct", "recursive"),
                        help="multi-step forecasts: direct (default: one head forecasts every step) "
                             "or recursive (a one-step model fed its own forecasts)")
    parser.add_argument("--fill", choices=("interpolate", "ffill", "error"),
                       help="how to treat missing values (default interpolate)")
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--ensemble", type=int,
                        help="train N models from seeds seed, seed+1, ... for each network kept "
                             "and forecast their median (default 1; each member is one more "
                             "training run)")
    parser.add_argument("--choice-folds", type=int, dest="choice_folds",
                        help="with --scaling auto on a short validation split (under 100 origins), "
                             "also choose the members on N earlier stretches of the same length, "
                             "every candidate retrained on the rows before each (default 2; 0: "
                             "the validation split alone)")
    parser.add_argument("--distribute", choices=("none", "mirrored", "multiworker"),
                        help="train on one device (none, the default), every local GPU (mirrored), "
                             "or the machines that TF_CONFIG lists (multiworker: run the same "
                             "command on each; only the chief saves). --batch-size is the global batch")
    if not comparing:
        parser.add_argument("--model-dir", dest="model_dir",
                            help="where to save the model (default models/<csv name>)")
    parser.add_argument("--config", help="TOML file of settings; flags override it")


def _settings(args: argparse.Namespace):
    return load_config(args.config, overrides=vars(args))  # it ignores the flags that are no setting


def _inspect(args: argparse.Namespace) -> int:
    from forecaster.inspection import inspect

    print(inspect(args.csv, args.time_col, args.target, parse_features(args.features),
                  parse_features(args.id_col)).text())
    return 0


def _train(args: argparse.Namespace) -> int:
    from forecaster.training import train

    run = train(_settings(args), verbose=1 if sys.stdout.isatty() else 2, resume=args.resume)
    for note in run.notes:
        print(f"forecaster train: note: {note}", file=sys.stderr)
    filled = (f"; filled {count(run.filled_values, 'missing value')} "
              f"({count(run.missing_timestamps, 'missing timestamp')})" if run.filled_values else "")
    tried = ", ".join(f"{name} {mae:.4g}" for name, mae in run.candidates.items())
    saved = f"saved {run.model_dir}" if run.model_dir else "trained, not saved (only the chief saves)"
    score = (f"val MAE {run.val_mae:.4g} {run.target}" if run.series == 1 else
             f"{run.series} series, val MASE {run.val_mase:.4g}")
    print(f"{saved} ({score}; scaling {run.scaling}"
          f"{f' of {tried}' if len(run.candidates) > 1 else ''}; time_steps {run.time_steps}, "
          f"horizon {run.horizon}; seasonal periods: {run.seasons}"
          f"{f'; best epoch {run.best_epoch} of {run.epochs_run}' if run.epochs_run else ''}{filled})")
    if run.members:  # --ensemble N: each kept network forecasts the median of N models
        size = len(next(iter(run.members.values())))
        own = "; ".join(f"{name} " + ", ".join(f"{mae:.4g}" for mae in maes)
                        for name, maes in run.members.items())
        print(f"each network kept is the median of {size} models; their own val MAE: {own}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from forecaster.evaluation import evaluate

    result = evaluate(args.model_dir, csv=args.csv, output_dir=args.output_dir, levels=args.level,
                      series=parse_features(args.series), ray=args.ray)
    print(result.table())
    print(f"wrote {result.report_path} (tables and {len(result.figures)} figures), "
          f"{result.metrics_path} and {', '.join(p.name for p in result.figures.values())}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from forecaster.comparison import compare, parse_models

    models = parse_models(args.models)  # refuse a bad list before loading anything
    result = compare(_settings(args), models, output_dir=args.output_dir,
                     verbose=1 if sys.stdout.isatty() else 2)
    if result.json_path is None:
        print("trained every model, saved nothing (only the chief evaluates and writes)")
        return 0
    print(result.table())
    print(f"wrote {result.json_path} and {result.plot_path}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from forecaster.evaluation import format_table, run_backtest

    output = args.output or str(Path("reports") / Path(args.model_dir).name / "backtest.csv")
    if output != "-":
        check_output_file(output, "--output")
    report, table = run_backtest(args.model_dir, args.csv, start=args.start, last=args.last,
                                 stride=args.stride, levels=args.level,
                                 series=parse_features(args.series), ray=args.ray)
    text = table.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    if output == "-":
        sys.stdout.write(text)
        print(format_table(report), file=sys.stderr)
    else:
        write_text_atomically(output, text)
        print(format_table(report))
        print(f"wrote {output} ({len(table)} rows: {report['origins']} origins x {report['horizon']} steps)")
    for name, reason in report.get("left_out", []):
        print(f"forecaster backtest: note: series {name} left out ({reason})", file=sys.stderr)
    return 0


def _forecast(args: argparse.Namespace) -> int:
    from forecaster.artifacts import load_bundle
    from forecaster.forecasting import forecast, left_out_note

    if args.output not in (None, "-"):
        check_output_file(args.output, "--output")
    if args.plot:  # matplotlib only when a picture is asked for: a forecast answers sooner
        from forecaster.plots import PICTURE_SUFFIXES, plot_fan_chart

        check_output_file(args.plot, "--plot", PICTURE_SUFFIXES)
    model = load_bundle(args.model_dir)
    result = forecast(model, args.csv, horizon=args.horizon, levels=args.level,
                      series=parse_features(args.series), model_dir=args.model_dir, ray=args.ray,
                      future=args.future_csv)
    history = result.history
    if history.missing_values:
        print(f"forecaster forecast: note: filled {count(history.missing_values, 'missing value')} "
              f"in {args.csv} ({model.settings_.fill}) before forecasting", file=sys.stderr)
    note = left_out_note(history)
    if note:
        print(f"forecaster forecast: note: {note}", file=sys.stderr)
    bounded = model.intervals_.finite_up_to()
    unbounded = sorted(level for level in args.level if level > bounded)
    if unbounded:
        lower = f"ask for --level {bounded} or lower, or " if bounded else ""
        print(f"forecaster forecast: note: the {', '.join(f'{level:g}%' for level in unbounded)} "
              f"interval{'s are' if len(unbounded) > 1 else ' is'} unbounded (-inf to inf): only "
              f"{min(model.intervals_.counts_)} validation windows calibrated the intervals, too "
              f"few for so high a level; {lower}train on a longer file.", file=sys.stderr)
    text = result.frame.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    if args.plot:
        values = history.values(0, model.settings_.fill)[:, 0]
        title = model.schema_.target if len(history) == 1 else f"{model.schema_.target} of {history.label(0)}"
        intervals = {level: (lower[0], upper[0]) for level, (lower, upper) in result.intervals.items()}
        plot_fan_chart(history.index(0), values, result.times[0], result.values[0], intervals,
                       title, args.plot)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_text_atomically(args.output, text)
        steps = f"{len(result.frame)} rows: {len(history)} series x {result.values.shape[1]} steps" \
            if len(history) > 1 else f"{len(result.frame)} steps"
        print(f"wrote {args.output} ({steps})", file=sys.stderr)
    return 0


def _explain(args: argparse.Namespace) -> int:
    from forecaster.explanation import explain

    result, picture, numbers = explain(args.model_dir, args.csv, origin=args.origin,
                                       series=parse_features(args.series), output=args.output,
                                       future=args.future_csv)
    what = f"{result.target} of {result.series}" if result.series else result.target
    rows = ", ".join(f"{time} ({share:+.4g})" for time, share in result.strongest(3))
    print(f"{what}: the forecast of {len(result.forecast)} steps from {result.summary()['origin']} is "
          f"{result.total().sum():+.4g} in all against the flat history's; the rows that moved it "
          f"most: {rows}")
    print(f"wrote {picture} and {numbers}")
    return 0
