import numpy as np

from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.engines import FoldData
from nnbin.engines.keras_engine import ModelCache, fit_trial


def test_a_reused_model_starts_exactly_like_a_fresh_one():
    """Weights, optimizer state and dropout seeds are reset between trials."""
    config = config_from_dict({"dataset": {"name": "moons", "options": {"n_samples": 120}},
                               "cv": {"folds": 3}, "engine": "keras",
                               "models": [{"name": "net", "params": {"hidden": [6], "epochs": 4,
                                                                     "dropout": 0.3},
                                           "grid": {"learning_rate": [0.05, 0.01]}}]})
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, 3))
    folds, cache = FoldData(data), ModelCache()
    for trial in trials[:4]:                       # warm the cache with other trials
        fit_trial(trial, folds, cache)
    target = trials[5]
    reused = fit_trial(target, folds, cache)
    fresh = fit_trial(target, folds, None)
    np.testing.assert_array_equal(reused.y_prob, fresh.y_prob)
    assert reused.history == fresh.history
