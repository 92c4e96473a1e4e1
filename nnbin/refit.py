"""Refit the chosen configurations on all rows and save them as Keras models whose
preprocessing (imputation, scaling, one-hot) lives inside the model, so that
`keras.models.load_model(path)` alone predicts from raw feature columns."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from nnbin.data import Dataset
from nnbin.model_io import save_model


def refit_trial(trial, rows, test_rows):
    """The refit of a cross-validated trial's configuration: the same settings and seed,
    trained on `rows`, scoring `test_rows` (may be empty)."""
    from nnbin.core.trials import Split, Trial

    split = Split(repeat=-1, fold=-1, train=np.asarray(rows), validation=np.asarray(test_rows, dtype=int))
    return Trial(trial.family, trial.point, trial.hyper, split, trial.seed, f"refit-{trial.id}")


def refit_key(trial) -> tuple:
    """Everything a refit's result depends on: its id, every setting, seed and rows."""
    rows = np.concatenate([trial.split.train, [-1], trial.split.validation]).astype(np.int64)
    return trial.id, json.dumps(trial.hyper.to_dict()), trial.seed, rows.tobytes()


def refit(trials: list, dataset: Dataset, rows, test_rows, engine: str = "fused", trained=None,
          executor=None, progress: bool = False):
    """Train each trial's configuration on `rows` with the experiment's engine, scoring
    `test_rows` (may be empty). Returns the engine's results, each with its keras model,
    and the preprocessor the engine fitted on `rows`. trained: results of refits already
    trained (alongside cross-validation) by refit_key; those are not trained again.
    executor: where to train (nnbin.executors; default: this process). progress: show a
    `refitting` bar."""
    from nnbin.engines import FoldData
    from nnbin.engines.fused import to_keras
    from nnbin.executors import LocalExecutor
    from nnbin.progress import FitBar

    final = [refit_trial(t, rows, test_rows) for t in trials]
    trained = trained or {}
    folds = FoldData(dataset)
    todo = [t for t in final if refit_key(t) not in trained]
    executor = executor or LocalExecutor()
    by_id = {}
    if todo:
        with FitBar(len(todo), progress, desc="refitting") as fits:
            fits.expect(t.id for t in todo)
            for result in executor.train(engine, todo, folds, keep_weights={t.id for t in todo},
                                         progress=fits.listener):
                by_id[result.trial.id] = result
                fits.finished([result.trial.id])
    results = []
    for trial in final:
        done = by_id[trial.id] if trial.id in by_id else trained[refit_key(trial)]
        results.append(replace(done, model=to_keras(trial, done.weights, done.weights[0].shape[0])))
    return results, folds.preprocessor(final[0])


def input_name(column: str, index: int) -> str:
    """A Keras-safe input name: the column's own, unless Keras refuses it ('/') or it could
    clash with the model's internal layers (all named nnbin_...)."""
    return f"nnbin_input_{index}" if "/" in column or column.startswith("nnbin_") else column


def with_preprocessing(preprocessor, network, dataset: Dataset):
    """A functional model: one input per raw column (keyed by column name) -> the fitted
    preprocessing -> network. Categories absent from the refit's rows encode as zeros, as in
    cross-validation."""
    import warnings

    import keras

    columns = preprocessor[0].named_transformers_
    names = {c: input_name(c, i) for i, c in enumerate([*dataset.numeric, *dataset.categorical])}
    inputs, blocks = {}, []
    if dataset.numeric:
        for name in dataset.numeric:
            inputs[name] = keras.Input(shape=(1,), name=names[name], dtype="float32")
        x = keras.layers.Concatenate(name="nnbin_numeric")([inputs[n] for n in dataset.numeric]) \
            if len(dataset.numeric) > 1 else inputs[dataset.numeric[0]]
        steps = columns["numeric"]
        scaler = steps[-1]
        if dataset.impute:  # NaN -> training median, as a frozen diagonal layer
            missing = keras.ops.cast(keras.ops.isnan(x), "float32")
            fill = keras.layers.Dense(len(dataset.numeric), use_bias=False, trainable=False,
                                      name="nnbin_median_fill")
            x = keras.ops.where(keras.ops.isnan(x), 0.0, x) + fill(missing)
            fill.set_weights([np.diag(steps[0].statistics_).astype("float32")])
        blocks.append(keras.layers.Normalization(mean=scaler.mean_, variance=scaler.scale_ ** 2,
                                                 name="nnbin_standardize")(x))
    if dataset.categorical:
        steps = columns["categorical"]
        encoder = steps[-1]
        modes = steps[0].statistics_ if dataset.impute else [None] * len(dataset.categorical)
        for i, (name, vocabulary, seen, mode) in enumerate(zip(
                dataset.categorical, encoder.categories, encoder.seen_categories(), modes)):
            inputs[name] = keras.Input(shape=(1,), name=names[name], dtype="string")
            vocabulary = list(vocabulary)
            lookup = keras.layers.StringLookup(vocabulary=vocabulary + [""], num_oov_indices=1,
                                               output_mode="one_hot", name=f"nnbin_lookup_{i}")
            # rows: unknown, each category, missing ("") -> unknown and categories the refit's
            # rows do not hold: zeros; missing: the training mode
            fold = np.zeros((len(vocabulary) + 2, len(vocabulary)), "float32")
            for j, category in enumerate(vocabulary):
                fold[1 + j, j] = float(category in seen)
            if mode is not None:
                fold[-1, vocabulary.index(mode)] = 1.0
            one_hot = keras.layers.Dense(len(vocabulary), use_bias=False, trainable=False,
                                         name=f"nnbin_one_hot_{i}")
            blocks.append(one_hot(lookup(inputs[name])))
            one_hot.set_weights([fold])
    features = (keras.layers.Concatenate(name="nnbin_features")(blocks) if len(blocks) > 1
                else keras.layers.Identity(name="nnbin_features")(blocks[0]))
    trained = keras.models.clone_model(network)  # uncompiled: an inference model, no optimizer state
    trained.set_weights(network.get_weights())
    with warnings.catch_warnings():  # Keras warns when a dict key differs from its input's name
        warnings.simplefilter("ignore", UserWarning)
        return keras.Model(inputs, trained(features), name="nnbin_model")


def _final_trial(row, trials: list):
    """The configuration of a summary row as a trial to refit: with early stopping, it trains
    for the mean best epoch over the folds (the epoch whose weights were kept) and does not
    stop early itself."""
    return _for_refit(next(t for t in trials if t.label == row.config), row.best_epoch_mean)


def _for_refit(trial, best_epoch_mean=None):
    epochs = max(1, int(round(best_epoch_mean))) if trial.hyper.patience else trial.hyper.epochs
    return replace(trial, hyper=replace(trial.hyper, epochs=epochs, patience=0))


def refits_known_in_advance(config, trials: list, rows, test_rows) -> list:
    """The refits to train alongside cross-validation (no compilation of their own), the fused
    engine only: those cross-validation cannot change (a family with a single configuration and
    no early stopping; which="best": only when the experiment has a single configuration), and,
    where training them all costs less than compiling a refit later
    (fused.worth_training_alongside), every configuration's, among which cross-validation then
    chooses (a configuration with early stopping refits for the epochs it decides: never in
    advance)."""
    from nnbin.engines.fused import worth_training_alongside

    if config.engine != "fused" or config.refit == "none":
        return []
    firsts = {}
    for trial in trials:
        firsts.setdefault(trial.family, {}).setdefault(trial.label, trial)
    choices = [list(c.values()) for c in firsts.values()]  # per model refitted, its candidates
    if config.refit == "best":
        choices = [[t for c in choices for t in c]]
    known = []
    for candidates in choices:
        refits = [refit_trial(_for_refit(t), rows, test_rows) for t in candidates if not t.hyper.patience]
        known += refits if len(candidates) == 1 else worth_training_alongside(trials, refits)
    return known


def _refit_queues(summary, which: str) -> list[list]:
    """Per model to save (each family's, or the overall best), its complete configurations
    best first: a configuration with a failed fold is never refitted."""
    complete = summary[summary["failed"] == 0]
    if which == "best":
        return [list(complete.itertuples())]
    return [list(complete[complete["family"] == f].itertuples()) for f in dict.fromkeys(complete["family"])]


def _healthy(fitted) -> bool:
    return fitted.status == "ok" and all(np.all(np.isfinite(w)) for w in fitted.weights)


def refit_best(result, trials: list, directory: Path, which: str = "families", rows=None,
               test_rows=(), trained=None, executor=None, progress: bool = False, dataset=None) -> list[Path]:
    """Refit each family's best complete configuration (or only the overall best) on the
    cross-validated rows and save it; with test rows, score it on them once and add
    `test_<metric>` columns to result.summary. A refit that diverges is never saved: the
    next best configuration is refitted instead, and result.notes says so. progress: show a
    bar while refits train. dataset: the data to refit on, when not result.dataset (the table
    without importance's probe column)."""
    from nnbin.metrics import score

    dataset, config = dataset or result.dataset, result.config
    rows = np.arange(dataset.n_rows) if rows is None else rows
    queues, chosen, preprocessor = _refit_queues(result.summary, which), [], None
    while any(queues):  # one compiled refit per round: the next candidate of each unresolved model
        queues = [q for q in queues if q]
        heads = [q.pop(0) for q in queues]
        results, preprocessor = refit([_final_trial(r, trials) for r in heads], dataset, rows,
                                      test_rows, config.engine, trained, executor, progress)
        for queue, row, fitted in zip(queues, heads, results):
            if _healthy(fitted):
                chosen.append((row, fitted))
                queue.clear()
            else:
                then = (f"refitting the next best, {queue[0].config}" if queue
                        else "no other complete configuration is left to refit")
                result.notes.append(f"the refit of {row.config} on all rows diverged and was not "
                                    f"saved; {then}")
    saved = []
    for row, fitted in chosen:
        model = with_preprocessing(preprocessor, fitted.model, dataset)
        scores = {c: getattr(row, c) for c in result.summary.columns if c.endswith(("_mean", "_sd"))}
        info = {"family": row.family, "config": row.config, "epochs": fitted.trial.hyper.epochs,
                "hyperparameters": fitted.trial.hyper.to_dict(),
                "threshold": config.threshold, "cv_scores": scores, "rows": len(rows),
                "inputs": list(preprocessor[0].get_feature_names_out()),
                "reference_categories": reference_categories(dataset, rows)}
        if len(test_rows):
            info["test_rows"] = len(test_rows)
            info["test_scores"] = score(dataset.y[test_rows], fitted.y_prob, config.metrics,
                                        config.threshold)
            for metric in config.metrics:
                result.summary.loc[result.summary["config"] == row.config, f"test_{metric}"] = \
                    info["test_scores"][metric]
        saved.append(save_model(directory / row.family, model, dataset, info,
                                trained_categories(preprocessor, dataset)))
    return saved


def reference_categories(dataset: Dataset, rows) -> dict[str, str]:
    """Per categorical column, its most frequent category in the rows the model was trained on
    (ties: the first in sorted order): what `nnbin inspect` compares each category with."""
    found = {}
    for column in dataset.categorical:
        counts = dataset.X[column].iloc[np.asarray(rows)].dropna().astype(str).value_counts()
        if len(counts):
            found[column] = sorted(counts[counts == counts.max()].index)[0]
    return found


def trained_categories(preprocessor, dataset: Dataset) -> list[list[str]]:
    """Per categorical column, the categories of the rows the preprocessor was fitted on."""
    if not dataset.categorical:
        return []
    return preprocessor[0].named_transformers_["categorical"][-1].seen_categories()
