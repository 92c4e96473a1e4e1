"""The fused engine against Keras itself, trial by trial, on mini-batches: Keras is given the
fused engine's own per-epoch row order (as fit(shuffle=False) would take it, one mini-batch
at a time), so every update is the same."""
import keras
import numpy as np
import pandas as pd
import pytest

from nnbin.builders import build_model
from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.data import from_frame
from nnbin.engines import FoldData
from nnbin.engines.fused import epoch_order, train_trials as fused_trials
from nnbin.engines.keras_engine import balanced_class_weight

EPOCHS = 15
CASES = {  # every optimizer, batch 16 and 32, relu and tanh, L2, class weights, early stopping
    "sgd_momentum": {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.02, "batch_size": 16,
                     "activation": "relu", "l2": 0.01},
    "sgd_stopping": {"optimizer": "sgd", "learning_rate": 0.1, "batch_size": 32, "activation": "tanh",
                     "patience": 2, "epochs": 40},
    "rmsprop_weighted": {"optimizer": "rmsprop", "learning_rate": 0.01, "batch_size": 32,
                         "activation": "tanh", "class_weight": "balanced"},
    "rmsprop_momentum": {"optimizer": "rmsprop", "momentum": 0.5, "learning_rate": 0.005,
                         "batch_size": 16, "activation": "relu"},
    "adam_stopping": {"optimizer": "adam", "learning_rate": 0.05, "batch_size": 16, "activation": "tanh",
                      "patience": 3, "epochs": 40},
    "adam_l2_weighted": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32,
                         "activation": "relu", "l2": 0.001, "class_weight": "balanced"},
}


def keras_with_fused_order(trial, arrays):
    """Keras' own training step (train_on_batch: what fit runs per mini-batch) on the fused
    engine's mini-batches, epoch by epoch; early stopping done as
    keras.callbacks.EarlyStopping(restore_best_weights=True) does it, on Keras' loss of the
    early-stopping split. Returns (validation probabilities, epochs run)."""
    hyper = trial.hyper
    model = build_model(hyper.spec(seed=trial.seed), arrays.X_fit.shape[1])
    class_weight = balanced_class_weight(arrays.y_fit) if hyper.class_weight else None
    best, best_weights, wait = np.inf, None, 0
    for epoch in range(hyper.epochs):
        order = epoch_order(trial.seed, epoch, len(arrays.y_fit))
        for start in range(0, len(order), hyper.batch_size):
            rows = order[start:start + hyper.batch_size]
            model.train_on_batch(arrays.X_fit[rows], arrays.y_fit[rows], class_weight=class_weight)
        if not hyper.patience:
            continue
        loss = model.test_on_batch(arrays.X_stop, arrays.y_stop)[0]
        if loss < best:
            best, best_weights, wait = loss, model.get_weights(), 0
            continue
        wait += 1
        if wait >= hyper.patience and epoch > 0:
            break
    if best_weights is not None:
        model.set_weights(best_weights)
    return model.predict(arrays.X_val, verbose=0).ravel(), epoch + 1


def messy_table():
    """Missing numbers and categories, a column far from zero (1e9 + noise) and a category on
    three rows only, all in the first validation fold: the fused engine's one encoded table
    and per-fold affine maps must give what scikit-learn's per-fold preprocessing gives."""
    rng = np.random.default_rng(5)
    n = 158
    x, z = rng.normal(size=n), rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], n).astype(object)
    target = (x + z + (kind == "a") + rng.normal(scale=0.7, size=n) > 0.3).astype(int)
    kind[make_splits(target, 4, seed=3)[0].validation[:3]] = "rare"  # unseen by that fold's training
    x[rng.random(n) < 0.2] = np.nan
    kind[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"x": x, "far": 1e9 + 3 * z, "kind": kind, "y": target})
    return from_frame(frame, target="y", name="messy")


@pytest.mark.parametrize("table", ["iris_binary", "messy"])
def test_fused_equals_keras_on_mini_batches_trial_by_trial(table):
    cases = CASES if table == "iris_binary" else {k: CASES[k] for k in ("adam_stopping", "rmsprop_weighted")}
    models = [{"name": name, "params": {"hidden": [6], "epochs": EPOCHS, **params}}
              for name, params in cases.items()]
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 4, "seed": 3},
                               "models": models})
    data = config.dataset.load() if table == "iris_binary" else messy_table()
    splits = make_splits(data.y, 4, seed=3)
    splits = [splits[0], splits[3]]                      # folds of unequal size
    assert len(splits[0].validation) != len(splits[1].validation)
    trials = make_trials(config, splits)
    folds = FoldData(data)
    fused = {r.trial.id: r for r in fused_trials(trials, folds)}
    stopped_early = 0
    for trial in trials:
        probabilities, epochs_run = keras_with_fused_order(trial, folds.get(trial))
        result = fused[trial.id]
        assert result.status == "ok"
        assert result.epochs_run == epochs_run, trial.label
        np.testing.assert_allclose(result.y_prob, probabilities, atol=1e-4, rtol=0, err_msg=trial.label)
        stopped_early += epochs_run < trial.hyper.epochs
    assert stopped_early >= (2 if table == "iris_binary" else 1)  # early stopping and the restoring of the best weights are exercised


def test_epoch_order_is_a_permutation_that_changes_per_epoch_and_seed():
    first = epoch_order(7, 0, 50)
    assert sorted(first) == list(range(50))
    assert not np.array_equal(first, epoch_order(7, 1, 50))
    assert not np.array_equal(first, epoch_order(8, 0, 50))
