"""TPE search (search: {kind: tpe}): one more strategy of the search protocol; the same seed asks
the same points, a run killed part-way resumes to the uninterrupted run's tables, a larger
n_iter continues the search; without Optuna it is refused before training."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.errors import ConfigError
from nnbin.experiment import run_experiment

ROOT = Path(__file__).parents[1]
TPE = {"name": "tpe", "dataset": {"name": "breast_cancer"}, "cv": {"folds": 3, "seed": 0},
       "models": [{"name": "logistic", "params": {"epochs": 4}},
                  {"name": "net", "params": {"epochs": 4, "activation": "relu"},
                   "grid": {"width": {"int": [2, 32]}, "depth": [1, 2],
                            "learning_rate": {"loguniform": [0.0001, 0.1]}}}],
       "search": {"kind": "tpe", "n_iter": 6, "batch": 2, "seed": 3}, "refit": "none", "metrics": ["roc_auc"]}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="fit_seconds").sort_values("trial_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run_experiment(TPE, progress=False, output_dir=tmp_path_factory.mktemp("whole"), report=False)


def test_tpe_asks_n_iter_points_per_family_in_batches(whole):
    configs = whole.trials.drop_duplicates("config")
    assert len(configs) == 1 + 6 and (whole.trials.groupby("config").size() == 3).all()
    drawn = configs[configs["family"] == "net"]["config"]
    assert drawn.str.contains(r"width=\d+ depth=[12] learning_rate=").all()
    assert any("TPE search" in note and "7 distinct configurations" in note for note in whole.notes)
    again = run_experiment(TPE, progress=False, write=False)                  # the same seed: the same points
    assert list(again.trials["config"]) == list(whole.trials["config"])
    other = run_experiment({**TPE, "search": {**TPE["search"], "seed": 4}}, progress=False, write=False)
    assert set(other.trials["config"]) != set(whole.trials["config"])
    net = TPE["models"][1]
    reordered = {**TPE, "models": [TPE["models"][0], {**net, "grid": dict(reversed(net["grid"].items()))}]}
    same = run_experiment(reordered, progress=False, write=False)   # the order the grid is written in
    assert set(same.trials["trial_id"]) == set(whole.trials["trial_id"])


def test_kill_then_resume_gives_the_uninterrupted_tables(tmp_path, whole):
    config = tmp_path / "tpe.yaml"
    config.write_text(yaml.safe_dump(TPE, sort_keys=False))  # labels list the settings in the order written
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "nnbin.cli", "train", "--config", str(config),
                                "--output-dir", str(out), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "trials.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if records.exists() and records.read_text().count("\n") >= 6:  # past the first batch
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = records.read_text().count("\n")
    assert 6 <= before < len(whole.trials), "the run must be killed part-way"
    resumed = run_experiment(TPE, progress=False, output_dir=out, report=False)
    pd.testing.assert_frame_equal(comparable(resumed.trials), comparable(whole.trials))
    run = json.loads((out / "run.json").read_text())
    assert (run["resumed"], run["trained_now"]) == (before, len(whole.trials) - before), run["fits"]


def test_a_larger_n_iter_continues_the_search(tmp_path, whole):
    out = tmp_path / "grow"
    shorter = run_experiment({**TPE, "search": {**TPE["search"], "n_iter": 3}}, progress=False, output_dir=out,
                             report=False)
    first = list(dict.fromkeys(shorter.trials["config"]))
    longer = run_experiment(TPE, progress=False, output_dir=out, report=False)
    assert longer.metadata["resumed"] == len(shorter.trials)
    assert list(dict.fromkeys(longer.trials["config"]))[:len(first)] == first
    pd.testing.assert_frame_equal(comparable(longer.trials), comparable(whole.trials))


def test_without_optuna_a_tpe_config_is_refused_before_training(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real(name, *a))
    with pytest.raises(ConfigError, match="search.kind: tpe proposes points with Optuna, which is not installed"):
        run_experiment(TPE, progress=False, write=False)


def test_tpe_keys_are_refused_with_other_kinds():
    with pytest.raises(ConfigError, match="batch applies to kind: tpe"):
        run_experiment({**TPE, "search": {"kind": "random", "batch": 4}}, progress=False, write=False)


def test_fused_tpe_search_cv_scores_its_candidates_as_fused_search_cv_does():
    from optuna.distributions import FloatDistribution
    from sklearn.base import clone
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import FusedSearchCV, FusedTPESearchCV, NNBinClassifier

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), NNBinClassifier(epochs=4, random_state=0))
    space = {"nnbinclassifier__hidden": [(4,), (8, 4)],
             "nnbinclassifier__learning_rate": FloatDistribution(1e-4, 0.1, log=True)}
    search = FusedTPESearchCV(model, space, n_iter=6, batch=3, cv=3, scoring="roc_auc", random_state=1).fit(X, y)
    results = search.cv_results_
    assert len(results["params"]) == 6 and results["rank_test_score"].min() == 1
    assert search.best_params_ == results["params"][results["rank_test_score"].argmin()]
    assert clone(search).get_params()["batch"] == 3
    again = clone(search).fit(X, y)                      # the same seed: the same candidates
    assert again.cv_results_["params"] == results["params"]
    grid = FusedSearchCV(model, [{k: [v] for k, v in p.items()} for p in results["params"]], cv=3,
                         scoring="roc_auc", refit=False).fit(X, y)
    np.testing.assert_array_equal(grid.cv_results_["mean_test_score"], results["mean_test_score"])
