"""Successive halving on epochs (`search: {kind: halving, factor: 3, min_epochs: 10}`).

Per family, every grid point trains for min_epochs on a stratified hold-out of each training
fold (`cv.inner_fraction`; the scored folds' rows are never in it); the best 1/factor by their
mean `rank_by` on the hold-outs go on to factor x the epochs, and so on. The survivors of the
last rung are cross-validated at the family's full epochs like any grid point: those are the
experiment's trials; every rung's trials are in inner_trials.csv."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from nnbin.config import ExperimentConfig, expand_grid, family_hyper
from nnbin.core.trials import Split, TrialRecord
from nnbin.cv import make_holdout_splits, make_trials
from nnbin.results import ranked_means
from nnbin.search.points import halving_budgets


@dataclass(frozen=True)
class Rungs:
    """One family's plan: epochs per rung (the last: the cross-validation) and candidates per
    rung (ceil(n / factor) of the previous; the hold-out rungs stop when one is left)."""

    family: str
    epochs: list[int]
    candidates: list[int]


def rungs_of(config: ExperimentConfig) -> list[Rungs]:
    search, plans = config.search, []
    for family in config.models:
        points = expand_grid(family, search)
        epochs = family_hyper(family, points[0]).epochs
        budgets, counts = halving_budgets(epochs, search.min_epochs, search.factor), [len(points)]
        for _ in budgets[:-1]:
            if counts[-1] == 1:  # nothing left to choose between
                break
            counts.append(-(-counts[-1] // search.factor))
        plans.append(Rungs(family.name, budgets[:len(counts) - 1] + budgets[-1:], counts))
    return plans


def n_trials(config: ExperimentConfig, n_splits: int) -> int:
    """Trials of the whole halving (hold-out rungs and the final cross-validation)."""
    return sum(sum(rungs.candidates) for rungs in rungs_of(config)) * n_splits


def survivors(rows: pd.DataFrame, keep: int, rank_by: str) -> list[str]:
    """The `keep` best configurations by mean `rank_by` over the hold-outs (one with a diverged
    trial after every complete one)."""
    return list(ranked_means(rows, ["config"], rank_by)["config"][:keep])


def run_halving(config: ExperimentConfig, evaluate, y, splits: list[Split]) -> tuple[list[TrialRecord], list]:
    """Train the rungs through `evaluate` (trials -> their records: nnbin.search.strategies);
    returns (records of every hold-out trial, the final trials to cross-validate)."""
    holdouts = make_holdout_splits(y, splits, config.cv.inner_fraction, config.cv.seed)
    plans = {rungs.family: rungs for rungs in rungs_of(config)}
    candidates = {f.name: expand_grid(f, config.search) for f in config.models}
    records, final = [], []
    for rung in range(max(len(r.epochs) for r in plans.values())):
        points = {}
        for name, rungs in plans.items():
            if rung < len(rungs.epochs) - 1:
                points[name] = [{**p, "epochs": rungs.epochs[rung]} for p in candidates[name]]
            elif rung == len(rungs.epochs) - 1:
                final += make_trials(config, splits, {name: candidates[name]})
        trials = make_trials(config, holdouts, points)
        done = evaluate(trials)
        records += done
        rows = pd.DataFrame([r.row for r in done])
        for name in points:
            labels = [t.label for t in trials if t.family == name][::len(holdouts)]
            kept = set(survivors(rows[rows["family"] == name], plans[name].candidates[rung + 1],
                                 config.rank_by))
            candidates[name] = [p for p, label in zip(candidates[name], labels) if label in kept]
    return records, final
