"""Bayesian search (`search: {kind: tpe, n_iter: 60, batch: 16, seed: 0}`): per family, Optuna's
TPE sampler (multivariate, with the constant liar for points still training) asked for `batch`
points at a time over the family's grid entries (lists, loguniform, uniform, int); every
family's batch is cross-validated by one evaluate call (the stacked engine trains it as fused
stacks across all folds), and each point is told its mean `rank_by` over the folds (a diverged
fold fails the point, as in ranking).

Deterministic: the same seed and the same scores ask the same points, so a rerun asks again the
points it stored (the store gives them back untrained) and goes on as an uninterrupted run would;
a larger n_iter continues the search. A point asked twice is told its known score and
cross-validated once."""
from __future__ import annotations

import hashlib

import numpy as np

from nnbin.config import ExperimentConfig
from nnbin.core.trials import Split, Trial, TrialRecord
from nnbin.cv import make_trials
from nnbin.metrics import higher_is_better
from nnbin.search.points import SIGNIFICANT_DIGITS, check_distribution, is_distribution
from nnbin.search.sampler import choice_of, tpe_sampler


def search_space(grid: dict) -> dict:
    """Optuna distributions of a family's grid, by setting name (the points do not depend on the
    order a config lists them in): a list is a choice among its positions (values such as [16, 8]
    are not Optuna choices), a distribution is a float or int range."""
    from optuna.distributions import FloatDistribution, IntDistribution

    space = {}
    for key, values in sorted(grid.items()):
        if not is_distribution(values):
            space[key] = choice_of(values)
            continue
        kind, low, high = check_distribution(values)
        space[key] = (IntDistribution(low, high) if kind == "int"
                      else FloatDistribution(low, high, log=kind == "loguniform"))
    return space


def point_of(params: dict, grid: dict) -> dict:
    """The {setting: value} point of an Optuna trial's params (floats rounded as a random
    search's draws: readable labels, stable trial ids)."""
    point = {}
    for key, values in grid.items():
        value = params[key]
        if not is_distribution(values):
            point[key] = values[value]
        elif isinstance(value, float):
            point[key] = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
        else:
            point[key] = int(value)
    return point


def _sampler(seed: int, family: str):
    """The family's sampler: seeded by the search seed and the family's name."""
    stream = int(hashlib.sha1(family.encode()).hexdigest()[:8], 16)
    return tpe_sampler((seed * 7919 + stream) % 2 ** 32)


def _score(records: list[TrialRecord], rank_by: str) -> float | None:
    """The point's mean rank_by over its folds; None when a fold diverged."""
    if any(r.row["status"] != "ok" for r in records):
        return None
    return float(np.mean([r.row[rank_by] for r in records]))


def run_tpe(config: ExperimentConfig, evaluate, splits: list[Split]) -> tuple[list[Trial], list[TrialRecord]]:
    """Every family's TPE search through `evaluate`; the scored trials (each distinct point on
    every fold, in the order asked) and their records."""
    import optuna

    search, families = config.search, list(config.models)
    direction = "maximize" if higher_is_better(config.rank_by) else "minimize"
    studies = {f.name: optuna.create_study(direction=direction, sampler=_sampler(search.seed, f.name))
               for f in families if f.grid}
    spaces = {f.name: search_space(f.grid) for f in families if f.grid}
    asked = {f.name: 0 for f in families}
    known: dict = {}  # (family, point as text) -> (trials, records)
    order: list = []  # the distinct points' keys, in the order asked
    while True:
        batch, points = [], {}
        for family in families:
            left = (search.n_iter if family.grid else 1) - asked[family.name]
            for _ in range(min(search.batch, left)):
                trial = studies[family.name].ask(spaces[family.name]) if family.grid else None
                point = point_of(trial.params, family.grid) if trial is not None else {}
                batch.append((family.name, trial, point))
                points.setdefault(family.name, [])
                if point not in points[family.name] and (family.name, repr(point)) not in known:
                    points[family.name].append(point)
            asked[family.name] += min(search.batch, max(left, 0))
        if not batch:
            break
        trials = make_trials(config, splits, points)
        records = evaluate(trials)
        for name, family_points in points.items():
            for point in family_points:
                mine = [(t, r) for t, r in zip(trials, records) if t.family == name and t.point == point]
                known[(name, repr(point))] = ([t for t, _ in mine], [r for _, r in mine])
                order.append((name, repr(point)))
        for name, trial, point in batch:
            if trial is None:
                continue
            value = _score(known[(name, repr(point))][1], config.rank_by)
            if value is None:
                studies[name].tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                studies[name].tell(trial, value)
    scored = [known[key] for key in order]
    return [t for trials, _ in scored for t in trials], [r for _, records in scored for r in records]
