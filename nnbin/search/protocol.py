"""The search protocol (the role of scikit-learn's `evaluate_candidates` and of KerasTuner's
oracle/tuner split): a strategy chooses trials and asks `evaluate(trials)` for their records,
in order; evaluate trains what is not known yet (`nnbin.runner.TrialRunner.run`, and
FusedSearchCV's). A strategy says beforehand how many fits it plans and how many of them a
store already holds. Plain cross-validation is here; the searches that need an experiment's
settings are in nnbin.search.strategies. Nothing here knows the config schema."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from nnbin.core.trials import Trial, TrialRecord

Evaluate = Callable[[list[Trial]], list[TrialRecord]]


@dataclass
class SearchOutcome:
    """The scored trials (the outer folds) and their records, in order; and the records the
    search chose on (inner folds, halving's rungs: inner_trials.csv), None when it had none."""

    trials: list[Trial]
    records: list[TrialRecord]
    inner: list[TrialRecord] | None = None


class Strategy(Protocol):
    refits_known_in_advance: bool  # the scored trials are known before training (refits train alongside)

    def planned(self) -> int:
        """Fits the whole search trains (for the progress bar and the resume message)."""

    def resumable(self, stored: dict) -> int:
        """How many of them the store already holds."""

    def run(self, evaluate: Evaluate) -> SearchOutcome:
        """Choose, evaluate, choose again if it must; the scored trials and their records."""

    def note(self) -> str | None:
        """What the user must know about how the scored configurations were chosen."""


@dataclass
class CrossValidation:
    """Grid and random search: every trial cross-validated, the points chosen beforehand
    (an experiment's: nnbin.search.points; FusedSearchCV's: ParameterGrid, ParameterSampler)."""

    trials: list[Trial]
    refits_known_in_advance = True

    def planned(self) -> int:
        return len(self.trials)

    def resumable(self, stored: dict) -> int:
        return len(stored.keys() & {t.id for t in self.trials})  # same settings, same folds

    def run(self, evaluate: Evaluate) -> SearchOutcome:
        return SearchOutcome(self.trials, evaluate(self.trials))

    def note(self) -> str | None:
        return None
