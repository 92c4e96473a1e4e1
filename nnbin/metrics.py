"""Scores of a binary classifier from y_true (0/1) and y_prob (probability of class 1)."""
from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def _confusion(y, p, t):
    tn, fp, fn, tp = skm.confusion_matrix(y, (p >= t).astype(int), labels=[0, 1]).ravel()
    return int(tn), int(fp), int(fn), int(tp)


def _ratio(num, den):
    return num / den if den else float("nan")


def _sensitivity(y, p, t):
    tn, fp, fn, tp = _confusion(y, p, t)
    return _ratio(tp, tp + fn)


def _specificity(y, p, t):
    tn, fp, fn, tp = _confusion(y, p, t)
    return _ratio(tn, tn + fp)


def _ranking(score):
    """ROC/PR AUC are undefined when the fold holds one class: NaN, not a crash."""
    def metric(y, p, t):
        return float(score(y, p)) if len(np.unique(y)) == 2 else float("nan")
    return metric


# name -> (function(y_true, y_prob, threshold), higher is better)
METRICS = {
    "accuracy": (lambda y, p, t: skm.accuracy_score(y, p >= t), True),
    "roc_auc": (_ranking(skm.roc_auc_score), True),
    "pr_auc": (_ranking(skm.average_precision_score), True),
    "log_loss": (lambda y, p, t: skm.log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]), False),
    "f1": (lambda y, p, t: skm.f1_score(y, p >= t, zero_division=0), True),
    "mcc": (lambda y, p, t: skm.matthews_corrcoef(y, p >= t), True),
    "sensitivity": (_sensitivity, True),
    "specificity": (_specificity, True),
    "balanced_accuracy": (lambda y, p, t: skm.balanced_accuracy_score(y, p >= t), True),
    "brier": (lambda y, p, t: skm.brier_score_loss(y, p), False),
}
DEFAULT_METRICS = tuple(METRICS)
COUNTS = ("tp", "fp", "tn", "fn")


def higher_is_better(metric: str) -> bool:
    return METRICS[metric][1]


def score(y_true, y_prob, metrics=DEFAULT_METRICS, threshold: float = 0.5) -> dict:
    """{metric: value} for the chosen metrics, plus the confusion counts tp, fp, tn, fn."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_prob = np.asarray(y_prob, dtype=float).ravel()
    result = {name: float(METRICS[name][0](y_true, y_prob, threshold)) for name in metrics}
    tn, fp, fn, tp = _confusion(y_true, y_prob, threshold)
    result.update(tp=tp, fp=fp, tn=tn, fn=fn)
    return result
