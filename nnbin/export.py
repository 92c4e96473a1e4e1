"""Refit the chosen configurations on all rows and save them as Keras models whose
preprocessing (imputation, scaling, one-hot) lives inside the model, so that
`keras.models.load_model(path)` alone predicts from raw feature columns."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nnbin.data import Dataset

MODEL_FILE, INFO_FILE = "model.keras", "model.json"


def refit(trials: list, dataset: Dataset, rows, test_rows, engine: str = "fused"):
    """Train each trial's configuration on `rows` with the experiment's engine, scoring
    `test_rows` (may be empty). Returns the engine's results, each with its keras model,
    and the preprocessor the engine fitted on `rows`."""
    from nnbin.cv import Split, Trial
    from nnbin.engines import ENGINES, FoldCache

    split = Split(repeat=-1, fold=-1, train=np.asarray(rows), validation=np.asarray(test_rows, dtype=int))
    final = [Trial(t.family, t.point, t.hyper, split, t.seed, f"refit-{t.id}") for t in trials]
    folds = FoldCache(dataset)
    by_id = {r.trial.id: r for r in ENGINES[engine](final, folds, keep_models=True)}
    return [by_id[t.id] for t in final], folds.preprocessor(final[0])


def with_preprocessing(preprocessor, network, dataset: Dataset):
    """A functional model: one input per raw column -> the fitted preprocessing -> network."""
    import keras

    columns = preprocessor[0].named_transformers_
    inputs, blocks = {}, []
    if dataset.numeric:
        for name in dataset.numeric:
            inputs[name] = keras.Input(shape=(1,), name=name, dtype="float32")
        x = keras.layers.Concatenate(name="numeric")([inputs[n] for n in dataset.numeric]) \
            if len(dataset.numeric) > 1 else inputs[dataset.numeric[0]]
        steps = columns["numeric"]
        scaler = steps[-1]
        if dataset.impute:  # NaN -> training median, as a frozen diagonal layer
            missing = keras.ops.cast(keras.ops.isnan(x), "float32")
            fill = keras.layers.Dense(len(dataset.numeric), use_bias=False, trainable=False,
                                      name="median_fill")
            x = keras.ops.where(keras.ops.isnan(x), 0.0, x) + fill(missing)
            fill.set_weights([np.diag(steps[0].statistics_).astype("float32")])
        blocks.append(keras.layers.Normalization(mean=scaler.mean_, variance=scaler.scale_ ** 2,
                                                 name="standardize")(x))
    if dataset.categorical:
        steps = columns["categorical"]
        encoder = steps[-1]
        modes = steps[0].statistics_ if dataset.impute else [None] * len(dataset.categorical)
        for name, categories, mode in zip(dataset.categorical, encoder.categories_, modes):
            inputs[name] = keras.Input(shape=(1,), name=name, dtype="string")
            vocabulary = [str(c) for c in categories]
            lookup = keras.layers.StringLookup(vocabulary=vocabulary + [""], num_oov_indices=1,
                                               output_mode="one_hot", name=f"lookup_{name}")
            # columns: unknown, each category, missing ("") -> unknown: zeros; missing: the mode
            fold = np.zeros((len(vocabulary) + 2, len(vocabulary)), "float32")
            fold[1:-1] = np.eye(len(vocabulary))
            if mode is not None:
                fold[-1, vocabulary.index(str(mode))] = 1.0
            one_hot = keras.layers.Dense(len(vocabulary), use_bias=False, trainable=False,
                                         name=f"one_hot_{name}")
            blocks.append(one_hot(lookup(inputs[name])))
            one_hot.set_weights([fold])
    features = (keras.layers.Concatenate(name="features")(blocks) if len(blocks) > 1
                else keras.layers.Identity(name="features")(blocks[0]))
    trained = keras.models.clone_model(network)  # uncompiled: an inference model, no optimizer state
    trained.set_weights(network.get_weights())
    return keras.Model(inputs, trained(features), name="nnbin_model")


def save_model(directory: Path, model, dataset: Dataset, info: dict) -> Path:
    """model.keras beside model.json (features, target mapping, configuration, CV scores)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    info = {**info, "features": [{"name": n, "kind": "numeric"} for n in dataset.numeric]
            + [{"name": n, "kind": "categorical"} for n in dataset.categorical],
            "target": dataset.target, "positive_class": dataset.positive_class,
            "classes": {str(k): v for k, v in dataset.classes.items()},
            "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (directory / INFO_FILE).write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return directory


def refit_best(result, trials: list, directory: Path, which: str = "families", rows=None,
               test_rows=()) -> list[Path]:
    """Refit each family's best configuration (or only the overall best) on the
    cross-validated rows and save it; with test rows, score it on them once and add
    `test_<metric>` columns to result.summary. With early stopping, the refit trains for
    the mean stopped epoch over the folds (and does not stop early itself)."""
    from nnbin.metrics import score

    dataset, config = result.dataset, result.config
    rows = np.arange(dataset.n_rows) if rows is None else rows
    ranked = result.summary.drop_duplicates("family")
    chosen = list((result.summary.head(1) if which == "best" else ranked).itertuples())
    final = []
    for row in chosen:
        trial = next(t for t in trials if t.label == row.config)
        epochs = max(1, int(round(row.epochs_mean))) if trial.hyper.patience else trial.hyper.epochs
        final.append(replace(trial, hyper=trial.hyper.model_copy(update={"epochs": epochs, "patience": 0})))
    results, preprocessor = refit(final, dataset, rows, test_rows, config.engine)
    saved = []
    for row, fitted in zip(chosen, results):
        model = with_preprocessing(preprocessor, fitted.model, dataset)
        scores = {c: getattr(row, c) for c in result.summary.columns if c.endswith(("_mean", "_sd"))}
        info = {"family": row.family, "config": row.config, "epochs": fitted.trial.hyper.epochs,
                "hyperparameters": fitted.trial.hyper.model_dump(mode="json"),
                "threshold": config.threshold, "cv_scores": scores, "rows": len(rows),
                "inputs": list(preprocessor[0].get_feature_names_out())}
        if len(test_rows):
            info["test_rows"] = len(test_rows)
            info["test_scores"] = score(dataset.y[test_rows], fitted.y_prob, config.metrics,
                                        config.threshold)
            for metric in config.metrics:
                result.summary.loc[result.summary["config"] == row.config, f"test_{metric}"] = \
                    info["test_scores"][metric]
        saved.append(save_model(directory / row.family, model, dataset, info))
    return saved
