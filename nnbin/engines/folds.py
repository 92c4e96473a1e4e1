"""Per-fold data shared by every trial on the same fold: preprocessing fitted on the training
fold only, and the inner early-stopping split carved from the training fold.

Two forms: `FoldData.get` gives a fold's preprocessed arrays (the keras engine: one trial at
a time); `FoldData.rows` gives row indices into the table encoded once and the fold's
per-column affine map of it (the fused engine: memory does not grow with folds or trials)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from nnbin.core.trials import Trial
from nnbin.data import Dataset
from nnbin.preprocess import EncodedTable, encode_table, fold_affine


@dataclass(frozen=True)
class FoldArrays:
    X_fit: np.ndarray            # rows the weights are fitted on
    y_fit: np.ndarray
    X_stop: np.ndarray | None    # inner split watched by early stopping (None without it)
    y_stop: np.ndarray | None
    X_val: np.ndarray            # the fold being scored


@dataclass(frozen=True)
class FoldRows:
    """A fold as row indices into the encoded table, and the fold's preprocessing as
    `where(isnan(v), fill, v * scale + shift)` of encoded rows v."""

    fit: np.ndarray              # rows the weights are fitted on (int64)
    stop: np.ndarray             # inner split watched by early stopping (empty without it)
    validation: np.ndarray       # the fold being scored
    scale: np.ndarray            # (m,) float32
    shift: np.ndarray
    fill: np.ndarray


def _fit_preprocessor(trial: Trial, dataset: Dataset):
    """The dataset's preprocessor fitted on the trial's training rows only."""
    return dataset.preprocessor().fit(dataset.X.iloc[trial.split.train])


def _transform_fold(preprocessor, trial: Trial, dataset: Dataset):
    """(X_train, y_train, X_val) through a fitted preprocessor."""
    train, validation = trial.split.train, trial.split.validation
    X_train = preprocessor.transform(dataset.X.iloc[train])
    X_val = (preprocessor.transform(dataset.X.iloc[validation]) if len(validation)
             else np.zeros((0, X_train.shape[1]), np.float32))  # a refit on every row scores none
    return X_train, dataset.y[train], X_val


def prepare_fold(trial: Trial, dataset: Dataset):
    """Preprocessing fitted on the trial's training rows only; returns (X_train, y_train, X_val)."""
    return _transform_fold(_fit_preprocessor(trial, dataset), trial, dataset)


class FoldData:
    """Computes each fold's arrays once, however many trials use that fold."""

    def __init__(self, dataset: Dataset, inner_fraction: float = 0.1):
        self.dataset, self.inner_fraction = dataset, inner_fraction
        self._prepared: dict = {}
        self._arrays: dict = {}
        self._fitted: dict = {}
        self._rows: dict = {}
        self._table: EncodedTable | None = None
        self.engine_state: dict = {}  # what an engine keeps for this data (the table as tensors)

    def table(self) -> EncodedTable:
        """The whole table, encoded once."""
        if self._table is None:
            d = self.dataset
            self._table = encode_table(d.X, d.numeric, d.categorical, d.categories())
        return self._table

    def rows(self, trial: Trial) -> FoldRows:
        """The trial's fold as row indices and a per-column affine map of `table()`; the same
        rows and (within float32 rounding) the same values as `get`."""
        key = self.key(trial)
        if key not in self._rows:
            train, validation = trial.split.train, trial.split.validation
            fit, stop = np.asarray(train), np.asarray(train)[:0]
            if trial.hyper.patience:  # the same partition as `get` makes of the arrays
                fit, stop = train_test_split(train, test_size=self.inner_fraction,
                                             stratify=self.labels[train], random_state=trial.seed)
            scale, shift, fill = self._affine(trial)
            self._rows[key] = FoldRows(fit, stop, np.asarray(validation), scale, shift, fill)
        return self._rows[key]

    @property
    def labels(self) -> np.ndarray:
        """y in {0, 1} for every row of `table()`."""
        return self.dataset.y

    def _affine(self, trial: Trial) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The trial's fold preprocessing as (scale, shift, fill) of `table()` rows."""
        return fold_affine(self.preprocessor(trial), self.table())

    def _transform(self, trial: Trial) -> tuple:
        """(X_train, y_train, X_val) of the trial's fold, preprocessed."""
        return _transform_fold(self.preprocessor(trial), trial, self.dataset)

    @staticmethod
    def key(trial: Trial) -> tuple:
        """Trials with the same key train on the same rows."""
        return (*trial.split.key, bool(trial.hyper.patience), trial.seed)

    def get(self, trial: Trial) -> FoldArrays:
        fold_key, key = trial.split.key, self.key(trial)
        if key not in self._arrays:
            if fold_key not in self._prepared:
                self._prepared[fold_key] = self._transform(trial)
            X_train, y_train, X_val = self._prepared[fold_key]
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
        key = trial.split.key
        if key not in self._fitted:
            self._fitted[key] = _fit_preprocessor(trial, self.dataset)
        return self._fitted[key]


class ArrayFolds(FoldData):
    """Folds of a numeric array that needs no further preprocessing (scikit-learn's side: X as
    given, or each fold's pipeline output stacked in one array): trials' splits index `values`
    directly; the fold preprocessing is the identity."""

    def __init__(self, values: np.ndarray, labels: np.ndarray, inner_fraction: float = 0.1):
        super().__init__(None, inner_fraction)
        values = np.ascontiguousarray(values, dtype=np.float32)
        m = values.shape[1]
        self._table = EncodedTable(values, np.zeros(m), np.ones(m), m, False)
        self._labels = np.asarray(labels, dtype=np.float32)

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def _affine(self, trial: Trial) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self._table.values.shape[1]
        return np.ones(m, np.float32), np.zeros(m, np.float32), np.zeros(m, np.float32)

    def _transform(self, trial: Trial) -> tuple:
        values, train = self._table.values, trial.split.train
        return values[train], self._labels[train], values[trial.split.validation]
