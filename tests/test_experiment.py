import re
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.cli import main
from nnbin.config import HYPER_FIELDS, config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.data import from_frame
from nnbin.engines.folds import prepare_fold
from nnbin.experiment import run_experiment
from nnbin.metrics import METRICS

TINY = {
    "name": "tiny",
    "dataset": {"name": "iris_binary"},
    "cv": {"folds": 3, "seed": 0},
    "models": [
        {"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.05}},
        {"name": "shallow", "params": {"hidden": [4], "epochs": 3},
         "grid": {"learning_rate": [0.01, 0.05]}},
        {"name": "deep", "params": {"hidden": [4, 4], "epochs": 4, "patience": 1, "batch_size": 16}},
    ],
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return run_experiment(TINY, progress=False, output_dir=tmp_path_factory.mktemp("tiny"))


def test_trials_table_is_tidy(tiny_run):
    trials = tiny_run.trials
    assert len(trials) == (1 + 2 + 1) * 3
    for column in ["trial_id", "family", "config", "repeat", "fold", "status", "epochs_run",
                   "fit_seconds", "tp", "fp", "tn", "fn", *HYPER_FIELDS, *METRICS]:
        assert column in trials.columns, column
    assert (trials["status"] == "ok").all()
    assert trials["roc_auc"].between(0, 1).all()
    assert (trials["tp"] + trials["fn"]).groupby(trials["config"]).sum().eq(50).all()
    assert set(trials["learning_rate"][trials["family"] == "shallow"]) == {0.01, 0.05}
    deep = trials[trials["family"] == "deep"]
    assert (deep["epochs_run"] <= 4).all()


def test_summary_is_ranked_with_mean_and_sd(tiny_run):
    summary = tiny_run.summary
    assert list(summary["rank"]) == [1, 2, 3, 4]
    assert summary["roc_auc_mean"].is_monotonic_decreasing
    assert {"roc_auc_sd", "accuracy_mean", "failed", "trials"} <= set(summary.columns)
    shallow = tiny_run.trials.query("config == 'shallow learning_rate=0.05'")
    row = summary.set_index("config").loc["shallow learning_rate=0.05"]
    assert row["roc_auc_mean"] == pytest.approx(shallow["roc_auc"].mean())
    assert row["roc_auc_sd"] == pytest.approx(shallow["roc_auc"].std())


def test_every_output_is_written(tiny_run):
    out = tiny_run.output_dir
    for name in ["trials.csv", "trials.parquet", "summary.csv", "history.csv", "run.json", "config.yaml"]:
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "trials.csv")) == len(tiny_run.trials)
    assert pd.read_parquet(out / "trials.parquet")["roc_auc"].tolist() == tiny_run.trials["roc_auc"].tolist()
    run = json.loads((out / "run.json").read_text())
    assert run["seed"] == 0 and run["device"] == "cpu"
    assert {"nnbin", "tensorflow", "keras", "python"} <= set(run["versions"])
    assert run["config"]["models"][1]["grid"] == {"learning_rate": [0.01, 0.05]}
    assert config_from_dict(yaml.safe_load((out / "config.yaml").read_text())).cv.folds == 3
    history = pd.read_csv(out / "history.csv")
    assert set(history["metric"]) >= {"loss", "val_loss"}


def test_same_seed_same_results(tiny_run, tmp_path):
    again = run_experiment(TINY, progress=False, output_dir=tmp_path)
    metrics = ["trial_id", *METRICS, "epochs_run"]
    pd.testing.assert_frame_equal(again.trials[metrics], tiny_run.trials[metrics])


def test_preprocessing_is_fitted_on_the_training_fold_only():
    """Validation rows hold extreme values; scaling fitted on all rows would shift training rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    y = np.tile([0, 1], 30)
    data = from_frame(pd.DataFrame({"x": x, "y": y}), target="y")
    cfg = config_from_dict({"dataset": {"name": "moons"}, "cv": {"folds": 3},
                            "models": [{"name": "logistic"}]})
    trial = make_trials(cfg, make_splits(y, 3))[0]
    data.X.loc[trial.split.validation, "x"] += 1000.0
    X_train, _, X_val = prepare_fold(trial, data)
    assert X_train.mean() == pytest.approx(0, abs=1e-5)
    assert X_train.std() == pytest.approx(1, abs=1e-4)
    train_x = data.X["x"].to_numpy()[trial.split.train]
    expected = (data.X["x"].to_numpy()[trial.split.validation] - train_x.mean()) / train_x.std()
    assert np.allclose(X_val.ravel(), expected, rtol=1e-4)


def test_cli_runs_and_prints_the_comparison(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    code = main(["train", "--config", str(config), "--output-dir", str(tmp_path / "out"), "--quiet",
                 "--set", "models.deep.params.epochs=2", "--set", "predictions=csv"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Best configuration of each family" in out
    assert "summary.csv, predictions.csv, history.csv" in out  # named where it was asked for ...
    assert len(pd.read_csv(tmp_path / "out" / "predictions.csv")) > 0  # ... and written
    for family in ("logistic", "shallow", "deep"):
        assert family in out
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    for row in summary.drop_duplicates("family").itertuples():  # each family's best, as summary.csv has it
        line = next(line for line in out.splitlines() if re.match(rf"\d+\s+{re.escape(row.config)}\s", line))
        assert f"{row.roc_auc_mean:.3f} ± {row.roc_auc_sd:.3f}" in line, line
    assert (pd.read_csv(tmp_path / "out" / "trials.csv").query("family == 'deep'")["epochs_run"] <= 2).all()


@pytest.mark.parametrize("args, message", [
    (["--set", "cv.folds=1"], "cv.folds: must be >= 2"),
    (["--set", "models.logistic.params.activation=rleu"], "did you mean 'relu'"),
    (["--set", "dataset={file: nope.csv, target: y}"], "data file not found: nope.csv"),
    (["--set", "cv.folds=60"], "fewer than cv.folds = 60"),
    (["--config", "missing.yaml"], "config file not found"),
])
def test_cli_user_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    code = main(["train", "--config", str(config), "--output-dir", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and err.startswith("nnbin: error:")
    assert not (tmp_path / "out" / "trials.csv").exists()


def test_unwritable_output_dir_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(["train", "--config", "configs/compare_baselines.yaml", "--output-dir",
                 str(blocker / "sub"), "--quiet"])
    assert code == 2
    assert "cannot be written" in capsys.readouterr().err
    assert blocker.read_text() == "not a directory"


def test_train_script_reports_errors_without_traceback():
    done = subprocess.run([sys.executable, "scripts/train.py", "--config", "configs/compare_baselines.yaml",
                           "--set", "models.deep.params.learning_rate=-1"],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1], timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == ("nnbin: error: models[2].params.learning_rate: must be > 0, got -1.0")
