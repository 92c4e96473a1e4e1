"""The one ranking of configurations, used by the experiment's tables (results.rank_order,
nested CV's choice, halving's rungs) and by FusedSearchCV's `rank_test_*`."""
from __future__ import annotations

import numpy as np


def rank_scores(scores, *, higher_is_better: bool = True, failed=None) -> np.ndarray:
    """Ranks of mean scores, 1 = best.

    Equal scores share the best of their ranks (GridSearchCV's 'min' ranks). A NaN score ranks
    after every number, and a configuration with a failed fold (`failed`) after every complete
    one, whatever its score.

    Parameters
    ----------
    scores : array-like of float
        One mean score per configuration.
    higher_is_better : bool, default=True
        False for losses (log loss, Brier score).
    failed : array-like of bool, optional
        Configurations with a failed (diverged) fold.

    Returns
    -------
    ndarray of int
        The rank of each configuration, in the order given.

    Example
    -------
    >>> rank_scores([0.8, float("nan"), 0.9, 0.8]).tolist()
    [2, 4, 1, 2]
    >>> rank_scores([0.9, 0.8], failed=[True, False]).tolist()
    [2, 1]
    """
    scores = np.asarray(scores, dtype=np.float64)
    missing = np.isnan(scores)
    incomplete = np.zeros(len(scores), bool) if failed is None else np.asarray(failed, dtype=bool)
    tier = 2 * incomplete.astype(int) + missing
    key = np.where(missing, 0.0, -scores if higher_is_better else scores)
    order = np.lexsort((key, tier))
    ranks = np.empty(len(scores), dtype=np.int64)
    for position, i in enumerate(order):
        previous = order[position - 1] if position else None
        tied = previous is not None and tier[i] == tier[previous] and key[i] == key[previous]
        ranks[i] = ranks[previous] if tied else position + 1
    return ranks
