"""Validation curves: the scored fold's loss and rank_by metric per epoch, recorded in the
compiled loop (fused) or by a callback (keras), never used to stop or to choose."""
import numpy as np
import pandas as pd
import pytest

from nnbin.engines.fused import stack_data
from nnbin.experiment import run_experiment

CONFIG = {
    "dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 1}, "metrics": ["roc_auc", "log_loss"],
    "rank_by": "roc_auc", "refit": "none",
    "models": [{"name": "logistic", "params": {"epochs": 6, "learning_rate": 0.05}},
               {"name": "net", "params": {"hidden": [4], "epochs": 12, "learning_rate": 0.05},
                "grid": {"patience": [0, 1]}}],
}


def _curves(result):
    history = result.history
    return {name: history[history["metric"] == name].pivot_table(index="trial_id", columns="epoch",
                                                                 values="value")
            for name in ("validation_loss", "validation_roc_auc")}


@pytest.mark.parametrize("engine", ["fused", "keras"])
def test_the_last_point_of_each_curve_is_the_trials_score(engine, monkeypatch):
    """Without early stopping the weights scored are the last epoch's: the curve's last point
    must equal trials.csv's log loss and ROC AUC (computed from the final probabilities); with
    it, the curve runs to the epoch training stopped. (On a table this small the fused engine
    would record every few epochs, its time limit; here it may record every epoch.)"""
    monkeypatch.setattr(stack_data, "CURVE_COST", 100.0)
    result = run_experiment({**CONFIG, "engine": engine}, progress=False, write=False)
    curves, trials = _curves(result), result.trials.set_index("trial_id")
    assert set(curves["validation_loss"].index) == set(trials.index)
    for trial_id, trial in trials.iterrows():
        loss = curves["validation_loss"].loc[trial_id].dropna()
        assert list(loss.index) == list(range(1, trial["epochs_run"] + 1))
        if trial["patience"] == 0:
            assert loss.iloc[-1] == pytest.approx(trial["log_loss"], abs=1e-6)
            assert curves["validation_roc_auc"].loc[trial_id].dropna().iloc[-1] == pytest.approx(
                trial["roc_auc"], abs=1e-9)
    assert (trials["epochs_run"] < 12).any()  # early stopping cut some curves short


def test_recording_the_curves_leaves_training_untouched(monkeypatch):
    """The same trials with the curves recorded every epoch and only at the last and the
    restored epoch (a budget too small for one epoch by the stride): bit-identical
    probabilities, losses and epochs."""
    recorded = run_experiment(CONFIG, progress=False, write=False)
    monkeypatch.setattr(stack_data, "CURVE_BUDGET", 1)
    assert stack_data.validation_stride(4, 50, 12, fit_rows=64) > 12  # no epoch is recorded by the stride
    bare = run_experiment(CONFIG, progress=False, write=False)
    curve = bare.history[bare.history["metric"] == "validation_loss"]
    ends = bare.trials.set_index("trial_id")[["epochs_run", "best_epoch"]]
    for trial_id, epochs in curve.groupby("trial_id")["epoch"]:
        assert sorted(epochs) == sorted(set(ends.loc[trial_id])), trial_id
    np.testing.assert_array_equal(recorded.predictions["y_prob"].to_numpy(), bare.predictions["y_prob"].to_numpy())
    pd.testing.assert_frame_equal(recorded.trials.drop(columns="fit_seconds"), bare.trials.drop(columns="fit_seconds"))
    own = recorded.history[~recorded.history["metric"].str.startswith("validation_")].reset_index(drop=True)
    bare_own = bare.history[~bare.history["metric"].str.startswith("validation_")].reset_index(drop=True)
    pd.testing.assert_frame_equal(own, bare_own)


def test_stride_keeps_a_stack_within_its_budget_of_memory_and_time():
    budget = 16 * 2 ** 20
    assert stack_data.validation_stride(40, 114, 100, fit_rows=4_800, budget=budget) == 1  # every epoch
    assert stack_data.validation_stride(40, 114, 100, fit_rows=480, budget=budget) == 2   # breast_cancer-sized: every 2nd
    for models, rows, epochs, fit in [(80, 40_000, 50, 160_000), (8, 200_000, 3, 800_000),
                                      (256, 5_000, 300, 20_000), (40, 3_000, 100, 600)]:
        stride = stack_data.validation_stride(models, rows, epochs, fit_rows=fit, budget=budget)
        padded = -(-rows // stack_data.PREDICT_CHUNK) * stack_data.PREDICT_CHUNK
        kept = lambda every: (epochs // every) * models * padded * 4  # noqa: E731 (bytes)
        cost = lambda every: padded / (2 * fit) / every  # noqa: E731 (share of training time)
        smallest = next(every for every in range(1, epochs + 2)  # by search
                        if kept(every) <= budget and cost(every) <= stack_data.CURVE_COST)
        assert kept(stride) <= budget and cost(stride) <= stack_data.CURVE_COST + 1e-12
        assert smallest <= stride <= 2 * smallest
    assert stack_data.validation_stride(8, 0, 100, fit_rows=100) == 0       # a refit: nothing scored
