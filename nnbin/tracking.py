"""Experiment tracking with MLflow (`tracking: {mlflow: file:./mlruns}`, extra `[mlflow]`):
one parent run per experiment holding the report and plots as artifacts, and one child run
per configuration with its settings, and the mean and sd over folds of every metric."""
from __future__ import annotations

import os
import time
from pathlib import Path

from nnbin.errors import ConfigError

SETTINGS = ("architecture", "hidden", "depth", "width", "activation", "dropout", "l2", "kernel_initializer",
            "optimizer", "learning_rate", "momentum", "batch_size", "epochs", "class_weight", "patience")


def check_mlflow() -> None:
    """ConfigError unless MLflow can be imported."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError("tracking.mlflow needs MLflow: pip install -e '.[mlflow]' (or pip install mlflow)") from None


def _client(uri: str):
    check_mlflow()
    from mlflow import MlflowClient

    if uri.startswith("file:") or "://" not in uri:
        # MLflow 3 keeps its local file store only on request; nnbin's users ask for it by URI
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def log_to_mlflow(result, uri: str) -> str:
    """Log a finished experiment; returns the parent run's id."""
    from mlflow.entities import Metric, Param

    client = _client(uri)
    config = result.config
    experiment = client.get_experiment_by_name(config.name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(config.name)
    parent = client.create_run(experiment_id, run_name=f"{config.name} ({time.strftime('%Y-%m-%d %H:%M')})",
                               tags={"nnbin.output_dir": str(result.output_dir or ""),
                                     "nnbin.dataset": result.metadata["dataset"]["name"]})
    parent_id = parent.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(parent_id, params=[Param(k, str(v)) for k, v in {
        "dataset": result.metadata["dataset"]["name"], "folds": config.cv.folds, "repeats": config.cv.repeats,
        "seed": config.cv.seed, "rank_by": config.rank_by, "engine": config.engine,
        "search": config.search.kind}.items()])
    firsts = result.trials.drop_duplicates("config").set_index("config")
    for row in result.summary.itertuples(index=False):
        run = client.create_run(experiment_id, run_name=row.config,
                                tags={"mlflow.parentRunId": parent_id, "nnbin.family": row.family})
        settings = firsts.loc[row.config]
        params = [Param(k, str(settings[k])) for k in SETTINGS if k in settings and str(settings[k]) != "nan"]
        metrics = [Metric(f"{m}_{stat}", float(getattr(row, f"{m}_{stat}")), now, 0)
                   for m in config.metrics for stat in ("mean", "sd")
                   if f"{m}_{stat}" in result.summary and getattr(row, f"{m}_{stat}") == getattr(row, f"{m}_{stat}")]
        metrics.append(Metric("rank", float(row.rank), now, 0))
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
    if result.output_dir is not None:
        for path in sorted(Path(result.output_dir).glob("*.png")) + [Path(result.output_dir) / "report.html"]:
            if path.is_file():
                client.log_artifact(parent_id, str(path))
    client.set_terminated(parent_id)
    return parent_id
