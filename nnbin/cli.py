"""The `nnbin` command. User errors print one line and exit with code 2."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices are not for users

from nnbin.errors import Interrupted, NnbinError, NnbinWarning  # noqa: E402

DEFAULT_CONFIG = "configs/compare_baselines.yaml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnbin", description=(
        "Cross-validated binary classification: logistic regression vs shallow vs deep networks."))
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="run an experiment from a YAML config")
    train.add_argument("--config", default=DEFAULT_CONFIG,
                       help=f"experiment YAML (default: {DEFAULT_CONFIG})")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set cv.folds=10 "
                            "--set models.deep.params.epochs=20 (repeatable)")
    train.add_argument("--output-dir", help="where results go (default: the config's output_dir)")
    train.add_argument("--fresh", action="store_true",
                       help="set earlier results in the output directory aside (previous/, previous.2/, ...) "
                            "instead of resuming them")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    predict = commands.add_parser("predict", help="score new rows with a saved model")
    predict.add_argument("--model", required=True,
                         help="a saved model directory, e.g. results/compare_baselines/models/deep")
    predict.add_argument("--data", required=True, help="CSV, TSV or Parquet with the feature columns")
    predict.add_argument("--out", help="where to write the scored rows as CSV (default: standard output)")
    predict.add_argument("--keep", nargs="+", action="extend", default=[], metavar="COLUMN",
                         help="columns the model does not use to carry into the output (columns "
                              "listed under drop:, such as an id, are carried without it)")
    predict.add_argument("--ignore-extra", action="store_true",
                         help="ignore columns the model does not use instead of refusing them")
    report = commands.add_parser("report", help="draw the plots and report.html of a finished run again")
    report.add_argument("directory", help="the run's output directory, e.g. results/compare_baselines")
    summary = commands.add_parser("summary", help="print the summary table of a finished run")
    summary.add_argument("directory", help="the run's output directory")
    summary.add_argument("--limit", type=int, default=20, help="configurations to show (default 20)")
    compare = commands.add_parser("compare", help="compare two configurations of a finished run, fold by fold")
    compare.add_argument("directory", help="the run's output directory")
    compare.add_argument("a", help='a configuration, as in summary.csv, e.g. "deep learning_rate=0.01"')
    compare.add_argument("b", help="the configuration it is compared with")
    compare.add_argument("--metric", help="any metric the run scored (default: its rank_by)")
    importance = commands.add_parser("importance", help="print which inputs drive a finished run's models "
                                                        "(a run with importance: true)")
    importance.add_argument("directory", help="the run's output directory")
    importance.add_argument("--metric", help="a metric the importance was computed for (default: the run's rank_by)")
    importance.add_argument("--limit", type=int, default=15, help="inputs to show per configuration (default 15)")
    importance.add_argument("--settings", action="store_true",
                            help="which swept settings mattered instead (Optuna's fANOVA; any finished run)")
    inspect = commands.add_parser("inspect", help="show a saved model's layers, coefficients, activations")
    inspect.add_argument("--model", required=True, help="a saved model directory")
    inspect.add_argument("--data", help="rows whose hidden activations A[l] to save as CSV")
    inspect.add_argument("--layers", help="comma-separated Dense layer numbers (default: every hidden layer)")
    inspect.add_argument("--out", help="where the activation CSVs go (default: the model directory)")
    return parser


def _inspect(args) -> None:
    from nnbin.inspection import inspect_model
    from nnbin.model_io import read_info
    from nnbin.predict import read_rows

    try:
        layers = [int(n) for n in args.layers.split(",")] if args.layers else None
    except ValueError:
        raise NnbinError(f"--layers takes layer numbers such as 1,2, got {args.layers!r}") from None
    frame = read_rows(args.data, read_info(args.model)) if args.data else None
    result = inspect_model(args.model, frame, layers=layers, out_dir=args.out)
    print(result["description"])
    if result["coefficients"] is not None:
        print("\nLogistic regression: coefficients on standardized inputs; odds ratio = exp(coefficient)"
              " per standard deviation (numeric), or of the category against the reference category"
              " (the training rows' most frequent), which the intercept holds")
        print(result["coefficients"].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for number, values in result["activations"].items():
        print(f"A[{number}] ({values.shape[0]},{values.shape[1]}) -> "
              f"{args.out or args.model}/activations_layer{number}.csv")


def _predict(args) -> None:
    from nnbin.predict import predict_file

    notes = []
    scored = predict_file(args.model, args.data, ignore_extra=args.ignore_extra, notes=notes, keep=args.keep)
    for note in notes:
        print(f"nnbin: note: {note}", file=sys.stderr)
    if args.out:
        scored.to_csv(args.out, index=False)
        print(f"{len(scored)} rows scored -> {args.out}", file=sys.stderr)
    else:
        scored.to_csv(sys.stdout, index=False)


def _shown_metrics(config) -> list[str]:
    """The metrics printed: rank_by, then ROC AUC and accuracy, of those the run scored."""
    return [m for m in dict.fromkeys([config.rank_by, "roc_auc", "accuracy"]) if m in config.metrics]


def _print_summary(result, limit: int = 20) -> None:
    """The run in a few lines: data, best of each family, every configuration, verdicts."""
    from nnbin.results import best_per_family, fits_summary, format_summary

    config, summary = result.config, result.summary
    data = result.metadata["dataset"]
    print(f"\n{config.name}: {data['name']} ({data['rows']} rows, {data['features']} features, "
          f"{data['positives']} positive), {config.cv.folds}-fold CV x {config.cv.repeats} repeat(s), "
          f"{fits_summary(result.metadata)}")
    held = result.metadata["validation_positives"]
    spread = f"{held['min']}" if held["min"] == held["max"] else f"{held['min']}-{held['max']}"
    print(f"Each validation fold holds {spread} positive row(s).")
    metrics = _shown_metrics(config)
    print(f"\nBest configuration of each family (ranked by {config.rank_by}; mean ± sd over folds):")
    print(format_summary(best_per_family(summary), metrics))
    if len(summary) > summary["family"].nunique():
        print("\nAll configurations:")
        print(format_summary(summary, metrics, limit))
    if result.comparisons:
        print(f"\nIs a network better than {result.comparisons[0].b}? (paired on the same folds)")
        for comparison in result.comparisons:
            print(f"  {comparison.verdict}")
    from nnbin.report import depth_width_lines

    matched = depth_width_lines(result)
    if matched:
        print("\nDepth or width, at the same number of parameters? (paired on the same folds)")
        for line in matched:
            print(f"  {line}")


def _train(args) -> None:
    from nnbin.experiment import run_experiment

    result = run_experiment(args.config, overrides=args.overrides, progress=not args.quiet,
                            output_dir=args.output_dir, fresh=args.fresh)
    config, summary = result.config, result.summary
    _print_summary(result)
    metrics = _shown_metrics(config)
    tables = ["trials.csv", "summary.csv", "history.csv", "run.json"]
    if result.config.predictions != "none":  # opt-in: predictions: csv | parquet
        tables.insert(2, f"predictions.{result.config.predictions}")
    print(f"\nResults: {result.output_dir}/ (report.html, {', '.join(tables)}, plots)")
    test_columns = [f"test_{m}" for m in metrics if f"test_{m}" in summary]
    if test_columns:
        rows = result.metadata["test_rows"]
        print(f"\nHeld-out test set ({rows} rows, scored once by the refitted models):")
        for _, row in summary.dropna(subset=test_columns).iterrows():
            scores = ", ".join(f"{c.removeprefix('test_')} {row[c]:.3f}" for c in test_columns)
            print(f"  {row['config']}: {scores}")
    for model in result.models:
        print(f"Model refitted on the cross-validated rows: {model}/model.keras  "
              f"(nnbin predict --model {model} --data FILE)")
    for note in result.notes:
        print(f"Note: {note}")


def _report(args) -> None:
    from nnbin.reload import load_results
    from nnbin.report import make_plots, write_report

    result = load_results(args.directory)
    page = write_report(result, make_plots(result, result.output_dir), result.output_dir / "report.html")
    print(f"{page} (and the plots beside it) drawn again from the stored results")
    for note in result.notes:
        print(f"nnbin: note: {note}", file=sys.stderr)


def _summary(args) -> None:
    from nnbin.reload import load_results

    _print_summary(load_results(args.directory), args.limit)


def _importance(args) -> None:
    from nnbin.importance import BEATS_SHARE, summarize_importance
    from nnbin.reload import load_results

    result = load_results(args.directory)
    if args.settings:
        return _settings_importance(result)
    if result.importance is None:
        raise NnbinError(f"'{args.directory}' holds no importance.csv: run it again with importance: true "
                         "(or --set importance=true); the trials are resumed, not trained again")
    metric = args.metric or result.config.rank_by
    computed = sorted(set(result.importance["metric"]))
    if metric not in computed:
        raise NnbinError(f"--metric {metric}: importance was computed for {', '.join(computed)}; "
                         "add it with importance.metrics")
    probe = result.metadata.get("importance_probe")
    summary = summarize_importance(result.importance[result.importance["metric"] == metric], probe)
    folds = result.importance["fold"].nunique() * result.importance["repeat"].nunique()
    print(f"drop in {metric} when each input is permuted, on every validation fold with that fold's model "
          f"(mean and sd over {folds} folds x {result.importance['permutation'].nunique()} permutations)"
          + (f"; beats_probe: above '{probe}' (noise) on at least {BEATS_SHARE:.0%} of folds" if probe else ""))
    for config, rows in summary.groupby("config", sort=False):
        print(f"\n{config}")
        print(rows.drop(columns=["family", "config", "metric"]).head(args.limit)
              .to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _settings_importance(result) -> None:
    from nnbin.settings_importance import settings_importance

    table = result.settings_importance
    if table is None:
        found = settings_importance(result.summary, result.config.rank_by, result.config.importance.seed)
        if found.notes:
            raise NnbinError(found.notes[0])
        table = found.table
    if table.empty:
        print("no family sweeps two or more settings over three or more configurations: nothing to rank")
        return
    print(f"each swept setting's importance for the mean {result.config.rank_by} over a family's configurations")
    for family, rows in table.groupby("family", sort=False):
        print(f"\n{family} ({rows['configurations'].iloc[0]} configurations, {rows['evaluator'].iloc[0]})")
        print(rows[["setting", "importance"]].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _compare(args) -> None:
    from nnbin.compare import compare, paired_scores
    from nnbin.metrics import METRIC_ALIASES
    from nnbin.reload import load_results
    from nnbin.core.settings import suggest

    result = load_results(args.directory)
    metric = args.metric or result.config.rank_by
    if metric not in result.config.metrics:
        raise NnbinError(f"--metric {metric}: the run scored {', '.join(result.config.metrics)}"
                         f"{suggest(metric, result.config.metrics, METRIC_ALIASES)}")
    comparison = compare(result.trials, args.a, args.b, metric=metric)
    folds = paired_scores(result.trials, args.a, args.b, metric)
    print(f"{metric} per fold ({len(folds)} paired folds):")
    print(folds.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\n{comparison.verdict}")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """nnbin's own warnings as one line; others as Python shows them."""
    if issubclass(category, NnbinWarning):
        print(f"nnbin: warning: {message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def _unexpected(exc: BaseException) -> int:
    """A bug, not a user error: one line naming what failed and where the traceback is."""
    import tempfile
    import time
    import traceback

    log = Path(tempfile.gettempdir()) / f"nnbin-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        where = f"the traceback is in {log}"
    except OSError:
        where = "the traceback could not be saved"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    print(f"nnbin: unexpected error: {type(exc).__name__}{': ' + first if first else ''} "
          f"(trials already finished are saved; {where}; please report it)", file=sys.stderr)
    return 1


COMMANDS = {"train": _train, "predict": _predict, "inspect": _inspect, "report": _report,
            "summary": _summary, "compare": _compare, "importance": _importance}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        COMMANDS[args.command](args)
    except Interrupted as exc:
        print(f"nnbin: {exc}", file=sys.stderr)
        return 130
    except NnbinError as exc:
        print(f"nnbin: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before training started: nothing was written
        print("nnbin: interrupted before training; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 (anything else is a bug: say so in one line)
        return _unexpected(exc)
    finally:
        warnings.showwarning = _python_show_warning
    return 0


def entry(argv=None) -> None:
    """Console entry point: run, then end the process without TensorFlow's interpreter
    teardown, which takes about a second and does nothing useful (every file is closed)."""
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
