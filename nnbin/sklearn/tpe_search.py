"""FusedTPESearchCV: FusedSearchCV whose candidates Optuna's TPE sampler proposes, a batch at a
time, each batch's candidates x folds trained as fused stacks; cv_results_ as RandomizedSearchCV's."""
from __future__ import annotations

import numpy as np

from nnbin.core.arguments import keyword_only
from nnbin.search.sampler import choice_of, tpe_sampler
from nnbin.sklearn.search import FusedSearchCV


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError("FusedTPESearchCV proposes candidates with Optuna: pip install 'nnbin[optuna]' "
                          "(or pip install optuna)") from None
    return optuna


class FusedTPESearchCV(FusedSearchCV):
    """A Bayesian search over NNBinClassifier's parameters: Optuna's TPESampler (multivariate,
    constant liar for the candidates still training) asked ``batch`` candidates at a time, each
    batch cross-validated as fused stacks, each candidate told its mean score (the refit metric).

    Parameters
    ----------
    estimator : NNBinClassifier, or a Pipeline whose last step is one
    param_distributions : dict
        Per parameter, a list (a choice among its values) or an ``optuna.distributions``
        distribution (``FloatDistribution(1e-4, 0.1, log=True)``, ``IntDistribution(2, 64)``).
    n_iter : int, default=20
        Candidates in all (a candidate proposed twice is cross-validated twice).
    batch : int, default=8
        Candidates proposed, then trained together, at a time.
    cv, scoring, refit, error_score, verbose : as in FusedSearchCV
    random_state : int or None
        The sampler's seed: the same seed and data give the same candidates.

    Attributes
    ----------
    cv_results_, best_params_, best_score_, best_index_, best_estimator_, ... : as in
        RandomizedSearchCV, the candidates in the order proposed.

    Example
    -------
    >>> from optuna.distributions import FloatDistribution                      # doctest: +SKIP
    >>> search = FusedTPESearchCV(NNBinClassifier(epochs=20, random_state=0),   # doctest: +SKIP
    ...                           {"hidden": [(8,), (16, 8)],
    ...                            "learning_rate": FloatDistribution(1e-4, 0.1, log=True)},
    ...                           n_iter=16, batch=8, scoring="roc_auc", random_state=0)
    """

    @keyword_only
    def __init__(self, estimator, param_distributions, *, n_iter=20, batch=8, cv=5, scoring=None, refit=True,
                 random_state=None, error_score=np.nan, verbose=0):
        super().__init__(estimator, param_distributions=param_distributions, n_iter=n_iter, cv=cv,
                         scoring=scoring, refit=refit, random_state=random_state, error_score=error_score,
                         verbose=verbose)
        self.batch = batch

    def _space(self) -> dict:
        from optuna.distributions import BaseDistribution

        if not isinstance(self.param_distributions, dict) or not self.param_distributions:
            raise ValueError("param_distributions: give a dict of lists and optuna.distributions distributions")
        return {name: values if isinstance(values, BaseDistribution) else choice_of(values)
                for name, values in sorted(self.param_distributions.items())}

    def _candidate(self, params: dict) -> dict:
        from optuna.distributions import BaseDistribution

        return {name: (params[name] if isinstance(values, BaseDistribution) else values[params[name]])
                for name, values in self.param_distributions.items()}

    def _search(self, X, y, splits, scorers, refit_metric) -> tuple[list[dict], tuple]:
        """Ask, cross-validate, tell, a batch at a time, until n_iter candidates."""
        optuna = _optuna()
        space = self._space()
        study = optuna.create_study(direction="maximize",  # scorers: greater is better
                                    sampler=tpe_sampler(self.random_state))
        if self.verbose:
            print(f"Fitting {len(splits)} folds for each of {self.n_iter} candidates ({self.batch} at a time), "
                  f"totalling {len(splits) * self.n_iter} fits")
        candidates, parts = [], []
        while len(candidates) < self.n_iter:
            asked = [study.ask(space) for _ in range(min(self.batch, self.n_iter - len(candidates)))]
            batch = [self._candidate(trial.params) for trial in asked]
            part = self._cross_validate(X, y, splits, batch, scorers)
            for trial, value in zip(asked, part[0][refit_metric].mean(axis=1)):
                if np.isfinite(value):
                    study.tell(trial, float(value))
                else:  # a fold diverged (error_score nan)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
            candidates += batch
            parts.append(part)
        scores = {name: np.concatenate([p[0][name] for p in parts]) for name in scorers}
        return candidates, (scores, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))
