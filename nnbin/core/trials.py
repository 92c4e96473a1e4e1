"""One model fit and what it produced: the fold it trains on (`Split`), the fit itself
(`Trial`: a family's configuration on one fold, with its seed and content-hashed id) and its
outcome (`TrainedTrial`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbin.core.specs import TrainSpec


@dataclass(frozen=True)
class Split:
    """Row indices of one fold. Inner splits (nested CV) carry their outer fold's repeat and
    fold, and their own inner fold number."""

    repeat: int
    fold: int
    train: np.ndarray = field(repr=False)
    validation: np.ndarray = field(repr=False)
    inner_fold: int | None = None

    @property
    def key(self) -> tuple:
        return (self.repeat, self.fold, self.inner_fold)


@dataclass(frozen=True)
class Trial:
    """One model fit: a family's grid point on one fold of one repeat."""

    family: str
    point: dict            # the swept values only
    hyper: TrainSpec       # every setting, fixed and swept
    split: Split
    seed: int              # initial weights and shuffling
    id: str

    @property
    def label(self) -> str:
        """The configuration, e.g. 'deep learning_rate=0.01 width=16'."""
        return " ".join([self.family, *(f"{k}={_short(v)}" for k, v in self.point.items())])

    @property
    def architecture(self) -> tuple:
        spec = self.hyper.spec()
        return spec.hidden, spec.activations


def _short(value) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def trial_seed(base_seed: int, split: Split) -> int:
    """Every family gets the same seed on the same fold: same shuffles, same initial weights."""
    inner = 0 if split.inner_fold is None else (split.inner_fold + 1) * 1_000_000
    return base_seed * 10_000 + split.repeat * 100 + split.fold + inner


@dataclass
class TrainedTrial:
    """What training one trial produced."""

    trial: Trial
    y_prob: np.ndarray                     # validation-fold probabilities of class 1
    history: dict = field(repr=False)      # per-epoch loss (and inner-validation loss)
    epochs_run: int = 0
    fit_seconds: float = 0.0
    status: str = "ok"                     # 'ok' or 'diverged' (non-finite loss)
    model: object | None = field(default=None, repr=False)  # a keras.Model, where kept
    weights: list | None = field(default=None, repr=False)  # as keras get_weights()
    best_epoch: int = 0                    # 1-based epoch whose weights were kept (early stopping)
    batch_end: bool = True                 # last result of what the engine trained together
    # validation curve, recorded only: (1-based epochs, (len(epochs), n_validation) probabilities
    # of the scored fold after each of them); never used to stop or to choose
    curve: tuple | None = field(default=None, repr=False)
    logits: np.ndarray | None = field(default=None, repr=False)  # of y_prob, where the engine has them


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial as the results store keeps it: its trials.csv row, its history.csv
    rows and its validation probabilities (float32, as trained)."""

    row: dict
    history: list = field(repr=False)
    predictions: np.ndarray = field(repr=False)

    @property
    def trial_id(self) -> str:
        return self.row["trial_id"]
