"""Hidden layers in blocks of BLOCK units, so that networks of one depth but different widths
share one stack (one compiled graph) and still get the bits each gets alone.

XLA chooses its matrix-multiply kernel by the matrices' shapes, so a model's products would
change bits if wider models joining its stack widened them. Here every product multiplies
matrices of one shape per layer kind, whatever the stack: (rows, m) @ (m, BLOCK) into the
first hidden layer, (rows, BLOCK) @ (BLOCK, BLOCK) between hidden layers, (rows, BLOCK) @
(BLOCK, 1) into the output (an elementwise product and ordered sums); a stack only has more
of them. Sums over blocks (and their gradients) run in one fixed pairwise order in which a
model's missing, all-zero blocks add exact zeros, and every multiply and add rounds once,
whatever XLA fuses around it (its CPU code is compiled without fused multiply-adds:
device.exact_arithmetic). A layer's weights are (K, blocks in, blocks out, rows of a block,
units of a block); a model narrower than the stack keeps zeros in its extra units, which its
unit mask holds at zero and which get no gradient.
"""
from __future__ import annotations

import numpy as np

from nnbin.device import import_tensorflow

tf = import_tensorflow()

from nnbin.builders import initial_weights  # noqa: E402

# units per block (a width is padded up to whole blocks). Measured on 2 CPU cores, 40 models x
# 50 epochs on breast_cancer: [128, 128, 128] trains in 8.5 s with blocks of 32, 4.7 s of 64,
# 4.5 s of 128; [32, 32, 32] in 1.1 s with 32 and 1.7 s with 64
BLOCK = 64
# the multiply-adds of training worth one compilation (~2 s of XLA on 2 CPU cores, against
# ~15e9 multiply-adds a second measured in blocks): what padding may cost before it pays
COMPILE_COST = 3e10


def n_blocks(width: int) -> int:
    return -(-width // BLOCK)


def hidden_widths(trials: list) -> np.ndarray:
    """(K, depth) each trial's hidden widths (trials of one depth)."""
    depth = len(trials[0].hyper.spec().hidden)
    return np.array([t.hyper.spec().hidden for t in trials], np.int32).reshape(len(trials), depth)


def ordered_sum(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """Sum over `axis` in a fixed pairwise order (zero-padded to a power of two): the same bits
    for a model whatever the stack's size, unlike reduce_sum, whose vectorisation XLA chooses
    by the whole tensor's shape; trailing zero entries change no bits."""
    axis = axis % x.shape.rank
    n = x.shape[axis]
    size = 1 << (n - 1).bit_length() if n > 1 else 1
    if size != n:
        x = tf.pad(x, [[0, 0]] * axis + [[0, size - n]] + [[0, 0]] * (x.shape.rank - axis - 1))
    before = (slice(None),) * axis
    while x.shape[axis] > 1:
        half = x.shape[axis] // 2
        x = x[before + (slice(None, half),)] + x[before + (slice(half, None),)]
    return tf.squeeze(x, axis)


def dense(h: tf.Tensor, W: tf.Tensor, b: tf.Tensor, ones: tf.Tensor) -> tf.Tensor:
    """A hidden layer's pre-activations: (K, blocks in, rows, a) inputs, (K, blocks in, blocks out,
    a, BLOCK) weights, (K, blocks out, BLOCK) biases -> (K, blocks out, rows, BLOCK).

    Each (input block, output block) pair is its own matrix product of one fixed shape: the
    operands are copied per pair by multiplying with `ones` (an input, so that XLA cannot see
    through the copy and merge the products into one larger one of another shape), and every
    sum — over input blocks, over output blocks for the inputs' gradient, over rows for the
    biases' — is an ordered_sum, written out in the gradient by hand."""
    return _dense(h, W, b, ones[:W.shape[1]], ones[:W.shape[2]])


@tf.custom_gradient
def _dense(h, W, b, ones_in, ones_out):
    h_pairs = h[:, :, None] * ones_out[None, None, :, None, None]           # (K, bi, bo, rows, a)
    z = ordered_sum(tf.matmul(h_pairs, W), axis=1) + b[:, :, None, :]

    def gradient(dz):
        dz_pairs = dz[:, None] * ones_in[None, :, None, None, None]          # (K, bi, bo, rows, BLOCK)
        dh = ordered_sum(tf.matmul(dz_pairs, W, transpose_b=True), axis=2)
        dW = tf.matmul(h_pairs, dz_pairs, transpose_a=True)
        return dh, dW, ordered_sum(dz, axis=2), None, None

    return z, gradient


@tf.custom_gradient
def output(h: tf.Tensor, w: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """The output unit's logits (K, rows) from the last hidden layer (K, blocks, rows, BLOCK),
    weights (K, blocks, BLOCK) and bias (K, 1): Σ over units, then blocks, each in a fixed order
    (gradients by hand, every sum an ordered_sum)."""
    z = ordered_sum(ordered_sum(h * w[:, :, None, :], axis=3), axis=1) + b

    def gradient(dz):
        dh = dz[:, None, :, None] * w[:, :, None, :]
        dw = ordered_sum(dz[:, None, :, None] * h, axis=2)
        return dh, dw, ordered_sum(dz, axis=1)[:, None]

    return z, gradient


def _to_blocks(kernel: np.ndarray, bias: np.ndarray, rows: int, units: int,
               inputs_blocked: bool) -> list[np.ndarray]:
    """One model's Keras kernel (r, u) and bias (u,) as blocks: ((bi, bo, a, BLOCK), (bo, BLOCK)),
    zero beyond r and u; `rows` and `units` are the stack's padded sizes."""
    a, b = (BLOCK if inputs_blocked else rows), BLOCK
    W = np.zeros((rows, units), np.float32)
    W[:kernel.shape[0], :kernel.shape[1]] = kernel
    padded_bias = np.zeros(units, np.float32)
    padded_bias[:bias.shape[0]] = bias
    blocks = W.reshape(rows // a, a, units // b, b).transpose(0, 2, 1, 3)
    return [blocks, padded_bias.reshape(units // b, b)]


def _from_blocks(W: np.ndarray, bias: np.ndarray, rows: int, units: int) -> list[np.ndarray]:
    """_to_blocks undone for one model: its Keras kernel (rows, units) and bias (units,)."""
    bi, bo, a, b = W.shape
    kernel = W.transpose(0, 2, 1, 3).reshape(bi * a, bo * b)
    return [kernel[:rows, :units], bias.reshape(-1)[:units]]


def blocked_weights(weights: list, n_features: int, padded: list[int]) -> list[np.ndarray]:
    """One model's Keras weights [W1, b1, ..., W_out, b_out] in a stack's blocked layout
    (`padded`: the stack's hidden widths, whole blocks)."""
    if not padded:  # logistic regression: plain (m, 1) and (1,)
        return list(weights)
    rows = [n_features, *padded[:-1]]
    hidden = [array for layer, (r, u) in enumerate(zip(rows, padded))
              for array in _to_blocks(weights[2 * layer], weights[2 * layer + 1], r, u, inputs_blocked=layer > 0)]
    w = np.zeros(padded[-1], np.float32)
    w[:len(weights[-2])] = weights[-2][:, 0]
    return hidden + [w.reshape(-1, BLOCK), np.asarray(weights[-1], np.float32)]


def stack_initial_weights(trials: list, n_features: int, padded: list[int]) -> list[list[np.ndarray]]:
    """Each trial's builder weights (nnbin.builders.initial_weights) in a stack's blocked layout,
    drawn once per distinct layers, initializer and seed: a grid's trials on one fold share them
    (a draw costs ~4 ms of eager TensorFlow)."""
    drawn, out = {}, []
    for k, trial in enumerate(trials):
        spec = trial.hyper.spec(seed=trial.seed)
        key = (spec.hidden, str(spec.kernel_initializer), k if spec.seed is None else spec.seed)
        if key not in drawn:
            drawn[key] = blocked_weights(initial_weights(spec, n_features), n_features, padded)
        out.append(drawn[key])
    return out


def keras_weights(blocked: list, n_features: int, widths) -> list[np.ndarray]:
    """blocked_weights undone: one model's weights in keras.Sequential.get_weights() order."""
    if not len(widths):
        return list(blocked)
    rows = [n_features, *widths[:-1]]
    hidden = [array for layer, (r, u) in enumerate(zip(rows, widths))
              for array in _from_blocks(blocked[2 * layer], blocked[2 * layer + 1], r, u)]
    return hidden + [blocked[-2].reshape(-1)[:widths[-1], None], blocked[-1]]


def unit_masks(widths: np.ndarray, padded: list[int]) -> list[np.ndarray]:
    """Per hidden layer, (K, blocks, 1, BLOCK) 1.0 for each model's own units, 0.0 for padding."""
    unit = lambda width: np.arange(width).reshape(-1, BLOCK)  # noqa: E731
    return [(unit(p)[None] < widths[:, layer, None, None]).astype(np.float32)[:, :, None, :]
            for layer, p in enumerate(padded)]


def kernel_square_sum(W: tf.Tensor) -> tf.Tensor:
    """Σ W² of each model's kernel (K, ...) blocks, summed over its units then its rows, each in a
    fixed order: a model's zero padding changes no bits."""
    if W.shape.rank == 3:  # logistic (K, m, 1) or the output layer's (K, blocks, BLOCK): one column
        return ordered_sum(tf.reshape(tf.square(W), [W.shape[0], -1]))
    K, bi, bo, a, b = W.shape
    square = tf.reshape(tf.transpose(tf.square(W), [0, 1, 3, 2, 4]), [K, bi * a, bo * b])
    return ordered_sum(ordered_sum(square, axis=2), axis=1)


def _row_cost(blocks: tuple) -> int:
    """Multiply-adds per row of a network of these block counts (inputs counted as one block)."""
    units = [BLOCK * b for b in blocks]
    return sum(a * b for a, b in zip([BLOCK, *units], [*units, 1]))


def training_cost(trials: list, blocks: tuple | None = None) -> float:
    """Multiply-adds of training these trials (each row forward and back, every epoch) in a
    stack padded to `blocks` (default: their widest, in whole blocks)."""
    if blocks is None:
        blocks = tuple(n_blocks(int(w)) for w in hidden_widths(trials).max(axis=0))
    return _row_cost(blocks) * sum(3 * t.hyper.epochs * len(t.split.train) for t in trials)


def width_classes(trials: list) -> list[list]:
    """Trials of one depth in classes, each trained as one stack padded to its widest: classes of
    neighbouring sizes merge while the padding costs less training than the compilation it saves
    (COMPILE_COST), so a grid over widths of one scale compiles once and 8 beside 128 units
    does not pay 128 units' training."""
    by_shape: dict = {}
    for trial in trials:
        by_shape.setdefault(tuple(n_blocks(w) for w in trial.hyper.spec().hidden), []).append(trial)
    cost = lambda shape, members: training_cost(members, shape)  # noqa: E731
    classes = sorted(by_shape.items(), key=lambda c: _row_cost(c[0]))
    while len(classes) > 1:
        merged = [(tuple(map(max, a, b)), ma + mb) for (a, ma), (b, mb) in zip(classes, classes[1:])]
        extra = [cost(*m) - cost(*a) - cost(*b) for m, a, b in zip(merged, classes, classes[1:])]
        i = int(np.argmin(extra))
        if extra[i] > COMPILE_COST:
            break
        classes[i:i + 2] = [merged[i]]
    return [members for _, members in classes]
