"""Optuna's TPE sampler as nnbin's Bayesian searches use it (`search: {kind: tpe}` and
FusedTPESearchCV): multivariate, with the constant liar for points still training, Optuna's
logging quiet; and a list of setting values as an Optuna choice."""
from __future__ import annotations

import warnings


def tpe_sampler(seed: int | None):
    """A seeded TPESampler (multivariate, constant liar)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():  # multivariate and constant_liar are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed)


def choice_of(values: list):
    """A list of setting values as an Optuna choice among its positions (values such as (16, 8)
    are not Optuna choices); the trial's param indexes the list."""
    from optuna.distributions import CategoricalDistribution

    return CategoricalDistribution(list(range(len(values))))
