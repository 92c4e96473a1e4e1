"""The searches of an experiment, as strategies of the one protocol (nnbin.search.protocol):
plain cross-validation (grid, random), nested cross-validation, successive halving, TPE; and
`make_strategy`, the strategy of a config's `search` and `cv` settings. A new search is one
more class here."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from nnbin.core.trials import Split, Trial
from nnbin.search.protocol import CrossValidation, Evaluate, SearchOutcome, Strategy

__all__ = ["BayesianSearch", "CrossValidation", "Evaluate", "NestedCrossValidation", "SearchOutcome", "Strategy",
           "SuccessiveHalving", "make_strategy"]


@dataclass
class NestedCrossValidation:
    """cv.nested: each family's grid on inner folds of every outer training fold; the
    configuration with the best mean inner score is scored on the outer fold
    (nnbin.cv.select_outer_trials)."""

    candidates: list[Trial]      # every configuration on the outer folds
    inner_trials: list[Trial]    # every configuration on the inner folds
    n_families: int
    n_outer: int
    rank_by: str
    refits_known_in_advance = False

    def planned(self) -> int:
        return len(self.inner_trials) + self.n_families * self.n_outer

    def resumable(self, stored: dict) -> int:
        return len(stored.keys() & {t.id for t in (*self.inner_trials, *self.candidates)})

    def run(self, evaluate: Evaluate) -> SearchOutcome:
        from nnbin.cv import select_outer_trials

        inner = evaluate(self.inner_trials)
        chosen = select_outer_trials(pd.DataFrame([r.row for r in inner]), self.candidates, self.rank_by)
        return SearchOutcome(chosen, evaluate(chosen), inner)

    def note(self) -> str | None:
        return None


@dataclass
class SuccessiveHalving:
    """search.kind: halving (nnbin.search.halving): rungs on hold-outs of the training folds,
    the survivors cross-validated."""

    config: object               # the ExperimentConfig
    y: object
    splits: list[Split]
    refits_known_in_advance = False

    def planned(self) -> int:
        from nnbin.search.halving import n_trials

        return n_trials(self.config, len(self.splits))

    def resumable(self, stored: dict) -> int:
        return len(stored)  # the rungs' trials are known only as they are chosen

    def run(self, evaluate: Evaluate) -> SearchOutcome:
        from nnbin.search.halving import run_halving

        inner, final = run_halving(self.config, evaluate, self.y, self.splits)
        return SearchOutcome(final, evaluate(final), inner)

    def note(self) -> str:
        from nnbin.search.halving import rungs_of

        parts = [f"{r.family} {' -> '.join(map(str, r.candidates))} configurations at "
                 f"{', '.join(map(str, r.epochs))} epochs" for r in rungs_of(self.config)]
        return ("successive halving on a hold-out of each training fold (the scored folds never choose): "
                + "; ".join(parts) + "; the last are cross-validated (trials.csv), every rung is in "
                "inner_trials.csv")


@dataclass
class BayesianSearch:
    """search.kind: tpe (nnbin.search.tpe): per family, n_iter points proposed by Optuna's TPE
    sampler, `batch` at a time, each batch cross-validated together."""

    config: object               # the ExperimentConfig
    splits: list[Split]
    refits_known_in_advance = False
    distinct: int | None = None  # distinct configurations cross-validated, once run

    def planned(self) -> int:
        """At most n_iter points per family (a point asked twice is cross-validated once)."""
        return sum(self.config.search.n_iter if f.grid else 1 for f in self.config.models) * len(self.splits)

    def resumable(self, stored: dict) -> int:
        return len(stored)  # the points are known only as they are asked

    def run(self, evaluate: Evaluate) -> SearchOutcome:
        from nnbin.search.tpe import run_tpe

        trials, records = run_tpe(self.config, evaluate, self.splits)
        self.distinct = len({(t.family, t.label) for t in trials})
        return SearchOutcome(trials, records)

    def note(self) -> str:
        search = self.config.search
        return (f"TPE search (Optuna's TPESampler, multivariate, constant liar): {search.n_iter} points per family, "
                f"{search.batch} at a time, seed {search.seed}; {self.distinct} distinct configurations "
                "cross-validated")


def make_strategy(config, y, splits: list[Split], trials: list[Trial], inner_trials: list[Trial]) -> Strategy:
    """The strategy of an experiment's `search` and `cv` settings.

    Parameters
    ----------
    config : ExperimentConfig
    y : array of 0/1 labels
    splits : the outer folds
    trials : every configuration on the outer folds (nnbin.cv.make_trials)
    inner_trials : every configuration on the inner folds (nested CV), else []

    Example
    -------
    >>> strategy = make_strategy(config, dataset.y, splits, trials, [])   # doctest: +SKIP
    >>> outcome = strategy.run(runner.run)                               # doctest: +SKIP
    """
    if config.cv.nested:
        return NestedCrossValidation(trials, inner_trials, len(config.models), len(splits), config.rank_by)
    if config.search.kind == "halving":
        return SuccessiveHalving(config, y, splits)
    if config.search.kind == "tpe":
        return BayesianSearch(config, splits)
    return CrossValidation(trials)
