"""Per-fold feature preprocessing: a scikit-learn transformer fitted on training rows only."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def _to_float32(X):
    return np.asarray(X, dtype=np.float32)


class FoldOneHot(TransformerMixin, BaseEstimator):
    """One-hot over a fixed vocabulary per column (the whole table's categories), so that every
    fold has the same columns; a category absent from the rows it was fitted on, or outside the
    vocabulary, encodes as all zeros."""

    def __init__(self, categories):
        self.categories = categories

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=object)
        self.encoder_ = OneHotEncoder(categories=[list(c) for c in self.categories],
                                      handle_unknown="ignore", sparse_output=False).fit(X)
        # a category of the vocabulary that the training rows do not hold: its column stays zero
        self.seen_ = np.concatenate([np.isin(np.asarray(c, dtype=object), X[:, j])
                                     for j, c in enumerate(self.categories)])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return self.encoder_.transform(np.asarray(X, dtype=object)) * self.seen_

    def seen_categories(self) -> list[list[str]]:
        """Per column, the categories present in the rows the encoder was fitted on."""
        seen, start = [], 0
        for categories in self.categories:
            mask = self.seen_[start:start + len(categories)]
            seen.append([c for c, s in zip(categories, mask) if s])
            start += len(categories)
        return seen

    def get_feature_names_out(self, input_features=None):
        return self.encoder_.get_feature_names_out(input_features)


def make_preprocessor(numeric: list[str], categorical: list[str], impute: bool = True,
                      categories: list[list[str]] | None = None):
    """Numeric: median-impute then standardize. Categorical: most-frequent-impute then one-hot
    over `categories` (per categorical column, the whole table's categories).

    Categories unseen in the training fold are encoded as all zeros.
    """
    # keep_empty_features: a column missing on every training row of a fold is imputed as 0
    # instead of dropped, so that every fold has the same columns
    numeric_steps = [SimpleImputer(strategy="median", keep_empty_features=True)] if impute else []
    categorical_steps = [SimpleImputer(strategy="most_frequent")] if impute else []
    transformers = []
    if numeric:
        transformers.append(("numeric", make_pipeline(*numeric_steps, StandardScaler()), numeric))
    if categorical:
        transformers.append(("categorical", make_pipeline(*categorical_steps, FoldOneHot(categories)),
                             categorical))
    return make_pipeline(
        ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False),
        FunctionTransformer(_to_float32),
    )


@dataclass(frozen=True)
class EncodedTable:
    """The whole table encoded once, float32 (n, m), in the preprocessor's column order:
    numerics as z-scores over the whole table (NaN where missing), categoricals one-hot over
    the vocabulary (NaN across a column's block where missing). Every fold's preprocessing
    is a per-column affine map of it (`fold_affine`), so folds share one copy of the data."""

    values: np.ndarray
    center: np.ndarray    # (m,) float64: each numeric column's table mean (0 for one-hot)
    spread: np.ndarray    # (m,) float64: its standard deviation (1 when 0, and for one-hot)
    n_numeric: int
    has_missing: bool     # NaN anywhere in values (filled per fold)


def encode_table(X, numeric: list[str], categorical: list[str],
                 categories: list[list[str]]) -> EncodedTable:
    """Encode the raw feature table once (see EncodedTable)."""
    blocks, center, spread = [], [], []
    if numeric:
        values = X[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column missing everywhere
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        blocks.append(((values - mean) / std).astype(np.float32))
        center.append(mean)
        spread.append(std)
    for column, vocabulary in zip(categorical, categories):
        codes = pd.Categorical(X[column], categories=list(vocabulary)).codes
        one_hot = np.eye(len(vocabulary), dtype=np.float32)[codes]
        one_hot[codes < 0] = np.nan  # missing (every present value is in the table's vocabulary)
        blocks.append(one_hot)
        center.append(np.zeros(len(vocabulary)))
        spread.append(np.ones(len(vocabulary)))
    values = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(X), 0), np.float32)
    return EncodedTable(np.ascontiguousarray(values), np.concatenate(center), np.concatenate(spread),
                        len(numeric), bool(np.isnan(values).any()))


def fold_affine(preprocessor, table: EncodedTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scale, shift, fill), float32 (m,) each, such that a fitted preprocessor's output is
    `where(isnan(v), fill, v * scale + shift)` for the table's encoded rows v."""
    parts = preprocessor[0].named_transformers_
    scale, shift, fill = [], [], []
    if "numeric" in parts:
        steps = parts["numeric"]
        scaler = steps[-1]
        n = table.n_numeric
        scale.append(table.spread[:n] / scaler.scale_)
        shift.append((table.center[:n] - scaler.mean_) / scaler.scale_)
        imputed = steps[0].statistics_ if len(steps) > 1 else np.full(n, np.nan)
        fill.append((imputed - scaler.mean_) / scaler.scale_)
    if "categorical" in parts:
        steps = parts["categorical"]
        encoder = steps[-1]
        modes = steps[0].statistics_ if len(steps) > 1 else [None] * len(encoder.categories)
        start = 0
        for vocabulary, mode in zip(encoder.categories, modes):
            seen = encoder.seen_[start:start + len(vocabulary)].astype(np.float64)
            scale.append(seen)
            shift.append(np.zeros(len(vocabulary)))
            fill.append(np.array([float(c == mode) for c in vocabulary]) * seen)
            start += len(vocabulary)
    as32 = lambda parts: np.concatenate(parts).astype(np.float32)  # noqa: E731
    return as32(scale), as32(shift), as32(fill)
