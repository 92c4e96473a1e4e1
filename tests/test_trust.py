"""Trust off the default path: a trial's result does not depend on its stack, failed folds
count, no setting is silently ignored, no traceback for what a user can cause."""
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

import nnbin.engines.fused as fused
from nnbin.cli import main
from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials, select_outer_trials
from nnbin.engines import FoldData
from nnbin.errors import ConfigError
from nnbin.experiment import run_experiment
from nnbin.results import summarize

ROOT = Path(__file__).parents[1]


# ---------------------------------------------------------------- 1. nothing accepted and ignored

@pytest.mark.parametrize("family, message", [
    ({"name": "shallow", "params": {"activation": "relu"}, "grid": {"width": [16, 64]}},
     "width 16 needs depth (the number of hidden layers): add depth: 1, or give hidden: [16]"),
    ({"name": "deep", "grid": {"depth": [2, 3]}}, "depth 2 needs a width"),
    ({"name": "logistic", "params": {"activation": "tanh"}},
     "models[0].params.activation: logistic has no hidden layer (logistic regression), so activation "
     "would be ignored"),
    ({"name": "logistic", "grid": {"dropout": [0.1, 0.2]}}, "models[0].grid.dropout: logistic has no hidden"),
    ({"name": "net", "params": {"hidden": [4]}, "grid": {"learning_rate": [0.1, 0.1, 0.3]}},
     "models[0].grid.learning_rate[1]: 0.1 is listed twice"),
    ({"name": "net", "params": {"hidden": [4], "activation": "glu"}}, "unknown activation 'glu'"),
])
def test_a_setting_that_would_be_ignored_is_refused(family, message):
    with pytest.raises(ConfigError) as error:
        config_from_dict({"dataset": {"name": "iris_binary"}, "models": [family]})
    assert message in str(error.value)


@pytest.mark.parametrize("changes, message", [
    ({"cv": {"inner_fraction": 0.2}}, "cv.inner_fraction: it is the early-stopping split, but no family"),
    ({"cv": {"inner_folds": 4}}, "cv.inner_folds: it applies to nested cross-validation only"),
    ({"dataset": {"name": "iris_binary", "positive_class": "other"}}, "positive_class applies to files"),
])
def test_unused_dataset_and_cv_keys_are_refused(changes, message):
    with pytest.raises(ConfigError, match=None) as error:
        config_from_dict({"dataset": {"name": "iris_binary"}, "models": [{"name": "logistic"}], **changes})
    assert message in str(error.value)


def test_a_resolved_config_is_accepted_again():
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "models": [
        {"name": "logistic"}, {"name": "deep", "grid": {"depth": [0, 2], "width": [8]}}]})
    assert config_from_dict(config.to_dict()).to_dict() == config.to_dict()


# ---------------------------------------------------------------- 2. a trial's result is its own

STACKED = {"dataset": {"name": "iris_binary"}, "cv": {"folds": 4, "seed": 0}, "models": [
    {"name": "net", "params": {"dropout": 0.3, "batch_size": 16, "learning_rate": 0.01, "epochs": 12,
                               "l2": 0.001},
     "grid": {"hidden": [[8, 4], [40, 3]],   # one stack of mixed widths: [8, 4] padded to 2 blocks x 1 block
              "patience": [5, 0], "dropout": [0.3, 0.0], "class_weight": [None, "balanced"],
              "activation": ["relu", "sigmoid"]}}]}   # sigmoid(0) = 0.5: padding units must be held at 0


def _train(trials, data):
    return {r.trial.id: r for r in fused.train_trials(trials, FoldData(data))}


def _same(a, b):
    assert a.epochs_run == b.epochs_run and a.best_epoch == b.best_epoch, a.trial.label
    assert np.array_equal(a.y_prob, b.y_prob), (a.trial.label, np.abs(a.y_prob - b.y_prob).max())
    assert a.history == b.history, a.trial.label
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights)), a.trial.label


@pytest.fixture(scope="module")
def stacked():
    """Every trial of STACKED trained in one stack: what each must give alone and in any stack."""
    config = config_from_dict(STACKED)
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, 4, seed=0))
    assert {len(FoldData(data).get(t).y_fit) for t in trials} == {100, 101, 112, 113}
    return data, trials, _train(trials, data)


# Dropout, L2, folds of unequal size (4 folds of 150 rows, inner early-stopping splits), patience,
# class-weight, activation and width mixes: alone, in one stack, in another order, and split into
# small stacks across several compiled calls, every trial gives the same bits (weights too).
def test_fused_results_are_bit_identical_alone_and_in_one_stack(stacked):
    data, trials, together = stacked
    for trial in trials[:1] + trials[-1:]:      # the case (patience 5, dropout 0.3) and its opposite
        _same(_train([trial], data)[trial.id], together[trial.id])


def test_a_model_beside_other_activations_gives_the_bits_it_gives_alone():
    """LLVM fuses a*b + c into one rounding, or not, depending on how XLA fused the graph around
    it; a stack of relu and tanh models compiles another graph than relu models alone, and a
    relu model's weights came out 1e-7 apart (breast_cancer, 30 features) until XLA's CPU code
    was compiled without fused multiply-adds (device.exact_arithmetic)."""
    config = config_from_dict({"dataset": {"name": "breast_cancer"}, "cv": {"folds": 5, "seed": 0},
                               "models": [{"name": "net", "params": {"hidden": [32], "epochs": 3},
                                           "grid": {"activation": ["relu", "tanh"]}}]})
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, 5, seed=0))
    together = _train(trials, data)
    for trial in (trials[0], trials[-1]):  # relu, tanh
        _same(_train([trial], data)[trial.id], together[trial.id])


def test_fused_results_are_bit_identical_in_another_order(stacked):
    data, trials, together = stacked
    for trial_id, result in _train(trials[::-1], data).items():
        _same(result, together[trial_id])


def test_fused_results_are_bit_identical_in_small_stacks_over_several_calls(stacked, monkeypatch):
    data, trials, together = stacked
    monkeypatch.setattr(fused.schedule, "MAX_GROUP", 43)  # stacks of 43, 43 and 42 models, a call each
    monkeypatch.setattr(fused.schedule, "STACKS_PER_CALL", 1)
    for trial_id, result in _train(trials, data).items():
        _same(result, together[trial_id])


FUSED_DROPOUT = {
    "name": "fused_dropout", "dataset": {"name": "moons", "options": {"n_samples": 152}},
    "cv": {"folds": 3, "seed": 0},          # training folds of 101, 101 and 102 rows: 1, 1 and 2 steps
    "models": [{"name": "net", "params": {"dropout": 0.2, "epochs": 6, "learning_rate": 0.05,
                                          "batch_size": 101},
                "grid": {"hidden": [[2], [3, 2], [4, 3, 2]]}}],   # 3 depths: 3 stacks, one call each (below)
    "refit": "none",
}
TRIALS = 3 * 3
ONE_STACK_PER_CALL = ("import sys, nnbin.engines.fused.schedule as schedule; schedule.STACKS_PER_CALL = 1; "
                      "from nnbin.cli import main; sys.exit(main(sys.argv[1:]))")


def test_kill_then_resume_with_the_fused_engine_and_dropout(tmp_path, monkeypatch):
    config = tmp_path / "fused.yaml"
    config.write_text(yaml.safe_dump(FUSED_DROPOUT))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-c", ONE_STACK_PER_CALL, "train", "--config", str(config),
                                "--output-dir", str(out), "--quiet"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "trials.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if records.exists() and records.read_text().count("\n") >= 1:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = records.read_text().count("\n")
    assert 0 < finished < TRIALS, "the run must be killed part-way"
    assert main(["train", "--config", str(config), "--output-dir", str(out), "--quiet"]) == 0
    monkeypatch.setattr(fused.schedule, "MAX_GROUP", 2)   # the reference: other stacks, same results
    whole = run_experiment(FUSED_DROPOUT, progress=False, output_dir=tmp_path / "whole", report=False)
    resumed = pd.read_csv(out / "trials.csv").drop(columns="fit_seconds")
    pd.testing.assert_frame_equal(resumed, pd.read_csv(tmp_path / "whole" / "trials.csv")
                                  .drop(columns="fit_seconds"))
    assert json.loads((out / "run.json").read_text())["trained_now"] == TRIALS - finished
    assert len(whole.trials) == TRIALS


# ---------------------------------------------------------------- 4. failed folds count

def _trials_table(rows):
    return pd.DataFrame([{"trial_id": f"{c}{f}", "family": "net", "config": c, "architecture": "4",
                          "status": "ok" if auc == auc else "diverged", "roc_auc": auc, "epochs_run": 5,
                          "best_epoch": 5, "fit_seconds": 0.1, "repeat": 0, "fold": f}
                         for c, aucs in rows.items() for f, auc in enumerate(aucs)])


def test_a_configuration_with_a_failed_fold_ranks_after_every_complete_one():
    nan = float("nan")
    table = _trials_table({"lucky": [0.99, nan, nan, nan, nan], "steady": [0.80, 0.81, 0.79, 0.80, 0.82],
                           "weak": [0.6, 0.6, 0.6, 0.6, 0.6]})
    summary = summarize(table, ["roc_auc"], "roc_auc")
    assert list(summary["config"]) == ["steady", "weak", "lucky"]
    assert summary.loc[2, "note"].startswith("diverged on 4 of 5 folds: ranked after every complete")
    assert summary.loc[0, "note"] == ""


def test_nested_selection_skips_configurations_with_failed_inner_folds():
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "models": [
        {"name": "net", "params": {"hidden": [4]}, "grid": {"learning_rate": [0.1, 0.2]}}]})
    candidates = make_trials(config, make_splits(config.dataset.load().y, 2))
    lucky, steady = candidates[0].label, candidates[2].label
    inner = pd.DataFrame([{"repeat": 0, "fold": outer, "inner_fold": i, "family": "net", "config": c,
                           "status": "ok" if auc == auc else "diverged", "roc_auc": auc}
                          for outer in (0, 1) for c, aucs in ((lucky, [0.99, float("nan")]),
                                                              (steady, [0.7, 0.7]))
                          for i, auc in enumerate(aucs)])
    chosen = select_outer_trials(inner, candidates, "roc_auc")
    assert [t.label for t in chosen] == [steady, steady]
    inner.loc[inner["config"] == steady, ["status", "roc_auc"]] = ["diverged", float("nan")]
    chosen = select_outer_trials(inner, candidates, "roc_auc")   # every configuration failed somewhere
    assert [t.label for t in chosen] == [lucky, lucky]


def test_refit_trains_for_the_mean_best_epoch_and_never_saves_a_diverged_model(tmp_path, monkeypatch):
    import nnbin.refit as refitting

    config = {"name": "refit", "dataset": {"name": "breast_cancer"}, "cv": {"folds": 3, "seed": 0},
              "models": [{"name": "net", "params": {"hidden": [8], "epochs": 60, "patience": 3},
                          "grid": {"learning_rate": [0.05, 0.01]}}]}
    real_refit, refitted = refitting.refit, []

    def refit_whose_first_model_diverges(trials, *args, **kwargs):
        results, preprocessor = real_refit(trials, *args, **kwargs)
        refitted.extend(t.hyper for t in trials)
        if len(refitted) == 1:
            results[0].status = "diverged"
        return results, preprocessor

    monkeypatch.setattr(refitting, "refit", refit_whose_first_model_diverges)
    result = run_experiment(config, progress=False, output_dir=tmp_path, report=False)
    trials = result.trials
    assert (trials["best_epoch"] < trials["epochs_run"]).any()       # stopping happened
    assert (trials["best_epoch"] <= trials["epochs_run"]).all()
    first, second = result.summary["config"][:2]
    assert [h.learning_rate for h in refitted] == [float(c.split("=")[1]) for c in (first, second)]
    info = json.loads((tmp_path / "models" / "net" / "model.json").read_text())
    assert info["config"] == second
    expected = round(trials.loc[trials["config"] == second, "best_epoch"].mean())
    assert info["epochs"] == refitted[1].epochs == expected
    assert result.notes == [f"the refit of {first} on all rows diverged and was not saved; refitting "
                            f"the next best, {second}"]
    assert "Note" not in json.dumps(info)


# ---------------------------------------------------------------- 6. no traceback

def test_rare_category_absent_from_training_folds_with_the_fused_engine(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "ward": rng.choice(["a", "b", "c"], 60),
                          "y": np.tile([0, 1], 30)})
    frame.loc[7, "ward"] = "rare"            # one row: absent from the training rows of two folds
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run_experiment({"dataset": {"file": str(tmp_path / "t.csv"), "target": "y"},
                             "cv": {"folds": 3, "nested": True, "inner_folds": 2},
                             "models": [{"name": "net", "params": {"hidden": [3], "epochs": 2}}]},
                            progress=False, write=False)
    assert (result.trials["status"] == "ok").all() and len(result.trials) == 3


def test_awkward_column_names_survive_refit_and_predict(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a/b": rng.normal(size=40), "numeric": rng.normal(size=40),
                          "nnbin_features": rng.choice(["u", "v"], 40), "y": np.tile([0, 1], 20)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"dataset": {"file": str(tmp_path / "t.csv"), "target": "y"},
                                      "cv": {"folds": 2}, "models": [{"name": "logistic",
                                                                     "params": {"epochs": 2}}]}))
    assert main(["train", "--config", str(config), "--output-dir", str(tmp_path / "o"), "--quiet"]) == 0
    assert main(["predict", "--model", str(tmp_path / "o" / "models" / "logistic"),
                 "--data", str(tmp_path / "t.csv"), "--out", str(tmp_path / "s.csv")]) == 0
    assert pd.read_csv(tmp_path / "s.csv")["probability"].between(0, 1).all()


def test_large_seeds_and_many_inner_folds_with_dropout_on_the_keras_engine():
    result = run_experiment({"dataset": {"name": "iris_binary"}, "engine": "keras",
                             "cv": {"folds": 2, "seed": 2024, "nested": True, "inner_folds": 5},
                             "models": [{"name": "net", "params": {"hidden": [3], "dropout": 0.2, "epochs": 1}}]},
                            progress=False, write=False)
    assert (result.trials["status"] == "ok").all()


def test_numbers_stored_as_text_or_decimals_are_numeric(tmp_path):
    from decimal import Decimal

    from nnbin.data import from_frame, load_file

    frame = pd.DataFrame({"dose": ["1.5", "2", "3.25", "4"], "amount": [Decimal("1.10"), Decimal("2.5"),
                          Decimal("3"), Decimal("0.5")], "y": [0, 1, 0, 1]})
    data = from_frame(frame, target="y")
    assert data.numeric == ["dose", "amount"]
    assert data.X["dose"].tolist() == [1.5, 2.0, 3.25, 4.0] and data.X["amount"].tolist() == [1.1, 2.5, 3.0, 0.5]
    frame.to_parquet(tmp_path / "t.parquet")
    assert load_file(tmp_path / "t.parquet", target="y").X["amount"].dtype == float


def test_device_records_the_gpu_when_it_cannot_be_hidden(monkeypatch):
    import tensorflow as tf

    from nnbin.device import configure_device

    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")

    def refuse(*args, **kwargs):
        raise RuntimeError("Visible devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu])
    monkeypatch.setattr(tf.config, "set_visible_devices", refuse)
    monkeypatch.setattr(tf.config, "get_visible_devices", lambda kind=None: [gpu])
    used = configure_device("cpu")
    assert used.startswith("gpu (1: /physical_device:GPU:0; device: cpu could not be applied")


SMALL = {"name": "small", "dataset": {"name": "moons", "options": {"n_samples": 90}}, "cv": {"folds": 3},
         "engine": "keras", "models": [{"name": "logistic", "params": {"epochs": 2}}]}


def test_a_damaged_line_in_the_middle_of_the_store_is_set_aside_with_a_warning(tmp_path, capsys):
    run_experiment(SMALL, progress=False, output_dir=tmp_path, report=False)
    first = pd.read_csv(tmp_path / "trials.csv")
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    lines[1] = lines[1][:40] + "#garbage"
    (tmp_path / "trials.jsonl").write_text("\n".join(lines) + "\n")
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    assert main(["train", "--config", str(config), "--output-dir", str(tmp_path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert ("nnbin: warning: 1 damaged line(s) in" in err and "moved to trials.damaged.jsonl; their "
            "trials will be trained again" in err)
    assert (tmp_path / "trials.damaged.jsonl").read_text().strip() == lines[1]
    again = pd.read_csv(tmp_path / "trials.csv")
    pd.testing.assert_frame_equal(again.drop(columns="fit_seconds"),
                                  first.drop(columns="fit_seconds"))
    assert json.loads((tmp_path / "run.json").read_text())["trained_now"] == 1


def test_an_unexpected_error_is_one_line_with_a_log_of_the_traceback(monkeypatch, capsys):
    import nnbin.experiment

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(nnbin.experiment, "run_experiment", broken)
    assert main(["train"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("nnbin: unexpected error: RuntimeError: something inside broke (trials "
                          "already finished are saved; the traceback is in ")
    log = Path(err.split("the traceback is in ")[1].split(";")[0])
    assert "in broken" in log.read_text() and "Traceback" in log.read_text()
