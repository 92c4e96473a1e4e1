"""Input importance (importance: true): checked against scikit-learn's permutation_importance on
each fold's own model (logistic regression on the fused engine, the shallow network with AdamW on
the plain keras engine), on a generated table whose signal columns are known; the probe; the
first-layer weights; resuming; the saved models need no probe. Settings importance on grids
whose answer is known."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.inspection import permutation_importance

from nnbin.builders import build_model
from nnbin.config import config_from_dict
from nnbin.engines import ENGINES, FoldData
from nnbin.errors import ConfigError
from nnbin.experiment import plan_experiment, run_experiment
from nnbin.importance import fold_seed, summarize_importance

SIGNAL, NOISE = ["x1", "x2", "kind"], ["n1", "n2"]


def _table(n=400, seed=3):
    """x1, x2 and the categorical kind carry the signal; n1 and n2 are noise."""
    rng = np.random.default_rng(seed)
    x1, x2, n1, n2 = rng.normal(size=(4, n))
    kind = rng.choice(["a", "b", "c"], n)
    logit = 2.0 * x1 - 1.5 * x2 + np.select([kind == "b", kind == "c"], [1.5, -1.5], 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "n1": n1, "kind": kind, "x2": x2, "n2": n2, "y": y})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("importance")
    _table().to_csv(folder / "table.csv", index=False)
    config = {"name": "importance", "dataset": {"file": str(folder / "table.csv"), "target": "y"},
              "cv": {"folds": 10, "seed": 2},
              "models": [{"name": "logistic", "params": {"epochs": 40, "learning_rate": 0.05}},
                         {"name": "shallow", "params": {"hidden": [8], "activation": "tanh", "epochs": 12,
                                                        "learning_rate": 0.05, "optimizer": "adamw"}}],
              "importance": {"repeats": 4, "seed": 5}}
    result = run_experiment(config, progress=False, output_dir=folder / "out", report=False)
    return config, folder, result


class _FoldModel(ClassifierMixin, BaseEstimator):
    """A fold's preprocessing and keras model as an estimator on the raw table (for scikit-learn)."""

    def __init__(self, preprocessor=None, model=None):
        self.preprocessor, self.model = preprocessor, model
        self.classes_ = np.array([0, 1])

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        p = self.model(self.preprocessor.transform(X), training=False).numpy().ravel()
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def fold_models(run):
    """Every scored trial of the chosen configurations trained again on its fold (the engines
    are deterministic: the same model, checked on its stored probabilities)."""
    config, _, result = run
    plan = plan_experiment(config_from_dict(config))
    chosen = set(result.importance["config"])
    trials = [t for t in plan.trials if t.label in chosen]
    folds = FoldData(plan.dataset)
    fitted = {fit.trial.id: fit for fit in ENGINES["fused"](trials, folds)}
    predictions = result.predictions
    for trial_id, fit in fitted.items():
        stored = predictions.loc[predictions["trial_id"] == trial_id, "y_prob"].to_numpy()  # in validation order
        assert np.array_equal(fit.y_prob.astype(np.float32), stored.astype(np.float32))
    return plan, folds, fitted


def test_each_folds_importances_equal_scikit_learns_on_that_folds_model(run, fold_models):
    _, _, result = run
    plan, folds, fitted = fold_models
    X = plan.dataset.X
    assert list(X.columns) == ["x1", "n1", "kind", "x2", "n2", "probe"]
    assert set(result.trials.loc[result.trials["family"] == "shallow", "optimizer"]) == {"adamw"}  # keras engine
    checked = 0
    for fit in fitted.values():
        trial = fit.trial
        model = build_model(trial.hyper.spec(seed=trial.seed), plan.dataset.n_inputs, compile=False)
        model.set_weights(fit.weights)
        estimator = _FoldModel(folds.preprocessor(trial), model)
        validation = trial.split.validation
        theirs = permutation_importance(estimator, X.iloc[validation], plan.dataset.y[validation],
                                        scoring="roc_auc", n_repeats=4,
                                        random_state=fold_seed(5, trial.split.repeat, trial.split.fold))
        ours = result.importance[(result.importance["config"] == trial.label)
                                 & (result.importance["fold"] == trial.split.fold)]
        for j, column in enumerate(X.columns):  # a categorical column permuted as one: its one-hot block
            values = ours[ours["feature"] == column].sort_values("permutation")["importance"].to_numpy()
            np.testing.assert_allclose(values, theirs.importances[j], rtol=0, atol=1e-6)
        checked += 1
    assert checked == 2 * 10


def test_signal_columns_beat_the_probe_in_every_fold_and_noise_does_not(run):
    _, _, result = run
    summary = summarize_importance(result.importance, "probe")
    for config, rows in summary.groupby("config"):
        rows = rows.set_index("feature")
        assert (rows.loc[SIGNAL, "above_probe"] == 1.0).all() and rows.loc[SIGNAL, "beats_probe"].all()
        # a noise input is above the probe on a fold about half the time: in all 10 with chance 1/1024
        assert (rows.loc[NOISE, "above_probe"] < 1.0).all(), (config, rows)
        assert rows.loc[SIGNAL, "importance_mean"].min() > 5 * rows.loc[NOISE, "importance_mean"].abs().max()
        assert not rows.loc["probe", "beats_probe"]


def test_first_layer_weights_per_fold_in_reference_coding(run, fold_models):
    _, _, result = run
    _, _, fitted = fold_models
    weights = result.input_weights
    for fit in fitted.values():
        kernel = fit.weights[0].astype(np.float64)  # (inputs: x1 n1 x2 n2 probe kind=a kind=b kind=c, units)
        rows = weights[(weights["config"] == fit.trial.label) & (weights["fold"] == fit.trial.split.fold)]
        value = lambda f: rows[rows["feature"] == f].sort_values("unit")["weight"].to_numpy()  # noqa: E731
        np.testing.assert_allclose(value("x2"), kernel[2], rtol=0, atol=1e-7)
        np.testing.assert_allclose(value("kind=b"), kernel[6] - kernel[5], rtol=0, atol=1e-7)
        np.testing.assert_allclose(value("kind=c"), kernel[7] - kernel[5], rtol=0, atol=1e-7)
        assert "kind=a" not in set(rows["feature"])
    logistic = weights[weights["family"] == "logistic"].groupby("feature")["weight"].mean()
    assert logistic["x1"] > 1 and logistic["x2"] < -1 and abs(logistic["n1"]) < 0.5


def test_the_saved_models_take_the_table_without_the_probe(run):
    _, folder, result = run
    for family in ("logistic", "shallow"):
        info = json.loads((folder / "out" / "models" / family / "model.json").read_text())
        assert "probe" not in info["inputs"] and "x1" in info["inputs"]
    written = pd.read_csv(folder / "out" / "importance.csv")
    assert list(written.columns) == ["family", "config", "feature", "repeat", "fold", "permutation", "metric",
                                     "importance"]
    assert len(written) == 2 * 10 * 6 * 4  # configurations x folds x inputs x permutations


def test_a_resumed_run_gives_the_same_importances(run):
    config, folder, result = run
    again = run_experiment(config, progress=False, output_dir=folder / "out", report=False)
    assert again.metadata["resumed"] == 20 and again.metadata["trained_now"] == 0
    pd.testing.assert_frame_equal(again.importance, result.importance)
    assert not [n for n in again.notes if n.startswith("importance")]


def test_unknown_configuration_is_refused_before_training():
    config = {"dataset": {"name": "iris_binary"}, "models": [{"name": "logistic"}],
              "importance": {"configs": ["logistic lr=1"]}}
    with pytest.raises(ConfigError, match="importance.configs names 'logistic lr=1'.*configurations are: logistic"):
        run_experiment(config, progress=False, write=False)


def test_the_classifier_works_with_scikit_learns_permutation_importance():
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import NNBinClassifier

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), NNBinClassifier(epochs=20, random_state=0)).fit(X[:400], y[:400])
    found = permutation_importance(model, X[400:], y[400:], scoring="roc_auc", n_repeats=3, random_state=0)
    assert found.importances.shape == (30, 3) and np.isfinite(found.importances).all()
    assert found.importances_mean.max() > 0


def test_the_command_and_the_report_read_the_importance_back(run, capsys):
    from nnbin.cli import main

    _, folder, _ = run
    assert main(["importance", str(folder / "out"), "--limit", "3"]) == 0
    printed = capsys.readouterr().out
    assert "drop in roc_auc when each input is permuted" in printed and "beats_probe" in printed
    assert printed.count("\nlogistic\n") == 1 and printed.count("\nshallow\n") == 1
    assert main(["importance", str(folder / "out"), "--metric", "accuracy"]) == 2
    assert "importance was computed for roc_auc" in capsys.readouterr().err
    assert main(["report", str(folder / "out")]) == 0
    page = (folder / "out" / "report.html").read_text()
    assert "<h2>Which inputs matter?</h2>" in page and 'alt="importance"' in page and 'alt="weights"' in page
    assert (folder / "out" / "importance.png").stat().st_size > 10_000


def test_a_run_without_importance_says_how_to_get_it(tmp_path, capsys):
    from nnbin.cli import main

    run_experiment({"dataset": {"name": "iris_binary"}, "models": [{"name": "logistic", "params": {"epochs": 2}}]},
                   progress=False, output_dir=tmp_path, report=False)
    assert main(["importance", str(tmp_path)]) == 2
    assert "no importance.csv: run it again with importance: true" in capsys.readouterr().err


def test_a_setting_that_cannot_change_the_score_has_no_importance(tmp_path, capsys):
    """On classes balanced in every training fold, class_weight: balanced weighs every row 1.0:
    the grid's scores depend on the learning rate alone."""
    from nnbin.cli import main

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    score = x[:, 0] - x[:, 1] + rng.normal(0, 0.5, 400)
    table = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=(score > np.median(score)).astype(int))
    table.to_csv(tmp_path / "balanced.csv", index=False)
    config = {"dataset": {"file": str(tmp_path / "balanced.csv"), "target": "y"}, "cv": {"folds": 4},
              "models": [{"name": "logistic", "params": {"epochs": 4},
                          "grid": {"learning_rate": [0.00001, 0.001, 0.05], "class_weight": [None, "balanced"]}}],
              "importance": {"repeats": 1}}
    result = run_experiment(config, progress=False, output_dir=tmp_path / "out", report=True)
    scores = result.summary.assign(lr=result.summary["config"].str.extract(r"learning_rate=(\S+)")[0])
    assert len(scores) == 6 and (scores.groupby("lr")["roc_auc_mean"].nunique() == 1).all()  # no change
    assert scores["roc_auc_mean"].nunique() == 3
    found = result.settings_importance.set_index("setting")["importance"]
    assert found["learning_rate"] > 0.99 and found["class_weight"] < 0.01
    assert set(result.settings_importance["evaluator"]) == {"fanova"}
    out = tmp_path / "out"
    assert (out / "settings.png").is_file() and "Which settings mattered?" in (out / "report.html").read_text()
    assert main(["importance", str(out), "--settings"]) == 0
    printed = capsys.readouterr().out
    assert "logistic (6 configurations, fanova)" in printed and "learning_rate" in printed


def test_without_optuna_the_settings_importance_is_a_note(monkeypatch):
    import sys

    from nnbin.settings_importance import settings_importance

    grid = [(a, b) for a in range(1, 6) for b in "xyz"]  # the score depends on a alone
    summary = pd.DataFrame({"family": "f", "config": [f"f a={a} b={b}" for a, b in grid],
                            "roc_auc_mean": [0.5 + 0.05 * a for a, _ in grid]})
    found, notes = settings_importance(summary, "roc_auc")  # (table, notes)
    assert set(found["setting"]) == {"a", "b"} and found.set_index("setting")["importance"]["a"] > 0.99
    many = [(a, b) for a in range(20) for b in range(10)]  # from 200 configurations: PED-ANOVA
    summary_many = pd.DataFrame({"family": "f", "config": [f"f a={a} b={b}" for a, b in many],
                                 "roc_auc_mean": [0.5 + 0.02 * a for a, _ in many]})
    found_many, _ = settings_importance(summary_many, "roc_auc")
    assert set(found_many["evaluator"]) == {"ped-anova"}
    shares = found_many.set_index("setting")["importance"]
    assert shares["a"] > 0.9 and shares["b"] < 0.1
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    found, notes = settings_importance(summary, "roc_auc")
    assert found.empty and notes == ["settings importance needs Optuna (pip install 'nnbin[optuna]', or pip "
                                     "install optuna); not computed"]
