"""The plain engine: one keras `fit` per trial, as the course does it."""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

from nnbin.device import import_tensorflow

import_tensorflow()
import keras
import numpy as np
from nnbin.builders import build_model, initial_weights, layer_seed
from nnbin.core.specs import ModelSpec
from nnbin.core.trials import Trial, TrainedTrial
from nnbin.engines.folds import FoldData


STEPS_PER_EXECUTION = 16  # mini-batches per graph call: identical updates, ~20% less overhead


def balanced_class_weight(y: np.ndarray) -> dict[int, float]:
    """n / (2 · n_c) per class: scikit-learn's 'balanced' weights."""
    from sklearn.utils.class_weight import compute_class_weight

    weights = compute_class_weight("balanced", classes=np.array([0, 1]), y=np.asarray(y, dtype=int))
    return {0: float(weights[0]), 1: float(weights[1])}


class ModelCache:
    """Compiled models reused across trials of the same architecture and settings.

    A fresh model and optimizer per trial leaks 2-5 MB each in TensorFlow 2.21 / Keras 3
    (their traced functions are never freed, clear_session or not) and costs a retrace.
    Resetting the weights, the optimizer state and the dropout seeds gives exactly the
    start a fresh `build_model` would give.
    """

    def __init__(self, limit: int = 16):
        self.limit = limit
        self._models: OrderedDict = OrderedDict()

    def model(self, spec: ModelSpec, n_features: int,
              steps_per_execution: int = STEPS_PER_EXECUTION) -> keras.Sequential:
        key = (replace(spec, seed=None, learning_rate=1.0), n_features, steps_per_execution)
        model = self._models.pop(key, None)
        if model is None:
            model = build_model(spec, n_features, steps_per_execution=steps_per_execution)
        self._models[key] = model
        while len(self._models) > self.limit:
            self._models.popitem(last=False)
        self._reset(model, spec, n_features)
        return model

    @staticmethod
    def _reset(model: keras.Sequential, spec: ModelSpec, n_features: int) -> None:
        model.set_weights(initial_weights(spec, n_features))
        for variable in model.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        model.optimizer.learning_rate = spec.learning_rate
        dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
        for i, layer in enumerate(dropouts, start=1):
            seed = layer_seed(spec, 100 + i)
            if seed is not None:
                layer.seed_generator.state.assign(np.array([seed, 0], dtype="uint32"))


class ValidationCurve(keras.callbacks.Callback):
    """The scored fold's probabilities after every epoch, for the validation curves only."""

    def __init__(self, X_val: np.ndarray):
        super().__init__()
        self.X_val, self.epochs, self.probabilities = X_val, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch + 1)
        self.probabilities.append(np.asarray(self.model(self.X_val, training=False), np.float32).ravel())

    def curve(self) -> tuple:
        return self.epochs, np.array(self.probabilities, np.float32).reshape(len(self.epochs), len(self.X_val))


class EpochProgress(keras.callbacks.Callback):
    """Reports a trial's share of its epochs done after each epoch (engines' `progress`)."""

    def __init__(self, trial: Trial, progress):
        super().__init__()
        self.trial_id, self.epochs, self.progress = trial.id, trial.hyper.epochs, progress

    def on_epoch_end(self, epoch, logs=None):
        self.progress({self.trial_id: (epoch + 1) / self.epochs})


@dataclass
class KerasFit:
    """A fitted Keras model, its per-epoch history and the 1-based epoch whose weights it holds."""

    model: keras.Sequential
    history: dict[str, list[float]]
    best_epoch: int

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))

    @property
    def diverged(self) -> bool:
        """No epoch ran, or a loss was NaN or infinite."""
        return not self.epochs_run or not all(math.isfinite(v) for v in self.history["loss"])


def fit_model(spec: ModelSpec, n_features: int, data: dict, *, epochs: int, patience: int = 0,
              stop: tuple | None = None, class_weight: dict | None = None, models: ModelCache | None = None,
              steps_per_execution: int = STEPS_PER_EXECUTION, callbacks=(), verbose: int = 0) -> KerasFit:
    """Train one Keras model: the one way nnbin fits a single network (the plain engine and
    NNBinClassifier both call it).

    Parameters
    ----------
    spec : ModelSpec
        The network, with its seed (initial weights, dropout masks, Keras' shuffling).
    n_features : int
        Inputs of the model.
    data : dict
        What `keras.Model.fit` takes as its data: ``{"x": X, "y": y, "batch_size": b, "shuffle": True}``
        (Keras' own shuffling) or ``{"x": batches, "steps_per_epoch": n, "shuffle": False}`` (a
        generator of mini-batches, e.g. the stacked engine's order from `epoch_batches`).
    epochs : int
    patience : int, default=0
        Early stopping on the loss of `stop`, keeping the best epoch's weights; 0 trains every epoch.
    stop : (X, y) or None
        The rows early stopping watches (never the fold being scored).
    class_weight : {0: w0, 1: w1} or None
    models : ModelCache or None
        Reuse a compiled model of the same architecture (None: build a fresh one).
    steps_per_execution : int
        Mini-batches per graph call.
    callbacks : sequence of keras callbacks
        Called after TerminateOnNaN and before early stopping.
    verbose : int, default=0
        Keras' progress output.

    Returns
    -------
    KerasFit
        The model (the cached one when `models` is given: copy its weights before the next fit),
        the history as floats, and the epoch whose weights it holds.

    Example
    -------
    >>> fit = fit_model(ModelSpec(hidden=(4,), seed=0), 3, {"x": X, "y": y, "batch_size": 32,
    ...                 "shuffle": True}, epochs=5)   # doctest: +SKIP
    """
    keras.utils.set_random_seed(spec.seed)
    model = (build_model(spec, n_features, steps_per_execution=steps_per_execution) if models is None
             else models.model(spec, n_features, steps_per_execution))
    stopping = (keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
                if patience else None)
    fitted = model.fit(**data, epochs=epochs, validation_data=stop if patience else None, class_weight=class_weight,
                       callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks, *([stopping] if stopping else [])],
                       verbose=verbose)
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    best_epoch = stopping.best_epoch + 1 if stopping is not None else len(history.get("loss", []))
    return KerasFit(model, history, best_epoch)


def fit_trial(trial: Trial, folds: FoldData, models: ModelCache | None = None,
              keep_model: bool = False, progress=None) -> TrainedTrial:
    """Fit and predict one trial. Early stopping watches an inner split of the
    training fold, never the fold being scored. progress: called after each epoch with
    {trial id: share of its epochs done}."""
    hyper = trial.hyper
    arrays = folds.get(trial)
    X_train, y_train, X_val = arrays.X_fit, arrays.y_fit, arrays.X_val
    recorder = ValidationCurve(X_val) if len(X_val) else None
    callbacks = [*([recorder] if recorder else []), *([EpochProgress(trial, progress)] if progress else [])]
    class_weight = balanced_class_weight(y_train) if hyper.class_weight == "balanced" else None
    start = time.perf_counter()
    fit = fit_model(hyper.spec(seed=trial.seed), X_train.shape[1],
                    {"x": X_train, "y": y_train, "batch_size": hyper.batch_size, "shuffle": True},
                    epochs=hyper.epochs, patience=hyper.patience, stop=(arrays.X_stop, arrays.y_stop),
                    class_weight=class_weight, models=None if keep_model else models, callbacks=callbacks)
    fit_seconds = time.perf_counter() - start
    model = fit.model
    y_prob = np.asarray(model(X_val, training=False)).ravel()  # eager call: no retracing per model
    if fit.diverged or not np.all(np.isfinite(y_prob)):
        y_prob, status = np.full(len(X_val), np.nan), "diverged"
    else:
        status = "ok"
    return TrainedTrial(trial, y_prob, fit.history, fit.epochs_run, fit_seconds, status,
                       model if keep_model else None, model.get_weights(), fit.best_epoch,
                       curve=recorder.curve() if recorder else None)


def train_trials(trials: Iterable[Trial], folds: FoldData, keep_models: bool = False,
                 progress=None) -> Iterator[TrainedTrial]:
    """Fit the trials one after another, yielding each result as it finishes. progress: see
    `fit_trial`."""
    models = ModelCache()
    for trial in trials:
        yield fit_trial(trial, folds, models, keep_models, progress)
