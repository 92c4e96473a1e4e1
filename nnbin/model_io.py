"""A saved model on disk, written and read here only: model.keras (the network with its
preprocessing layers) beside model.json (what the model needs to read new rows: features and
their categories, the missing-value rule, the target mapping; and where it came from: its
configuration and scores). Both the refit step (writing) and predict/inspect (reading) use
this module; it imports nothing of training."""
from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from nnbin.errors import DataError

if TYPE_CHECKING:
    from nnbin.data import Dataset

MODEL_FILE, INFO_FILE = "model.keras", "model.json"


def save_model(directory: Path, model, dataset: Dataset, info: dict,
               categories: list[list[str]] = ()) -> Path:
    """model.keras beside model.json (features and, per categorical column, the categories the
    model was trained on; the missing-value rule, target mapping, configuration, CV scores)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    info = {**info, "features": [{"name": n, "kind": "numeric"} for n in dataset.numeric]
            + [{"name": n, "kind": "categorical", "categories": seen}
               for n, seen in zip(dataset.categorical, categories)],
            "missing": "impute" if dataset.impute else "error", "dropped": dataset.dropped,
            "reading": dataset.reading,
            "target": dataset.target, "positive_class": dataset.positive_class,
            "classes": {str(k): v for k, v in dataset.classes.items()},
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (directory / INFO_FILE).write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return directory


def read_info(directory) -> dict:
    """model.json of a directory written by the refit step (without loading the model)."""
    directory = Path(directory)
    if not (directory / MODEL_FILE).is_file() or not (directory / INFO_FILE).is_file():
        raise DataError(f"{directory} holds no saved model ({MODEL_FILE} and {INFO_FILE}); give a "
                        "directory under results/<name>/models/")
    return json.loads((directory / INFO_FILE).read_text())


def load(directory) -> tuple:
    """(keras model, info) from a directory written by the refit step."""
    info = read_info(directory)
    from nnbin.device import quiet_native_stderr

    with quiet_native_stderr():  # TensorFlow's C++ start-up logs
        import keras

    with warnings.catch_warnings():  # inputs keyed by column name, not by Keras-safe input name
        warnings.simplefilter("ignore", UserWarning)
        model = keras.models.load_model(Path(directory) / MODEL_FILE)
    return model, info
