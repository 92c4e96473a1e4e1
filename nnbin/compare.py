"""Paired comparisons of configurations on the same folds, with the corrected resampled
t-test (Nadeau & Bengio 2003; for repeated k-fold, Bouckaert & Frank 2004).

Fold scores of two configurations are not independent samples: the training sets of
k-fold CV overlap, so the plain paired t-test is far too eager to call a difference
significant. The correction inflates the variance of the mean difference from S²/n to
(1/n + n_test/n_train)·S², with n = folds × repeats paired differences and n - 1 degrees
of freedom.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nnbin.core.arguments import keyword_only
from nnbin.metrics import higher_is_better
from nnbin.results import best_per_family

METRIC_NAMES = {"roc_auc": "AUC", "pr_auc": "PR AUC", "accuracy": "accuracy", "log_loss": "log loss",
                "brier": "Brier score", "balanced_accuracy": "balanced accuracy", "mcc": "MCC",
                "f1": "F1", "sensitivity": "sensitivity", "specificity": "specificity"}


@dataclass(frozen=True)
class Comparison:
    """Configuration a against configuration b on the same folds: a - b.

    Attributes
    ----------
    a, b : str
        The configurations compared (labels of trials.csv's ``config``).
    metric : str
    n : int
        Paired fold scores (folds x repeats both were scored on).
    mean_difference, ci_low, ci_high : float
        The mean of a - b and its confidence interval under the corrected resampled t-test.
    t, p_value : float
        The corrected t statistic and its two-sided p-value (n - 1 degrees of freedom).
    confidence : float, default=0.95
        Of the interval; ``significant`` is p_value < 1 - confidence.

    Example
    -------
    >>> c = Comparison("deep", "logistic", "roc_auc", 10, 0.012, 0.002, 0.022, 2.7, 0.024)
    >>> c.significant, c.verdict[:40]
    (True, 'deep is significantly better than logist')
    """

    a: str
    b: str
    metric: str
    n: int                 # paired fold scores
    mean_difference: float
    ci_low: float
    ci_high: float
    t: float
    p_value: float
    confidence: float = 0.95

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - self.confidence

    @property
    def verdict(self) -> str:
        """e.g. "deep is not significantly better than logistic: ΔAUC = +0.003, 95% CI [...]"."""
        if self.n < 2:
            return (f"{self.a} cannot be compared with {self.b}: {self.n} fold(s) scored for both "
                    "(failed trials have no scores)")
        name = METRIC_NAMES.get(self.metric, self.metric)
        if self.ci_low == self.ci_high == self.mean_difference == 0:
            return (f"{self.a} and {self.b} do not differ: the same {name} on every one of the {self.n} "
                    "paired folds")
        better = (self.mean_difference > 0) == higher_is_better(self.metric)
        if self.significant:
            head = f"{self.a} is significantly {'better' if better else 'worse'} than {self.b}"
        else:
            head = f"{self.a} is not significantly {'better' if better else 'worse'} than {self.b}"
        level = f"{self.confidence:.0%}"
        return (f"{head}: Δ{name} = {_signed(self.mean_difference)}, {level} CI "
                f"[{_signed(self.ci_low)}, {_signed(self.ci_high)}], {_p(self.p_value)} "
                f"({self.n} paired folds, corrected resampled t-test)")


def _signed(x: float) -> str:
    """+0.012, -0.004; never -0.000 (a tiny negative rounds to +0.000)."""
    text = f"{x:+.3f}"
    return "+0.000" if text == "-0.000" else text


def _p(p: float) -> str:
    return "p n/a" if math.isnan(p) else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


@keyword_only
def corrected_t_test(differences, test_fraction_over_train: float, *, confidence: float = 0.95):
    """Mean, CI, t and two-sided p of paired differences under the Nadeau-Bengio correction.

    Parameters
    ----------
    differences : array-like of float
        Paired differences of two configurations' scores, one per fold and repeat.
    test_fraction_over_train : float
        n_test / n_train of one fold (1 / (k - 1) for k-fold CV).
    confidence : float, default=0.95
        Of the interval.

    Returns
    -------
    tuple of float
        (mean, ci_low, ci_high, t, p): the variance of the mean inflated from S²/n to
        (1/n + n_test/n_train)·S², n - 1 degrees of freedom.

    Example
    -------
    >>> mean, low, high, t, p = corrected_t_test([0.01, 0.03, 0.02, 0.00, 0.04], 1 / 4)
    >>> round(mean, 3), round(t, 3), round(p, 3)
    (0.02, 1.886, 0.132)
    """
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan"), float("nan")
    variance = float(d.var(ddof=1)) * (1.0 / n + test_fraction_over_train)
    if variance == 0.0:
        p = 1.0 if mean == 0 else 0.0
        return mean, mean, mean, math.copysign(math.inf, mean) if mean else 0.0, p
    se = math.sqrt(variance)
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), df=n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * se
    return mean, mean - half, mean + half, t, p


@keyword_only
def compare(trials: pd.DataFrame, a: str, b: str, *, metric: str = "roc_auc",
            confidence: float = 0.95) -> Comparison:
    """Compare configuration `a` with `b` on the folds both were scored on.

    Parameters
    ----------
    trials : pandas.DataFrame
        A run's trials table (``result.trials``, or trials.csv read with pandas).
    a, b : str
        Two of its ``config`` labels (``result.summary["config"]``).
    metric : str, default="roc_auc"
        A scored metric (a column of trials).
    confidence : float, default=0.95

    Returns
    -------
    Comparison
        a - b with its corrected resampled t-test; ``verdict`` says it in words.

    Raises
    ------
    ConfigError
        When a label is not a configuration of the run (the message lists them).

    Example
    -------
    >>> c = compare(result.trials, "deep", "logistic", metric="roc_auc")   # doctest: +SKIP
    >>> print(c.verdict)                                                  # doctest: +SKIP
    """
    for label in (a, b):
        if label not in set(trials["config"]):
            from nnbin.errors import ConfigError
            from nnbin.core.settings import suggest

            names = list(dict.fromkeys(trials["config"]))
            shown = ", ".join(f"'{n}'" for n in names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
            raise ConfigError(f"no configuration '{label}'{suggest(label, names)}; the run's configurations: {shown}")
    paired = paired_scores(trials, a, b, metric)
    sizes = trials[trials["config"] == a][["n_train", "n_validation"]].mean()
    ratio = float(sizes["n_validation"] / sizes["n_train"])
    mean, low, high, t, p = corrected_t_test(paired["difference"], ratio, confidence=confidence)
    return Comparison(a, b, metric, len(paired), mean, low, high, t, p, confidence)


def paired_scores(trials: pd.DataFrame, a: str, b: str, metric: str) -> pd.DataFrame:
    """The folds both configurations were scored on: repeat, fold, a's and b's `metric`, and
    their difference a - b (what the corrected t-test is computed from)."""
    ok = trials[trials["status"] == "ok"]
    pivot = ok.pivot_table(index=["repeat", "fold"], columns="config", values=metric, aggfunc="first")
    paired = pivot.reindex(columns=[a, b]).dropna()
    return paired.assign(difference=paired[a] - paired[b]).reset_index().rename_axis(columns=None)


def baseline_family(families: list[str]) -> str:
    """The family the others are compared with: 'logistic' if present, else the first."""
    return "logistic" if "logistic" in families else families[0]


def compare_families(trials: pd.DataFrame, summary: pd.DataFrame, metric: str,
                     confidence: float = 0.95) -> list[Comparison]:
    """The best configuration of each family against the baseline family's best."""
    best = best_per_family(summary).set_index("family")["config"]
    base = baseline_family(list(dict.fromkeys(trials["family"])))  # in config order
    if base not in best:
        return []
    return [compare(trials, best[family], best[base], metric=metric, confidence=confidence)
            for family in best.index if family != base]


MATCHED_SIZE = 1.5  # "matched": parameter counts within this ratio


def depth_against_width(trials: pd.DataFrame, summary: pd.DataFrame, n_inputs: int, metric: str,
                        confidence: float = 0.95, limit: int = 5) -> list[tuple[Comparison, int, int]]:
    """The course's question at matched model size: each deep configuration (two or more
    hidden layers; best first, at most `limit`) against the one-hidden-layer configuration
    whose parameter count is closest, when within MATCHED_SIZE of it. Returns
    (comparison deep - shallow, deep's parameters, shallow's parameters)."""
    from nnbin.results import architecture_depth, architecture_params

    sized = summary.assign(params=[architecture_params(a, n_inputs) for a in summary["architecture"]],
                           depth=[architecture_depth(a) for a in summary["architecture"]])
    shallow = sized[sized["depth"] == 1]
    found = []
    for deep in sized[sized["depth"] >= 2].itertuples():
        if shallow.empty or len(found) == limit:
            break
        ratio = np.maximum(shallow["params"] / deep.params, deep.params / shallow["params"])
        closest = shallow.loc[ratio.idxmin()]
        if ratio.min() <= MATCHED_SIZE:
            found.append((compare(trials, deep.config, closest["config"], metric=metric, confidence=confidence),
                          int(deep.params), int(closest["params"])))
    return found
