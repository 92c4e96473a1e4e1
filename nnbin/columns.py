"""What each column of a table is: the target mapped to 0/1 (`binarize_target`), each feature
numeric or categorical, refused (dates, text in a numeric column, non-finite numbers, missing
values under `missing: error`) or warned about (constant, an identifier, too many categories).
Used by nnbin.data when a table is read."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from nnbin.errors import DataError


def _looks_numeric(series: pd.Series) -> tuple[bool, pd.Series]:
    parsed = pd.to_numeric(series, errors="coerce")
    present = series.notna()
    return bool(parsed[present].notna().mean() >= 0.8) if present.any() else False, parsed


def plain_value(value):
    """numpy scalars -> Python scalars, for JSON."""
    return value.item() if hasattr(value, "item") else value


def row_number(i: int) -> str:
    """How an error names the i-th (0-based) row of a table that is not a text file."""
    return f"row {i}"


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
    listed = ", ".join(repr(plain_value(v)) for v in values[:10]) + (" ..." if len(values) > 10 else "")
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
                            f"e.g. positive_class: [{plain_value(positive_class)}] (those become 1, every other value 0)")
        if len(values) != 2:
            how = ("a binary target needs two classes; check that you chose the right column"
                   if len(values) < 2 else
                   f"say which values are the positive class with a list, e.g. positive_class: "
                   f"[{', '.join(str(plain_value(v)) for v in values[1:])}] (those become 1, every other value 0)")
            raise DataError(f"target column '{target}' has {len(values)} distinct value(s) ({listed}); {how}")
        positive = [values[1]] if positive_class is None else _matching(values, positive_class)
        if not positive:
            raise DataError(f"positive_class {positive_class!r} is not a value of target column "
                            f"'{target}' (its values: {listed})")
        positive = positive[:1]
    classes = {plain_value(v): int(any(v == p for p in positive)) for v in values}
    return column.isin(positive).to_numpy().astype(np.int64), classes


def _matching(values: list, wanted) -> list:
    """The target values `wanted` names: equal as a value or as text (config values are YAML:
    `1` names '1'); else the one value equal to it ignoring case (`yes` names 'Yes')."""
    exact = [v for v in values if v == wanted or str(plain_value(v)) == str(wanted)]
    if exact or not isinstance(wanted, str):
        return exact
    folded = [v for v in values if str(plain_value(v)).casefold() == wanted.casefold()]
    return folded if len(folded) == 1 else []


def feature_types(X: pd.DataFrame, forced_categorical: set, row_label) -> tuple[list[str], list[str]]:
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


def refuse_dates(X: pd.DataFrame) -> None:
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


def warn_uninformative(X: pd.DataFrame, categorical: list[str], forced: set) -> None:
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


def check_features(X: pd.DataFrame, numeric, categorical, missing: str, row_label):
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
