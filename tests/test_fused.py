"""The fused engine against the plain keras engine, on the same seeds."""
import keras
import numpy as np
import pytest

from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.data import load_builtin
from nnbin.engines import ENGINES, FoldData
from nnbin.engines.fused import group_key, train_trials as fused_trials
from nnbin.engines.keras_engine import train_trials as keras_trials
from nnbin.experiment import run_experiment


def make(models, dataset="iris_binary", folds=3, options=None):
    config = config_from_dict({"dataset": {"name": dataset, "options": options or {}},
                               "cv": {"folds": folds, "seed": 1}, "models": models})
    data = config.dataset.load()
    return make_trials(config, make_splits(data.y, folds, seed=1)), data


def run(engine, trials, data, **options):
    return {r.trial.id: r for r in ENGINES[engine](trials, FoldData(data, 0.2), **options)}


FULL_BATCH = {"batch_size": 4096, "epochs": 15}  # one step per epoch: the shuffle order cannot matter


SHARED = {"hidden": [6, 4], "activation": "tanh", **FULL_BATCH}
FULL_BATCH_FAMILIES = {  # per optimizer, its families
    "adam": [{"name": "adam", "params": {**SHARED, "learning_rate": 0.05},
              "grid": {"l2": [0.0, 0.01], "learning_rate": [0.02, 0.05]}}],
    "sgd": [{"name": "sgd_momentum", "params": {**SHARED, "optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.05}},
            {"name": "sgd", "params": {**SHARED, "optimizer": "sgd", "learning_rate": 0.1, "l2": 0.01}}],
    "rmsprop": [{"name": "rmsprop", "params": {**SHARED, "optimizer": "rmsprop", "learning_rate": 0.01}},
                {"name": "rmsprop_momentum", "params": {**SHARED, "optimizer": "rmsprop", "momentum": 0.5,
                                                        "learning_rate": 0.01, "l2": 0.01}}],
}


@pytest.mark.parametrize("optimizer, configurations", [("adam", 4), ("sgd", 2), ("rmsprop", 2)])
def test_full_batch_training_matches_keras(optimizer, configurations):
    """Same seeds, same initial weights, same update rules: the same probabilities.
    Each optimizer with and without momentum and L2; in-stack differences of learning rate and
    L2 in the adam family."""
    trials, data = make(FULL_BATCH_FAMILIES[optimizer], folds=2)
    fused, plain = run("fused", trials, data), run("keras", trials, data)
    assert len(plain) == configurations * 2
    for trial_id, result in plain.items():
        assert fused[trial_id].epochs_run == result.epochs_run == 15
        np.testing.assert_allclose(fused[trial_id].y_prob, result.y_prob, atol=2e-4,
                                   err_msg=result.trial.label)
        np.testing.assert_allclose(fused[trial_id].history["loss"], result.history["loss"],
                                   rtol=1e-3, err_msg=result.trial.label)


def test_class_weights_epochs_and_early_stopping_match_keras():
    trials, data = make([
        {"name": "weighted", "params": {"hidden": [5], "batch_size": 4096, "epochs": 12,
                                        "class_weight": "balanced", "learning_rate": 0.05}},
        {"name": "stopping", "params": {"hidden": [5], "batch_size": 4096, "epochs": 60,
                                        "patience": 2, "learning_rate": 0.3}},
    ], folds=2)
    assert len({group_key(t) for t in trials}) == 1  # trained as one stack
    fused, plain = run("fused", trials, data), run("keras", trials, data)
    stopped_early = 0
    for trial_id, result in plain.items():
        assert fused[trial_id].epochs_run == result.epochs_run
        stopped_early += result.epochs_run < 60 and result.trial.family == "stopping"
        np.testing.assert_allclose(fused[trial_id].y_prob, result.y_prob, atol=2e-4)
        if "val_loss" in result.history:
            np.testing.assert_allclose(fused[trial_id].history["val_loss"],
                                       result.history["val_loss"], rtol=1e-3)
    assert stopped_early  # the case exercises stopping and restoring the best weights


def test_minibatch_results_agree_with_keras_on_mean_auc():
    """With mini-batches the shuffle orders differ, so compare mean ROC AUC per configuration."""
    models = [{"name": "logistic", "params": {"epochs": 20, "learning_rate": 0.05}},
              {"name": "shallow", "params": {"hidden": [8], "epochs": 20, "learning_rate": 0.02}}]
    base = {"dataset": {"name": "moons", "options": {"n_samples": 300, "noise": 0.3}},
            "cv": {"folds": 3}, "models": models}
    fused = run_experiment({**base, "engine": "fused"}, progress=False, write=False).summary
    plain = run_experiment({**base, "engine": "keras"}, progress=False, write=False).summary
    merged = fused.merge(plain, on="config", suffixes=("_fused", "_keras"))
    assert len(merged) == 2
    assert (abs(merged["roc_auc_mean_fused"] - merged["roc_auc_mean_keras"]) < 0.01).all()


def test_each_trial_is_unstacked_into_a_keras_model():
    trials, data = make([{"name": "deep", "params": {"hidden": [4, 3], "epochs": 3, "dropout": 0.2}}])
    results = list(fused_trials(trials, FoldData(data), keep_models=True))
    folds = FoldData(data)
    for result in results:
        assert isinstance(result.model, keras.Sequential)
        X_val = folds.get(result.trial).X_val
        np.testing.assert_allclose(np.asarray(result.model(X_val)).ravel(), result.y_prob, atol=1e-5)


def test_a_trial_does_not_depend_on_its_stack_mates():
    """Shuffles and dropout masks come from the trial's own seed: training it alone or in a
    larger stack gives the same weights."""
    trials, data = make([{"name": "net", "params": {"hidden": [8], "epochs": 5, "batch_size": 16,
                                                    "dropout": 0.3},
                          "grid": {"learning_rate": [0.01, 0.02, 0.05]}}])
    together = run("fused", trials, data)
    alone = run("fused", trials[:1], data)
    np.testing.assert_allclose(alone[trials[0].id].y_prob, together[trials[0].id].y_prob, atol=1e-6)


def test_dropout_is_applied_in_training():
    trials, data = make([{"name": "net", "params": {"hidden": [16], "epochs": 5},
                          "grid": {"dropout": [0.0, 0.5]}}])
    results = list(run("fused", trials, data).values())
    by_rate = {}
    for r in results:
        by_rate.setdefault(r.trial.hyper.dropout, []).append(r.history["loss"][-1])
    assert np.mean(by_rate[0.5]) > np.mean(by_rate[0.0])  # noisier training, higher training loss


def test_unsupported_optimizers_fall_back_to_keras():
    trials, data = make([{"name": "n", "params": {"optimizer": "nadam", "epochs": 2}}])
    results = run("fused", trials, data)
    plain = run("keras", trials, data)  # the fallback is the plain engine: the same bits
    assert sorted(results) == sorted(plain) == sorted(t.id for t in trials)
    for trial_id, result in results.items():
        assert result.status == "ok" and result.epochs_run == 2
        np.testing.assert_array_equal(result.y_prob, plain[trial_id].y_prob)
        assert result.history == plain[trial_id].history


def test_divergence_is_reported_not_raised():
    trials, data = make([{"name": "wild", "params": {"hidden": [8], "optimizer": "sgd",
                                                     "learning_rate": 1e6, "epochs": 20}}],
                        dataset="synthetic", options={"n_samples": 120, "class_sep": 0.1})
    results = list(fused_trials(trials, FoldData(data)))
    assert {r.status for r in results} == {"diverged"}
    assert all(np.isnan(r.y_prob).all() for r in results)
