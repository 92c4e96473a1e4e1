"""Score new rows with a saved nnbin model (model.keras + model.json)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.errors import DataError
from nnbin.export import INFO_FILE, MODEL_FILE


def load(directory) -> tuple:
    """(keras model, info) from a directory written by the refit step."""
    directory = Path(directory)
    if not (directory / MODEL_FILE).is_file() or not (directory / INFO_FILE).is_file():
        raise DataError(f"{directory} holds no saved model ({MODEL_FILE} and {INFO_FILE}); give a "
                        "directory under results/<name>/models/")
    import keras

    return keras.models.load_model(directory / MODEL_FILE), json.loads((directory / INFO_FILE).read_text())


def _rows(index, limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in list(index)[:limit])
    return shown + (f" and {len(index) - limit} more" if len(index) > limit else "")


def model_inputs(frame: pd.DataFrame, info: dict, ignore_extra: bool = False) -> dict:
    """The model's input tensors from raw columns (in any order); errors name columns and rows."""
    import tensorflow as tf

    names = [f["name"] for f in info["features"]]
    frame = frame.rename(columns=lambda c: str(c).strip())
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"the data lacks column(s) {', '.join(repr(m) for m in missing)} that the model "
                        f"needs (it uses: {', '.join(names)})")
    extra = [c for c in frame.columns if c not in names and c != info["target"]]
    if extra and not ignore_extra:
        raise DataError(f"unexpected column(s) {', '.join(repr(e) for e in extra)}: the model does not "
                        "use them; drop them or pass --ignore-extra")
    inputs = {}
    for feature in info["features"]:
        column = frame[feature["name"]]
        if feature["kind"] == "numeric":
            values = pd.to_numeric(column, errors="coerce")
            bad = column.notna() & values.isna()
            if bad.any():
                raise DataError(f"rows {_rows(column.index[bad])} could not be scored: column "
                                f"'{feature['name']}' must be numeric but holds {column[bad].iloc[0]!r}")
            inputs[feature["name"]] = tf.constant(values.to_numpy(np.float32)[:, None])
        else:
            text = column.map(lambda v: "" if pd.isna(v) else str(v))
            inputs[feature["name"]] = tf.constant(text.to_numpy(dtype=str)[:, None])
    return inputs


def predict_frame(directory, frame: pd.DataFrame, ignore_extra: bool = False) -> pd.DataFrame:
    """The rows with `probability` (of the positive class) and `prediction` (a class value)."""
    model, info = load(directory)
    probability = np.asarray(model(model_inputs(frame, info, ignore_extra), training=False)).ravel()
    classes = {code: value for value, code in info["classes"].items()}
    result = frame.copy()
    result["probability"] = probability
    result["prediction"] = np.where(probability >= info.get("threshold", 0.5), classes[1], classes[0])
    return result
