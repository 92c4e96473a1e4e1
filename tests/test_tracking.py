"""Experiment tracking with MLflow, into a local file store."""
import sys

import pytest

from nnbin.errors import ConfigError
from nnbin.experiment import run_experiment

mlflow = pytest.importorskip("mlflow")

CONFIG = {
    "name": "tracked", "dataset": {"name": "iris_binary"}, "cv": {"folds": 3}, "metrics": ["roc_auc", "accuracy"],
    "refit": "none",
    "models": [{"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.05}},
               {"name": "net", "params": {"hidden": [4], "epochs": 3}, "grid": {"learning_rate": [0.01, 0.05]}}],
}


def test_one_run_per_configuration_with_settings_scores_and_the_report(tmp_path):
    store = f"file:{tmp_path / 'mlruns'}"
    result = run_experiment({**CONFIG, "tracking": {"mlflow": store}}, progress=False,
                            output_dir=tmp_path / "out")
    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert len(parents) == 1 and set(children) == set(result.summary["config"])
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children.values())
    for row in result.summary.itertuples():
        run = children[row.config]
        assert run.data.metrics["roc_auc_mean"] == pytest.approx(row.roc_auc_mean)
        assert run.data.metrics["accuracy_sd"] == pytest.approx(row.accuracy_sd)
        assert run.data.params["learning_rate"] == str(float(row.config.split("=")[-1]) if "=" in row.config else 0.05)
        assert run.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert {"report.html", "roc.png", "learning_curves.png", "depth_vs_width.png"} <= artifacts
    assert any("logged to MLflow" in note for note in result.notes)


def test_missing_mlflow_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"tracking.mlflow needs MLflow: pip install -e '.\[mlflow\]'"):
        run_experiment({**CONFIG, "tracking": {"mlflow": "file:./mlruns"}}, progress=False,
                       output_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "trials.jsonl").exists()  # nothing was trained
