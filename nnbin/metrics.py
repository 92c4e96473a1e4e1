"""Scores of a binary classifier from y_true (0/1) and y_prob (probability of class 1).

Computed with numpy and scipy: scikit-learn's functions give the same values (tested, edge
cases included) but cost 13 ms per trial for the ten metrics against 0.2 ms here, even with
its argument checks turned off (scripts/bench.py --workload metrics; BENCHMARKS.md), which
would be a quarter of the fused engine's time on the larger workload. Where a metric is
undefined (ROC AUC on a fold with one class, PR AUC without positives) it is NaN.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

LOG_LOSS_EPS = np.finfo(np.float64).eps  # scikit-learn's clipping of probabilities 0 and 1


def _ratio(num, den) -> float:
    return float(num / den) if den else float("nan")


def roc_auc(y, p) -> float:
    """Mann-Whitney: the chance a random positive outranks a random negative (ties count half)."""
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def roc_auc_rows(y, P) -> np.ndarray:
    """roc_auc of each row of P (n, len(y)) against one y, the same values (ranks and their
    sums are exact multiples of 1/2) in one call: the validation curves score every recorded
    epoch of a trial."""
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if not positives or not negatives:
        return np.full(len(P), np.nan)
    ranks = rankdata(P, axis=1)
    return (ranks[:, y == 1].sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)


def pr_auc(y, p) -> float:
    """Average precision, as scikit-learn computes it (step-wise, tied scores grouped)."""
    positives = int(y.sum())
    if not positives:
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(p_sorted)), len(p) - 1]
    true_positives = np.cumsum(y_sorted)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_positives / predicted
    recall = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def log_loss(y, p) -> float:
    p = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _counts(y, p, t):
    predicted = p >= t
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    tn = int(len(y) - tp - fp - fn)
    return tp, fp, tn, fn


def _from_counts(formula):
    return lambda y, p, t: formula(*_counts(y, p, t))


def _mcc(tp, fp, tn, fn) -> float:
    den = np.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return float((tp * tn - fp * fn) / den) if den else 0.0


def _balanced(tp, fp, tn, fn) -> float:
    rates = [r for r in (_ratio(tp, tp + fn), _ratio(tn, tn + fp)) if r == r]
    return float(np.mean(rates)) if rates else float("nan")


# name -> (function(y_true, y_prob, threshold), higher is better)
METRICS = {
    "accuracy": (_from_counts(lambda tp, fp, tn, fn: (tp + tn) / (tp + fp + tn + fn)), True),
    "roc_auc": (lambda y, p, t: roc_auc(y, p), True),
    "pr_auc": (lambda y, p, t: pr_auc(y, p), True),
    "log_loss": (lambda y, p, t: log_loss(y, p), False),
    "f1": (_from_counts(lambda tp, fp, tn, fn: _ratio(2 * tp, 2 * tp + fp + fn) if tp else 0.0), True),
    "mcc": (_from_counts(_mcc), True),
    "sensitivity": (_from_counts(lambda tp, fp, tn, fn: _ratio(tp, tp + fn)), True),
    "specificity": (_from_counts(lambda tp, fp, tn, fn: _ratio(tn, tn + fp)), True),
    "balanced_accuracy": (_from_counts(_balanced), True),
    "brier": (lambda y, p, t: float(np.mean((p - y) ** 2)), False),
}
METRIC_ALIASES = {"auc": "roc_auc", "auroc": "roc_auc", "roc": "roc_auc", "rocauc": "roc_auc"}  # for suggestions
DEFAULT_METRICS = tuple(METRICS)
COUNTS = ("tp", "fp", "tn", "fn")


def higher_is_better(metric: str) -> bool:
    return METRICS[metric][1]


def metric_range(metric: str) -> tuple[float, float]:
    """The values a metric can take: [0, 1] but MCC's [-1, 1] and log loss's [0, inf)."""
    return {"mcc": (-1.0, 1.0), "log_loss": (0.0, float("inf"))}.get(metric, (0.0, 1.0))


def score_rows(metric: str, y_true, P, threshold: float = 0.5) -> list[float]:
    """`metric` of each row of P (n, len(y_true)) of probabilities: METRICS' values, ROC AUC in
    one vectorised call."""
    if metric == "roc_auc":
        return roc_auc_rows(y_true, P).tolist()
    function = METRICS[metric][0]
    return [float(function(y_true, p, threshold)) for p in P]


def score(y_true, y_prob, metrics=DEFAULT_METRICS, threshold: float = 0.5) -> dict:
    """{metric: value} for the chosen metrics, plus the confusion counts tp, fp, tn, fn."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_prob = np.asarray(y_prob, dtype=float).ravel()
    result = {name: float(METRICS[name][0](y_true, y_prob, threshold)) for name in metrics}
    tp, fp, tn, fn = _counts(y_true, y_prob, threshold)
    result.update(tp=tp, fp=fp, tn=tn, fn=fn)
    return result
