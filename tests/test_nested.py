"""Nested cross-validation: tune inside each outer training fold, score once outside."""
import numpy as np
import pandas as pd

from nnbin.cv import make_inner_splits, make_splits
from nnbin.experiment import run_experiment

NESTED = {
    "name": "nested",
    "dataset": {"name": "iris_binary"},
    "cv": {"folds": 3, "nested": True, "inner_folds": 2, "seed": 0},
    "models": [
        {"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.05}},
        {"name": "net", "params": {"hidden": [4], "epochs": 3},
         "grid": {"learning_rate": [0.001, 0.1]}},
    ],
}


def test_inner_splits_stay_inside_the_outer_training_rows():
    y = np.tile([0, 1, 1], 30)
    outer = make_splits(y, 3)
    for inner in make_inner_splits(y, outer, 2):
        parent = outer[inner.fold]
        assert set(inner.train) | set(inner.validation) == set(parent.train)
        assert not set(inner.train) & set(inner.validation)
        assert not (set(inner.train) | set(inner.validation)) & set(parent.validation)


def test_nested_run_tunes_inside_and_scores_outside(tmp_path):
    result = run_experiment(NESTED, progress=False, output_dir=tmp_path)
    inner = pd.read_csv(tmp_path / "inner_trials.csv")
    assert len(inner) == (1 + 2) * 3 * 2
    outer = result.trials
    assert len(outer) == 2 * 3 and set(outer["config"]) == {"logistic", "net"}
    means = inner.groupby(["fold", "config"])["roc_auc"].mean()
    for row in outer[outer["family"] == "net"].itertuples():
        candidates = means.loc[row.fold]
        candidates = candidates[candidates.index.str.startswith("net")]
        assert row.chosen == candidates.idxmax()
    assert set(result.summary["config"]) == {"logistic", "net"}
    assert result.comparisons and result.comparisons[0].n == 3
    assert (tmp_path / "report.html").exists()
