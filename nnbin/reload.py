"""A finished run read back from its output directory (tables, config, run.json, and the
validation probabilities in the results store), for `nnbin report | summary | compare DIR`.
Read only: nothing in the directory is changed except what a command writes on purpose."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from nnbin.errors import DataError, NnbinError

NEEDED = ("run.json", "config.yaml", "trials.csv", "summary.csv")


def load_results(directory) -> "ExperimentResult":  # noqa: F821 (nnbin.experiment)
    """A finished run read back from its directory.

    Its comparisons are recomputed from the trials. Predictions (for the ROC and calibration
    plots) come from predictions.csv/.parquet when the run wrote them, else from the results
    store with the labels of the data set; when the data cannot be read, the result holds none
    and `notes` says so.

    Parameters
    ----------
    directory : str or path
        A run's output_dir (it holds run.json).

    Returns
    -------
    ExperimentResult
        With ``dataset`` None (the table is not reread).

    Raises
    ------
    NnbinError
        When the directory holds no finished run.

    Example
    -------
    >>> result = load_results("results/compare_baselines")   # doctest: +SKIP
    >>> result.summary.head()                                # doctest: +SKIP
    """
    from nnbin.compare import compare_families
    from nnbin.config import config_from_yaml
    from nnbin.experiment import ExperimentResult

    directory = Path(directory)
    missing = [name for name in NEEDED if not (directory / name).is_file()]
    if missing:
        raise NnbinError(f"'{directory}' holds no finished nnbin run (no {', '.join(missing)}); give the "
                         "output directory of `nnbin train` (results/<name>, or its --output-dir)")
    config = config_from_yaml((directory / "config.yaml").read_text(encoding="utf-8"))
    metadata = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    trials = pd.read_csv(directory / "trials.csv")
    summary = pd.read_csv(directory / "summary.csv")
    history = (pd.read_csv(directory / "history.csv") if (directory / "history.csv").is_file()
               else pd.DataFrame(columns=["config", "metric", "epoch", "value", "fold", "repeat"]))
    notes = []
    predictions = _predictions(directory, config, trials, notes)
    comparisons = compare_families(trials, summary, config.rank_by)
    result = ExperimentResult(config, None, trials, summary, history, predictions, comparisons,
                              metadata, directory)
    result.notes.extend(notes)
    if (directory / "importance.csv").is_file():  # importance: true
        result.importance = pd.read_csv(directory / "importance.csv")
        result.input_weights = pd.read_csv(directory / "weights.csv")
        if (directory / "settings_importance.csv").is_file():
            result.settings_importance = pd.read_csv(directory / "settings_importance.csv")
    return result


def _predictions(directory: Path, config, trials: pd.DataFrame, notes: list) -> pd.DataFrame:
    for name, read in (("predictions.parquet", pd.read_parquet), ("predictions.csv", pd.read_csv)):
        if (directory / name).is_file():
            return read(directory / name)
    try:
        return _from_store(directory, config, trials)
    except (DataError, NnbinError, OSError, ValueError) as exc:
        notes.append(f"the ROC and calibration plots need every validation row's label, from the data "
                     f"set, which could not be read ({exc}); they are drawn empty")
        return pd.DataFrame({"config": pd.Series(dtype=str), "repeat": pd.Series(dtype=int),
                             "fold": pd.Series(dtype=int), "y_true": pd.Series(dtype=int),
                             "y_prob": pd.Series(dtype=float)})


def _from_store(directory: Path, config, trials: pd.DataFrame) -> pd.DataFrame:
    """Each trial's stored probabilities beside the labels of its validation rows (the split
    plan rebuilt from the config and the data, as the run made it)."""
    from nnbin.cv import split_plan
    from nnbin.store import stored_probabilities

    dataset = config.dataset.load()
    validation = {(s.repeat, s.fold): s.validation for s in split_plan(config.cv, dataset.y)[2]}
    stored = stored_probabilities(directory)
    frames = []
    for row in trials.itertuples():
        rows = validation[(row.repeat, row.fold)]
        probabilities = stored.get(row.trial_id)
        if probabilities is None or len(probabilities) != len(rows):
            continue
        frames.append(pd.DataFrame({"config": row.config, "family": row.family, "repeat": row.repeat,
                                    "fold": row.fold, "row": rows, "y_true": dataset.y[rows],
                                    "y_prob": probabilities}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["config", "family", "repeat", "fold", "row", "y_true", "y_prob"])
