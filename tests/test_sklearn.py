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

from nnbin.sklearn import NNBinClassifier
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
    np.testing.assert_allclose(1 / (1 + np.exp(-clf.decision_function(X))), p, rtol=1e-9)
    assert ((clf.decision_function(X) >= 0) == (clf.predict(X) == "malignant")).all()


@pytest.mark.parametrize("params, fix", [
    ({"optimizer": "adamm"}, "did you mean 'adam'"),
    ({"hidden": (0,)}, "hidden"),
    ({"class_weight": "even"}, "class_weight"),
    ({"validation_fraction": 1.5}, "validation_fraction"),
])
def test_bad_parameters_name_the_parameter(cancer, params, fix):
    X, y = cancer
    with pytest.raises(ValueError, match=fix):
        NNBinClassifier(epochs=1, **params).fit(X, y)
