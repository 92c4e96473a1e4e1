"""Run a whole experiment: data -> splits -> trials -> engine -> tables on disk."""
from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.core.arguments import keyword_only
import nnbin
from nnbin.compare import compare_families
from nnbin.config import ExperimentConfig, config_from_dict, config_yaml, load_config
from nnbin.cv import make_inner_splits, make_trials, split_plan
from nnbin.data import Dataset
from nnbin.errors import ConfigError, Interrupted
from nnbin.files import write_text
from nnbin.importance import check_asked_configs, explain_inputs
from nnbin.progress import FitBar
from nnbin.refit import refits_known_in_advance
from nnbin.report.notebook import ResultDisplay
from nnbin.results import prediction_table, summarize, write_predictions, write_tables
from nnbin.search.strategies import make_strategy
from nnbin.runner import TrialRunner
from nnbin.store import MemoryStore, ResultsStore, data_fingerprint


FEW_POSITIVES = 5  # validation folds with fewer positive rows than this give noisy scores


@dataclass(repr=False)
class ExperimentResult(ResultDisplay):
    """What a run produced: the per-trial table, the ranked summary, the comparisons and where
    they were written (a run read back: `nnbin.reload.load_results`). In a notebook it shows
    itself (verdicts, summary, plots); `result.plot_roc()` and the other plot methods return
    matplotlib figures.

    Attributes
    ----------
    config : ExperimentConfig
    dataset : Dataset or None
        None in a run read back from its directory.
    trials, summary, history, predictions : pandas.DataFrame
        As trials.csv, summary.csv, history.csv and predictions.csv.
    comparisons : list of nnbin.compare.Comparison
        Each family's best against the baseline.
    metadata : dict
        As run.json.
    output_dir : Path or None
    models : list of Path
        The refitted, saved models.
    notes : list of str
        What the user must know (a refit replaced, a search's choices, ...).
    inner_trials : pandas.DataFrame or None
        Nested CV's inner folds, or halving's rungs.
    importance, input_weights, settings_importance : pandas.DataFrame or None
        With ``importance: true``: each input's permutation importance on every validation fold
        of the chosen configurations (importance.csv; `nnbin.importance.summarize_importance`
        summarizes it), their first-layer weights per fold (weights.csv), and each swept
        setting's importance per family (settings_importance.csv; needs Optuna).

    Example
    -------
    >>> result = run_experiment({"dataset": {"name": "iris_binary"},
    ...                          "models": [{"name": "logistic"}]}, write=False)   # doctest: +SKIP
    >>> result.summary.loc[0, "roc_auc_mean"]                                      # doctest: +SKIP
    """

    config: ExperimentConfig
    dataset: Dataset | None       # None in a run read back from its directory (nnbin.reload)
    trials: pd.DataFrame
    summary: pd.DataFrame
    history: pd.DataFrame
    predictions: pd.DataFrame     # validation probabilities per trial and row
    comparisons: list             # nnbin.compare.Comparison: each family's best vs the baseline
    metadata: dict
    output_dir: Path | None
    models: list = field(default_factory=list)  # directories of the refitted, saved models
    notes: list = field(default_factory=list)   # what the user must know (a refit replaced, ...)
    inner_trials: pd.DataFrame | None = None    # nested CV's inner folds, or halving's rungs
    importance: pd.DataFrame | None = None      # importance.csv (importance: true)
    input_weights: pd.DataFrame | None = None   # weights.csv: first-layer weights per fold
    settings_importance: pd.DataFrame | None = None  # settings_importance.csv: per family and setting


def check_writable(output_dir: Path) -> None:
    """Fail before training, not after, when results could not be saved."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".nnbin-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output_dir '{output_dir}' cannot be written ({exc.strerror or exc}); "
                          "choose another with --output-dir or output_dir:") from None


def _check_parquet() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigError("predictions: parquet needs pyarrow (pip install pyarrow); "
                          "or set predictions: csv") from None


def versions() -> dict:
    import keras
    import sklearn
    import tensorflow as tf

    return {"nnbin": nnbin.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
            "python": platform.python_version()}


@keyword_only
def run_experiment(config, overrides=(), *, progress: bool = True, write: bool = True,
                   output_dir=None, fresh: bool = False, report: bool = True) -> ExperimentResult:
    """Cross-validate every model family's grid (or search), compare each family's best with
    the baseline, refit the chosen models and write the tables, plots and report.

    The stages, each callable on its own: `resolve_config`, `plan_experiment`, `check_outputs`,
    `start_executor`, `open_store`, `search`, `collect_result`, `refit_models`, `write_outputs`,
    `track`.

    Parameters
    ----------
    config : ExperimentConfig, dict, str or path
        The experiment: a validated config, a dict of the YAML keys, or a YAML file.
    overrides : sequence of str
        ``key=value`` settings applied to a YAML file (as ``--set``).
    progress : bool, default=True
        A progress bar of fits on stderr.
    write : bool, default=True
        Store finished trials in output_dir as they finish (a rerun of the same config resumes
        them: they are not trained again), and write the outputs.
    output_dir : str or path, optional
        Instead of the config's output_dir.
    fresh : bool, default=False
        Set earlier results in output_dir aside (previous/, previous.2/, ...; never deleted)
        and start again.
    report : bool, default=True
        Also write the plots (PNG) and report.html.

    Returns
    -------
    ExperimentResult
        The trials, the ranked summary, the comparisons, where everything was written.

    Raises
    ------
    ConfigError, DataError
        A config or a table nnbin cannot use, before any training (the message names the key
        or column and the fix).
    Interrupted
        Ctrl-C: what finished is stored, and a rerun resumes it.

    Example
    -------
    >>> result = run_experiment("configs/compare_baselines.yaml", ["cv.folds=3"])   # doctest: +SKIP
    >>> result.summary[["rank", "config", "roc_auc_mean"]]                           # doctest: +SKIP
    >>> [c.verdict for c in result.comparisons]                                      # doctest: +SKIP
    """
    config = resolve_config(config, overrides, output_dir=output_dir)
    out = Path(config.output_dir) if write else None
    plan = plan_experiment(config)
    check_outputs(config, out)
    executor, device = start_executor(config)
    store, stored = open_store(plan, out, fresh)
    from nnbin.engines.fused import compilations  # TensorFlow: after the config and data checks

    compiled = compilations()
    searched, runner, started = search(plan, store, stored, executor, out, progress)
    result = collect_result(plan, searched, runner, device, started, out)
    explain_inputs(result, plan, searched, runner, executor)
    if out is not None:
        refit_models(result, plan, searched, runner, executor, out, progress)  # before the tables: it adds test scores
    # the stacked engine's XLA compilations of this run (search and refits); on workers: not counted here
    result.metadata["compilations"] = compilations() - compiled if executor.where == "local" else None
    if out is not None:
        write_outputs(result, out, report)
    track(result)
    return result


@keyword_only
def resolve_config(config, overrides=(), *, output_dir=None) -> ExperimentConfig:
    """An ExperimentConfig from a config, a dict or a YAML path (with --set overrides)."""
    if isinstance(config, (str, Path)):
        config = load_config(config, overrides)
    elif isinstance(config, dict):
        config = config_from_dict(config)
    if output_dir is not None:
        config = config.model_copy(update={"output_dir": str(output_dir)})
    return config


@dataclass
class ExperimentPlan:
    """What a run trains, fixed before training: the data, the rows cross-validated and held out,
    the outer (and nested CV's inner) folds, every configuration on them, and the search."""

    config: ExperimentConfig
    dataset: Dataset
    development: np.ndarray
    test_rows: np.ndarray
    splits: list
    inner_splits: list
    trials: list
    strategy: object  # nnbin.search.strategies.Strategy
    refit_dataset: Dataset | None = None  # the data the saved models train on: without importance's probe


def plan_experiment(config: ExperimentConfig) -> ExperimentPlan:
    """Load the data and plan the folds, the trials and the search."""
    dataset, cv, importance = config.dataset.load(), config.cv, config.importance
    refit_dataset = dataset
    if importance.enabled and importance.probe:
        from nnbin.importance import add_probe

        dataset = add_probe(dataset, importance.seed)
    development, test_rows, splits = split_plan(cv, dataset.y)
    trials = make_trials(config, splits)
    if config.search.kind != "tpe":  # TPE's points are known only as they are asked
        check_asked_configs(importance.configs, trials)
    inner_splits = make_inner_splits(dataset.y, splits, cv.inner_folds, cv.seed) if cv.nested else []
    inner_trials = make_trials(config, inner_splits) if cv.nested else []
    strategy = make_strategy(config, dataset.y, splits, trials, inner_trials)
    return ExperimentPlan(config, dataset, development, test_rows, splits, inner_splits, trials, strategy,
                          refit_dataset)


def check_outputs(config: ExperimentConfig, out: Path | None) -> None:
    """Fail before training, not after: the output directory, pyarrow, MLflow."""
    if out is not None:
        check_writable(out)
        if config.predictions == "parquet":
            _check_parquet()
    if config.tracking.mlflow:
        from nnbin.tracking import check_mlflow

        check_mlflow()


def start_executor(config: ExperimentConfig) -> tuple:
    """(the executor, the device in words) for the config's executor and device settings."""
    from nnbin.device import configure_device
    from nnbin.executors import make_executor

    executor = make_executor(config.executor, device=config.device, deterministic=config.deterministic)
    if executor.where == "local":
        return executor, configure_device(config.device, config.deterministic)
    # the workers train (on config.device); this process only assembles models: CPU
    return executor, f"{executor.description}; driver: {configure_device('cpu')}"


def open_store(plan: ExperimentPlan, out: Path | None, fresh: bool = False) -> tuple:
    """(the run's results store, the finished records it holds by trial id): on disk in `out`
    (checked to belong to this config and data; fresh: earlier results set aside), or in memory
    when nothing is written."""
    store = (ResultsStore(out, plan.config.to_dict(), data_fingerprint(plan.dataset, plan.splits + plan.inner_splits))
             if out is not None else MemoryStore())
    return store, store.open(fresh)


def search(plan: ExperimentPlan, store, stored: dict, executor, out: Path | None, progress: bool) -> tuple:
    """Run the plan's search through a TrialRunner; (its SearchOutcome, the runner, the start time).
    Ctrl-C raises Interrupted saying how many trials were saved."""
    config, strategy = plan.config, plan.strategy
    total, resumable = strategy.planned(), strategy.resumable(stored)
    if resumable and progress:
        print(f"resuming: {min(resumable, total)} of {total} trials already in {out}", file=sys.stderr)
    started, runner = time.time(), None
    try:
        with FitBar(total, progress) as bar:
            alongside = out is not None and strategy.refits_known_in_advance and plan.refit_dataset is plan.dataset
            refits = (refits_known_in_advance(config, plan.trials, plan.development, plan.test_rows)
                      if alongside else [])
            runner = TrialRunner(config, plan.dataset, store, stored, bar, executor, refits)
            return strategy.run(runner.run), runner, started
    except KeyboardInterrupt:
        where = f" in {out}; run the same command again to resume" if out is not None else ""
        saved = len(runner.done) if runner is not None else 0
        raise Interrupted(f"interrupted: {saved} of {total} trials saved{where}") from None


def collect_result(plan: ExperimentPlan, searched, runner: TrialRunner, device: str, started: float,
                   out: Path | None) -> ExperimentResult:
    """The tables (trials, summary, history, predictions, inner trials), the comparisons, run.json's
    metadata and the notes of a finished search."""
    config, dataset, cv = plan.config, plan.dataset, plan.config.cv
    ordered = searched.records
    trials_table = pd.DataFrame([record.row for record in ordered])
    history_table = pd.DataFrame([row for record in ordered for row in record.history])
    predictions = prediction_table(searched.trials, ordered, dataset.y)
    # the inner folds, or every rung on the hold-outs of the training folds
    inner = pd.DataFrame([r.row for r in searched.inner]) if searched.inner is not None else None
    if cv.nested:  # each family is one procedure (tune, then fit): rank and compare families
        trials_table.insert(trials_table.columns.get_loc("config") + 1, "chosen", trials_table["config"])
        for table in (trials_table, history_table, predictions):
            table["config"] = table["family"]
    summary = summarize(trials_table, config.metrics, config.rank_by)
    comparisons = compare_families(trials_table, summary, config.rank_by)
    metadata = {
        "config": config.to_dict(), "dataset": dataset.summary(), "device": device,
        "seed": cv.seed, "versions": versions(), "trials": plan.strategy.planned(),
        "trained_now": runner.trained, "resumed": runner.resumed,
        "fits": {"scored": len(trials_table), "inner": len(inner) if inner is not None else 0,
                 "trained_now": runner.trained, "resumed": runner.resumed},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "comparisons": [c.verdict for c in comparisons],
    }
    result = ExperimentResult(config, dataset, trials_table, summary, history_table, predictions,
                              comparisons, metadata, out, inner_trials=inner)
    note = plan.strategy.note()
    if note:
        result.notes.append(note)
    positives = [int(dataset.y[s.validation].sum()) for s in plan.splits]
    metadata["validation_positives"] = {"min": min(positives), "max": max(positives)}
    if min(positives) < FEW_POSITIVES:
        result.notes.append(f"the smallest validation fold holds only {min(positives)} positive row(s): "
                            "fold scores such as ROC AUC are noisy; fewer folds (or repeats) help")
    incomplete = int((summary["failed"] > 0).sum())
    if incomplete:
        result.notes.append(f"{incomplete} configuration(s) diverged on some folds and rank after every "
                            "complete one (summary.csv, column note)")
    return result


def refit_models(result: ExperimentResult, plan: ExperimentPlan, searched, runner: TrialRunner, executor,
                 out: Path, progress: bool) -> None:
    """Refit and save the chosen models into out/models (with cv.test_size: their test scores in
    the summary); nested CV refits none and says so."""
    config = plan.config
    if config.refit != "none" and not config.cv.nested:
        from nnbin.refit import refit_best

        result.models = refit_best(result, searched.trials, out / "models", config.refit, plan.development,
                                   plan.test_rows, runner.refitted, executor, progress=progress,
                                   dataset=plan.refit_dataset)
        result.metadata["test_rows"] = len(plan.test_rows)
    elif config.refit != "none":
        result.notes.append("no model was refitted: nested cross-validation scores the tuning "
                            "procedure; run again with cv.nested: false to refit and save models")


def write_outputs(result: ExperimentResult, out: Path, report: bool = True) -> None:
    """The tables, run.json, predictions, config.yaml, TensorBoard logs and the report, into `out`."""
    config = result.config
    result.metadata["notes"] = result.notes
    inner = {"inner_trials": result.inner_trials} if result.inner_trials is not None else {}
    write_tables(out, {"trials": result.trials, "summary": result.summary, "history": result.history, **inner},
                 result.metadata)
    if config.predictions != "none":
        write_predictions(out, result.predictions, config.predictions)
    if result.importance is not None:
        write_text(out / "importance.csv", result.importance.to_csv(index=False))
        write_text(out / "weights.csv", result.input_weights.to_csv(index=False))
        write_text(out / "settings_importance.csv", result.settings_importance.to_csv(index=False))
    write_text(out / "config.yaml", config_yaml(config))
    if config.tensorboard:
        from nnbin.tblog import write_tensorboard

        write_tensorboard(result.trials, result.history, config.metrics, out / "tensorboard")
    if report:
        from nnbin.report import make_plots, write_report

        write_report(result, make_plots(result, out), out / "report.html")


def track(result: ExperimentResult) -> None:
    """Log the run to MLflow when the config asks (one child run per configuration)."""
    config = result.config
    if config.tracking.mlflow:
        from nnbin.tracking import log_to_mlflow

        run_id = log_to_mlflow(result, config.tracking.mlflow)
        result.notes.append(f"logged to MLflow at {config.tracking.mlflow}: experiment '{config.name}', "
                            f"run {run_id} (one child run per configuration)")
