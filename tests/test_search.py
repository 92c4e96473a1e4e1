"""Random search in configs: the draws follow their distributions, are repeatable, extend
with n_iter (and resume), and bad distributions are refused with their key path."""
import numpy as np
import pytest
from scipy import stats

from nnbin.config import SearchConfig, config_from_dict, expand_grid
from nnbin.errors import ConfigError
from nnbin.search import family_points

GRID = {"learning_rate": {"loguniform": [1e-4, 1e-1]}, "dropout": {"uniform": [0.0, 0.5]},
        "width": {"int": [4, 7]}, "activation": ["relu", "tanh", "elu"]}


def test_draws_follow_their_distributions():
    points = family_points("deep", GRID, SearchConfig(kind="random", n_iter=3000, seed=5))
    assert len(points) == 3000  # continuous settings: no repeats
    rates = np.array([p["learning_rate"] for p in points])
    dropouts = np.array([p["dropout"] for p in points])
    widths = [p["width"] for p in points]
    assert rates.min() >= 1e-4 and rates.max() <= 1e-1
    # log10 of a loguniform draw is uniform on [-4, -1]; a uniform draw is uniform (KS tests;
    # 4 significant digits of rounding are far below what these tests can see)
    assert stats.kstest((np.log10(rates) + 4) / 3, "uniform").pvalue > 1e-3
    assert stats.kstest(dropouts / 0.5, "uniform").pvalue > 1e-3
    assert stats.kstest(rates / 0.1, "uniform").pvalue < 1e-6  # and not uniform on the plain scale
    assert set(widths) == {4, 5, 6, 7} and all(isinstance(w, int) for w in widths)
    counts = np.bincount([["relu", "tanh", "elu"].index(p["activation"]) for p in points])
    assert stats.chisquare(counts).pvalue > 1e-3


def test_draws_are_repeatable_extend_with_n_iter_and_differ_per_family_and_seed():
    search = lambda n, seed=0: SearchConfig(kind="random", n_iter=n, seed=seed)  # noqa: E731
    first = family_points("deep", GRID, search(8))
    assert family_points("deep", GRID, search(8)) == first
    assert family_points("deep", GRID, search(20))[:8] == first
    assert family_points("shallow", GRID, search(8)) != first
    assert family_points("deep", GRID, search(8, seed=1)) != first


def test_choices_only_give_distinct_points_at_most_the_grid():
    grid = {"activation": ["relu", "tanh"], "learning_rate": [0.01, 0.1]}
    points = family_points("net", grid, SearchConfig(kind="random", n_iter=50))
    assert sorted(map(str, points)) == sorted(map(str, family_points("net", grid, SearchConfig())))


BASE = {"dataset": {"name": "iris_binary"}}


@pytest.mark.parametrize("grid, search, message", [
    ({"learning_rate": {"loguniform": [1e-3, 1e-1]}}, None,
     "models[0].grid.learning_rate: a distribution (loguniform) is drawn from by a random or TPE search"),
    ({"learning_rate": {"loguniform": [0, 1]}}, "random", "loguniform needs low > 0"),
    ({"learning_rate": {"loguniform": [0.1, 0.01]}}, "random", "low < high"),
    ({"epochs": {"uniform": [1, 10]}}, "random", "models[0].grid.epochs: epochs takes whole numbers; use {int: [1, 10]}"),
    ({"dropout": {"uniform": [0, 1.5]}}, "random", "models[0].grid.dropout.uniform: must be < 1"),
    ({"dropout": {"normal": [0, 1]}}, "random", "expected one of {loguniform"),
    ({"width": {"int": [2.5, 8]}}, "random", "whole-number bounds"),
])
def test_bad_distributions_name_their_key(grid, search, message):
    raw = {**BASE, "models": [{"name": "net", "params": {"depth": 1, "width": 4}, "grid": grid}]}
    if search:
        raw["search"] = {"kind": search}
    with pytest.raises(ConfigError) as error:
        config_from_dict(raw)
    assert message in str(error.value)


def test_search_keys_need_a_random_search():
    with pytest.raises(ConfigError, match="search: n_iter applies to kind: random or tpe; remove it"):
        config_from_dict({**BASE, "search": {"n_iter": 5}, "models": [{"name": "logistic"}]})


def test_random_search_experiment_runs_and_a_longer_search_resumes_the_shorter(tmp_path):
    from nnbin.experiment import run_experiment

    def config(n_iter):
        return config_from_dict({
            **BASE, "cv": {"folds": 2}, "search": {"kind": "random", "n_iter": n_iter, "seed": 3},
            "metrics": ["roc_auc"], "refit": "none", "output_dir": str(tmp_path / "out"),
            "models": [{"name": "shallow", "params": {"hidden": [4], "epochs": 2},
                        "grid": {"learning_rate": {"loguniform": [1e-3, 1e-1]}, "activation": ["relu", "tanh"]}}]})

    short = run_experiment(config(3), progress=False)
    assert len(short.summary) == 3 and len(short.trials) == 6
    drawn = expand_grid(config(3).models[0], config(3).search)
    assert sorted(short.summary["config"]) == sorted(
        f"shallow learning_rate={p['learning_rate']} activation={p['activation']}" for p in drawn)
    assert (tmp_path / "out" / "search_shallow.png").stat().st_size > 0
    longer = run_experiment(config(5), progress=False)
    assert longer.metadata["resumed"] == 6 and longer.metadata["trained_now"] == 4
    assert len(longer.summary) == 5


# ---------------------------------------------------------------- successive halving

def test_halving_budgets():
    from nnbin.search import halving_budgets

    assert halving_budgets(100, 10, 3) == [10, 30, 100]
    assert halving_budgets(50, 10, 3) == [10, 50]
    assert halving_budgets(90, 10, 3) == [10, 30, 90]
    assert halving_budgets(10, 10, 3) == [10]       # one rung: the plain grid
    assert halving_budgets(5, 10, 2) == [5]


def test_halving_keeps_the_best_third_on_hold_outs_and_cross_validates_the_last(tmp_path):
    from nnbin.cv import make_holdout_splits, make_splits
    from nnbin.experiment import run_experiment

    raw = {**BASE, "cv": {"folds": 3, "seed": 2}, "search": {"kind": "halving", "factor": 3, "min_epochs": 1},
           "metrics": ["roc_auc"], "refit": "none", "output_dir": str(tmp_path / "out"),
           "models": [{"name": "net", "params": {"hidden": [3], "epochs": 9},
                       "grid": {"learning_rate": [0.0003, 0.003, 0.03], "activation": ["relu", "tanh"]}}]}
    result = run_experiment(config_from_dict(raw), progress=False)
    inner = __import__("pandas").read_csv(tmp_path / "out" / "inner_trials.csv")
    point = lambda label: label.replace(" epochs=1", "").replace(" epochs=3", "")  # noqa: E731
    # rung 1: all 6 points at 1 epoch on the 3 hold-outs; rung 2: the best 2 (mean hold-out AUC) at 3
    first = inner[inner["config"].str.endswith("epochs=1")]
    second = inner[inner["config"].str.endswith("epochs=3")]
    assert first["config"].nunique() == 6 and len(first) == 18 and (first["epochs_run"] == 1).all()
    best_two = first.groupby("config")["roc_auc"].mean().sort_values(ascending=False, kind="stable").index[:2]
    assert {point(c) for c in second["config"]} == {point(c) for c in best_two}
    assert len(second) == 6 and (second["epochs_run"] == 3).all()
    winner = second.groupby("config")["roc_auc"].mean().idxmax()
    # the last rung: the one survivor cross-validated on the 3 scored folds at the full 9 epochs
    assert list(result.summary["config"]) == [point(winner)]
    assert len(result.trials) == 3 and (result.trials["epochs_run"] == 9).all()
    assert result.metadata["trials"] == 18 + 6 + 3 == result.metadata["trained_now"]
    assert "6 -> 2 -> 1 configurations at 1, 3, 9 epochs" in " ".join(result.notes)
    # the hold-outs that choose are carved from the training folds: no scored row is in them
    data = config_from_dict(raw).dataset.load()
    outer = make_splits(data.y, 3, seed=2)
    for split, holdout in zip(outer, make_holdout_splits(data.y, outer, 0.1, seed=2)):
        assert set(holdout.validation) <= set(split.train)
        assert not set(holdout.validation) & set(split.validation)
        assert sorted([*holdout.train, *holdout.validation]) == sorted(split.train)
    again = run_experiment(config_from_dict(raw), progress=False)
    assert again.metadata["trained_now"] == 0
    __import__("pandas").testing.assert_frame_equal(again.summary, result.summary)


@pytest.mark.parametrize("raw, message", [
    ({"search": {"kind": "halving"}, "models": [{"name": "m", "grid": {"epochs": [10, 20]}}]},
     "models[0].grid.epochs: successive halving sets the epochs of each rung"),
    ({"search": {"kind": "halving"}, "cv": {"nested": True}, "models": [{"name": "logistic"}]},
     "search.kind: halving chooses candidates on a hold-out"),
    ({"search": {"kind": "halving", "factor": 1}, "models": [{"name": "logistic"}]}, "search.factor: must be >= 2"),
    ({"search": {"min_epochs": 5}, "models": [{"name": "logistic"}]},
     "search: min_epochs applies to kind: halving; remove it, or set kind: halving"),
    ({"search": {"kind": "halving", "n_iter": 5}, "models": [{"name": "logistic"}]},
     "search: n_iter applies to kind: random"),
])
def test_halving_config_errors(raw, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict({**BASE, **raw})
    assert message in str(error.value)
