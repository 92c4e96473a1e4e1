"""Score new rows with a saved nnbin model (model.keras + model.json)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.core.arguments import keyword_only
from nnbin.data import categories_as_text, read_table
from nnbin.errors import DataError
from nnbin.model_io import load, read_info


def categorical_columns(info: dict) -> list[str]:
    return [f["name"] for f in info["features"] if f["kind"] == "categorical"]


def read_rows(path, info: dict) -> pd.DataFrame:
    """A data file read as the training file was: with its recorded reading options (a
    headerless `.data` file with `?` for missing scores as it is; the target column may be
    absent) when it has the same format, and categorical columns as text, as written ('07').
    A file of another format, or one with a header row naming the features, is read by its
    own header."""
    from dataclasses import replace

    from nnbin.reading import FORMATS, ReadOptions, first_row

    path = Path(path)
    recorded = dict(info.get("reading") or {})
    options = ReadOptions()
    if recorded and FORMATS.get(path.suffix.lower(), recorded["format"]) == recorded["format"]:
        options = ReadOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})
        names = [f["name"] for f in info["features"]]
        if options.kind(path) in ("csv", "tsv") and (not options.header or options.columns):
            fields = first_row(path, options)
            if set(names) <= set(fields):                       # this file has its own header
                options = replace(options, header=True, columns=())
            elif len(fields) == len(options.columns) - 1 and info["target"] in options.columns:
                options = replace(options, columns=tuple(c for c in options.columns if c != info["target"]))
    return read_table(path, options=options, text_columns=categorical_columns(info))


def _rows(index, limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in list(index)[:limit])
    return shown + (f" and {len(index) - limit} more" if len(index) > limit else "")


def model_inputs(frame: pd.DataFrame, info: dict, ignore_extra: bool = False,
                 notes: list | None = None, keep=()) -> dict:
    """The model's input tensors from raw columns (in any order); errors name columns and rows.
    Missing values are refused when the model was trained with `missing: error`; categories
    never seen in training are counted in `notes` (they encode as zeros)."""
    import tensorflow as tf

    names = [f["name"] for f in info["features"]]
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"the data lacks column(s) {', '.join(repr(m) for m in missing)} that the model "
                        f"needs (it uses: {', '.join(names)})")
    absent = [c for c in keep if c not in frame.columns]
    if absent:
        raise DataError(f"--keep names column(s) {', '.join(repr(a) for a in absent)}, which the data "
                        f"lacks (its columns: {', '.join(map(str, frame.columns))})")
    known = {*names, info["target"], *info.get("dropped", []), *keep}   # carried along unchanged
    extra = [c for c in frame.columns if c not in known]
    if extra and not ignore_extra:
        raise DataError(f"unexpected column(s) {', '.join(repr(e) for e in extra)}: the model does not "
                        "use them; carry them into the output with --keep, or pass --ignore-extra")
    if info.get("missing") == "error":
        blank = frame[names].isna()
        if blank.any().any():
            columns = [c for c in names if blank[c].any()]
            raise DataError(f"missing values in column(s) {', '.join(repr(c) for c in columns)} "
                            f"(rows {_rows(frame.index[blank.any(axis=1)])}); the model was trained "
                            "with missing: error, so fill them first")
    inputs = {}
    for feature in info["features"]:
        column = frame[feature["name"]]
        if feature["kind"] == "numeric":
            values = pd.to_numeric(column, errors="coerce")
            bad = (column.notna() & values.isna()) | np.isinf(values.fillna(0))
            if bad.any():
                raise DataError(f"rows {_rows(column.index[bad])} could not be scored: column "
                                f"'{feature['name']}' must hold finite numbers but holds "
                                f"{column[bad].iloc[0]!r}")
            inputs[feature["name"]] = tf.constant(values.to_numpy(np.float32)[:, None])
        else:
            text = categories_as_text(column)
            unseen = text.notna() & ~text.isin(feature.get("categories", []))
            if unseen.any() and notes is not None:
                values = ", ".join(repr(v) for v in text[unseen].unique()[:5])
                notes.append(f"column '{feature['name']}': {int(unseen.sum())} row(s) hold categories "
                             f"never seen in training ({values}); they encode as all zeros")
            inputs[feature["name"]] = tf.constant(text.fillna("").to_numpy(dtype=str)[:, None])
    return inputs


@keyword_only
def predict_frame(directory, frame: pd.DataFrame, *, ignore_extra: bool = False,
                  notes: list | None = None, keep=()) -> pd.DataFrame:
    """Score rows with a saved model: the rows with `probability` (of the positive class) and
    `prediction` (a class value).

    Parameters
    ----------
    directory : str or path
        A saved model (model.json and its weights: `nnbin train` writes them under models/).
    frame : pandas.DataFrame
        Rows with the model's feature columns, raw as in the training table.
    ignore_extra : bool, default=False
        Allow columns the model does not use (else they are refused by name).
    notes : list, optional
        Collects what the caller should tell the user (unseen categories, unscored rows).
    keep : sequence of str
        Extra columns kept in the output as they are (an id).

    Returns
    -------
    pandas.DataFrame
        The rows, plus `probability` and `prediction` (empty where no finite probability).

    Raises
    ------
    DataError
        Missing or unknown columns, values the model cannot read (the message names them).

    Example
    -------
    >>> scored = predict_frame("results/compare_baselines/models/deep", rows)   # doctest: +SKIP
    >>> scored[["probability", "prediction"]].head()                           # doctest: +SKIP
    """
    notes = [] if notes is None else notes
    model, info = load(directory)
    inputs = model_inputs(frame, info, ignore_extra, notes, keep)
    probability = np.asarray(model(inputs, training=False)).ravel()
    result = frame.copy()
    result["probability"] = probability
    labels = prediction_labels(info["classes"], info.get("target", "target"))
    result["prediction"] = np.where(probability >= info.get("threshold", 0.5), labels[1], labels[0])
    unscored = ~np.isfinite(probability)
    if unscored.any():  # never a class for a probability that is not a number
        result.loc[unscored, "prediction"] = None
        notes.append(f"rows {_rows(frame.index[unscored])}: the model gave no finite probability; "
                     "their prediction is left empty")
    return result


def prediction_labels(classes: dict, target: str = "target") -> dict:
    """{0: label, 1: label}: the target's value of each class; where several target values make
    one class (positive_class: [...]), the values it stands for, e.g. 'num in [1, 2, 3, 4]'
    (never a bare 0/1 that would read as a value of the target)."""
    values = {code: [value for value, c in classes.items() if c == code] for code in (0, 1)}
    if all(len(v) == 1 for v in values.values()):
        return {code: v[0] for code, v in values.items()}
    return {code: f"{target} in [{', '.join(map(str, v))}]" for code, v in values.items()}


@keyword_only
def predict_file(directory, path, *, ignore_extra: bool = False, notes: list | None = None,
                 keep=()) -> pd.DataFrame:
    """Score a CSV / TSV / Parquet file, read as the model's training data was.

    Parameters
    ----------
    directory : str or path
        A saved model.
    path : str or path
        The table to score.
    ignore_extra, notes, keep
        As in `predict_frame`.

    Returns
    -------
    pandas.DataFrame
        As `predict_frame`.

    Example
    -------
    >>> predict_file("results/patients_csv/models/shallow", "data/patients.csv",
    ...              ignore_extra=True)   # doctest: +SKIP
    """
    return predict_frame(directory, read_rows(path, read_info(directory)),
                         ignore_extra=ignore_extra, notes=notes, keep=keep)
