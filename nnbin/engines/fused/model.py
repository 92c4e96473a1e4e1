"""StackedMLP: K multilayer perceptrons of one depth as one stacked model (weights with a
leading model axis), its optimizers (Keras' SGD with momentum, RMSprop and Adam update rules)
and the compiled epoch loop; `to_keras` turns one model of a stack into a keras.Sequential."""
from __future__ import annotations

import math

import numpy as np

from nnbin.device import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

from nnbin.builders import build_model  # noqa: E402
from nnbin.core.trials import Trial  # noqa: E402
from nnbin.engines.fused.blocks import (BLOCK, dense, hidden_widths, keras_weights, kernel_square_sum,  # noqa: E402
                                       n_blocks, ordered_sum, output, stack_initial_weights, unit_masks)
from nnbin.engines.fused.stack_data import (LOSS_CHUNK, PREDICT_CHUNK, EpochState, StackedFit,  # noqa: E402
                                            StackOutcome, _pad, validation_stride)
from nnbin.engines.fused.streams import _DROPOUT, mix, seed_hashes, uniform, _shuffle_keys  # noqa: E402

ADAM_BETA_1, ADAM_BETA_2, EPSILON, RMSPROP_RHO = 0.9, 0.999, 1e-7, 0.9


def _per_model(values, like: tf.Tensor) -> tf.Tensor:
    """(K,) values reshaped to broadcast against a stacked tensor of like's rank."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


class StackedMLP:
    """K multilayer perceptrons of one depth (widths padded in blocks), trained together on a
    stack's row sets (`StackedFit`: the trials and the folds they train on)."""

    def __init__(self, data: StackedFit, n_features: int, has_missing: bool = False, widest=None):
        trials = data.trials
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
        self.epochs, self.patience = np.array([h.epochs for h in hypers]), np.array([h.patience for h in hypers])
        # each model's hidden widths, and the stack's: each layer's widest, in whole blocks
        self.widths = hidden_widths(trials)
        self.padded = [n_blocks(int(w)) * BLOCK for w in (self.widths.max(axis=0) if widest is None else widest)]
        self.masked = bool((self.widths != np.array(self.padded, np.int32)).any())  # some units are padding
        self.n_features = n_features
        initial = stack_initial_weights(trials, n_features, self.padded)
        self.params = [tf.constant(np.stack(layer)) for layer in zip(*initial)]
        self.n_slots = {"sgd": 1, "rmsprop": 2, "adam": 2}[self.optimizer]
        # features no model of the stack uses are left out of the graph (faster to compile)
        self.uses_dropout = bool(self.dropout.any())
        self.uses_early_stopping = bool(self.patience.any())
        self.uses_l2 = bool(self.l2.any())
        self.uses_momentum = bool(self.momentum.any())
        self.uses_class_weight = any(t.hyper.class_weight for t in trials)
        self.has_missing = has_missing  # NaN in the encoded table: filled per fold
        self._data = data  # static shapes: steps per epoch (the largest fit set), the curve's stride
        self.steps_per_epoch = int(math.ceil(data.n("fit").max() / self.batch_size))
        every = validation_stride(self.n_models, int(data.n("validation").max()), int(self.epochs.max()),
                                  self.steps_per_epoch * self.batch_size)
        self.record_every = every if every <= int(self.epochs.max()) else 0  # 0: no epoch recorded

    # ------------------------------------------------------------ model
    def _activate(self, layer, z, choice):
        """Each model's own activation of layer `layer` (choice: (K, layers) indices)."""
        names = self.activations[layer]
        h = keras.activations.get(names[0])(z)
        for i, name in enumerate(names[1:], start=1):
            h = tf.where(_per_model(choice[:, layer] == i, z), keras.activations.get(name)(z), h)
        return h

    def _logits(self, params, X, data, keep=None):
        """X (K, b, m) -> logits (K, b) (layers in blocks: blocks.py); keep: dropout scales or None."""
        if not self.padded:  # logistic regression
            return (tf.matmul(X, params[0]) + params[1][:, None, :])[..., 0]
        h = X[:, None]
        for layer in range(len(self.activations)):
            z = dense(h, params[2 * layer], params[2 * layer + 1], data["ones"])
            h = self._activate(layer, z, data["activation_choice"])
            h = h * data["unit_mask"][layer] if self.masked else h  # padding units stay exactly 0
            if keep is not None:
                h = h * keep[layer]
        return output(h, params[-2], params[-1])

    def _penalty(self, params, l2):
        """Keras' L2: l2 · Σ W² over every kernel, per model (0 when no model uses L2)."""
        if not self.uses_l2:
            return 0.0
        return l2 * tf.add_n([kernel_square_sum(W) for W in params[0::2]])

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
        # a dropout draw's counter: its element's index in the model's own (B, width) mask
        batch_row = tf.cast(tf.range(B), tf.uint32)[None, None, :, None]
        dropout_offsets = [
            batch_row * tf.cast(data["widths"][:, layer], tf.uint32)[:, None, None, None]
            + tf.reshape(tf.cast(tf.range(p), tf.uint32), [1, p // BLOCK, 1, BLOCK])
            for layer, p in enumerate(self.padded)] if self.uses_dropout else []

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
                rate = dropout[:, None, None, None]
                keep = [tf.cast(uniform(mix(base, 1 + layer, 0)[:, None, None, None] + offsets) >= rate,
                                tf.float32) / (1 - rate)
                        for layer, offsets in enumerate(dropout_offsets)]
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
    def inputs(self, table: dict, class_weights: np.ndarray) -> tuple:
        """The graph's arguments after the state and the end epoch (the row sets first).
        table: the shared encoded table and labels as tensors ('table', 'y')."""
        data = self._data
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
            "widths": c(self.widths, tf.int32),
            "unit_mask": [c(mask) for mask in unit_masks(self.widths, self.padded)],
            "ones": tf.ones([max([p // BLOCK for p in self.padded], default=1)]),
        }
        return (sets, c(seed_hashes([t.seed for t in self.trials])),
                c(self.epochs, tf.int32), c(self.patience, tf.int32), c(self.learning_rate),
                c(self.momentum), c(self.l2), c(self.dropout), c(class_weights, tf.float32))

    def static_key(self) -> tuple:
        """Everything the traced graph takes from this object rather than from its inputs
        stacks with equal keys can share one compiled function."""
        return (tuple(tuple(p.shape) for p in self.params), tuple(map(tuple, self.activations)),
                self.optimizer, self.batch_size, self.n_models, self.steps_per_epoch,
                int(self.epochs.max()), self.uses_dropout, self.uses_early_stopping, self.uses_l2,
                self.uses_momentum, self.uses_class_weight, self.has_missing, self.record_every, self.masked)

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
        self.trials, self.params, self._data = None, None, None

    def weights(self, k: int) -> list[np.ndarray]:
        """Model k's weights, in keras.Sequential.get_weights() order."""
        return keras_weights([p[k].numpy() for p in self.params], self.n_features, self.widths[k])


def to_keras(trial: Trial, weights: list, n_features: int) -> keras.Sequential:
    """An ordinary keras.Sequential from the builders, holding a fused trial's weights."""
    model = build_model(trial.hyper.spec(seed=trial.seed), n_features)
    model.set_weights(weights)
    return model
