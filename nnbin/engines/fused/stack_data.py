"""What one stack trains on and gives back: its row sets (`StackedFit`), the epoch loop's state
between compiled calls (`EpochState`), its outcome (`StackOutcome`), and how often the scored
fold's probabilities are recorded for the validation curves (`validation_stride`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from nnbin.device import import_tensorflow
from nnbin.engines.folds import FoldData, FoldRows

tf = import_tensorflow()

LOSS_CHUNK = 64       # rows per chunk of the early-stopping loss (see StackedMLP._loss_graph)
PREDICT_CHUNK = 128   # validation rows scored per step: memory O(models x chunk), not x rows
CURVE_BUDGET = 16 * 2 ** 20  # bytes per stack of validation probabilities kept for the curves
CURVE_COST = 0.1             # the curves' forward passes: at most about this share of training


def validation_stride(n_models: int, n_validation: int, epochs: int, fit_rows: int,
                      budget: int | None = None) -> int:
    """Every how many epochs the scored fold's probabilities are kept for the validation curves:
    every epoch unless that costs too much, else the smallest stride within both limits —
    memory: a stack's K x rows x recorded epochs float32 values within `budget` (default
    CURVE_BUDGET); time: a recorded epoch's forward pass over the (padded) validation rows is
    ~1/2 of a training pass over `fit_rows` per row (measured), kept to CURVE_COST of training.
    0 (none) when there are no validation rows (a refit)."""
    if not n_validation:
        return 0
    padded = -(-n_validation // PREDICT_CHUNK) * PREDICT_CHUNK
    memory = -(-(n_models * padded * epochs * 4) // (budget or CURVE_BUDGET))
    time = math.ceil(padded / (2 * fit_rows) / CURVE_COST)
    return max(1, memory, time)


def _pad(arrays: list, multiple: int) -> np.ndarray:
    """Row indices of different lengths as an int32 matrix, padded with row 0 to the longest
    length rounded up to a multiple of `multiple` (at least one multiple)."""
    longest = max(-(-max(len(a) for a in arrays) // multiple) * multiple, multiple)
    out = np.zeros((len(arrays), longest), dtype=np.int32)
    for k, a in enumerate(arrays):
        out[k, :len(a)] = a
    return out


@dataclass
class StackedFit:
    """What one stack trains on: row indices into the table encoded once (FoldData.table),
    per row set (a fold, with or without its early-stopping split), and each model's set.
    Memory: O(sets x rows) integers, never a copy of the table per model."""

    trials: list
    sets: list[FoldRows]
    set_of_model: np.ndarray  # (K,) index into sets

    @classmethod
    def build(cls, trials: list, folds: FoldData) -> "StackedFit":
        keys, sets, set_of_model = {}, [], []
        for trial in trials:
            key = folds.key(trial)
            if key not in keys:
                keys[key] = len(sets)
                sets.append(folds.rows(trial))
            set_of_model.append(keys[key])
        return cls(trials, sets, np.array(set_of_model))

    def n(self, part: str) -> np.ndarray:
        """(K,) each model's number of rows in `part` ('fit', 'stop' or 'validation')."""
        return np.array([len(getattr(self.sets[s], part)) for s in self.set_of_model])

    def set_seeds(self) -> np.ndarray:
        """Each set's trial seed (the same for every trial of a set: it is in the set's key)."""
        seed_of_set = {s: t.seed for t, s in zip(self.trials, self.set_of_model)}
        return np.array([seed_of_set[s] for s in range(len(self.sets))])


class EpochState(NamedTuple):
    """The epoch loop of a stack between compiled calls: all an epoch reads and writes."""

    epoch: tf.Tensor          # epochs done (scalar)
    params: list              # weights, per layer (K, ...)
    slots: list               # optimizer slots, per slot a list like params
    steps: tf.Tensor          # (K,) optimizer steps taken
    running: tf.Tensor        # (K,) still training
    diverged: tf.Tensor       # (K,) non-finite loss seen
    epochs_run: tf.Tensor     # (K,)
    best_epoch: tf.Tensor     # (K,) 1-based epoch whose weights are kept
    best_loss: tf.Tensor      # (K,) early stopping's best stop-split loss
    wait: tf.Tensor           # (K,) epochs since it improved
    best_params: list         # weights at best_epoch
    losses: tf.Tensor         # (E, K) training loss per epoch
    stop_losses: tf.Tensor    # (E, K) stop-split loss per epoch (early stopping only)
    curve: tf.Tensor          # (recorded epochs, K, v) the scored fold's probabilities


class StackOutcome(NamedTuple):
    """What a finished stack gives back, per model k (`StackedMLP.finish`)."""

    history: list             # {"loss": [...], "val_loss": [...]} per model
    epochs_run: np.ndarray    # (K,)
    best_epoch: np.ndarray    # (K,) 1-based epoch whose weights were kept
    diverged: np.ndarray      # (K,)
    probabilities: np.ndarray  # (K, v) validation probabilities of the kept weights
    logits: np.ndarray        # (K, v) their logits
    curves: list              # (recorded 1-based epochs, (epochs, v) probabilities) per model
