"""Per-fold arrays shared by every trial on the same fold: preprocessing fitted on the
training fold only, and the inner early-stopping split carved from the training fold."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from nnbin.cv import Trial
from nnbin.data import Dataset


@dataclass(frozen=True)
class FoldArrays:
    X_fit: np.ndarray            # rows the weights are fitted on
    y_fit: np.ndarray
    X_stop: np.ndarray | None    # inner split watched by early stopping (None without it)
    y_stop: np.ndarray | None
    X_val: np.ndarray            # the fold being scored


def _fit_fold(trial: Trial, dataset: Dataset):
    """(fitted preprocessor, X_train, y_train, X_val), the preprocessor fitted on the
    trial's training rows only."""
    train, validation = trial.split.train, trial.split.validation
    preprocessor = dataset.preprocessor().fit(dataset.X.iloc[train])
    X_train = preprocessor.transform(dataset.X.iloc[train])
    X_val = (preprocessor.transform(dataset.X.iloc[validation]) if len(validation)
             else np.zeros((0, X_train.shape[1]), np.float32))  # a refit on every row scores none
    return preprocessor, X_train, dataset.y[train], X_val


def prepare_fold(trial: Trial, dataset: Dataset):
    """Preprocessing fitted on the trial's training rows only; returns (X_train, y_train, X_val)."""
    return _fit_fold(trial, dataset)[1:]


class FoldCache:
    """Computes each fold's arrays once, however many trials use that fold."""

    def __init__(self, dataset: Dataset, inner_fraction: float = 0.1):
        self.dataset, self.inner_fraction = dataset, inner_fraction
        self._prepared: dict = {}
        self._arrays: dict = {}

    def get(self, trial: Trial) -> FoldArrays:
        fold_key = trial.split.key
        key = (*fold_key, bool(trial.hyper.patience), trial.seed)
        if key not in self._arrays:
            if fold_key not in self._prepared:
                self._prepared[fold_key] = _fit_fold(trial, self.dataset)
            _, X_train, y_train, X_val = self._prepared[fold_key]
            if trial.hyper.patience:
                X_fit, X_stop, y_fit, y_stop = train_test_split(
                    X_train, y_train, test_size=self.inner_fraction, stratify=y_train,
                    random_state=trial.seed)
                self._arrays[key] = FoldArrays(X_fit, y_fit, X_stop, y_stop, X_val)
            else:
                self._arrays[key] = FoldArrays(X_train, y_train, None, None, X_val)
        return self._arrays[key]

    def preprocessor(self, trial: Trial):
        """The preprocessor fitted on the trial's training rows (fitted once per fold)."""
        if trial.split.key not in self._prepared:
            self._prepared[trial.split.key] = _fit_fold(trial, self.dataset)
        return self._prepared[trial.split.key][0]
