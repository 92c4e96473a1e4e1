"""Per-fold feature preprocessing: a scikit-learn transformer fitted on training rows only."""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def _to_float32(X):
    return np.asarray(X, dtype=np.float32)


def make_preprocessor(numeric: list[str], categorical: list[str], impute: bool = True):
    """Numeric: median-impute then standardize. Categorical: most-frequent-impute then one-hot.

    Categories unseen in the training fold are encoded as all zeros.
    """
    numeric_steps = [SimpleImputer(strategy="median")] if impute else []
    categorical_steps = [SimpleImputer(strategy="most_frequent")] if impute else []
    transformers = []
    if numeric:
        transformers.append(("numeric", make_pipeline(*numeric_steps, StandardScaler()), numeric))
    if categorical:
        transformers.append(("categorical", make_pipeline(
            *categorical_steps,
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        ), categorical))
    return make_pipeline(
        ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False),
        FunctionTransformer(_to_float32),
    )
