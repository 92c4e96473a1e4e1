"""The split plan (stratified k folds x repeats, fixed by the seed) and the trial list."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from nnbin.config import ExperimentConfig, expand_grid, family_hyper
from nnbin.core.trials import Split, Trial, trial_seed
from nnbin.errors import DataError


def make_splits(y: np.ndarray, folds: int, repeats: int = 1, shuffle: bool = True,
                seed: int = 0, rows: np.ndarray | None = None) -> list[Split]:
    """Stratified folds; repeat r shuffles with seed + r. Same y and seed, same splits.
    rows: split only these rows (indices into y), e.g. all but a held-out test set."""
    rows = np.arange(len(y)) if rows is None else np.asarray(rows)
    y = np.asarray(y)[rows]
    _check_class_sizes(y, folds, "cv.folds")
    splits = []
    for repeat in range(repeats):
        splitter = StratifiedKFold(folds, shuffle=shuffle, random_state=seed + repeat if shuffle else None)
        for fold, (train, validation) in enumerate(splitter.split(np.zeros(len(y)), y)):
            splits.append(Split(repeat, fold, rows[train], rows[validation]))
    return splits


def hold_out(y: np.ndarray, test_size: float | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows for cross-validation, held-out test rows): a stratified split fixed by the seed."""
    rows = np.arange(len(y))
    if not test_size:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    _check_class_sizes(y, 2, "the classes", " (cv.test_size needs at least 2 per class)")
    development, test = train_test_split(rows, test_size=test_size, stratify=y, random_state=seed)
    return np.sort(development), np.sort(test)


def _check_class_sizes(y, folds: int, key: str, where: str = "") -> None:
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    if counts.min() < folds:
        rare = int(counts.argmin())
        raise DataError(f"class {rare} has only {counts.min()} row(s){where}, fewer than {key} = {folds}; "
                        f"lower {key} to at most {max(int(counts.min()), 2)} or add rows")


def split_plan(cv, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Split]]:
    """An experiment's (cross-validated rows, held-out test rows, outer splits) from its cv
    settings: the same for a run and for reading the run back."""
    development, test_rows = hold_out(y, cv.test_size, cv.seed)
    return development, test_rows, make_splits(y, cv.folds, cv.repeats, cv.shuffle, cv.seed, rows=development)


def make_inner_splits(y: np.ndarray, outer: list[Split], inner_folds: int, seed: int = 0) -> list[Split]:
    """Nested CV: stratified folds of each outer training set, as indices of the whole table."""
    inner = []
    for split in outer:
        y_train = np.asarray(y)[split.train]
        _check_class_sizes(y_train, inner_folds, "cv.inner_folds", " in an outer training fold")
        splitter = StratifiedKFold(inner_folds, shuffle=True,
                                   random_state=seed + 1000 * (split.repeat + 1) + split.fold)
        for number, (train, validation) in enumerate(splitter.split(np.zeros(len(y_train)), y_train)):
            inner.append(Split(split.repeat, split.fold, split.train[train], split.train[validation],
                               inner_fold=number))
    return inner


def make_holdout_splits(y: np.ndarray, outer: list[Split], fraction: float, seed: int = 0) -> list[Split]:
    """Successive halving: a stratified hold-out of `fraction` of each outer training fold
    (inner_fold 0), on which candidates are compared; the outer fold's rows are never in it."""
    from sklearn.model_selection import train_test_split

    holdouts = []
    for split in outer:
        y_train = np.asarray(y)[split.train]
        _check_class_sizes(y_train, 2, "2", " in an outer training fold (a halving hold-out needs 2 per class)")
        try:
            train, held = train_test_split(split.train, test_size=fraction, stratify=y_train,
                                           random_state=seed + 1000 * (split.repeat + 1) + split.fold)
        except ValueError as exc:
            raise DataError(f"cv.inner_fraction = {fraction:g} leaves too few rows for a stratified hold-out "
                            f"of each training fold ({exc}); raise cv.inner_fraction or add rows") from None
        holdouts.append(Split(split.repeat, split.fold, train, held, inner_fold=0))
    return holdouts


def make_trials(config: ExperimentConfig, splits: list[Split], points: dict | None = None) -> list[Trial]:
    """Grid point x repeat x fold for every family, in that order. points: {family name: its
    points} instead of each family's grid (a family left out gets none)."""
    experiment_key = {"dataset": config.dataset.model_dump(mode="json"),
                      "cv": config.cv.model_dump(mode="json")}
    trials = []
    for family in config.models:
        chosen = expand_grid(family, config.search) if points is None else points.get(family.name, [])
        for point in chosen:
            hyper = family_hyper(family, point)
            for split in splits:
                key = {**experiment_key, "family": family.name, "hyper": hyper.to_dict(),
                       "repeat": split.repeat, "fold": split.fold}
                if split.inner_fold is not None:
                    key["inner_fold"] = split.inner_fold
                digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
                trials.append(Trial(family.name, point, hyper, split,
                                    trial_seed(config.cv.seed, split), digest))
    return trials


def select_outer_trials(inner: pd.DataFrame, candidates: list[Trial], rank_by: str) -> list[Trial]:
    """Nested CV: for each outer fold and family, the configuration with the best mean inner
    score among those that finished every inner fold (one with a diverged inner fold is chosen
    only when no configuration of the family finished them all); returns those
    configurations' trials on the outer folds."""
    from nnbin.results import ranked_means

    best = ranked_means(inner, ["repeat", "fold", "family", "config"], rank_by).drop_duplicates(
        ["repeat", "fold", "family"])
    chosen = {(r.repeat, r.fold, r.family): r.config for r in best.itertuples()}
    return [t for t in candidates
            if chosen.get((t.split.repeat, t.split.fold, t.family)) == t.label]
