"""Engines train a list of trials and yield, per trial, validation probabilities, history
and weights. `keras`: one fit per trial. `fused`: each depth's trials as one stack."""
from __future__ import annotations

from nnbin.engines import fused, keras_engine
from nnbin.engines.folds import FoldData
from nnbin.core.trials import TrainedTrial

ENGINES = {"fused": fused.train_trials, "keras": keras_engine.train_trials}


def work_units(engine: str, trials: list) -> list[list]:
    """The trials in groups that are trained together and can be sent to a worker whole:
    the fused engine's stacks (one compilation each); for trials trained one at a time, all
    folds of one configuration (one model reused). Largest first."""
    stacks, plain = fused.stacks_of(trials) if engine == "fused" else ([], list(trials))
    by_config: dict = {}
    for trial in plain:
        by_config.setdefault((trial.family, trial.label), []).append(trial)
    units = stacks + list(by_config.values())
    cost = lambda unit: len(unit) * max(t.hyper.epochs for t in unit)  # noqa: E731
    return sorted(units, key=cost, reverse=True)


__all__ = ["ENGINES", "FoldData", "TrainedTrial", "work_units"]
