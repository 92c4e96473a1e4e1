"""A corpus of real tables that packages ship (scikit-learn, statsmodels) and generated edge
tables, each taken through CV -> refit -> save -> load in a fresh process -> nnbin predict on
the raw table -> nnbin inspect. Each run uses both engines: logistic regression with Adam on
the fused engine, the shallow network with AdamW on the plain keras engine."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as skd
from sklearn.metrics import roc_auc_score

from nnbin.errors import NnbinWarning
from nnbin.experiment import run_experiment

ROOT = Path(__file__).parents[1]


def _sklearn(loader, target, positive):
    raw = loader(as_frame=True)
    return raw.frame.rename(columns={"target": target}), {"target": target, "positive_class": positive}


def _statsmodels(name, target, **options):
    sm = pytest.importorskip("statsmodels.api")
    frame = getattr(sm.datasets, name).load_pandas().data
    return frame, {"target": target, **options}


def _generated(kind):
    rng = np.random.default_rng(0)
    if kind == "one_feature":
        x = rng.normal(size=200)
        return pd.DataFrame({"x": x, "y": (x + rng.normal(0, 0.7, 200) > 0).astype(int)}), {"target": "y"}
    if kind == "wide_500":
        X = rng.normal(size=(120, 500))
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(500)])
        frame["y"] = (X[:, :5].sum(axis=1) > 0).astype(int)
        return frame, {"target": "y"}
    if kind == "missing_40":
        X = rng.normal(size=(300, 6))
        y = (X[:, 0] - X[:, 1] > 0).astype(int)
        X[rng.random(X.shape) < 0.4] = np.nan
        frame = pd.DataFrame(X, columns=[f"m{i}" for i in range(6)])
        frame["y"] = y
        return frame, {"target": "y"}
    if kind == "booleans":
        a, b = rng.random(200) < 0.5, rng.random(200) < 0.3
        y = np.where(rng.random(200) < 0.85, a ^ b, ~(a ^ b))
        return pd.DataFrame({"a": a, "b": b, "noise": rng.random(200) < 0.5, "y": y}), {"target": "y"}
    if kind == "high_cardinality":
        zone = rng.integers(0, 80, 400)
        x = rng.normal(size=400)
        return (pd.DataFrame({"zone": [f"z{z}" for z in zone], "x": x,
                              "y": (x + (zone % 2) + rng.normal(0, 0.5, 400) > 0.5).astype(int)}),
                {"target": "y"})
    if kind == "imbalanced_1_to_50":
        x = rng.normal(size=1020)
        y = np.zeros(1020, int)
        y[np.argsort(x)[-20:]] = 1                       # 20 positives, 1000 negatives
        return pd.DataFrame({"x": x + rng.normal(0, 0.3, 1020), "y": y}), {"target": "y"}
    raise ValueError(kind)


CORPUS = {
    "breast_cancer": lambda: _sklearn(skd.load_breast_cancer, "benign", 0),
    "iris_virginica_vs_rest": lambda: _sklearn(skd.load_iris, "species", [2]),
    "wine_class0_vs_rest": lambda: _sklearn(skd.load_wine, "cultivar", [0]),
    "digits_even_vs_odd": lambda: _sklearn(skd.load_digits, "digit", [0, 2, 4, 6, 8]),
    "statsmodels_spector": lambda: _statsmodels("spector", "GRADE"),
    "statsmodels_anes96": lambda: _statsmodels("anes96", "vote"),
    "statsmodels_ccard": lambda: _statsmodels("ccard", "OWNRENT"),
    "statsmodels_modechoice": lambda: _statsmodels("modechoice", "choice", drop=["individual"],
                                                   categorical=["mode"]),
    **{kind: (lambda kind=kind: _generated(kind)) for kind in
       ("one_feature", "wide_500", "missing_40", "booleans", "high_cardinality", "imbalanced_1_to_50")},
}
EXPECTED_WARNINGS = {"high_cardinality": "column 'zone' has 80 categories"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """run(name): the table cross-validated, refitted and saved (once per table), as (folder, path
    of its CSV, the frame, the result, the nnbin warnings)."""
    folder, done = tmp_path_factory.mktemp("corpus"), {}

    def run(name):
        if name not in done:
            frame, dataset = CORPUS[name]()
            path = folder / f"{name}.csv"
            frame.to_csv(path, index=False)
            config = {"name": name, "dataset": {"file": str(path), **dataset}, "cv": {"folds": 3, "seed": 1},
                      "models": [{"name": "logistic", "params": {"epochs": 30, "learning_rate": 0.05}},
                                 {"name": "shallow", "params": {"hidden": [4], "activation": "tanh",
                                                                "optimizer": "adamw", "epochs": 4,
                                                                "learning_rate": 0.05}}]}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NnbinWarning)
                result = run_experiment(config, progress=False, output_dir=folder / name, report=False)
            done[name] = (folder, path, frame, result,
                          [str(w.message) for w in caught if w.category is NnbinWarning])
        return done[name]
    return run


@pytest.fixture(scope="module")
def scored(runs):
    """One fresh process predicts and inspects with every saved model from the raw tables."""
    script = ("import sys; from nnbin.cli import main\n"
              "for out, data in zip(sys.argv[1::2], sys.argv[2::2]):\n"
              "    for family in ('logistic', 'shallow'):\n"
              "        model = f'{out}/models/{family}'\n"
              "        assert main(['inspect', '--model', model]) == 0\n"
              "        assert main(['predict', '--model', model, '--data', data, '--out', f'{model}/scored.csv']) == 0\n")
    arguments = [str(a) for name in CORPUS for a in (runs(name)[0] / name, runs(name)[1])]
    process = subprocess.run([sys.executable, "-c", script, *arguments], cwd=ROOT, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr[-2000:]
    assert "absl" not in process.stderr and "oneDNN" not in process.stderr  # TensorFlow's start-up lines muted
    return process.stdout


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_table_goes_from_cv_to_a_saved_model(runs, name):
    _, _, _, result, caught = runs(name)
    trials, summary = result.trials, result.summary
    assert len(trials) == 2 * 3 and (trials["status"] == "ok").all()
    assert set(trials.loc[trials["family"] == "shallow", "optimizer"]) == {"adamw"}   # the keras engine
    for row in summary.itertuples():                                # the tables agree
        assert row.roc_auc_mean == pytest.approx(trials.loc[trials["config"] == row.config, "roc_auc"].mean())
    if name in EXPECTED_WARNINGS:
        assert any(EXPECTED_WARNINGS[name] in w for w in caught), caught
    if name == "imbalanced_1_to_50":
        assert result.metadata["validation_positives"] == {"min": 6, "max": 7}


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_saved_model_scores_the_raw_table_in_a_fresh_process_and_beats_a_constant(runs, scored, name):
    folder, _, frame, result, _ = runs(name)
    y = result.dataset.y
    constant = -np.mean(y * np.log(y.mean()) + (1 - y) * np.log(1 - y.mean()))
    for family in ("logistic", "shallow"):
        scores = pd.read_csv(folder / name / "models" / family / "scored.csv")
        assert len(scores) == len(frame) and scores["probability"].between(0, 1).all()
        p = np.clip(scores["probability"].to_numpy(), 1e-7, 1 - 1e-7)
        assert roc_auc_score(y, p) > 0.6, family
        if family == "logistic":                      # trained long enough to be calibrated
            assert -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) < constant
        info = json.loads((folder / name / "models" / family / "model.json").read_text())
        assert info["reading"]["format"] == "csv"


def test_inspect_described_every_saved_model(scored):
    assert scored.count("layer(s),") == 2 * len(CORPUS)       # every model, in the course's notation
    assert scored.count("Logistic regression: coefficients") == len(CORPUS)
