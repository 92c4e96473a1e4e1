"""NNBinClassifier against scikit-learn's own estimator checks and tools, and FusedSearchCV
against GridSearchCV / RandomizedSearchCV running NNBinClassifier fit by fit."""
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnbin.sklearn import FusedSearchCV, NNBinClassifier
from nnbin.sklearn.classifier import expected_failed_checks


@parametrize_with_checks([NNBinClassifier(epochs=40, learning_rate=0.1, random_state=0)],
                         expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cancer():
    """Breast cancer with the diagnosis as text: 'malignant' / 'benign'."""
    raw = load_breast_cancer(as_frame=True)
    X = raw.data.iloc[:, :8]
    y = np.where(raw.target == 0, "malignant", "benign")
    return X, y


def test_grid_search_roc_auc_on_string_labels(cancer):
    X, y = cancer
    search = GridSearchCV(make_pipeline(StandardScaler(), NNBinClassifier(epochs=15, random_state=0)),
                          {"nnbinclassifier__hidden": [(), (8,)],
                           "nnbinclassifier__learning_rate": [0.001, 0.01]},
                          scoring="roc_auc", cv=3)
    search.fit(X, y)
    assert search.best_estimator_.classes_.tolist() == ["benign", "malignant"]
    # the positive class is classes_[1], 'malignant': probabilities rank malignant tumours high
    proba = search.predict_proba(X)[:, 1]
    assert roc_auc_score(y == "malignant", proba) > 0.95
    assert set(search.predict(X)) == {"benign", "malignant"}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.9


def test_pipeline_with_column_transformer_and_cross_val_score():
    rng = np.random.default_rng(0)
    n = 240
    frame = pd.DataFrame({"age": rng.normal(50, 10, n), "dose": rng.normal(size=n),
                          "site": rng.choice(["a", "b", "c"], n)})
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    signal = frame["dose"] + (frame["site"] == "a") - 0.5
    y = np.where(signal + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "dose"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), ["site"])])
    model = Pipeline([("pre", pre), ("net", NNBinClassifier(hidden=(8,), epochs=30, learning_rate=0.01,
                                                           random_state=1))])
    scores = cross_val_score(model, frame, y, scoring="roc_auc", cv=StratifiedKFold(3, shuffle=True,
                                                                                   random_state=0))
    assert scores.shape == (3,) and scores.min() > 0.75


def test_calibrated_classifier(cancer):
    X, y = cancer
    calibrated = CalibratedClassifierCV(make_pipeline(StandardScaler(),
                                                      NNBinClassifier(epochs=10, random_state=0)), cv=3)
    calibrated.fit(X, y)
    proba = calibrated.predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y == "malignant", proba[:, 1]) > 0.9


def test_fitted_model_pickle_and_attributes(cancer):
    X, y = cancer
    clf = NNBinClassifier(hidden=(4,), epochs=5, patience=2, random_state=3).fit(X, y)
    assert clf.n_features_in_ == 8 and list(clf.feature_names_in_) == list(X.columns)
    assert clf.model_.count_params() == (8 + 1) * 4 + (4 + 1)
    assert 1 <= clf.n_iter_ <= 5 and "val_loss" in clf.history_
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    # decision_function is the log-odds of predict_proba's positive column
    p = clf.predict_proba(X)[:, 1]
    # the output unit's logit: its float64 sigmoid is the float32 probability to float32 rounding
    np.testing.assert_allclose(1 / (1 + np.exp(-clf.decision_function(X))), p, rtol=1e-6)
    assert ((clf.decision_function(X) >= 0) == (clf.predict(X) == "malignant")).all()


@pytest.mark.parametrize("params, fix", [
    ({"optimizer": "adamm"}, "did you mean 'adam'"),
    ({"hidden": (0,)}, "hidden"),
    ({"class_weight": "even"}, "class_weight"),
    ({"validation_fraction": 1.5}, "validation_fraction"),
    ({"momentum": 0.5}, "NNBinClassifier: momentum applies to sgd and rmsprop, not adam"),
])
def test_bad_parameters_name_the_parameter(cancer, params, fix):
    X, y = cancer
    with pytest.raises(ValueError, match=fix):
        NNBinClassifier(epochs=1, **params).fit(X, y)


# ---------------------------------------------------------------- FusedSearchCV

def _same_results(fused, grid, atol=1e-3):
    """Every score column equal (within the fused-vs-Keras float32 rounding: atol on scores);
    the same columns, candidates and best candidate."""
    assert list(fused.cv_results_) == list(grid.cv_results_)
    assert fused.cv_results_["params"] == grid.cv_results_["params"]
    for key, values in grid.cv_results_.items():
        if "_test_" in key:
            np.testing.assert_allclose(fused.cv_results_[key], values, atol=atol, err_msg=key)
    assert fused.best_params_ == grid.best_params_
    assert fused.best_index_ == grid.best_index_


def test_fused_search_equals_grid_search_of_the_classifier(cancer):
    """Every optimizer (Adam, SGD with momentum, RMSprop, and AdamW, which the fused engine does
    not stack), early stopping, class weights, two architectures; string labels; two metrics."""
    X, y = cancer
    pipeline = make_pipeline(StandardScaler(), NNBinClassifier(epochs=8, random_state=4))
    step = "nnbinclassifier__"
    grid = [{f"{step}hidden": [(), (6,)], f"{step}learning_rate": [0.03], f"{step}patience": [0, 2]},
            {f"{step}optimizer": ["sgd"], f"{step}momentum": [0.9], f"{step}learning_rate": [0.05],
             f"{step}class_weight": ["balanced"]},
            {f"{step}optimizer": ["rmsprop", "adamw"], f"{step}hidden": [(4, 4)], f"{step}batch_size": [16]}]
    scoring = {"auc": "roc_auc", "accuracy": "accuracy", "loss": "neg_log_loss"}
    arguments = dict(scoring=scoring, refit="auc", cv=StratifiedKFold(3, shuffle=True, random_state=1))
    fused = FusedSearchCV(pipeline, param_grid=grid, **arguments).fit(X, y)
    reference = GridSearchCV(pipeline, grid, **arguments).fit(X, y)
    _same_results(fused, reference)
    assert fused.n_splits_ == 3 and fused.multimetric_
    assert fused.best_score_ == pytest.approx(reference.best_score_, abs=1e-3)
    np.testing.assert_allclose(fused.predict_proba(X), reference.predict_proba(X), atol=1e-6)
    assert fused.refit_time_ > 0
    assert fused.score(X, y) == pytest.approx(reference.score(X, y), abs=1e-6)


def test_fused_random_search_equals_randomized_search(cancer):
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    X, y = cancer
    estimator = NNBinClassifier(hidden=(5,), epochs=8, random_state=2)
    distributions = {"learning_rate": loguniform(1e-3, 1e-1), "l2": [0.0, 0.01], "activation": ["relu", "tanh"]}
    scaled = StandardScaler().fit_transform(X)
    fused = FusedSearchCV(estimator, param_distributions=distributions, n_iter=4, cv=3, scoring="roc_auc",
                          random_state=0).fit(scaled, y)
    reference = RandomizedSearchCV(estimator, distributions, n_iter=4, cv=3, scoring="roc_auc",
                                   random_state=0).fit(scaled, y)
    _same_results(fused, reference)


def test_fused_search_fits_earlier_pipeline_steps_per_fold():
    """A ColumnTransformer with imputation and one-hot encoding fitted on each training fold,
    and a searched earlier step (the scaler), as GridSearchCV does it."""
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(3)
    n = 180
    frame = pd.DataFrame({"age": rng.normal(50, 10, n), "dose": rng.normal(size=n),
                          "site": rng.choice(["a", "b", "c"], n)})
    frame.loc[rng.random(n) < 0.15, "age"] = np.nan
    y = np.where(frame["dose"] + (frame["site"] == "a") + rng.normal(scale=0.6, size=n) > 0.4, "yes", "no")
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "dose"]),
                             ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=True), ["site"])])
    pipeline = Pipeline([("pre", pre), ("net", NNBinClassifier(hidden=(4,), epochs=10, random_state=0))])
    grid = {"pre__num": [make_pipeline(SimpleImputer(), StandardScaler()),
                         make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler())],
            "net__learning_rate": [0.01, 0.05]}
    # log loss: a smooth function of the probabilities (the ranks behind roc_auc can swap on
    # near-equal probabilities of a barely trained network within float32 rounding)
    fused = FusedSearchCV(pipeline, param_grid=grid, cv=4, scoring="neg_log_loss").fit(frame, y)
    reference = GridSearchCV(pipeline, grid, cv=4, scoring="neg_log_loss").fit(frame, y)
    _same_results(fused, reference, atol=1e-4)


@pytest.mark.parametrize("arguments, fix", [
    (dict(param_grid={"epochs": [1]}, param_distributions={"epochs": [1]}), "either param_grid"),
    (dict(param_grid={"epochs": [1]}, scoring=["roc_auc", "accuracy"]), "refit must name one"),
    (dict(param_grid={"validation_fraction": [0.2]}), "validation_fraction cannot be searched"),
    (dict(param_grid={"class_weight": [{"benign": 2}]}), "class_weight None or 'balanced'"),
    (dict(param_grid={"optimizer": ["adamm"]}), "did you mean 'adam'"),
])
def test_fused_search_errors_say_what_to_change(cancer, arguments, fix):
    X, y = cancer
    with pytest.raises(ValueError, match=fix):
        FusedSearchCV(NNBinClassifier(epochs=1), cv=2, **arguments).fit(X, y)


def test_fused_search_refuses_other_estimators_and_fit_parameters(cancer):
    from sklearn.linear_model import LogisticRegression

    X, y = cancer
    with pytest.raises(ValueError, match="last step is one"):
        FusedSearchCV(LogisticRegression(), param_grid={"C": [1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        FusedSearchCV(NNBinClassifier(epochs=1), param_grid={"epochs": [1]}).fit(
            X, y, sample_weight=np.ones(len(y)))


def test_fit_is_keras_train_steps_on_the_fused_order_with_each_rows_weight():
    """An independent replay: Keras' train_on_batch on the fused engine's mini-batches (row
    order from epoch_order), each row's sample weight times its balanced class weight; the
    estimator's fit (one tf.data pipeline, several steps per call) must give the same model."""
    import keras

    from nnbin.builders import build_model
    from nnbin.engines.fused import epoch_order
    from nnbin.engines.keras_engine import balanced_class_weight
    from nnbin.spec import ModelSpec

    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + rng.normal(scale=0.5, size=90) > 0.6).astype(int)
    weights = rng.uniform(0.2, 3.0, size=90)
    clf = NNBinClassifier(hidden=(3,), activation="tanh", learning_rate=0.05, batch_size=16, epochs=4,
                          class_weight="balanced", random_state=5).fit(X, y, sample_weight=weights)
    per_class = balanced_class_weight(y)
    row_weight = (weights * np.where(y == 1, per_class[1], per_class[0])).astype(np.float32)
    keras.utils.set_random_seed(5)
    model = build_model(ModelSpec(hidden=(3,), activation="tanh", learning_rate=0.05, seed=5), 4)
    for epoch in range(4):
        order = epoch_order(5, epoch, len(y))
        for start in range(0, len(y), 16):
            rows = order[start:start + 16]
            model.train_on_batch(X[rows], y[rows].astype(np.float32), sample_weight=row_weight[rows])
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], np.asarray(model(X)).ravel(), atol=1e-6)
    unweighted = NNBinClassifier(hidden=(3,), activation="tanh", learning_rate=0.05, batch_size=16,
                                 epochs=4, random_state=5).fit(X, y)
    assert np.abs(unweighted.predict_proba(X) - clf.predict_proba(X)).max() > 1e-3  # the weights act
