"""Counter-based random numbers of the stacked engine: every random draw is a hash of (trial
seed, purpose, counter), so a trial's shuffles and dropout masks do not depend on which other
trials share its stack; `epoch_order`/`epoch_batches` give the same row order to Keras (NNBinClassifier)."""
from __future__ import annotations

import numpy as np

from nnbin.device import import_tensorflow

tf = import_tensorflow()

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
