"""Which inputs drive the models: permutation importance of each original input column on every
validation fold with that fold's own trained model (a categorical column's one-hot block
permuted as one column), against a `probe` column of noise trained with the models (the
course's "dud"); each fold's first-layer weights per input (categories in reference coding);
and the run's importance stage (`explain_inputs`).

The permutations are those `sklearn.inspection.permutation_importance(random_state=seed)` draws,
the seed of each fold derived from `importance.seed` and the fold (`fold_seed`), so that one
fold's importances can be checked against scikit-learn on that fold's model."""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import pandas as pd

from nnbin.data import Dataset
from nnbin.errors import ConfigError
from nnbin.metrics import METRICS, higher_is_better

PROBE = "probe"
BEATS_SHARE = 0.8  # an input "beats the probe" when it is more important in at least this share of folds
COLUMNS = ["family", "config", "feature", "repeat", "fold", "permutation", "metric", "importance"]
WEIGHT_COLUMNS = ["family", "config", "feature", "repeat", "fold", "unit", "weight"]


def probe_name(dataset: Dataset) -> str:
    """'probe', or '_probe' (and so on) where the table has a column of that name already."""
    name = PROBE
    while name in dataset.X.columns:
        name = "_" + name
    return name


def add_probe(dataset: Dataset, seed: int) -> Dataset:
    """The dataset with one more numeric input: standard normal noise (seeded), unrelated to y."""
    X = dataset.X.copy()
    name = probe_name(dataset)
    X[name] = np.random.default_rng([seed, 0x9B0BE]).standard_normal(len(X))
    return dataclasses.replace(dataset, X=X, numeric=[*dataset.numeric, name])


def column_groups(dataset: Dataset) -> list[tuple[str, np.ndarray]]:
    """(original column, its columns in the encoded inputs): one per numeric column, a
    categorical column's one-hot block as one group (the preprocessor's column order)."""
    groups = [(name, np.array([i])) for i, name in enumerate(dataset.numeric)]
    start = len(dataset.numeric)
    for name, categories in zip(dataset.categorical, dataset.categories()):
        groups.append((name, np.arange(start, start + len(categories))))
        start += len(categories)
    return groups


def fold_seed(seed: int, repeat: int, fold: int) -> int:
    """The random_state of one fold's permutations."""
    return seed * 10_000 + repeat * 100 + fold


def permutation_orders(n: int, repeats: int, seed: int) -> list[np.ndarray]:
    """The row order of a permuted column in each repeat, as scikit-learn's
    permutation_importance(random_state=seed) draws it (the same for every column: one seed,
    and each repeat shuffles the previous repeat's column again)."""
    state = np.random.RandomState(np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1))
    shuffling, order, orders = np.arange(n), np.arange(n), []
    for _ in range(repeats):
        state.shuffle(shuffling)
        order = order[shuffling]
        orders.append(order)
    return orders


def permutation_importance(predict, X: np.ndarray, y: np.ndarray, groups, metrics, orders,
                           threshold: float = 0.5) -> list[dict]:
    """Rows {feature, permutation, metric, importance}: the drop in each metric (its rise for
    a loss) when a group's columns are permuted, against the unpermuted X; `predict` maps
    (n, m) inputs to probabilities (n,) and is called once on every permuted copy stacked."""
    copies = [X]
    for _, columns in groups:
        for order in orders:
            permuted = X.copy()
            permuted[:, columns] = X[order][:, columns]
            copies.append(permuted)
    probabilities = np.asarray(predict(np.concatenate(copies)), np.float64).reshape(len(copies), len(y))
    rows = []
    for metric in metrics:
        function = METRICS[metric][0]
        sign = 1.0 if higher_is_better(metric) else -1.0
        base = function(y, probabilities[0], threshold)
        for g, (name, _) in enumerate(groups):
            for r in range(len(orders)):
                permuted = function(y, probabilities[1 + g * len(orders) + r], threshold)
                rows.append({"feature": name, "permutation": r, "metric": metric,
                             "importance": sign * (base - permuted)})
    return rows


def keras_predict(model):
    """Probabilities (n,) of a keras model (one eager call, no compiled predict function)."""
    return lambda X: model(X, training=False).numpy().ravel()


def first_layer_weights(weights: list, groups, categories: dict) -> list[dict]:
    """Rows {feature, unit, weight} of a model's first layer (groups: `column_groups`;
    categories: each categorical column's categories): numeric inputs as they are (the inputs
    are standardised per fold), each category of a categorical column against its first
    category (reference coding: 'column=category')."""
    kernel = np.asarray(weights[0], np.float64)  # (m, units)
    rows = []
    for name, columns in groups:
        if name in categories:
            contrasts = [(f"{name}={c}", kernel[columns[i]] - kernel[columns[0]])
                         for i, c in enumerate(categories[name]) if i > 0]
        else:
            contrasts = [(name, kernel[columns[0]])]
        for feature, row in contrasts:
            rows += [{"feature": feature, "unit": u, "weight": float(w)} for u, w in enumerate(row)]
    return rows


def summarize_importance(table: pd.DataFrame, probe: str | None) -> pd.DataFrame:
    """Per configuration, metric and input: mean and sd of the importance over folds and
    permutations, the share of folds in which the input's mean over permutations exceeds the
    probe's on the same fold, and whether that share is at least BEATS_SHARE; most important first."""
    if table.empty:
        return pd.DataFrame(columns=["family", "config", "metric", "feature", "importance_mean",
                                     "importance_std", "above_probe", "beats_probe"])
    keys = ["family", "config", "metric"]
    per_fold = table.groupby([*keys, "feature", "repeat", "fold"], sort=False)["importance"].mean().reset_index()
    if probe is not None and probe in set(table["feature"]):
        reference = per_fold[per_fold["feature"] == probe].rename(columns={"importance": "probe_fold"})
        per_fold = per_fold.merge(reference.drop(columns="feature"), on=[*keys, "repeat", "fold"])
        per_fold["above"] = per_fold["importance"] > per_fold["probe_fold"]
    else:
        per_fold["above"] = np.nan
    summary = (table.groupby([*keys, "feature"], sort=False)["importance"].agg(["mean", "std"])
               .rename(columns={"mean": "importance_mean", "std": "importance_std"}).reset_index())
    above = per_fold.groupby([*keys, "feature"], sort=False)["above"].mean().rename("above_probe").reset_index()
    summary = summary.merge(above, on=[*keys, "feature"])
    summary["beats_probe"] = (summary["above_probe"] >= BEATS_SHARE) & (summary["feature"] != probe)
    order = summary.groupby(keys, sort=False).ngroup()
    return (summary.assign(_group=order).sort_values(["_group", "importance_mean"], ascending=[True, False])
            .drop(columns="_group").reset_index(drop=True))


def _fold_weights(trials: list, runner, executor, engine: str) -> tuple[dict, list[str]]:
    """Each trial's trained weights by id: those the run kept, the others (trials resumed from
    the store) trained again, which gives the same model (the engines are deterministic;
    checked: its validation probabilities must equal the stored ones bit for bit)."""
    weights = {t.id: runner.weights[t.id] for t in trials if t.id in runner.weights}
    missing = [t for t in trials if t.id not in weights]
    notes = []
    if missing:
        ids = {t.id for t in missing}
        for fitted in executor.train(engine, missing, runner.folds, keep_weights=ids):
            stored = runner.done[fitted.trial.id].predictions
            if not np.array_equal(fitted.y_prob.astype(np.float32), stored):
                notes.append(f"importance: {fitted.trial.label} fold {fitted.trial.split.fold} was trained "
                             "again (resumed run) and its probabilities differ from the stored ones by up to "
                             f"{np.nanmax(np.abs(fitted.y_prob - stored)):.1e}: its importances are of that model")
            weights[fitted.trial.id] = fitted.weights
    return weights, notes


class InputImportance(NamedTuple):
    """What `input_importance` gives back."""

    table: pd.DataFrame    # COLUMNS: one row per configuration, fold, input, permutation and metric
    weights: pd.DataFrame  # WEIGHT_COLUMNS: one row per configuration, fold, input and unit
    notes: list            # what the user must know (a fold model trained again that differs)


def chosen_configs(summary: pd.DataFrame, asked) -> list[str]:
    """Each family's best configuration (summary order), then those asked for."""
    return list(dict.fromkeys([*summary.groupby("family", sort=False)["config"].first(), *asked]))


def input_importance(config, dataset: Dataset, summary: pd.DataFrame, trials: list, runner,
                     executor) -> InputImportance:
    """The permutation importances and first-layer weights of the chosen configurations' fold
    models (each family's best, then importance.configs)."""
    from nnbin.builders import build_model

    settings = config.importance
    metrics = list(settings.metrics) or [config.rank_by]
    groups = column_groups(dataset)
    categories = dict(zip(dataset.categorical, dataset.categories()))
    labels = set(chosen_configs(summary, settings.configs))
    scored = [t for t in trials if t.label in labels and runner.done[t.id].row["status"] == "ok"]
    weights, notes = _fold_weights(scored, runner, executor, config.engine)
    notes += [f"importance.configs names '{c}', which the search did not cross-validate: left out"
              for c in settings.configs if c not in {t.label for t in trials}]
    rows, weight_rows = [], []
    for trial in scored:
        model = build_model(trial.hyper.spec(seed=trial.seed), dataset.n_inputs, compile=False)
        model.set_weights(weights[trial.id])
        X = runner.folds.get(trial).X_val
        y = dataset.y[trial.split.validation]
        orders = permutation_orders(len(y), settings.repeats,
                                    fold_seed(settings.seed, trial.split.repeat, trial.split.fold))
        where = {"family": trial.family, "config": trial.label, "repeat": trial.split.repeat,
                 "fold": trial.split.fold}
        rows += [{**where, **row} for row in
                 permutation_importance(keras_predict(model), X, y, groups, metrics, orders, config.threshold)]
        weight_rows += [{**where, **row} for row in first_layer_weights(weights[trial.id], groups, categories)]
    return InputImportance(pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame(weight_rows, columns=WEIGHT_COLUMNS),
                           notes)


def check_asked_configs(asked, trials: list) -> None:
    """importance.configs must name configurations of the experiment (refused before training)."""
    unknown = sorted(set(asked) - {t.label for t in trials})
    if unknown:
        known = list(dict.fromkeys(t.label for t in trials))
        raise ConfigError(f"importance.configs names '{unknown[0]}', which is not a configuration of this "
                          f"experiment; the configurations are: {', '.join(known[:6])}{' ...' if len(known) > 6 else ''}")


def explain_inputs(result, plan, searched, runner, executor) -> None:
    """The run's importance stage: with importance: true, each input's permutation importance
    and first-layer weights on every validation fold of the chosen configurations, and each swept
    setting's importance (nnbin.settings_importance), into the result."""
    config = plan.config
    if not config.importance.enabled:
        return
    if config.cv.nested:
        result.notes.append("importance: not computed with nested cross-validation (its scored models are "
                            "each tuned apart); run with cv.nested: false")
        return
    from nnbin.settings_importance import settings_importance

    inputs = input_importance(config, plan.dataset, result.summary, searched.trials, runner, executor)
    settings = settings_importance(result.summary, config.rank_by, config.importance.seed)
    result.importance, result.input_weights, result.settings_importance = inputs.table, inputs.weights, settings.table
    result.notes += inputs.notes + settings.notes
    # the probe is the last numeric input (nnbin.importance.add_probe)
    result.metadata["importance_probe"] = plan.dataset.numeric[-1] if config.importance.probe else None
