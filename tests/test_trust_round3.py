"""Trust, round 3 (issue 22): each defect the audit found, checked against an independent
computation (scikit-learn, statsmodels, a hand-worked value) where one exists."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.metrics import hinge_loss, log_loss, make_scorer, matthews_corrcoef, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from nnbin.config import config_from_dict, load_config
from nnbin.errors import ConfigError
from nnbin.results import summarize

IRIS = {"name": "iris_binary"}


# ---------------------------------------------------------------- 1. duplicates after conversion

def _config_file(tmp_path, models_yaml: str):
    path = tmp_path / "c.yaml"
    path.write_text("dataset: {name: iris_binary}\nmodels:\n" + models_yaml, encoding="utf-8")
    return path


@pytest.mark.parametrize("grid, shown", [
    ("{learning_rate: [0.01, 1e-2]}", "grid.learning_rate[1]: 0.01 is listed twice"),
    ("{width: [8, '8']}", "grid.width[1]: '8' is listed twice (the same value as 8)"),
    ("{dropout: [0.1, '0.1']}", "grid.dropout[1]: '0.1' is listed twice (the same value as 0.1)"),
    ("{activation: [relu, [relu]]}", "give the same network and training of net"),
])
def test_grid_values_equal_after_conversion_are_refused(tmp_path, grid, shown):
    path = _config_file(tmp_path, f"  - name: net\n    params: {{depth: 1, width: 4}}\n    grid: {grid}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert shown in str(error.value)


def test_yaml_reads_exponents_as_numbers_and_labels_show_them(tmp_path):
    path = _config_file(tmp_path, "  - name: net\n    params: {hidden: [4], learning_rate: 5e-3}\n"
                                  "    grid: {l2: [1e-4, 1.0e-3]}\n")
    config = load_config(path)
    assert config.models[0].params.learning_rate == 0.005
    from nnbin.config import expand_grid
    assert expand_grid(config.models[0]) == [{"l2": 0.0001}, {"l2": 0.001}]
    assert all(type(p["l2"]) is float for p in expand_grid(config.models[0]))
    quoted = config_from_dict({"dataset": IRIS, "models": [
        {"name": "net", "params": {"hidden": [4]}, "grid": {"learning_rate": ["1e-2", 0.1]}}]})
    assert expand_grid(quoted.models[0]) == [{"learning_rate": 0.01}, {"learning_rate": 0.1}]


@pytest.mark.parametrize("family", [
    {"name": "net", "params": {"width": 4}, "grid": {"hidden": [[8], [16, 8]], "depth": [1, 2]}},
    {"name": "net", "params": {"hidden": [8]}, "grid": {"depth": [1, 2], "width": [4]}},
    {"name": "net", "params": {"depth": 1}, "grid": {"hidden": [[8]], "width": [4]}},
])
def test_hidden_with_depth_or_width_in_one_family_is_refused(family):
    with pytest.raises(ConfigError) as error:
        config_from_dict({"dataset": IRIS, "models": [family]})
    assert "net gives its layers twice; use hidden" in str(error.value)


def test_a_summary_never_counts_a_fold_twice():
    rows = [{"trial_id": f"t{i}", "family": "f", "config": "f", "architecture": "logistic", "status": "ok",
             "repeat": 0, "fold": i % 3, "roc_auc": 0.5 + i / 10, "epochs_run": 1, "best_epoch": 1,
             "fit_seconds": 0.0} for i in range(6)]
    table = pd.DataFrame(rows)
    with pytest.raises(RuntimeError, match="holds repeat 0 fold 0 2 times"):
        summarize(table, ["roc_auc"], "roc_auc")
    fine = summarize(table.iloc[:3], ["roc_auc"], "roc_auc")
    assert fine["trials"].tolist() == [3]
    assert fine["roc_auc_sd"].iloc[0] == pytest.approx(np.std([0.5, 0.6, 0.7], ddof=1))


# ---------------------------------------------------------------- 2. scorers that ask for decision_function

@pytest.fixture(scope="module")
def scaled_cancer():
    raw = load_breast_cancer()
    X = StandardScaler().fit_transform(raw.data[:, :10]).astype(np.float32)
    return X, raw.target


def test_fused_search_scores_logits_where_a_scorer_asks_for_decision_function(scaled_cancer):
    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    X, y = scaled_cancer
    estimator = NNBinClassifier(epochs=10, learning_rate=0.1, random_state=3)
    grid = [{"hidden": [()]}, {"hidden": [(4,)], "l2": [0.01]}]
    scoring = {
        "hinge": make_scorer(hinge_loss, greater_is_better=False, response_method="decision_function"),
        "auc_decision": make_scorer(roc_auc_score, response_method="decision_function"),
        "loss_proba": make_scorer(log_loss, greater_is_better=False, response_method="predict_proba"),
        "mcc": make_scorer(matthews_corrcoef),
        **{name: name for name in ("roc_auc", "average_precision", "neg_log_loss", "neg_brier_score",
                                   "accuracy", "balanced_accuracy", "f1_weighted")}}
    arguments = dict(scoring=scoring, refit="hinge", cv=StratifiedKFold(3, shuffle=True, random_state=0))
    fused = FusedSearchCV(estimator, param_grid=grid, **arguments).fit(X, y)
    reference = GridSearchCV(estimator, grid, **arguments).fit(X, y)
    assert list(fused.cv_results_) == list(reference.cv_results_)
    for key, values in reference.cv_results_.items():
        if "_test_" in key and not key.startswith("rank"):
            np.testing.assert_allclose(fused.cv_results_[key], values, atol=2e-3, err_msg=key)
    assert fused.best_index_ == reference.best_index_


# ---------------------------------------------------------------- 3. curves reach the last epoch

def test_curves_record_the_last_and_the_restored_epoch_whatever_the_stride(monkeypatch):
    """300 rows, 4 folds x 2 repeats, 8 epochs, a stride of 3: epochs 3 and 6 by the stride, 8
    (or where training stopped) always, and the best epoch early stopping restored."""
    from nnbin.engines.fused import model as stacked_model
    from nnbin.experiment import run_experiment

    X, y = make_classification(300, 5, n_informative=3, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(y=y)
    monkeypatch.setattr(stacked_model, "validation_stride", lambda *args, **kwargs: 3)
    config = {"dataset": {"name": "frame"}, "cv": {"folds": 4, "repeats": 2, "seed": 0},
              "metrics": ["roc_auc", "log_loss"], "refit": "none",
              "models": [{"name": "net", "params": {"hidden": [4], "epochs": 8, "learning_rate": 0.05},
                          "grid": {"patience": [0, 1]}}]}
    result = _run_frame(run_experiment, config, frame)
    history, trials = result.history, result.trials.set_index("trial_id")
    predictions = result.predictions
    for trial_id, trial in trials.iterrows():
        curve = history[(history["trial_id"] == trial_id) & (history["metric"] == "validation_roc_auc")]
        epochs = curve["epoch"].tolist()
        ran, best = int(trial["epochs_run"]), int(trial["best_epoch"])
        assert epochs == sorted({e for e in (3, 6) if e <= ran} | {ran, best}), (epochs, ran, best)
        rows = predictions[predictions["trial_id"] == trial_id]
        score = roc_auc_score(rows["y_true"], rows["y_prob"].astype(np.float64))  # the trial's own score
        assert curve.set_index("epoch")["value"][best] == pytest.approx(score, abs=1e-12)
        if trial["patience"] == 0:
            assert epochs[-1] == 8 and curve["value"].iloc[-1] == pytest.approx(score, abs=1e-12)
    assert (trials["best_epoch"] < trials["epochs_run"]).any()  # a restored epoch was drawn too


def _run_frame(run_experiment, config, frame):
    """Run a config on an in-memory table (written as a CSV file)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        frame.to_csv(path, index=False)
        dataset = {"file": str(path), "target": "y"}
        return run_experiment({**config, "dataset": dataset}, progress=False, write=False)


# ---------------------------------------------------------------- 4. decision_function is the logit

def test_decision_function_returns_the_logit_beyond_float32_saturation():
    """A logistic model whose weights are set by hand: z = 2x - 3 for x chosen so that z is
    17, 20, 25, -40, -80 (float32 sigmoid rounds these to exactly 0 or 1)."""
    from nnbin.sklearn import NNBinClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1)).astype(np.float32)
    model = NNBinClassifier(epochs=1, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    output = model.model_.layers[-1]
    output.set_weights([np.array([[2.0]], np.float32), np.array([-3.0], np.float32)])
    logits = np.array([17.0, 20.0, 25.0, -40.0, -80.0, 0.5])
    rows = ((logits + 3) / 2).reshape(-1, 1).astype(np.float32)
    np.testing.assert_allclose(model.decision_function(rows), logits, rtol=1e-6)
    probability = model.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-logits)), rtol=1e-6, atol=1e-30)
    assert (model.predict(rows) == (logits > 0)).all()


# ---------------------------------------------------------------- 5. odds ratios of categories

def test_inspect_reports_categories_against_a_reference_as_statsmodels_does(tmp_path):
    """A two-level and a three-level category: nnbin's logistic regression, refitted on all rows,
    against statsmodels' Logit on the same standardized inputs with the most frequent category
    of each column as the reference (dropped)."""
    import statsmodels.api as sm

    from nnbin.experiment import run_experiment
    from nnbin.inspection import inspect_model

    rng = np.random.default_rng(5)
    n = 600
    student = rng.choice(["Yes", "No"], n, p=[0.3, 0.7])
    region = rng.choice(["north", "south", "west"], n, p=[0.5, 0.3, 0.2])
    x1, x2 = rng.normal(50, 10, n), rng.normal(0, 2, n)
    z = (-0.5 + 0.08 * (x1 - 50) + 0.4 * x2 - 0.7 * (student == "Yes") + 0.9 * (region == "south")
         - 0.6 * (region == "west"))
    frame = pd.DataFrame({"x1": x1.round(2), "x2": x2.round(3), "student": student, "region": region,
                          "default": np.where(rng.random(n) < 1 / (1 + np.exp(-z)), "Yes", "No")})
    frame.to_csv(tmp_path / "t.csv", index=False)
    run_experiment({"dataset": {"file": str(tmp_path / "t.csv"), "target": "default", "positive_class": "Yes",
                                "categorical": ["student", "region"]},
                    "cv": {"folds": 2}, "output_dir": str(tmp_path / "out"),
                    "models": [{"name": "logistic", "params": {"epochs": 150, "learning_rate": 0.05}}]},
                   progress=False, report=False)
    table = inspect_model(tmp_path / "out" / "models" / "logistic")["coefficients"].set_index("input")

    X = pd.DataFrame({c: (frame[c] - frame[c].mean()) / frame[c].std(ddof=0) for c in ("x1", "x2")})
    X["student: Yes"] = (frame["student"] == "Yes") * 1.0
    X["region: south"] = (frame["region"] == "south") * 1.0
    X["region: west"] = (frame["region"] == "west") * 1.0
    reference = sm.Logit((frame["default"] == "Yes") * 1.0, sm.add_constant(X)).fit(disp=0).params
    assert set(table.index) == {*X.columns, "(intercept)"}
    assert table.loc["student: Yes", "reference"] == "No"
    assert table.loc["region: west", "reference"] == "north"
    for name in X.columns:
        assert table.loc[name, "coefficient"] == pytest.approx(reference[name], abs=0.1), name
    assert table.loc["(intercept)", "coefficient"] == pytest.approx(reference["const"], abs=0.1)
    np.testing.assert_allclose(table["odds_ratio"], np.exp(table["coefficient"]))


# ---------------------------------------------------------------- 6. --fresh keeps every generation

def test_fresh_three_times_keeps_every_run_and_its_models(tmp_path):
    from nnbin.experiment import run_experiment

    out = tmp_path / "out"
    runs = []
    for seed in range(3):
        config = {"dataset": IRIS, "cv": {"folds": 2, "seed": seed}, "output_dir": str(out),
                  "models": [{"name": "logistic", "params": {"epochs": 3}}]}
        runs.append(run_experiment(config, progress=False, report=False, fresh=True))
    for run, where in zip(runs, (out / "previous", out / "previous.2", out)):
        on_disk = pd.read_csv(where / "trials.csv")
        assert on_disk["trial_id"].tolist() == run.trials["trial_id"].tolist()
        assert on_disk["seed"].tolist() == run.trials["seed"].tolist()
        model = where / "models" / "logistic"
        assert (model / "model.keras").is_file() and (model / "model.json").is_file()
    assert len({tuple(r.trials["trial_id"]) for r in runs}) == 3  # three different runs
    assert not (out / "previous" / "previous").exists()


# ---------------------------------------------------------------- 7, 8. FusedSearchCV as GridSearchCV

def test_fused_search_without_refit_still_names_the_best_candidate(scaled_cancer):
    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    X, y = scaled_cancer
    estimator = NNBinClassifier(epochs=4, random_state=0)
    grid = {"learning_rate": [0.001, 0.05]}
    fused = FusedSearchCV(estimator, param_grid=grid, cv=3, scoring="roc_auc", refit=False).fit(X, y)
    reference = GridSearchCV(estimator, grid, cv=3, scoring="roc_auc", refit=False).fit(X, y)
    assert fused.best_index_ == reference.best_index_
    assert fused.best_params_ == reference.best_params_
    assert fused.best_score_ == pytest.approx(reference.best_score_, abs=1e-3)
    assert not hasattr(fused, "best_estimator_") and not hasattr(reference, "best_estimator_")
    multi = FusedSearchCV(estimator, param_grid=grid, cv=3, scoring=["roc_auc", "accuracy"], refit=False)
    assert not hasattr(multi.fit(X, y), "best_index_")  # GridSearchCV: no best of several metrics


def test_a_random_state_object_gives_the_folds_of_grid_search(scaled_cancer):
    """NNBinClassifier(random_state=RandomState(3)): GridSearchCV clones it per fit, so every fold
    starts from the same draw; FusedSearchCV must train the same seeds."""
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    X, y = scaled_cancer
    estimator = NNBinClassifier(hidden=(3,), epochs=4, random_state=np.random.RandomState(3))
    grid = {"learning_rate": [0.01, 0.1]}
    fused = FusedSearchCV(estimator, param_grid=grid, cv=3, scoring="roc_auc").fit(X, y)
    reference = GridSearchCV(estimator, grid, cv=3, scoring="roc_auc").fit(X, y)
    for k in range(3):
        np.testing.assert_allclose(fused.cv_results_[f"split{k}_test_score"],
                                   reference.cv_results_[f"split{k}_test_score"], atol=1e-3)
    distributions = {"learning_rate": loguniform(1e-3, 1e-1)}
    fused = FusedSearchCV(estimator, param_distributions=distributions, n_iter=2, cv=3, scoring="roc_auc",
                          random_state=np.random.RandomState(3)).fit(X, y)
    reference = RandomizedSearchCV(estimator, distributions, n_iter=2, cv=3, scoring="roc_auc",
                                   random_state=np.random.RandomState(3)).fit(X, y)
    assert fused.cv_results_["params"] == reference.cv_results_["params"]
    np.testing.assert_allclose(fused.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"],
                               atol=1e-3)


# ---------------------------------------------------------------- 9-12. what the user wrote is what nnbin uses

def _yes_no_table(tmp_path):
    rows = ["balance,student,default"] + [f"{i * 10},{'Yes' if i % 3 else 'No'},{'Yes' if i % 2 else 'No'}"
                                           for i in range(12)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize("written, override", [
    ("positive_class: Yes", ()), ("positive_class: [Yes]", ()),
    ("positive_class: No", ("dataset.positive_class=yes",)), ("positive_class: 'Yes'", ()),
])
def test_unquoted_yes_is_the_text_the_user_wrote(tmp_path, written, override):
    _yes_no_table(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(f"dataset: {{file: {tmp_path / 'd.csv'}, target: default, {written}}}\n"
                    "models: [{name: logistic}]\n", encoding="utf-8")
    dataset = load_config(path, override).dataset.load()
    assert dataset.classes == {"No": 0, "Yes": 1}
    assert dataset.y.tolist() == [i % 2 for i in range(12)]


def test_yaml_11_booleans_stay_text_and_true_stays_a_boolean():
    from nnbin.config import parse_yaml

    assert parse_yaml("[Yes, No, on, off, y, n, true, False, 1e-2, 10, 007, 0x10, .5, 1.0e+3, .inf]") == [
        "Yes", "No", "on", "off", "y", "n", True, False, 0.01, 10, 7, 16, 0.5, 1000.0, float("inf")]


def test_one_positive_value_on_a_three_valued_target_names_it_and_the_list_fix():
    from nnbin.data import binarize_target
    from nnbin.errors import DataError

    column = pd.Series(["Age 0-3", "Age 4-9", "Age 10+"] * 4)
    with pytest.raises(DataError) as error:
        binarize_target(column, "Age 0-3", "age")
    assert str(error.value) == (
        "positive_class 'Age 0-3' is one value, but target column 'age' has 3 values ('Age 0-3', "
        "'Age 10+', 'Age 4-9'); list the values that are the positive class, e.g. positive_class: "
        "[Age 0-3] (those become 1, every other value 0)")
    y, classes = binarize_target(column, ["Age 0-3"], "age")
    assert y.tolist() == [1, 0, 0] * 4


def test_predictions_of_a_list_positive_class_name_the_values():
    from nnbin.predict import prediction_labels

    assert prediction_labels({"0": 0, "1": 1, "2": 1, "4": 1}, "num") == {0: "num in [0]", 1: "num in [1, 2, 4]"}
    assert prediction_labels({"No": 0, "Yes": 1}, "default") == {0: "No", 1: "Yes"}


def test_data_errors_name_the_line_of_the_file(tmp_path):
    from nnbin.data import load_file
    from nnbin.errors import DataError
    from nnbin.reading import ReadOptions

    lines = ["# a comment", "x,y"] + [f"{i}.5,{i % 2}" for i in range(10)]
    lines[7] = "?,1"          # file line 8
    lines.insert(4, "")       # a blank line before it: now line 9
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_file(path, target="y", options=ReadOptions(comment="#"))
    assert "column 'x' is numeric but line 9 holds '?'" in str(error.value)
    assert path.read_text().splitlines()[8] == "?,1"


def test_a_semicolon_file_read_with_commas_suggests_the_separator(tmp_path):
    from nnbin.data import load_file
    from nnbin.errors import DataError

    path = tmp_path / "t.csv"
    path.write_text("a;b;y\n1;2;0\n3;4;1\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        load_file(path, target="y")
    assert str(error.value).endswith("(columns: a;b;y); the header looks ';'-separated: set sep: \";\"")


def test_yaml_syntax_errors_in_plain_words_with_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dataset:\n  name: iris_binary\n models:\n  - name: logistic\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: invalid YAML: fix the indentation at line 3")


# ---------------------------------------------------------------- 17. verdicts say what the folds say

def _paired(scores_a, scores_b):
    return pd.DataFrame([{"config": c, "family": c, "repeat": 0, "fold": k, "status": "ok", "roc_auc": v,
                          "n_train": 80, "n_validation": 20}
                         for c, scores in (("a", scores_a), ("b", scores_b)) for k, v in enumerate(scores)])


def test_a_verdict_without_any_difference_says_so():
    from nnbin.compare import compare

    same = compare(_paired([0.9, 0.8, 0.85], [0.9, 0.8, 0.85]), "a", "b")
    assert same.verdict == "a and b do not differ: the same AUC on every one of the 3 paired folds"


def test_a_verdict_never_shows_minus_zero_or_p_equals_less_than():
    from scipy import stats

    from nnbin.compare import compare

    tiny = compare(_paired([0.9, 0.8, 0.85], [0.9001, 0.8002, 0.8501]), "a", "b")
    assert "ΔAUC = +0.000, 95% CI [" in tiny.verdict and "-0.000" not in tiny.verdict.split("CI")[0]
    strong = compare(_paired([0.95, 0.96, 0.97, 0.95, 0.96, 0.97], [0.80, 0.81, 0.82, 0.80, 0.81, 0.83]), "a", "b")
    d = np.array([0.15, 0.15, 0.15, 0.15, 0.15, 0.14])
    t = d.mean() / np.sqrt(d.var(ddof=1) * (1 / 6 + 20 / 80))  # Nadeau-Bengio, by hand
    assert strong.p_value == pytest.approx(2 * stats.t.sf(t, 5))
    assert ", p < 0.001 (6 paired folds" in strong.verdict and "p = <" not in strong.verdict


def test_compare_with_an_unknown_name_lists_the_configurations():
    from nnbin.compare import compare

    with pytest.raises(ConfigError) as error:
        compare(_paired([0.9, 0.8], [0.7, 0.6]), "a", "c")
    assert str(error.value) == "no configuration 'c'; the run's configurations: 'a', 'b'"


# ---------------------------------------------------------------- 15. the fits a run trained, in words

def test_the_fits_line_counts_trained_resumed_and_inner_fits(tmp_path):
    from nnbin.experiment import run_experiment
    from nnbin.results import fits_summary

    base = {"dataset": IRIS, "cv": {"folds": 2}, "output_dir": str(tmp_path / "out"), "refit": "none",
            "search": {"kind": "random", "n_iter": 2, "seed": 0},
            "models": [{"name": "net", "params": {"hidden": [2], "epochs": 2},
                        "grid": {"learning_rate": {"loguniform": [0.001, 0.1]}}}]}
    first = run_experiment(base, progress=False, report=False)
    assert first.metadata["fits"] == {"scored": 4, "inner": 0, "trained_now": 4, "resumed": 0}
    longer = run_experiment({**base, "search": {"kind": "random", "n_iter": 5, "seed": 0}},
                            progress=False, report=False)
    scored = len(longer.trials)  # 5 points drawn (repeats dropped) x 2 folds
    assert longer.metadata["fits"] == {"scored": scored, "inner": 0, "trained_now": scored - 4, "resumed": 4}
    line = fits_summary(longer.metadata)
    assert line.startswith(f"{scored} fits, {scored - 4} trained now in ")
    assert line.endswith(", 4 resumed from earlier runs")
    again = run_experiment({**base, "search": {"kind": "random", "n_iter": 5, "seed": 0}},
                           progress=False, report=False)
    assert fits_summary(again.metadata).startswith(f"{scored} fits, all resumed from earlier runs (none trained now")
    nested = run_experiment({**base, "search": {"kind": "grid"}, "cv": {"folds": 2, "nested": True, "inner_folds": 2},
                             "models": [{"name": "net", "params": {"hidden": [2], "epochs": 2},
                                         "grid": {"learning_rate": [0.01, 0.1]}}]},
                            write=False, progress=False)
    assert nested.metadata["fits"] == {"scored": 2, "inner": 8, "trained_now": 10, "resumed": 0}
    assert fits_summary(nested.metadata).startswith("2 fits (+8 inner), 10 trained now in ")


# ---------------------------------------------------------------- 16. quiet in Python as on the CLI

def test_python_use_prints_nothing_of_tensorflows_start_up():
    """One fresh process without TF_CPP_MIN_LOG_LEVEL: import, build, predict, fit."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np\nimport nnbin\nfrom nnbin.builders import build_shallow\n"
            "build_shallow(4).predict(np.zeros((2, 4)), verbose=0)\n"
            "from nnbin.sklearn import NNBinClassifier\n"
            "NNBinClassifier(epochs=1, random_state=0).fit(np.random.rand(20, 3), np.arange(20) % 2)\n"
            "print('fitted')\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fitted\n"
    assert done.stderr == ""


# ---------------------------------------------------------------- 14. the bar: never past its total

def test_the_bar_never_passes_its_total_and_says_compiling(capsys):
    """Shares of epochs whose float sum passes the total (1/3 + 1/3 + 1/3 != 1 in floats, and
    a trial finished after it reported): no tqdm warning, never past the total, ends exact."""
    import warnings

    from nnbin.progress import FitBar

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with FitBar(3, True) as bar:
            ids = ["a", "b", "c"]
            bar.expect(ids)
            assert bar.bar.postfix == "compiling"
            positions = []
            for step in range(1, 8):
                bar.report({i: min(step * 0.1 + 1e-12, 1.0) for i in ids})
                positions.append(bar.bar.n)
                assert bar.bar.postfix == ""
            bar.report({"a": 1.0, "b": 1.0, "c": 1.0 + 1e-9})
            bar.finished(ids)
            bar.finished(["late"])  # a trial not expected: one whole fit, but the total is reached
            positions.append(bar.bar.n)
    assert positions == sorted(positions) and max(positions) == 3 and positions[-1] == 3
    assert isinstance(positions[-1], int)
    assert "TqdmWarning" not in capsys.readouterr().err


def test_a_config_metric_written_auc_suggests_roc_auc():
    with pytest.raises(ConfigError) as error:
        config_from_dict({"dataset": IRIS, "models": [{"name": "logistic"}], "metrics": ["auc"]})
    assert "metrics[0]: unknown metric 'auc'; did you mean 'roc_auc'?" in str(error.value)
