"""Live progress: a fused stack trained in chunks of epochs reports each trial's share of its
epochs after every chunk, gives the same bits as one compiled call, and moves the bar."""
from collections import defaultdict

import numpy as np
import pytest

import nnbin.engines.fused as fused
from nnbin.engines.fused import model as stacked_model, schedule
from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.engines import ENGINES, FoldData
from nnbin.experiment import run_experiment

# dropout, early stopping that ends some models early, balanced class weights, an activation mix,
# a learning rate that diverges, stacks of 12 and 8 epochs in one compiled call, and validation
# curves kept every 3rd epoch (chunk ends do not fall on recorded epochs)
MIXED = {"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0}, "models": [
    {"name": "net", "params": {"hidden": [6, 4], "batch_size": 16, "learning_rate": 0.02, "epochs": 12},
     "grid": {"patience": [2, 0], "dropout": [0.25, 0.0], "class_weight": [None, "balanced"],
              "activation": ["relu", "tanh"]}},
    {"name": "short", "params": {"hidden": [5], "batch_size": 32, "optimizer": "sgd", "epochs": 8},
     "grid": {"learning_rate": [0.05, 1e6]}}]}


def _trials(spec):
    config = config_from_dict(spec)
    data = config.dataset.load()
    return make_trials(config, make_splits(data.y, spec["cv"]["folds"], seed=0)), data


def _train(trials, data, progress=None):
    return {r.trial.id: r for r in fused.train_trials(trials, FoldData(data), progress=progress)}


def _shares(reports) -> dict:
    """Each trial's reported shares, in order (reports: what list.append, a thread-safe
    progress callback, collected)."""
    per_trial = defaultdict(list)
    for report in reports:
        for trial_id, share in report.items():
            per_trial[trial_id].append(share)
    return per_trial


@pytest.fixture
def mixed(monkeypatch):
    monkeypatch.setattr(stacked_model, "validation_stride", lambda *args: 3)  # curves: every 3rd epoch
    monkeypatch.setattr(schedule, "CONCURRENT_CALLS", 1)  # both stacks (12 and 8 epochs) in one call
    return _trials(MIXED)


def test_chunked_calls_give_the_bits_of_one_call(mixed, monkeypatch):
    trials, data = mixed
    whole = _train(trials, data)
    assert {r.status for r in whole.values()} == {"ok", "diverged"}
    assert any(r.epochs_run < r.trial.hyper.epochs for r in whole.values())  # stopped early
    for r in whole.values():  # every 3rd epoch, the last trained and the restored one
        if r.status == "ok":
            assert r.curve[0] == sorted({*range(3, r.epochs_run + 1, 3), r.epochs_run, r.best_epoch})
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        monkeypatch.setattr(schedule, "next_chunk", lambda epochs, seconds: int(rng.integers(1, 4)))
        reports = []
        chunked = _train(trials, data, reports.append)
        assert len(reports) >= 4  # chunks of 1 to 3 epochs
        for trial_id, a in whole.items():
            b = chunked[trial_id]
            assert (a.epochs_run, a.best_epoch, a.status) == (b.epochs_run, b.best_epoch, b.status), a.trial.label
            np.testing.assert_equal(a.history, b.history)  # NaN equal to NaN (the diverged loss)
            assert np.array_equal(a.y_prob, b.y_prob, equal_nan=True), a.trial.label
            assert a.curve[0] == b.curve[0] and np.array_equal(a.curve[1], b.curve[1], equal_nan=True)
            assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a.weights, b.weights)), a.trial.label


def test_each_trial_reports_its_share_of_epochs_after_every_chunk(mixed, monkeypatch):
    """Chunks of 1, 2, 3, 4 epochs end at epochs 1, 3, 6 and 10 (of the call's 12): after each, a
    trial reports end / E, or 1 once it has stopped (all its E epochs, early stopping, diverged);
    the last call (epochs 11-12) reports nothing: its results follow."""
    trials, data = mixed
    monkeypatch.setattr(schedule, "next_chunk", lambda epochs, seconds: epochs + 1)
    reports = []
    results = _train(trials, data, reports.append)
    shares = _shares(reports)
    assert shares.keys() == results.keys()
    stopped = {r.epochs_run for r in results.values()}
    assert {2, 8, 12} <= stopped and stopped - {2, 8, 12}  # diverged, 8-epoch stack, complete, early
    for trial_id, result in results.items():
        ran, epochs = result.epochs_run, result.trial.hyper.epochs
        assert shares[trial_id] == [1.0 if end >= ran else end / epochs for end in (1, 3, 6, 10)]


def test_every_model_stopped_ends_the_stack_in_one_more_call(monkeypatch):
    """Early stopping that ends every model: no call trains the remaining epochs one chunk at a
    time; the next call only restores the best weights and scores the fold."""
    trials, data = _trials({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0}, "models": [
        {"name": "net", "params": {"hidden": [4], "learning_rate": 0.5, "epochs": 400, "patience": 1}}]})
    calls = []
    original = schedule._compiled

    class Recorded:  # the compiled function, recording each call's end epoch
        def __init__(self, function):
            self.function = function

        def get_concrete_function(self, *args):
            return self.function.get_concrete_function(*args)

        def __call__(self, *args):
            calls.append(int(args[1]))
            return self.function(*args)

    monkeypatch.setattr(schedule, "_compiled", lambda *a: Recorded(original(*a)))
    monkeypatch.setattr(schedule, "next_chunk", lambda epochs, seconds: 1)
    results = _train(trials, data, [].append)
    stopped = max(r.epochs_run for r in results.values())
    assert stopped < 50
    assert calls == list(range(1, stopped + 1)) + [400]
    assert all(r.status == "ok" for r in results.values())


def test_the_chunk_grows_towards_a_second_a_call():
    assert schedule.next_chunk(1, 30.0) == 1        # the first call compiles: stay small
    assert schedule.next_chunk(1, 0.01) == 4        # fast: grow, at most 4x a call
    assert schedule.next_chunk(40, 4.0) == 10       # 0.1 s an epoch: 10 epochs a second
    assert schedule.next_chunk(10, 1.0) == 10


def test_the_keras_engine_reports_after_every_epoch():
    trials, data = _trials({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0}, "models": [
        {"name": "net", "params": {"hidden": [4], "epochs": 5, "optimizer": "adamw"}}]})
    reports = []
    results = {r.trial.id: r for r in ENGINES["keras"](trials[:2], FoldData(data), progress=reports.append)}
    assert _shares(reports) == {t: [0.2, 0.4, 0.6, 0.8, 1.0] for t in results}


def _bar_positions(monkeypatch) -> dict:
    """Where each shown bar (by its description) stands after each move, as it runs."""
    from nnbin.progress import FitBar

    seen, move = defaultdict(list), FitBar._move

    def recorded(self, fits):
        move(self, fits)
        if fits and not self.bar.disable:
            seen[self.bar.desc].append(self.bar.n)

    monkeypatch.setattr(FitBar, "_move", recorded)
    return seen


def test_the_bars_move_inside_a_stack_and_end_whole(tmp_path, monkeypatch, capsys):
    """One stack of 6 trials x 60 epochs, then the refit of the best: each bar moves by fractions
    of fits before any trial finishes, never goes back, and ends at exactly 6 of 6 (training) and
    1 of 1 (refitting); --quiet (progress off) trains each call in one piece and prints nothing."""
    monkeypatch.setattr(schedule, "next_chunk", lambda epochs, seconds: 5)
    # the refit in a call of its own, as when training both candidates' in advance costs more
    monkeypatch.setattr(fused, "worth_training_alongside", lambda trials, extra: [])
    seen = _bar_positions(monkeypatch)
    runs = []
    original_run = schedule._run
    monkeypatch.setattr(schedule, "_run", lambda *a: runs.append(a[-1] is not None) or original_run(*a))
    config = {"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0},
              "models": [{"name": "net", "params": {"hidden": [4], "epochs": 60},
                          "grid": {"learning_rate": [0.01, 0.1]}}]}
    run_experiment(config, output_dir=tmp_path / "live", report=False)
    assert runs == [True, True]  # the cross-validation's call, then the refit's
    # the chunks end at epochs 1, 6, 11, ..., 56: a bar stands at its fits x epochs / 60
    assert seen["training"] == pytest.approx([6 * e / 60 for e in range(1, 60, 5)] + [6])
    assert seen["refitting"] == pytest.approx([e / 60 for e in range(1, 60, 5)] + [1])
    assert seen["training"][-1] == 6 and seen["refitting"][-1] == 1  # exactly
    err = capsys.readouterr().err
    assert "training: 100%" in err and "6.0/6" in err and "refitting: 100%" in err and "1.0/1" in err
    run_experiment(config, output_dir=tmp_path / "quiet", report=False, progress=False)
    assert runs == [True, True, False, False] and capsys.readouterr().err == ""


def test_fused_search_verbose_prints_the_fits_and_moves_a_bar(capsys, monkeypatch):
    """verbose=1: GridSearchCV's line on stdout and a bar of fits on stderr; the same scores as
    verbose=0 (chunked calls are the same bits), which prints nothing."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    def search(verbose):
        return FusedSearchCV(NNBinClassifier(hidden=(4,), epochs=20, random_state=0), cv=3, verbose=verbose,
                             param_grid={"learning_rate": [0.001, 0.01]}).fit(X, y)

    quiet = search(0)
    out, err = capsys.readouterr()
    assert out == "" and "FusedSearchCV" not in err
    monkeypatch.setattr(schedule, "next_chunk", lambda epochs, seconds: 5)
    seen = _bar_positions(monkeypatch)
    loud = search(1)
    out, err = capsys.readouterr()
    assert out == "Fitting 3 folds for each of 2 candidates, totalling 6 fits\n"
    assert "FusedSearchCV: 100%" in err and "6.0/6" in err
    # one stack: chunks end at epochs 1, 6, 11, 16 of 20, then each trial is finished
    assert seen["FusedSearchCV"] == pytest.approx([6 * e / 20 for e in (1, 6, 11, 16)] + [6 - 1.2 + 0.2 * j for j in range(1, 7)])
    for k in range(3):
        assert np.array_equal(quiet.cv_results_[f"split{k}_test_score"], loud.cv_results_[f"split{k}_test_score"])
