"""Per-fold feature preprocessing: a scikit-learn transformer fitted on training rows only."""
from __future__ import annotations

import numpy as np
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
    numeric_steps = [SimpleImputer(strategy="median")] if impute else []
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
