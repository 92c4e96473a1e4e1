import math

import numpy as np
import pytest

from nnbin.metrics import score


def test_scores_from_a_hand_computed_example():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.4, 0.3, 0.6, 0.1, 0.2, 0.7])
    s = score(y, p)
    # threshold 0.5: predictions 1,1,0,0,1,0,0,1 -> tp 3, fn 1, tn 3, fp 1
    assert (s["tp"], s["fn"], s["tn"], s["fp"]) == (3, 1, 3, 1)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["sensitivity"] == pytest.approx(0.75)
    assert s["specificity"] == pytest.approx(0.75)
    assert s["balanced_accuracy"] == pytest.approx(0.75)
    assert s["f1"] == pytest.approx(0.75)
    assert s["mcc"] == pytest.approx(0.5)
    # of 16 positive/negative pairs, only (0.4 vs 0.6) is misordered
    assert s["roc_auc"] == pytest.approx(15 / 16)
    assert s["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert s["log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_threshold_and_one_class_fold():
    y, p = np.array([0, 0, 1]), np.array([0.2, 0.4, 0.3])
    assert score(y, p, threshold=0.25)["tp"] == 1
    single = score(np.array([1, 1]), np.array([0.9, 0.2]), ["roc_auc", "specificity", "accuracy"])
    assert math.isnan(single["roc_auc"]) and math.isnan(single["specificity"])
    assert single["accuracy"] == 0.5


def test_every_metric_matches_scikit_learn_on_random_data():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(5, 200))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        p = rng.random(n)
        if trial % 2:
            p = np.round(p, 1)  # ties
        s = score(y, p)
        predicted = (p >= 0.5).astype(int)
        assert s["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
        assert s["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
        assert s["log_loss"] == pytest.approx(skm.log_loss(y, p))
        assert s["accuracy"] == pytest.approx(skm.accuracy_score(y, predicted))
        assert s["f1"] == pytest.approx(skm.f1_score(y, predicted, zero_division=0))
        assert s["mcc"] == pytest.approx(skm.matthews_corrcoef(y, predicted))
        assert s["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, predicted))
        assert s["sensitivity"] == pytest.approx(skm.recall_score(y, predicted))
        assert s["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - predicted))
        assert s["brier"] == pytest.approx(skm.brier_score_loss(y, p))


@pytest.mark.parametrize("y, p", [
    ([0, 1, 1, 0, 1], [0.0, 1.0, 1.0, 1.0, 0.0]),        # probabilities exactly 0 and 1, wrong ones too
    ([0, 1, 1, 0, 1, 0], [0.5, 0.5, 0.2, 0.2, 0.9, 0.9]),  # ties across the classes
    ([1, 1, 1, 1], [0.2, 0.9, 0.9, 0.4]),                # an all-positive fold
    ([0, 0, 0], [0.2, 0.6, 0.1]),                        # an all-negative fold
])
def test_edge_cases_match_scikit_learn_or_are_nan_where_it_has_no_value(y, p):
    """Where scikit-learn gives a value without warning, the same value; where it raises or
    warns that the metric is undefined (one class: ROC AUC; no positive: PR AUC), NaN."""
    import warnings

    from sklearn import metrics as skm

    y, p = np.array(y), np.array(p)
    s = score(y, p)
    predicted = (p >= 0.5).astype(int)
    reference = {
        "log_loss": lambda: skm.log_loss(y, p, labels=[0, 1]),
        "brier": lambda: skm.brier_score_loss(y, p, labels=[0, 1]),
        "accuracy": lambda: skm.accuracy_score(y, predicted),
        "roc_auc": lambda: skm.roc_auc_score(y, p),
        "pr_auc": lambda: skm.average_precision_score(y, p),
        "mcc": lambda: skm.matthews_corrcoef(y, predicted),
        "f1": lambda: skm.f1_score(y, predicted, zero_division=0),
    }
    for name, compute in reference.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                expected = compute()
            except (ValueError, Warning):
                assert math.isnan(s[name]), name
                continue
        assert s[name] == pytest.approx(expected, abs=1e-12), name


def test_roc_auc_of_every_row_at_once_equals_scikit_learn_and_the_single_row_function():
    """The validation curves score all recorded epochs of a trial in one call: each row's value
    is scikit-learn's and, bit for bit, nnbin's one-row roc_auc (ties included)."""
    from sklearn.metrics import roc_auc_score

    from nnbin.metrics import METRICS, roc_auc, score_rows

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 57)
    P = np.round(rng.uniform(size=(9, 57)), 1)          # many ties
    P[3] = 0.5                                           # a row of one value: AUC 1/2
    rows = score_rows("roc_auc", y, P)
    assert rows == [roc_auc(y, p) for p in P]
    np.testing.assert_allclose(rows, [roc_auc_score(y, p) for p in P], rtol=1e-12)
    assert rows[3] == 0.5
    assert all(math.isnan(v) for v in score_rows("roc_auc", np.ones(57, int), P))   # one class: NaN
    for metric in ("log_loss", "accuracy", "brier"):
        assert score_rows(metric, y, P) == [METRICS[metric][0](y, p, 0.5) for p in P]
    assert score_rows("roc_auc", y, P[:0]) == []
