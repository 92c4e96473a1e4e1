import math

import numpy as np
import pandas as pd
import pytest

from nnbin.compare import compare, corrected_t_test


def test_corrected_t_test_against_a_hand_computed_example():
    # d = [0.01, 0.02, -0.01, 0.03, 0.00], 5-fold CV so n_test / n_train = 1/4
    # mean 0.01; S² = (0 + 1 + 4 + 4 + 1)e-4 / 4 = 2.5e-4; corrected variance (1/5 + 1/4)·S² = 1.125e-4
    # se = 0.0106066; t = 0.942809; t(0.975, 4) = 2.776445; p = 2·P(T4 > 0.9428) = 0.39924
    mean, low, high, t, p = corrected_t_test([0.01, 0.02, -0.01, 0.03, 0.00], 1 / 4)
    assert mean == pytest.approx(0.01)
    assert t == pytest.approx(0.942809, rel=1e-5)
    assert p == pytest.approx(0.39924, abs=1e-4)
    assert low == pytest.approx(0.01 - 2.776445 * 0.0106066, abs=1e-6)
    assert high == pytest.approx(0.01 + 2.776445 * 0.0106066, abs=1e-6)


def test_the_correction_is_more_cautious_than_the_plain_paired_t_test():
    from scipy import stats

    d = np.array([0.012, 0.018, 0.004, 0.015, 0.009, 0.011, 0.016, 0.007, 0.013, 0.010])
    plain_p = stats.ttest_1samp(d, 0).pvalue
    _, _, _, _, corrected_p = corrected_t_test(d, 1 / 9)
    assert corrected_p > plain_p


def test_identical_and_single_fold_cases():
    assert corrected_t_test([0.0, 0.0, 0.0], 0.25)[4] == 1.0
    assert math.isnan(corrected_t_test([0.1], 0.25)[4])


def table(scores_a, scores_b):
    rows = []
    for config, scores in (("a", scores_a), ("b", scores_b)):
        for fold, score in enumerate(scores):
            rows.append({"config": config, "family": config, "repeat": 0, "fold": fold, "status": "ok",
                         "roc_auc": score, "log_loss": 1 - score, "n_train": 80, "n_validation": 20})
    return pd.DataFrame(rows)


def test_compare_pairs_folds_and_writes_a_verdict():
    trials = table([0.91, 0.93, 0.90, 0.95, 0.92], [0.90, 0.91, 0.91, 0.92, 0.92])
    result = compare(trials, "a", "b")
    assert result.n == 5 and result.mean_difference == pytest.approx(0.01)
    assert result.verdict.startswith("a is not significantly better than b: ΔAUC = +0.010, 95% CI [")
    strong = compare(table([0.95, 0.96, 0.97, 0.95, 0.96], [0.80, 0.81, 0.82, 0.80, 0.81]), "a", "b")
    assert strong.significant and strong.verdict.startswith("a is significantly better than b")
    lower_is_better = compare(trials, "a", "b", metric="log_loss")
    assert "a is not significantly better than b: Δlog loss = -0.010" in lower_is_better.verdict
