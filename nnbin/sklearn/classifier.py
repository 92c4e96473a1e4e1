"""NNBinClassifier: the course's binary networks as a scikit-learn classifier.

One Keras model per `fit`, trained with Keras' own `fit` on mini-batches taken in the fused
engine's row order (`nnbin.engines.fused.epoch_order`), so a fit here and the same trial in
`FusedSearchCV` make the same updates (without dropout, whose masks are drawn differently).
"""
from __future__ import annotations

import threading
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from nnbin.core.arguments import keyword_only
from nnbin.core.errors import ConfigError
from nnbin.core.settings import check_setting, coerce_setting
from nnbin.core.specs import TRAIN_SETTINGS, TrainSpec
from nnbin.core.trials import TrainedTrial

SEED_LIMIT = 2 ** 31 - 1

_MODELS = None             # compiled Keras models reused across fits (see keras_engine.ModelCache)
_MODELS_LOCK = threading.Lock()

# the TrainSpec settings that are parameters of the same name (hidden, class_weight: see hyper())
HYPER_PARAMS = tuple(name for name in TRAIN_SETTINGS if name not in ("hidden", "depth", "width", "class_weight"))

# scikit-learn checks the estimator cannot pass, and why (parametrize_with_checks(expected_failed_checks=...))
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch training: a row repeated twice is in two mini-batches and the epoch has more "
        "updates, which weighting a row by 2 does not give",
    "check_methods_subset_invariance":
        "float32 matrix products round differently with the number of rows scored together "
        "(probabilities differ by ~1e-7 relative)",
    "check_methods_sample_order_invariance":
        "float32 matrix products round differently with the rows scored together (~1e-7 relative)",
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """For `sklearn.utils.estimator_checks.parametrize_with_checks`: check name -> reason."""
    return dict(EXPECTED_FAILED_CHECKS)


def fit_seed(random_state) -> int:
    """The seed of one fit: an int random_state is used as it is (the same seed as a fused
    trial of that seed); None or a RandomState draws one."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if not 0 <= random_state < SEED_LIMIT:
            raise ValueError(f"random_state must be in [0, {SEED_LIMIT}), got {random_state}")
        return int(random_state)
    return int(check_random_state(random_state).randint(SEED_LIMIT))


def stopping_split(y01: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit positions, early-stopping positions): the stratified split the fused engine makes
    of a training fold (`FoldData.rows`)."""
    positions = np.arange(len(y01))
    try:
        return tuple(train_test_split(positions, test_size=fraction, stratify=y01, random_state=seed))
    except ValueError as exc:
        raise ValueError(f"patience needs an early-stopping split of {fraction:g} of the rows with both "
                         f"classes in it ({exc}); give more rows, raise validation_fraction or set "
                         "patience=0") from None


class NNBinClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier: logistic regression (``hidden=()``), a shallow network (one hidden
    layer) or a deep one, built by nnbin's builders and fitted with Keras.

    Parameters
    ----------
    hidden : tuple of int, default=()
        Widths of the hidden layers; () is logistic regression (one sigmoid neuron).
    activation : str or tuple of str, default="relu"
        Keras activation of every hidden layer, or one per layer.
    dropout, l2 : float, default=0.0
        Dropout rate after each hidden layer; L2 penalty on every kernel.
    kernel_initializer, optimizer : str
        Keras names ("glorot_uniform", "adam", "sgd", "rmsprop", ...).
    learning_rate, momentum : float
        Optimizer settings (momentum: sgd and rmsprop).
    batch_size, epochs : int, default=32, 100
    patience : int, default=0
        Early stopping on the loss of a stratified ``validation_fraction`` of the training rows
        (the best epoch's weights are kept); 0 trains every epoch.
    validation_fraction : float, default=0.1
    class_weight : None, "balanced" or dict {label: weight}
        Multiplies each row's loss by its class's weight ("balanced": n / (2 n_class) on the
        rows the weights are fitted on; labels missing from a dict weigh 1).
    random_state : int, RandomState or None
        Initial weights and the order of mini-batches; an int makes fits repeatable.
    verbose : int, default=0
        Keras' progress output.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class (the larger label, as scikit-learn sorts).
    model_ : keras.Sequential
        The fitted model (one sigmoid output: the probability of ``classes_[1]``).
    history_ : dict
        Keras' per-epoch history (``loss``, and ``val_loss`` with early stopping).
    n_iter_ : int
        Epochs run.
    n_features_in_, feature_names_in_

    Example
    -------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(), NNBinClassifier(hidden=(8,), epochs=5, random_state=0))
    >>> model.fit(X, y).predict_proba(X[:2]).shape
    (2, 2)
    """

    @keyword_only
    def __init__(self, hidden=(), activation="relu", *, dropout=0.0, l2=0.0,
                 kernel_initializer="glorot_uniform", optimizer="adam", learning_rate=0.001,
                 momentum=0.0, batch_size=32, epochs=100, patience=0, validation_fraction=0.1,
                 class_weight=None, random_state=None, verbose=0):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ settings
    def hyper(self) -> TrainSpec:
        """The parameters as nnbin's validated family settings (ValueError names a bad one)."""
        values = {name: getattr(self, name) for name in HYPER_PARAMS}
        if self.class_weight is not None and not isinstance(self.class_weight, dict):
            values["class_weight"] = self.class_weight
        activation = values["activation"]
        values["activation"] = activation if isinstance(activation, str) else list(activation)
        hidden = self.hidden
        values["hidden"] = [hidden] if isinstance(hidden, (int, np.integer)) else hidden
        for name, value in values.items():
            try:
                values[name] = check_setting(name, coerce_setting(name, value))
            except ValueError as exc:
                raise ValueError(f"NNBinClassifier({name}=...): {exc}") from None
        hyper = TrainSpec(**values)
        try:
            hyper.spec()
        except ConfigError as exc:  # settings valid one by one, not together (momentum with adam)
            raise ValueError(f"NNBinClassifier: {exc}") from None
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"NNBinClassifier(validation_fraction=...): must be in (0, 1), "
                             f"got {self.validation_fraction!r}")
        return hyper

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit one network on (X, y); X numeric (put preprocessing in a Pipeline before it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), exactly two distinct labels
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies each row's loss (and the class weights, when given).

        Returns
        -------
        self
        """
        hyper = self.hyper()
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            n = len(self.classes_)
            raise ValueError(f"Only binary classification is supported: y must hold exactly two classes, "
                             f"got {n} class{'es' if n != 1 else ''} ({self.classes_[:5].tolist()}); "
                             "map the target to two labels first")
        weights = self._sample_weight(sample_weight, len(y))
        X = X.astype(np.float32)
        y01 = (y == self.classes_[1]).astype(np.float32)
        seed = fit_seed(self.random_state)
        rows, stop = (stopping_split(y01, self.validation_fraction, seed) if hyper.patience
                      else (np.arange(len(y)), None))
        weights = weights * self._class_weights(y01[rows], y01)
        fit = _train(hyper, seed, X[rows], y01[rows], weights[rows],
                     None if stop is None else (X[stop], y01[stop]), self.verbose)
        if fit.diverged:
            raise ValueError("training diverged (the loss became NaN or infinite); lower learning_rate "
                             "or standardize X (e.g. StandardScaler in a Pipeline)")
        self.model_, self.history_, self.n_iter_ = fit.model, fit.history, fit.epochs_run
        return self

    def _class_weights(self, y_fit: np.ndarray, y01: np.ndarray) -> np.ndarray:
        """Each row's class weight (1 without class_weight)."""
        if self.class_weight is None:
            return np.ones(len(y01), np.float32)
        if self.class_weight == "balanced":
            from nnbin.engines.keras_engine import balanced_class_weight

            per_class = balanced_class_weight(y_fit)
        else:
            unknown = [k for k in self.class_weight if k not in self.classes_]
            if unknown:
                raise ValueError(f"class_weight names {unknown[0]!r}, which is not a class of y "
                                 f"({self.classes_.tolist()})")
            per_class = {code: float(self.class_weight.get(label, 1.0))
                         for code, label in enumerate(self.classes_)}
        return np.where(y01 == 1, per_class[1], per_class[0]).astype(np.float32)

    @staticmethod
    def _sample_weight(sample_weight, n: int) -> np.ndarray:
        if sample_weight is None:
            return np.ones(n, np.float32)
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), one weight per row; got {weights.shape}")
        if not np.all(np.isfinite(weights)) or (weights < 0).any():
            raise ValueError("sample_weight must be finite and >= 0")
        if not weights.any():
            raise ValueError("sample_weight is zero for every row; give some rows a positive weight")
        return weights.astype(np.float32)

    # ------------------------------------------------------------ predict
    def predict_proba(self, X) -> np.ndarray:
        """(n, 2) probabilities of classes_[0] and classes_[1]."""
        p = self._positive_probability(X)
        return np.column_stack([1.0 - p, p])

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of classes_[1]: the output unit's logit z, whose sigmoid predict_proba gives
        (> 0 where predict gives classes_[1]; finite where the probability rounds to 0 or 1)."""
        from nnbin.builders import output_logits

        X = self._checked(X)
        return output_logits(self.model_, X) if len(X) else np.zeros(0)

    def predict(self, X) -> np.ndarray:
        """classes_[1] where its probability is >= 0.5 (nnbin's threshold rule), else classes_[0]."""
        positive = self._positive_probability(X) >= 0.5
        return self.classes_[positive.astype(int)]

    def _checked(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return validate_data(self, X, reset=False, dtype=[np.float32, np.float64]).astype(np.float32)

    def _positive_probability(self, X) -> np.ndarray:
        X = self._checked(X)
        if not len(X):
            return np.zeros(0)
        return np.asarray(self.model_(X, training=False), dtype=np.float64).ravel()


def _train(hyper: TrainSpec, seed: int, X, y, weights, stop, verbose: int):
    """`keras_engine.fit_model` on the stacked engine's mini-batches; returns its KerasFit with a
    fresh model holding the trained weights (the compiled one is reused by later fits)."""
    from dataclasses import replace

    from nnbin.builders import build_model
    from nnbin.engines.fused import epoch_batches
    from nnbin.engines.keras_engine import ModelCache, fit_model

    global _MODELS
    spec = hyper.spec(seed=seed)
    steps = -(-len(y) // hyper.batch_size)
    batches = epoch_batches(X, y, weights, batch_size=hyper.batch_size, seed=seed, epochs=hyper.epochs)
    with _MODELS_LOCK:
        _MODELS = _MODELS or ModelCache()
        fit = fit_model(spec, X.shape[1], {"x": batches, "steps_per_epoch": steps, "shuffle": False},
                        epochs=hyper.epochs, patience=hyper.patience, stop=stop,
                        models=_MODELS, steps_per_execution=steps_per_call(steps), verbose=verbose)
        trained = build_model(spec, X.shape[1])
        trained.set_weights(fit.model.get_weights())
        trained.optimizer.build(trained.trainable_variables)  # saved and pickled with its slots
    return replace(fit, model=trained)


def steps_per_call(steps: int, most: int = 32) -> int:
    """Mini-batches per graph call: the largest divisor of an epoch's steps up to `most`, so that
    no call runs across the end of an epoch (the next epoch's order)."""
    return max(d for d in range(1, min(steps, most) + 1) if steps % d == 0)


def classifier_fits(estimators: dict):
    """FusedSearchCV's fallback of the stacked engine for optimizers it does not fuse: each trial
    a fit of its candidate's NNBinClassifier (`estimators` by candidate, seeded by the trial) on
    its fold's rows."""
    def train(trials, folds, keep_models=False, progress=None):
        values, labels = folds.table().values, folds.labels
        for trial in trials:
            estimator = clone(estimators[trial.point["candidate"]]).set_params(random_state=trial.seed)
            start = time.perf_counter()
            try:
                estimator.fit(values[trial.split.train], labels[trial.split.train])
                y_prob = estimator.predict_proba(values[trial.split.validation])[:, 1]
                logits = estimator.decision_function(values[trial.split.validation])
                status = "ok"
            except ValueError:  # diverged: scored as error_score
                y_prob = logits = np.full(len(trial.split.validation), np.nan)
                status = "diverged"
            yield TrainedTrial(trial, y_prob, {}, fit_seconds=time.perf_counter() - start, status=status,
                              logits=logits)
    return train
