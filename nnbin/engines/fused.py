"""The fused engine: every trial of one architecture trained at once, as one stacked model.

Weights carry a leading "model" axis (K models); each model draws its own shuffled
mini-batches from its own training fold, starts from the weights the builder gives for
its seed, and has its own learning rate, momentum, L2, dropout rate, class weights,
epochs and early-stopping patience. One compiled graph runs a whole epoch of all K
models; the optimizers (SGD with momentum, RMSprop, Adam) follow Keras' update rules
and default hyperparameters.

Trials share a group when they share hidden widths, optimizer and batch size; activations
may differ per model (each layer computes the stack's few activations and each model keeps
its own), which halves the compilations of a grid over relu and tanh.
"""
from __future__ import annotations

import math
import time
import threading
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from nnbin.device import import_tensorflow

import_tensorflow()
import keras
import numpy as np
import tensorflow as tf

from nnbin.builders import build_model, initial_weights
from nnbin.cv import Trial
from nnbin.engines.folds import FoldCache, FoldRows
from nnbin.engines.keras_engine import TrialResult, balanced_class_weight, train_trials as keras_trials

FUSED_OPTIMIZERS = ("sgd", "rmsprop", "adam")
ADAM_BETA_1, ADAM_BETA_2, EPSILON, RMSPROP_RHO = 0.9, 0.999, 1e-7, 0.9
MAX_GROUP = 256       # models per stack; larger groups are split
LOSS_CHUNK = 64       # rows per chunk of the early-stopping loss (see StackedMLP._loss_graph)
PREDICT_CHUNK = 128   # validation rows scored per step: memory O(models x chunk), not x rows
STACKS_PER_CALL = 4   # stacks compiled and trained together (one XLA compilation); progress per call
CURVE_BUDGET = 16 * 2 ** 20  # bytes per stack of validation probabilities kept for the curves
CURVE_COST = 0.1             # the curves' forward passes: at most about this share of training
CONCURRENT_CALLS = 2  # calls in flight: XLA compiles one call on one core while another trains
PROGRESS_SECONDS = 1.0  # with a progress callback, a call reports its epochs about this often

Progress = Callable[[dict], None]  # {trial id: share of its epochs done, 0 to 1}, as training goes


def group_key(trial: Trial) -> tuple:
    """Trials with the same key can be trained as one stack."""
    spec = trial.hyper.spec()
    return spec.hidden, spec.optimizer, trial.hyper.batch_size


def supports(trial: Trial) -> bool:
    return trial.hyper.optimizer in FUSED_OPTIMIZERS


# ---------------------------------------------------------------- counter-based random numbers
# Every random draw is a hash of (trial seed, purpose, counter): a trial's shuffles and
# dropout masks do not depend on which other trials share its stack.
_SHUFFLE, _DROPOUT = 0x5EED, 0xD7A0


def _hash32(x):
    """lowbias32 integer hash on uint32 tensors (wrapping arithmetic)."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, np.uint32(16)))
    x = x * np.uint32(0x7FEB352D)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, np.uint32(15)))
    x = x * np.uint32(0x846CA68B)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, np.uint32(16)))


def mix(base, purpose, counter):
    """A new uint32 stream per (base, purpose, counter)."""
    salt = _hash32(tf.cast(purpose, tf.uint32) * np.uint32(0x9E3779B9) + tf.cast(counter, tf.uint32))
    return _hash32(tf.bitwise.bitwise_xor(base, salt))


def uniform(x):
    """Uniform [0, 1) float32 from uint32 counters."""
    return tf.cast(tf.bitwise.right_shift(_hash32(x), np.uint32(8)), tf.float32) / np.float32(2 ** 24)


def _shuffle_keys(seeds, epoch, rows):
    """(K, n) uint32 sort keys of rows in an epoch: each model's own shuffle of its own rows."""
    return _hash32(mix(seeds, _SHUFFLE, epoch)[:, None] + tf.cast(rows, tf.uint32)[None, :])


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which the fused engine visits a trial's n training rows in `epoch`
    (0-based): feed it to keras' fit(shuffle=False) to reproduce a fused trial exactly."""
    keys = _shuffle_keys(tf.constant(seed_hashes([seed])), epoch, tf.range(n)).numpy()[0]
    return np.argsort(keys, kind="stable")


def epoch_batches(X: np.ndarray, y: np.ndarray, weights: np.ndarray, *, batch_size: int, seed: int,
                  epochs: int) -> tf.data.Dataset:
    """(X, y, weight) mini-batches of every epoch in the fused engine's order (`epoch_order`), as
    one tf.data pipeline: give it to keras' fit(steps_per_epoch=ceil(n / batch_size)), with a
    steps_per_execution that divides it, to make exactly a fused trial's updates."""
    base, data = tf.constant(seed_hashes([seed])), tuple(map(tf.constant, (X, y, weights)))

    def one_epoch(epoch):
        keys = _shuffle_keys(base, tf.cast(epoch, tf.int32), tf.range(len(y)))[0]
        order = tf.argsort(keys, stable=True)
        return tf.data.Dataset.from_tensor_slices(tuple(tf.gather(a, order) for a in data)).batch(batch_size)

    return tf.data.Dataset.range(epochs).flat_map(one_epoch)


def seed_hashes(seeds) -> np.ndarray:
    """Trial seeds -> well-mixed uint32 stream bases."""
    return _hash32(tf.constant(np.asarray(seeds, np.int64) % 2 ** 32, tf.uint32)).numpy()


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


def ordered_sum(x: tf.Tensor) -> tf.Tensor:
    """Sum over the last axis in a fixed pairwise order (zero-padded to a power of two): the
    same bits for a model whatever the stack's size, unlike reduce_sum, whose vectorisation
    XLA chooses by the whole tensor's shape."""
    n = x.shape[-1]
    size = 1 << (n - 1).bit_length() if n > 1 else 1
    if size != n:
        x = tf.pad(x, [[0, 0]] * (x.shape.rank - 1) + [[0, size - n]])
    while x.shape[-1] > 1:
        half = x.shape[-1] // 2
        x = x[..., :half] + x[..., half:]
    return x[..., 0]


def _per_model(values, like: tf.Tensor) -> tf.Tensor:
    """(K,) values reshaped to broadcast against a stacked tensor of like's rank."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


@dataclass
class StackedFit:
    """What one stack trains on: row indices into the table encoded once (FoldCache.table),
    per row set (a fold, with or without its early-stopping split), and each model's set.
    Memory: O(sets x rows) integers, never a copy of the table per model."""

    trials: list
    sets: list[FoldRows]
    set_of_model: np.ndarray  # (K,) index into sets

    @classmethod
    def build(cls, trials: list, folds: FoldCache) -> "StackedFit":
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


class StackedMLP:
    """K multilayer perceptrons of one architecture, trained together."""

    def __init__(self, trials: list, n_features: int, has_missing: bool = False):
        first = trials[0].hyper
        spec = first.spec()
        self.trials = trials
        self.n_models = len(trials)
        per_model = [t.hyper.spec().activations for t in trials]
        # per hidden layer: the stack's distinct activations, and each model's choice among them
        self.activations = [sorted(set(layer)) for layer in zip(*per_model)]
        self.activation_choice = np.array(
            [[names.index(a) for names, a in zip(self.activations, model)] for model in per_model],
            np.int32).reshape(len(trials), len(spec.hidden))
        self.optimizer = spec.optimizer
        self.batch_size = first.batch_size
        hypers = [t.hyper for t in trials]
        vector = lambda name: np.array([getattr(h, name) for h in hypers], np.float32)  # noqa: E731
        self.learning_rate, self.momentum = vector("learning_rate"), vector("momentum")
        self.l2, self.dropout = vector("l2"), vector("dropout")
        self.epochs = np.array([h.epochs for h in hypers])
        self.patience = np.array([h.patience for h in hypers])
        per_model = [initial_weights(t.hyper.spec(seed=t.seed), n_features) for t in trials]
        self.params = [tf.constant(np.stack(layer)) for layer in zip(*per_model)]
        self.n_slots = {"sgd": 1, "rmsprop": 2, "adam": 2}[self.optimizer]
        # features no model of the stack uses are left out of the graph (faster to compile)
        self.uses_dropout = bool(self.dropout.any())
        self.uses_early_stopping = bool(self.patience.any())
        self.uses_l2 = bool(self.l2.any())
        self.uses_momentum = bool(self.momentum.any())
        self.uses_class_weight = any(t.hyper.class_weight for t in trials)
        self.has_missing = has_missing  # NaN in the encoded table: filled per fold
        self._unit_offsets = [  # element index within one step's (B, u) dropout mask
            tf.reshape(tf.cast(tf.range(self.batch_size * u), tf.uint32), (self.batch_size, u))[None]
            for u in spec.hidden]

    # ------------------------------------------------------------ model
    def _activate(self, layer, z, choice):
        """Each model's own activation of layer `layer` (choice: (K, layers) indices)."""
        names = self.activations[layer]
        h = keras.activations.get(names[0])(z)
        for i, name in enumerate(names[1:], start=1):
            h = tf.where(_per_model(choice[:, layer] == i, z), keras.activations.get(name)(z), h)
        return h

    def _logits(self, params, X, data, keep=None):
        """X (K, b, m) -> logits (K, b). keep: per hidden layer (K, b, u) dropout scale or None."""
        h = X
        for layer in range(len(self.activations)):
            W, b = params[2 * layer], params[2 * layer + 1]
            h = self._activate(layer, tf.matmul(h, W) + b[:, None, :], data["activation_choice"])
            if keep is not None:
                h = h * keep[layer]
        W, b = params[-2], params[-1]
        return (tf.matmul(h, W) + b[:, None, :])[..., 0]

    def _penalty(self, params, l2):
        """Keras' L2: l2 · Σ W² over every kernel, per model (0 when no model uses L2)."""
        if not self.uses_l2:
            return 0.0
        kernels = params[0::2]
        return l2 * tf.add_n([ordered_sum(tf.reshape(tf.square(W), [W.shape[0], -1])) for W in kernels])

    def _features(self, data, rows):
        """Encoded table rows (U, r) of each row set -> each model's preprocessed rows (K, r, m):
        the set's fold preprocessing applied to rows gathered from the one shared table."""
        x = tf.gather(data["table"], rows)
        v = x * data["scale"][:, None, :] + data["shift"][:, None, :]
        if self.has_missing:
            v = tf.where(tf.math.is_nan(x), data["fill"][:, None, :], v)
        return tf.gather(v, data["set_of_model"])

    def _labels(self, data, rows):
        """Row sets' rows (U, r) -> each model's labels (K, r)."""
        return tf.gather(tf.gather(data["y"], rows), data["set_of_model"])

    def _loss_graph(self, params, data, l2):
        """Mean binary cross-entropy over each model's early-stopping rows, plus its L2
        penalty: (K,).

        Summed chunk by chunk (LOSS_CHUNK rows, the rows padded to whole chunks), in order: a
        model's sum is the same however far the stack pads the rows for its other models
        (trailing chunks add exact zeros), so it does not depend on which trials share the stack."""
        n = data["n_stop"]
        chunks = data["stop_rows"].shape[1] // LOSS_CHUNK
        stop_rows = tf.reshape(data["stop_rows"], [-1, chunks, LOSS_CHUNK])

        def add_chunk(c, total):
            rows = tf.gather(stop_rows, c, axis=1)  # (U, LOSS_CHUNK), a static shape for XLA
            mask = tf.cast((c * LOSS_CHUNK + tf.range(LOSS_CHUNK))[None, :] < n[:, None], tf.float32)
            logits = self._logits(params, self._features(data, rows), data)
            bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=self._labels(data, rows), logits=logits)
            return c + 1, total + ordered_sum(bce * mask)

        _, total = tf.while_loop(lambda c, _: c < chunks, add_chunk,
                                 (tf.constant(0), tf.zeros([self.n_models], tf.float32)))
        return total / tf.maximum(tf.cast(n, tf.float32), 1.0) + self._penalty(params, l2)

    def _predict_graph(self, params, data, with_logits: bool = False):
        """Validation probabilities (K, v), PREDICT_CHUNK rows at a time; with_logits: also the
        logits they are the sigmoid of, ((K, v), (K, v))."""
        chunks = data["val_rows"].shape[1] // PREDICT_CHUNK
        val_rows = tf.reshape(data["val_rows"], [-1, chunks, PREDICT_CHUNK])
        blocks = lambda: tf.TensorArray(tf.float32, size=chunks,  # noqa: E731
                                        element_shape=[self.n_models, PREDICT_CHUNK])

        def predict_chunk(c, out, raw):
            rows = tf.gather(val_rows, c, axis=1)
            logits = self._logits(params, self._features(data, rows), data)
            return c + 1, out.write(c, tf.sigmoid(logits)), raw.write(c, logits) if with_logits else raw

        _, out, raw = tf.while_loop(lambda c, *_: c < chunks, predict_chunk, (tf.constant(0), blocks(), blocks()))
        whole = lambda array: tf.reshape(tf.transpose(array.stack(), [1, 0, 2]), [self.n_models, -1])  # noqa: E731
        return (whole(out), whole(raw)) if with_logits else whole(out)

    # ------------------------------------------------------------ optimizers (Keras' rules)
    def _update(self, params, slots, grads, step, active, lr, momentum):
        new_params, new_slots = [], [list(s) for s in slots]
        for i, (p, g) in enumerate(zip(params, grads)):
            rate = _per_model(lr, p)
            if self.optimizer == "adam":
                m, v = slots[0][i], slots[1][i]
                m = m + (g - m) * (1 - ADAM_BETA_1)
                v = v + (tf.square(g) - v) * (1 - ADAM_BETA_2)
                t = _per_model(step, p)
                alpha = rate * tf.sqrt(1 - ADAM_BETA_2 ** t) / (1 - ADAM_BETA_1 ** t)
                p_new, state = p - m * alpha / (tf.sqrt(v) + EPSILON), [m, v]
            elif self.optimizer == "sgd":
                if self.uses_momentum:
                    velocity = _per_model(momentum, p) * slots[0][i] - rate * g
                    p_new, state = p + velocity, [velocity]
                else:
                    p_new, state = p - rate * g, []
            else:  # rmsprop
                mean_square = RMSPROP_RHO * slots[0][i] + (1 - RMSPROP_RHO) * tf.square(g)
                increment = rate * g / tf.sqrt(mean_square + EPSILON)
                if self.uses_momentum:
                    velocity = _per_model(momentum, p) * slots[1][i] + increment
                    p_new, state = p - velocity, [mean_square, velocity]
                else:
                    p_new, state = p - increment, [mean_square]
            keep = _per_model(active, p) > 0
            new_params.append(tf.where(keep, p_new, p))
            for j, s in enumerate(state):
                new_slots[j][i] = tf.where(keep, s, slots[j][i])
        return new_params, new_slots

    # ------------------------------------------------------------ the training, compiled
    def start(self, data: dict) -> EpochState:
        """The epoch loop's state before the first epoch, from the builders' weights (`data`: the
        row sets of `inputs`)."""
        K, E = self.n_models, int(self.epochs.max())
        zeros = lambda *shape, dtype=tf.float32: tf.zeros(shape, dtype)  # noqa: E731
        params = list(self.params)
        rows = self.record_every and E // self.record_every
        width = data["val_rows"].shape[1] if self.record_every else 0
        slots = [[tf.zeros_like(p) for p in params] for _ in range(self.n_slots)]
        return EpochState(epoch=tf.constant(0), params=params, slots=slots, steps=zeros(K),
                          running=tf.ones([K], tf.bool), diverged=zeros(K, dtype=tf.bool),
                          epochs_run=zeros(K, dtype=tf.int32), best_epoch=zeros(K, dtype=tf.int32),
                          best_loss=tf.fill([K], np.float32(np.inf)), wait=zeros(K, dtype=tf.int32),
                          best_params=list(params), losses=zeros(E, K), stop_losses=zeros(E, K),
                          curve=zeros(rows, K, width))

    def _train_graph(self, state, until, data, seeds, epochs, patience, lr, momentum, l2, dropout,
                     class_weight):
        """The epochs from state.epoch up to `until` (a tensor: every chunk of epochs runs the same
        compiled graph) of every model, in one graph (plain tf.while_loop: no autograph, which costs
        seconds to convert). Returns the state after them and, once `until` reaches the last
        epoch, the trained (or, with early stopping, best) weights and the validation
        probabilities (K, v) (zeros before). A run cut into chunks gives the same bits as one
        call: the state carries everything an epoch reads.

        Everything a model computes depends on its own inputs only, never on the stack's
        padded sizes: its dropout counter runs over its own steps per epoch, its early-stopping
        loss is summed in fixed chunks, and other models' steps leave it untouched."""
        K, B = self.n_models, self.batch_size
        S, E = self.steps_per_epoch, int(self.epochs.max())   # static: XLA wants fixed shapes
        row = tf.range(S * B)  # each set's fit rows are padded to S * B
        n_set = data["n_fit_set"]
        n = tf.gather(n_set, data["set_of_model"])
        own_steps = (n + B - 1) // B  # each model's own steps per epoch
        watched_models = patience > 0

        def step(s, e, active, order, params, slots, steps, epoch_loss):
            position = s * B + tf.range(B)
            rows = tf.gather(data["fit_rows"], tf.gather(order, position, axis=1), batch_dims=1)  # (U, B)
            valid = tf.cast(position[None, :] < n[:, None], tf.float32)           # (K, B)
            count = tf.reduce_sum(valid, axis=1)
            Xb, yb = self._features(data, rows), self._labels(data, rows)
            weight = valid
            if self.uses_class_weight:
                weight = valid * tf.where(yb > 0.5, class_weight[:, 1:2], class_weight[:, 0:1])
            keep = None
            if self.uses_dropout:
                base = mix(seeds, _DROPOUT, e * own_steps + s)
                rate = dropout[:, None, None]
                keep = [tf.cast(uniform(mix(base, 1 + layer, 0)[:, None, None] + offsets) >= rate,
                                tf.float32) / (1 - rate)
                        for layer, offsets in enumerate(self._unit_offsets)]
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits = self._logits(params, Xb, data, keep)
                bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=yb, logits=logits)
                loss = ordered_sum(bce * weight) / tf.maximum(count, 1.0) + self._penalty(params, l2)
                total = tf.reduce_sum(loss * active)
            grads = tape.gradient(total, params)
            step_active = active * tf.cast(count > 0, tf.float32)
            steps = steps + step_active
            params, slots = self._update(params, slots, grads, steps, step_active, lr, momentum)
            return params, slots, steps, epoch_loss + loss * count

        every = self.record_every
        at = lambda e: tf.reshape(e, [1, 1])  # noqa: E731  (row e of an epoch-indexed tensor)

        def epoch(state):
            e, running, best_epoch, best_loss, wait = (state.epoch, state.running, state.best_epoch,
                                                       state.best_loss, state.wait)
            running = running & (e < epochs)
            active = tf.cast(running, tf.float32)
            # each row set's own shuffle of its own rows (a set's models share its seed); padding
            # rows sort last
            keys = _shuffle_keys(data["set_seeds"], e, row)
            keys = tf.where(row[None, :] < n_set[:, None], tf.cast(keys, tf.int64), np.int64(2 ** 40))
            order = tf.argsort(keys, axis=1, stable=True)
            _, params, slots, steps, epoch_loss = tf.while_loop(
                lambda s, *_: s < S,
                lambda s, params, slots, steps, epoch_loss: (
                    s + 1, *step(s, e, active, order, params, slots, steps, epoch_loss)),
                (tf.constant(0), state.params, state.slots, state.steps, tf.zeros([K], tf.float32)))
            epoch_loss = epoch_loss / tf.cast(n, tf.float32)
            losses = tf.tensor_scatter_nd_update(state.losses, at(e), epoch_loss[None])
            epochs_run = state.epochs_run + tf.cast(running, tf.int32)
            bad = running & ~tf.math.is_finite(epoch_loss)
            diverged = state.diverged | bad
            running = running & ~bad
            best_params, stop_losses = state.best_params, state.stop_losses
            if self.uses_early_stopping:  # Keras' EarlyStopping(restore_best_weights=True)
                stop_loss = self._loss_graph(params, data, l2)
                stop_losses = tf.tensor_scatter_nd_update(stop_losses, at(e), stop_loss[None])
                watched = running & watched_models
                improved = watched & (stop_loss < best_loss)
                best_loss = tf.where(improved, stop_loss, best_loss)
                best_epoch = tf.where(improved | (watched & (e == 0)), e + 1, best_epoch)
                wait = tf.where(improved, 0, tf.where(watched, wait + 1, wait))
                take = improved | (watched & (e == 0))
                best_params = [tf.where(_per_model(take, p), p, bp) for p, bp in zip(params, best_params)]
                running = running & ~(watched & (wait >= patience) & (e > 0))
            best_epoch = tf.where(watched_models, best_epoch, epochs_run)
            curve = state.curve
            if every:  # the scored fold's probabilities, for the validation curves only
                curve = tf.cond(tf.equal((e + 1) % every, 0),
                                lambda: tf.tensor_scatter_nd_update(
                                    curve, at((e + 1) // every - 1), self._predict_graph(params, data)[None]),
                                lambda: curve)
            return (EpochState(e + 1, params, slots, steps, running, diverged, epochs_run, best_epoch,
                               best_loss, wait, best_params, losses, stop_losses, curve),)

        last = tf.minimum(until, E)
        (state,) = tf.while_loop(lambda state: (state.epoch < last) & tf.reduce_any(state.running), epoch,
                                 (state,))

        def final():  # the kept weights, their probabilities and logits, the last epoch's probabilities
            kept = [tf.where(_per_model(watched_models, p), bp, p)
                    for p, bp in zip(state.params, state.best_params)]
            probabilities, logits = self._predict_graph(kept, data, with_logits=True)
            last = self._predict_graph(state.params, data) if self.uses_early_stopping else probabilities
            return kept, probabilities, logits, last

        def not_yet():
            empty = tf.zeros([K, data["val_rows"].shape[1]])
            return [tf.zeros_like(p) for p in state.params], empty, empty, empty

        return state, tf.cond(until >= E, final, not_yet)

    # ------------------------------------------------------------ training
    def inputs(self, data: StackedFit, table: dict, class_weights: np.ndarray) -> tuple:
        """The graph's arguments after the state and the end epoch (the row sets first); fixes the
        (static) steps per epoch. table: the shared encoded table and labels as tensors ('table', 'y')."""
        n_fit = data.n("fit")
        self.steps_per_epoch = int(math.ceil(n_fit.max() / self.batch_size))
        every = validation_stride(self.n_models, int(data.n("validation").max()), int(self.epochs.max()),
                                  self.steps_per_epoch * self.batch_size)
        self.record_every = every if every <= int(self.epochs.max()) else 0  # 0: no epoch recorded
        rows = lambda part, multiple: _pad([getattr(r, part) for r in data.sets], multiple)  # noqa: E731
        c = tf.constant
        sets = {
            **table,
            "fit_rows": c(rows("fit", self.steps_per_epoch * self.batch_size)),
            "n_fit_set": c([len(r.fit) for r in data.sets], tf.int32),
            "stop_rows": c(rows("stop", LOSS_CHUNK)), "n_stop": c(data.n("stop"), tf.int32),
            "val_rows": c(rows("validation", PREDICT_CHUNK)),
            "scale": c(np.stack([r.scale for r in data.sets])),
            "shift": c(np.stack([r.shift for r in data.sets])),
            "fill": c(np.stack([r.fill for r in data.sets])),
            "set_of_model": c(data.set_of_model, tf.int32),
            "set_seeds": c(seed_hashes(data.set_seeds())),
            "activation_choice": c(self.activation_choice, tf.int32),
        }
        return (sets, c(seed_hashes([t.seed for t in self.trials])),
                c(self.epochs, tf.int32), c(self.patience, tf.int32), c(self.learning_rate),
                c(self.momentum), c(self.l2), c(self.dropout), c(class_weights, tf.float32))

    def static_key(self) -> tuple:
        """Everything the traced graph takes from this object rather than from its inputs
        (after `inputs`): stacks with equal keys can share one compiled function."""
        return (tuple(tuple(p.shape) for p in self.params), tuple(map(tuple, self.activations)),
                self.optimizer, self.batch_size, self.n_models, self.steps_per_epoch,
                int(self.epochs.max()), self.uses_dropout, self.uses_early_stopping, self.uses_l2,
                self.uses_momentum, self.uses_class_weight, self.has_missing, self.record_every)

    def progress(self, state: EpochState) -> np.ndarray:
        """(K,) each model's share of its epochs done: 1 once it stopped (early, or diverged)."""
        epochs_run, running = state.epochs_run.numpy(), state.running.numpy()
        return np.where(running, np.minimum(epochs_run / self.epochs, 1.0), 1.0)

    def finish(self, state: EpochState, final: tuple) -> StackOutcome:
        """Keep the trained weights; return per-model histories, epochs run, divergence flags,
        validation probabilities and logits, and validation curves."""
        self.params, probabilities, logits, last = final
        probabilities, last = probabilities.numpy(), last.numpy()
        losses, stop_losses, epochs_run, curve = (state.losses.numpy(), state.stop_losses.numpy(),
                                                  state.epochs_run.numpy(), state.curve.numpy())
        best_epoch = state.best_epoch.numpy()
        history, curves = [], []
        for k, ran in enumerate(epochs_run):
            record = {"loss": losses[:ran, k].tolist()}
            if self.patience[k]:
                record["val_loss"] = stop_losses[:ran, k].tolist()
            history.append(record)
            recorded = [e for e in range(self.record_every, ran + 1, self.record_every)] if self.record_every else []
            points = dict(zip(recorded, curve[:len(recorded), k]))
            points.setdefault(int(ran), last[k])               # the last epoch, whatever the stride
            points.setdefault(int(best_epoch[k]), probabilities[k])  # and the restored best one
            epochs = sorted(e for e in points if e > 0)
            curves.append((epochs, np.stack([points[e] for e in epochs]) if epochs
                           else np.zeros((0, curve.shape[-1] or probabilities.shape[1]), np.float32)))
        return StackOutcome(history, epochs_run, best_epoch, state.diverged.numpy(), probabilities,
                            logits.numpy(), curves)

    def release(self) -> None:
        """Drop the trials (their folds' row indices) and weights: the compiled-function cache
        keeps this object for its static structure only."""
        self.trials, self.params = None, None

    def weights(self, k: int) -> list[np.ndarray]:
        """Model k's weights, in keras.Sequential.get_weights() order."""
        return [p[k].numpy() for p in self.params]


def to_keras(trial: Trial, weights: list, n_features: int) -> keras.Sequential:
    """An ordinary keras.Sequential from the builders, holding a fused trial's weights."""
    model = build_model(trial.hyper.spec(seed=trial.seed), n_features)
    model.set_weights(weights)
    return model


def _class_weights(data: StackedFit, y: np.ndarray) -> np.ndarray:
    weights = [balanced_class_weight(y[rows.fit]) for rows in data.sets]
    return np.array([[weights[s][0], weights[s][1]] if t.hyper.class_weight == "balanced" else [1.0, 1.0]
                     for t, s in zip(data.trials, data.set_of_model)])


def _shared_table(folds: FoldCache) -> dict:
    """The encoded table and labels as tensors, made once per FoldCache."""
    if "fused_table" not in folds.engine_state:
        folds.engine_state["fused_table"] = {
            "table": tf.constant(folds.table().values),
            "y": tf.constant(np.asarray(folds.labels, np.float32))}
    return folds.engine_state["fused_table"]


_COMPILED: OrderedDict = OrderedDict()  # static structure of a call -> its tf.function
_COMPILED_LOCK = threading.Lock()
COMPILED_KEPT = 64


def _compiled(stacks: list, jit_compile: bool):
    """The call's compiled function, reused by any later call of the same static structure
    (architectures, stack sizes, steps, features used): tf.function keeps a compiled graph per
    input shape, so equal shapes compile once (repeated runs, resumed runs, workers, and every
    chunk of epochs of a call)."""
    key = (jit_compile, *(stack.static_key() for stack in stacks))
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = tf.function(
                lambda states, until, inputs: [s._train_graph(state, until, *a)
                                               for s, state, a in zip(stacks, states, inputs)],
                jit_compile=jit_compile, autograph=False)
        _COMPILED.move_to_end(key)
        while len(_COMPILED) > COMPILED_KEPT:
            _COMPILED.popitem(last=False)
        return _COMPILED[key]


def next_chunk(epochs: int, seconds: float) -> int:
    """Epochs for the next compiled call, from the last call's epochs and seconds: about
    PROGRESS_SECONDS a call, growing at most 4x a call (the first call also compiles)."""
    return max(1, min(4 * epochs, int(epochs * PROGRESS_SECONDS / max(seconds, 1e-3))))


def _run(stacks: list, inputs: list, groups: list, jit_compile: bool, progress: Progress | None) -> list:
    """Run the stacks' compiled call to the end: (state, final weights and probabilities) per stack.
    Without `progress`, in one call; with it, in chunks of epochs (same compiled function, same
    bits), reporting each trial's share of its epochs after each chunk."""
    function = _compiled(stacks, jit_compile)
    states = [stack.start(a[0]) for stack, a in zip(stacks, inputs)]
    last = max(int(stack.epochs.max()) for stack in stacks)
    chunk = 1 if progress else last
    until = chunk
    while True:
        began = time.perf_counter()
        outputs = function(states, tf.constant(until, tf.int32), inputs)
        states = [state for state, _ in outputs]
        if until >= last:
            return outputs
        shares = [stack.progress(state) for stack, state in zip(stacks, states)]
        progress({trial.id: float(share[k]) for trials, share in zip(groups, shares)
                  for k, trial in enumerate(trials)})
        if all(share.min() >= 1 for share in shares):  # every model stopped: the last call only finishes
            until = last
        else:
            chunk = next_chunk(chunk, time.perf_counter() - began)
            until = min(until + chunk, last)


def train_groups(groups: list[list[Trial]], folds: FoldCache, keep_models: bool = False,
                 jit_compile: bool = True, progress: Progress | None = None) -> list[TrialResult]:
    """Train several same-architecture groups, each as one stack, in one compiled call
    (one XLA compilation for all of them); one result per trial. progress: see `_run`."""
    start = time.perf_counter()
    table, has_missing = _shared_table(folds), folds.table().has_missing
    n_features = folds.table().values.shape[1]
    stacks, inputs, datasets = [], [], []
    for trials in groups:
        # XLA drops a batch axis of size 1 and then multiplies matrices in another order: a lone
        # trial is stacked with a copy of itself (discarded) so that its results are bit-identical
        # to those it gets in any other stack
        trials = trials if len(trials) > 1 else trials * 2
        data = StackedFit.build(trials, folds)
        stack = StackedMLP(trials, n_features, has_missing)
        stacks.append(stack)
        datasets.append(data)
        inputs.append(stack.inputs(data, table, _class_weights(data, folds.labels)))
    outputs = _run(stacks, inputs, groups, jit_compile, progress)
    seconds = (time.perf_counter() - start) / sum(len(g) for g in groups)
    results = []
    for stack, data, (state, final), trials in zip(stacks, datasets, outputs, groups):
        outcome = stack.finish(state, final)
        n_val = data.n("validation")
        for k, trial in enumerate(trials):
            y_prob = outcome.probabilities[k, :n_val[k]].astype(np.float64)
            logits = outcome.logits[k, :n_val[k]].astype(np.float64)
            epochs, curve = outcome.curves[k]
            status = "ok"
            if outcome.diverged[k] or not np.all(np.isfinite(y_prob)):
                y_prob, logits, status = np.full(n_val[k], np.nan), np.full(n_val[k], np.nan), "diverged"
            weights = stack.weights(k)
            model = to_keras(trial, weights, n_features) if keep_models else None
            results.append(TrialResult(trial, y_prob, outcome.history[k], int(outcome.epochs_run[k]), seconds,
                                       status, model, weights, best_epoch=int(outcome.best_epoch[k]),
                                       batch_end=False, curve=(epochs, curve[:, :n_val[k]]), logits=logits))
        stack.release()
    results[-1].batch_end = True
    return results


def plan(trials: Iterable[Trial]) -> tuple[list[list[Trial]], list[Trial]]:
    """Split trials into stacks (same group key, at most MAX_GROUP models) and the trials
    the fused engine cannot train."""
    groups: dict = defaultdict(list)
    plain = []
    for trial in trials:
        (groups[group_key(trial)] if supports(trial) else plain).append(trial)
    # a large group is split after sorting by epochs: a stack runs until its longest model ends
    ordered = [sorted(members, key=lambda t: t.hyper.epochs) for members in groups.values()]
    stacks = [members[i:i + MAX_GROUP] for members in ordered for i in range(0, len(members), MAX_GROUP)]
    return stacks, plain


def train_trials(trials: Iterable[Trial], folds: FoldCache, keep_models: bool = False,
                 jit_compile: bool = True, progress: Progress | None = None) -> Iterator[TrialResult]:
    """Train stacks a few at a time (one compilation per call), CONCURRENT_CALLS calls at once
    so that one call's compilation (single-threaded) overlaps another's; results come in call
    order. Trials the fused engine cannot train (other optimizers) go to the plain keras engine.
    progress: called with each trial's share of its epochs done as the stacks train (from the
    training threads; the chunks cost no measurable time, BENCHMARKS.md); None: each call runs
    in one piece."""
    trials = list(trials)
    stacks, plain = plan(trials)
    _shared_table(folds)
    for trial in trials:  # fill the fold caches here, not from two threads at once
        if supports(trial):
            folds.rows(trial)
    # at most STACKS_PER_CALL stacks per call, and enough calls to keep CONCURRENT_CALLS busy
    n_calls = min(len(stacks), max(CONCURRENT_CALLS, -(-len(stacks) // STACKS_PER_CALL)))
    calls = [stacks[i * len(stacks) // n_calls:(i + 1) * len(stacks) // n_calls] for i in range(n_calls)]
    pool = ThreadPoolExecutor(CONCURRENT_CALLS, thread_name_prefix="nnbin-fused")
    try:
        running = [pool.submit(train_groups, call, folds, False, jit_compile, progress) for call in calls]
        n_features = folds.table().values.shape[1]
        for call in running:
            for result in call.result():
                if keep_models:  # keras models are built here, in the calling thread
                    result.model = to_keras(result.trial, result.weights, n_features)
                yield result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if plain:
        yield from keras_trials(plain, folds, keep_models, progress)
