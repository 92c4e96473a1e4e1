"""Datasets: built-in ones by name, or a CSV / TSV / Parquet table with a binary target.

A Dataset keeps the raw feature columns; the per-fold preprocessing (impute, scale,
one-hot) is built by `Dataset.preprocessor()` and fitted on training rows only.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.core.arguments import keyword_only
from nnbin.errors import DataError
from nnbin.columns import (binarize_target, check_features, feature_types, plain_value, refuse_dates,
                           row_number, warn_uninformative)
from nnbin.core.settings import suggest

MISSING_POLICIES = ("impute", "error")


@dataclass
class Dataset:
    """Feature table X (raw columns), target y in {0, 1}, and how y was mapped.

    Attributes
    ----------
    name : str
    X : pandas.DataFrame
        The raw feature columns (preprocessing is fitted per fold: `preprocessor`).
    y : ndarray of 0/1
    numeric, categorical : list of str
        The feature columns of each kind.
    target : str
        The target column's name.
    classes : dict
        Each original target value -> 0 or 1.
    impute : bool
        Missing values are imputed per fold (``missing: impute``).
    dropped : list of str
        Columns of the file left out (``drop:``).
    reading : dict
        How the file was read (separator, encoding, ...).

    Example
    -------
    >>> data = load_dataset("iris_binary")
    >>> data.n_rows, data.n_inputs, data.summary()["positives"]
    (150, 4, 50)
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    numeric: list[str]
    categorical: list[str]
    target: str = "target"
    classes: dict = field(default_factory=lambda: {0: 0, 1: 1})  # original value -> 0/1
    impute: bool = True
    dropped: list = field(default_factory=list)  # columns of the file left out (ids): `drop:`
    reading: dict = field(default_factory=dict)  # how the file was read (nnbin.reading.ReadOptions)

    @property
    def positive_class(self):
        """The target value that is 1, or the list of them (positive_class: [...])."""
        values = [value for value, code in self.classes.items() if code == 1]
        return values[0] if len(values) == 1 else values

    @property
    def n_rows(self) -> int:
        return len(self.y)

    @property
    def n_inputs(self) -> int:
        """Columns after one-hot encoding: the width m of the networks' input X."""
        return len(self.numeric) + sum(len(c) for c in self.categories())

    def summary(self) -> dict:
        """Rows, raw feature count, class balance: for reports and run.json."""
        positives = int(self.y.sum())
        return {"name": self.name, "rows": self.n_rows, "features": self.X.shape[1], "inputs": self.n_inputs,
                "numeric": len(self.numeric), "categorical": len(self.categorical),
                "target": self.target, "positive_class": plain_value(self.positive_class),
                "positives": positives, "negatives": self.n_rows - positives,
                "classes": {str(k): v for k, v in self.classes.items()}}

    def categories(self) -> list[list[str]]:
        """Per categorical column, its categories (text) over the whole table, sorted."""
        return [sorted(self.X[c].dropna().unique()) for c in self.categorical]

    def preprocessor(self):
        """An unfitted scikit-learn transformer: impute, standardize numerics, one-hot categoricals
        (every fold gets the same one-hot columns; categories absent from its training rows are zeros)."""
        from nnbin.preprocess import make_preprocessor

        return make_preprocessor(self.numeric, self.categorical, impute=self.impute,
                                 categories=self.categories())


def category_text(value):
    """The text of a category value, the same whatever type a reader gave it: 1, 1.0, '1.0'
    (a float column written to CSV) and numpy's 1 are '1'; True is 'True'; other text is kept
    as it is ('07' stays '07', '2.5' stays '2.5'); missing is NaN."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value)
    whole = _WHOLE_NUMBER_WITH_ZERO_DECIMALS.fullmatch(text)
    return str(int(whole.group(1))) if whole else text


_WHOLE_NUMBER_WITH_ZERO_DECIMALS = re.compile(r"(-?(?:0|[1-9]\d*))\.0+")  # not '07.0': a code


def categories_as_text(column: pd.Series) -> pd.Series:
    """A categorical column as canonical text (see `category_text`), missing as NaN."""
    return column.map(category_text).astype(object)


# ---------------------------------------------------------------- built-in datasets

def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer(as_frame=True)
    # scikit-learn codes benign as 1; here the positive class is the diagnosis, malignant.
    labels = np.where(raw.target == 0, "malignant", "benign")
    return raw.data, pd.Series(labels, name="diagnosis"), "malignant"


def _iris_binary():
    from sklearn.datasets import load_iris

    raw = load_iris(as_frame=True)
    labels = np.where(raw.target == 2, "virginica", "other")
    return raw.data, pd.Series(labels, name="species"), "virginica"


def _moons(n_samples=500, noise=0.2, seed=0):
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return pd.DataFrame(X, columns=["x1", "x2"]), pd.Series(y, name="moon"), 1


def _circles(n_samples=500, noise=0.1, factor=0.5, seed=0):
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return pd.DataFrame(X, columns=["x1", "x2"]), pd.Series(y, name="inner"), 1


def _parity(n_bits=8, n_samples=2000, seed=0, distinct=False):
    """n-bit parity (XOR for 2 bits): y = 1 when an odd number of bits are set. distinct: each
    of the 2^n_bits patterns at most once, so no validation row's pattern is in training."""
    rng = np.random.default_rng(seed)
    if distinct:
        if n_samples > 2 ** n_bits:
            raise DataError(f"parity: n_samples {n_samples} > 2^n_bits = {2 ** n_bits} distinct patterns; "
                            f"lower n_samples or raise n_bits")
        codes = rng.choice(2 ** n_bits, size=n_samples, replace=False)
        bits = (codes[:, None] >> np.arange(n_bits)[None, :]) & 1
    else:
        bits = rng.integers(0, 2, size=(n_samples, n_bits))
    columns = [f"bit{i + 1}" for i in range(n_bits)]
    return pd.DataFrame(bits, columns=columns), pd.Series(bits.sum(axis=1) % 2, name="odd"), 1


def _synthetic(n_samples=1000, n_features=20, n_informative=5, n_redundant=2, class_sep=1.0,
               weights=None, flip_y=0.01, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=n_informative,
        n_redundant=n_redundant, class_sep=class_sep, weights=weights, flip_y=flip_y,
        random_state=seed,
    )
    columns = [f"x{i + 1}" for i in range(n_features)]
    return pd.DataFrame(X, columns=columns), pd.Series(y, name="y"), 1


BUILTIN_DATASETS = {
    "breast_cancer": _breast_cancer,
    "iris_binary": _iris_binary,
    "moons": _moons,
    "circles": _circles,
    "parity": _parity,
    "synthetic": _synthetic,
}


def load_builtin(name: str, **options) -> Dataset:
    """A built-in dataset by name; options go to its generator (n_samples, noise, seed, ...)."""
    if name not in BUILTIN_DATASETS:
        raise DataError(f"unknown built-in dataset '{name}'{suggest(name, BUILTIN_DATASETS)} "
                        f"(choose one of: {', '.join(BUILTIN_DATASETS)}, or give a file)")
    loader = BUILTIN_DATASETS[name]
    try:
        X, y, positive = loader(**options)
    except TypeError as exc:
        import inspect

        accepted = ", ".join(inspect.signature(loader).parameters) or "none"
        raise DataError(f"dataset '{name}' got an unknown option ({exc}); it accepts: {accepted}") from None
    except ValueError as exc:
        raise DataError(f"dataset '{name}': {exc}") from None
    frame = X.copy()
    frame[y.name] = y.to_numpy()
    return from_frame(frame, target=str(y.name), positive_class=positive, name=name)


# ---------------------------------------------------------------- files

def read_table(path, file_format: str | None = None, text_columns=(), options=None) -> pd.DataFrame:
    """Read CSV, TSV, Parquet or Excel (by extension or `file_format`) with pandas' reading
    options (`nnbin.reading.ReadOptions`); a UTF-8 BOM is stripped.
    text_columns: columns read as text as they are written ('07' stays '07'), blanks missing."""
    from nnbin.reading import read_table as read

    return read(path, _options(path, file_format, options, text_columns))


def _options(path, file_format, options, text_columns=()):
    """The reading options, with the format settled (given, or from the extension)."""
    from dataclasses import replace

    from nnbin.reading import ReadOptions

    options = replace(options or ReadOptions(), text_columns=tuple(text_columns))
    return replace(options, format=file_format or options.kind(Path(path)))


def load_file(path, target: str, positive_class=None, drop=(), categorical=(),
              missing: str = "impute", file_format: str | None = None, options=None) -> Dataset:
    """Load a table from disk with reading `options` (nnbin.reading.ReadOptions, recorded in
    the Dataset); see `from_frame` for the others."""
    from nnbin.reading import data_lines, read_table as read

    options = _options(path, file_format, options, categorical)
    frame = read(path, options)
    try:
        lines = data_lines(path, options, len(frame))
    except (OSError, UnicodeDecodeError, csv.Error):
        lines = None
    if lines is not None:
        row_label = lambda i: f"line {lines[i]}"  # noqa: E731
    elif options.kind(Path(path)) == "excel":
        row_label = lambda i: f"row {i + 1 + options.header} of the sheet"  # noqa: E731
    else:
        row_label = row_number
    dataset = from_frame(frame, target=target, positive_class=positive_class, drop=drop,
                         categorical=categorical, missing=missing, name=Path(path).name, row_label=row_label)
    dataset.reading = options.recorded()
    return dataset


@keyword_only
def load_dataset(name: str | None = None, *, file=None, target: str | None = None, **options) -> Dataset:
    """A built-in dataset by name, or a table read from a file with a binary target.

    Parameters
    ----------
    name : str, optional
        A built-in dataset (`BUILTIN_DATASETS`: breast_cancer, iris_binary, moons, circles,
        parity, synthetic); its generator's options as keyword arguments.
    file : str or path, optional
        A CSV, TSV, Excel or Parquet table instead.
    target : str, optional
        The column to predict (required with `file`).
    **options
        With `file`: positive_class, drop, categorical, missing, format, reading options; with
        `name`: the generator's (n_samples, noise, n_bits, seed, ...).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Neither or both of name and file; a file without target; a table nnbin cannot use (the
        message names the column or row and the fix).

    Example
    -------
    >>> load_dataset("parity", n_bits=4, n_samples=64, seed=0).X.shape
    (64, 4)
    >>> load_dataset(file="data/patients.csv", target="outcome",
    ...              positive_class="disease")   # doctest: +SKIP
    """
    if (name is None) == (file is None):
        raise DataError("give either a built-in dataset name or a file (with target), not both")
    if name is not None:
        return load_builtin(name, **options)
    if not target:
        raise DataError(f"a file dataset needs `target`: the name of the column to predict in {file}")
    return load_file(file, target=target, **options)


# ---------------------------------------------------------------- validation

def from_frame(frame: pd.DataFrame, target: str, positive_class=None, drop=(), categorical=(),
               missing: str = "impute", name: str = "table", row_label=None) -> Dataset:
    """Validate a DataFrame and split it into features and a 0/1 target.

    positive_class: which target value becomes 1. By default the greater of the two values
    (1 for 0/1, True for booleans, the alphabetically later string, e.g. 'yes' over 'no').
    drop: columns to ignore (ids). categorical: columns to one-hot even if they look numeric.
    missing: 'impute' (median / most frequent, fitted per fold) or 'error'.
    row_label: how errors name the i-th row (0-based), e.g. by its line in the file.
    """
    row_label = row_label or row_number
    frame = frame.reset_index(drop=True)
    if missing not in MISSING_POLICIES:
        raise DataError(f"missing must be one of {', '.join(MISSING_POLICIES)}, got {missing!r}")
    frame = frame.rename(columns=lambda c: str(c).strip())
    columns = list(frame.columns)
    if frame.empty or not columns:
        raise DataError(f"{name} has no data rows; it needs a header row and at least one row per class")
    if target not in columns:
        raise DataError(f"target column '{target}' not found in {name}{suggest(target, columns)} "
                        f"(columns: {', '.join(columns)}){_separator_hint(columns, target)}")
    for key, wanted in (("drop", drop), ("categorical", categorical)):
        unknown = [c for c in wanted if c not in columns]
        if unknown:
            raise DataError(f"{key} names column '{unknown[0]}', which is not in {name}"
                            f"{suggest(unknown[0], columns)} (columns: {', '.join(columns)})")
    y, classes = binarize_target(frame[target], positive_class, target, row_label)
    X = frame.drop(columns=[target, *drop])
    if X.shape[1] == 0:
        raise DataError(f"{name} has no feature columns besides the target '{target}'")
    refuse_dates(X)
    numeric, categorical_cols = feature_types(X, set(categorical), row_label)
    warn_uninformative(X, categorical_cols, set(categorical))
    X = X.copy()
    for column in numeric:
        X[column] = pd.to_numeric(X[column], errors="coerce").astype(float)
    for column in categorical_cols:
        X[column] = categories_as_text(X[column])
    check_features(X, numeric, categorical_cols, missing, row_label)
    return Dataset(name=name, X=X, y=y, numeric=numeric, categorical=categorical_cols,
                   target=target, classes=classes, impute=missing == "impute", dropped=list(drop))


def _separator_hint(columns: list[str], target: str) -> str:
    """'; the file looks ';'-separated: set sep: ";"' when the header split on another character
    holds the target."""
    for sep in (";", "\t", "|", ":"):
        if any(target in [part.strip() for part in c.split(sep)] for c in columns):
            shown = "\\t" if sep == "\t" else sep
            return f"; the header looks {shown!r}-separated: set sep: \"{shown}\""
    return ""
