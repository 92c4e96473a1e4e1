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

from nnbin.errors import DataError
from nnbin.core.settings import suggest

MISSING_POLICIES = ("impute", "error")


@dataclass
class Dataset:
    """Feature table X (raw columns), target y in {0, 1}, and how y was mapped."""

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
                "target": self.target, "positive_class": _plain(self.positive_class),
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


def _plain(value):
    """numpy scalars -> Python scalars, for JSON."""
    return value.item() if hasattr(value, "item") else value


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


def load_dataset(name: str | None = None, file=None, target: str | None = None, **options) -> Dataset:
    """`load_dataset('breast_cancer')` or `load_dataset(file='x.csv', target='y', ...)`."""
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
    _refuse_dates(X)
    numeric, categorical_cols = _feature_types(X, set(categorical), row_label)
    _warn_uninformative(X, categorical_cols, set(categorical))
    X = X.copy()
    for column in numeric:
        X[column] = pd.to_numeric(X[column], errors="coerce").astype(float)
    for column in categorical_cols:
        X[column] = categories_as_text(X[column])
    _check_features(X, numeric, categorical_cols, missing, row_label)
    return Dataset(name=name, X=X, y=y, numeric=numeric, categorical=categorical_cols,
                   target=target, classes=classes, impute=missing == "impute", dropped=list(drop))


def row_number(i: int) -> str:
    """How an error names the i-th (0-based) row of a table that is not a text file."""
    return f"row {i}"


def _separator_hint(columns: list[str], target: str) -> str:
    """'; the file looks ';'-separated: set sep: ";"' when the header split on another character
    holds the target."""
    for sep in (";", "\t", "|", ":"):
        if any(target in [part.strip() for part in c.split(sep)] for c in columns):
            shown = "\\t" if sep == "\t" else sep
            return f"; the header looks {shown!r}-separated: set sep: \"{shown}\""
    return ""


def binarize_target(column: pd.Series, positive_class, target: str, row_label=None):
    """Map the target to 0/1; return (y, {original value: code}).

    positive_class: the value that becomes 1 (a two-valued target; default the greater), or a
    list of values that become 1, every other value 0 (any number of values)."""
    n_missing = int(column.isna().sum())
    if n_missing:
        rows = ", ".join((row_label or row_number)(i) for i in np.flatnonzero(column.isna().to_numpy())[:5])
        raise DataError(f"target column '{target}' has {n_missing} missing value(s) ({rows}); "
                        "drop or fill those rows (or add their marker to na_values and drop them)")
    values = sorted(pd.unique(column), key=lambda v: (str(type(v)), v))
    listed = ", ".join(repr(_plain(v)) for v in values[:10]) + (" ..." if len(values) > 10 else "")
    if isinstance(positive_class, (list, tuple)):
        positive = [v for v in values if any(v in _matching(values, p) for p in positive_class)]
        unknown = [p for p in positive_class if not _matching(values, p)]
        if unknown:
            raise DataError(f"positive_class lists {unknown[0]!r}, which is not a value of target column "
                            f"'{target}' (its values: {listed})")
        if len(positive) == len(values):
            raise DataError(f"positive_class lists every value of target column '{target}' ({listed}); "
                            "leave at least one value for the negative class")
    else:
        if len(values) > 2 and positive_class is not None:
            raise DataError(f"positive_class {positive_class!r} is one value, but target column '{target}' has "
                            f"{len(values)} values ({listed}); list the values that are the positive class, "
                            f"e.g. positive_class: [{_plain(positive_class)}] (those become 1, every other value 0)")
        if len(values) != 2:
            how = ("a binary target needs two classes; check that you chose the right column"
                   if len(values) < 2 else
                   f"say which values are the positive class with a list, e.g. positive_class: "
                   f"[{', '.join(str(_plain(v)) for v in values[1:])}] (those become 1, every other value 0)")
            raise DataError(f"target column '{target}' has {len(values)} distinct value(s) ({listed}); {how}")
        positive = [values[1]] if positive_class is None else _matching(values, positive_class)
        if not positive:
            raise DataError(f"positive_class {positive_class!r} is not a value of target column "
                            f"'{target}' (its values: {listed})")
        positive = positive[:1]
    classes = {_plain(v): int(any(v == p for p in positive)) for v in values}
    return column.isin(positive).to_numpy().astype(np.int64), classes


def _matching(values: list, wanted) -> list:
    """The target values `wanted` names: equal as a value or as text (config values are YAML:
    `1` names '1'); else the one value equal to it ignoring case (`yes` names 'Yes')."""
    exact = [v for v in values if v == wanted or str(_plain(v)) == str(wanted)]
    if exact or not isinstance(wanted, str):
        return exact
    folded = [v for v in values if str(_plain(v)).casefold() == wanted.casefold()]
    return folded if len(folded) == 1 else []


def _looks_numeric(series: pd.Series) -> tuple[bool, pd.Series]:
    parsed = pd.to_numeric(series, errors="coerce")
    present = series.notna()
    return bool(parsed[present].notna().mean() >= 0.8) if present.any() else False, parsed


def _feature_types(X: pd.DataFrame, forced_categorical: set, row_label) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns; text in a mostly-numeric column is an error."""
    numeric, categorical = [], []
    for column in X.columns:
        series = X[column]
        if column in forced_categorical:
            categorical.append(column)
        elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            numeric.append(column)
        elif series.isna().all():
            numeric.append(column)  # reported as all-missing below
        else:
            mostly_numeric, parsed = _looks_numeric(series)
            bad = series[series.notna() & parsed.isna()]
            if mostly_numeric and bad.empty:  # numbers stored as text or decimals: numeric
                numeric.append(column)
            elif mostly_numeric:
                marker = bad.iloc[0]
                raise DataError(
                    f"column '{column}' is numeric but {row_label(X.index.get_loc(bad.index[0]))} holds {marker!r} "
                    f"({len(bad)} such value(s)); if it marks a missing value, add na_values: "
                    f"[{marker!r}]; else fix or blank them, or list '{column}' under categorical"
                )
            else:
                categorical.append(column)
    return numeric, categorical


_DATE_OR_TIME = re.compile(r"\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}:\d{2})")
MANY_CATEGORIES = 50  # above this, one-hot encoding is warned about


def _refuse_dates(X: pd.DataFrame) -> None:
    """Dates and times are not numbers nor categories: refused, with the fix."""
    for column in X.columns:
        series = X[column]
        if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
            example = series.dropna().iloc[0] if series.notna().any() else ""
        elif pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            present = series.dropna().astype(str)
            if present.empty or present.map(lambda v: bool(_DATE_OR_TIME.match(v))).mean() < 0.8:
                continue
            example = present.iloc[0]
        else:
            continue
        raise DataError(f"column '{column}' holds dates or times (e.g. {str(example)!r}); nnbin needs numbers "
                        f"or categories: convert it in your table (e.g. days since a reference date, "
                        f"or the year), or leave it out with drop: [{column}]")


def _warn_uninformative(X: pd.DataFrame, categorical: list[str], forced: set) -> None:
    """Columns that are likely mistakes: constant, an id left in, a category per row or so."""
    import warnings

    from nnbin.errors import NnbinWarning

    for column in X.columns:
        distinct = X[column].nunique(dropna=True)
        if distinct == 1:
            warnings.warn(f"column '{column}' has the same value in every row: it carries no "
                          f"information; consider drop: [{column}]", NnbinWarning, stacklevel=3)
        elif column in categorical and column not in forced and len(X) >= 20 \
                and distinct >= 0.9 * X[column].notna().sum():
            warnings.warn(f"column '{column}' holds a different text in almost every row ({distinct} "
                          f"values in {len(X)} rows): an id? leave it out with drop: [{column}]",
                          NnbinWarning, stacklevel=3)
        elif column in categorical and distinct > MANY_CATEGORIES:
            warnings.warn(f"column '{column}' has {distinct} categories: one-hot encoding gives it "
                          f"{distinct} inputs, most seen in few rows; group rare categories in your "
                          f"table, or drop it", NnbinWarning, stacklevel=3)


def _check_features(X: pd.DataFrame, numeric, categorical, missing: str, row_label):
    for column in X.columns:
        if X[column].isna().all():
            raise DataError(f"feature column '{column}' is entirely missing; drop it (drop: [{column}])")
    for column in numeric:
        values = X[column].to_numpy()
        infinite = np.isinf(values)
        if infinite.any():
            row = row_label(int(np.flatnonzero(infinite)[0]))
            raise DataError(f"column '{column}' holds a non-finite number ({values[infinite][0]}) "
                            f"at {row}; replace it with a finite value or leave it blank")
    if missing == "error":
        counts = X.isna().sum()
        counts = counts[counts > 0]
        if len(counts):
            listed = ", ".join(f"'{c}' ({n})" for c, n in counts.items())
            raise DataError(f"missing values in {listed}; fill them, or set missing: impute")
