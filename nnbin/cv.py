"""The split plan (stratified k folds x repeats, fixed by the seed) and the trial list."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedKFold

from nnbin.config import ExperimentConfig, Hyper, expand_grid, family_hyper
from nnbin.errors import DataError


@dataclass(frozen=True)
class Split:
    repeat: int
    fold: int
    train: np.ndarray = field(repr=False)
    validation: np.ndarray = field(repr=False)


def make_splits(y: np.ndarray, folds: int, repeats: int = 1, shuffle: bool = True,
                seed: int = 0) -> list[Split]:
    """Stratified folds; repeat r shuffles with seed + r. Same y and seed, same splits."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    if counts.min() < folds:
        rare = int(counts.argmin())
        raise DataError(f"class {rare} has only {counts.min()} row(s), fewer than cv.folds = {folds}; "
                        f"lower cv.folds to at most {max(int(counts.min()), 2)} or add rows")
    splits = []
    for repeat in range(repeats):
        splitter = StratifiedKFold(folds, shuffle=shuffle, random_state=seed + repeat if shuffle else None)
        for fold, (train, validation) in enumerate(splitter.split(np.zeros(len(y)), y)):
            splits.append(Split(repeat, fold, train, validation))
    return splits


@dataclass(frozen=True)
class Trial:
    """One model fit: a family's grid point on one fold of one repeat."""

    family: str
    point: dict            # the swept values only
    hyper: Hyper           # every setting, fixed and swept
    split: Split
    seed: int              # initial weights and shuffling
    id: str

    @property
    def label(self) -> str:
        """The configuration, e.g. 'deep learning_rate=0.01 width=16'."""
        return " ".join([self.family, *(f"{k}={_short(v)}" for k, v in self.point.items())])

    @property
    def architecture(self) -> tuple:
        spec = self.hyper.spec()
        return spec.hidden, spec.activations


def _short(value) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def trial_seed(base_seed: int, split: Split) -> int:
    """Every family gets the same seed on the same fold: same shuffles, same initial weights."""
    return base_seed * 10_000 + split.repeat * 100 + split.fold


def make_trials(config: ExperimentConfig, splits: list[Split]) -> list[Trial]:
    """Grid point x repeat x fold for every family, in that order."""
    experiment_key = {"dataset": config.dataset.model_dump(mode="json"),
                      "cv": config.cv.model_dump(mode="json")}
    trials = []
    for family in config.models:
        for point in expand_grid(family):
            hyper = family_hyper(family, point)
            for split in splits:
                key = {**experiment_key, "family": family.name, "hyper": hyper.model_dump(mode="json"),
                       "repeat": split.repeat, "fold": split.fold}
                digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
                trials.append(Trial(family.name, point, hyper, split,
                                    trial_seed(config.cv.seed, split), digest))
    return trials
