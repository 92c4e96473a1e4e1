"""Builders: a ModelSpec becomes a compiled keras.Sequential binary classifier.

    logistic   ŷ = σ(x·w + b)                       one neuron: m + 1 parameters
    shallow    A[1] = g(X·W[1] + b[1]), ŷ = σ(A[1]·W[2] + b[2])
    deep       A[l] = g[l](A[l-1]·W[l] + b[l]), l = 1..L
"""
from __future__ import annotations

from nnbin.core.arguments import keyword_only
from nnbin.device import import_tensorflow

import_tensorflow()
import keras
import numpy as np

from nnbin.core.specs import ModelSpec

__all__ = ["ModelSpec", "build_model", "build_logistic", "build_shallow", "build_deep", "describe",
           "make_optimizer", "initial_weights"]


SEED_MODULUS = 2 ** 31 - 1


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.0) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer of the given name with Keras' defaults (momentum: sgd, rmsprop)."""
    options = {"momentum": momentum} if momentum else {}
    return type(keras.optimizers.get(name))(learning_rate=learning_rate, **options)


def _initializer(name: str, seed: int | None):
    cls = type(keras.initializers.get(name))
    try:
        return cls(seed=seed)
    except TypeError:  # zeros, ones: nothing random to seed
        return cls()


def layer_seed(spec: ModelSpec, index: int) -> int | None:
    """Seed of layer `index` (0 = output layer; 100 + i = dropout after hidden layer i), kept
    below 2**31 so that Keras' int32 and uint32 seed states hold it whatever the trial seed."""
    return None if spec.seed is None else (spec.seed * 1000 + index) % SEED_MODULUS


def initial_weights(spec: ModelSpec, n_features: int) -> list:
    """The weights `build_model(spec, n_features)` starts from, without building a model:
    [W1, b1, ..., W_out, b_out] as numpy arrays (biases start at zero)."""
    sizes = (n_features, *spec.hidden, 1)
    layer_indices = [*range(1, len(spec.hidden) + 1), 0]
    weights = []
    for (m, u), index in zip(zip(sizes[:-1], sizes[1:]), layer_indices):
        kernel = _initializer(spec.kernel_initializer, layer_seed(spec, index))((m, u), "float32")
        weights += [keras.ops.convert_to_numpy(kernel), np.zeros(u, dtype="float32")]
    return weights


@keyword_only
def build_model(spec: ModelSpec, n_features: int, *, compile: bool = True,
                steps_per_execution: int = 1) -> keras.Sequential:
    """Compiled Sequential: the spec's hidden layers, then one sigmoid unit; binary cross-entropy.

    Parameters
    ----------
    spec : ModelSpec
        Layers, activations, dropout, L2, initializer and optimizer; with ``spec.seed`` set, the
        initial weights (and the dropout masks' seeds) are fixed by it.
    n_features : int
        Inputs m of the model.
    compile : bool, default=True
        Compile with the spec's optimizer, binary cross-entropy and accuracy.
    steps_per_execution : int, default=1
        Mini-batches per graph call (same result, less overhead).

    Returns
    -------
    keras.Sequential
        Named after the spec's kind: 'logistic', 'shallow' or 'deep'.

    Raises
    ------
    ConfigError
        When n_features is not an integer >= 1.

    Example
    -------
    >>> model = build_model(ModelSpec(hidden=(16, 8), dropout=0.1, seed=0), 30)
    >>> model.name, model.count_params()
    ('deep', 641)
    """
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        from nnbin.errors import ConfigError

        raise ConfigError(f"n_features must be an integer >= 1, got {n_features!r}")
    regularizer = keras.regularizers.L2(spec.l2) if spec.l2 > 0 else None
    layers: list = [keras.Input(shape=(n_features,), name="X")]
    for i, (units, activation) in enumerate(zip(spec.hidden, spec.activations), start=1):
        layers.append(keras.layers.Dense(
            units, activation=activation, name=f"hidden_{i}",
            kernel_initializer=_initializer(spec.kernel_initializer, layer_seed(spec, i)),
            kernel_regularizer=regularizer,
        ))
        if spec.dropout > 0:
            layers.append(keras.layers.Dropout(spec.dropout, seed=layer_seed(spec, 100 + i),
                                               name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(
        1, activation="sigmoid", name="output",
        kernel_initializer=_initializer(spec.kernel_initializer, layer_seed(spec, 0)),
        kernel_regularizer=regularizer,
    ))
    model = keras.Sequential(layers, name=spec.kind)
    if compile:
        model.compile(optimizer=make_optimizer(spec.optimizer, spec.learning_rate, spec.momentum),
                      loss="binary_crossentropy", metrics=["accuracy"],
                      steps_per_execution=steps_per_execution)
    return model


def output_logits(model: keras.Sequential, X) -> np.ndarray:
    """Z of the output unit, the logit whose sigmoid the model returns, (n,): the layers before
    the output applied as the model applies them, then the output layer's own kernel and bias
    (finite where the probability rounds to 0 or 1 in float32)."""
    h = keras.ops.convert_to_tensor(X, dtype="float32")
    *hidden, output = model.layers
    for layer in hidden:
        h = layer(h, training=False)
    z = keras.ops.add(keras.ops.matmul(h, output.kernel), output.bias)
    return np.asarray(keras.ops.convert_to_numpy(z), dtype=np.float64).ravel()


def build_logistic(n_features: int, **options) -> keras.Sequential:
    """Logistic regression as one sigmoid neuron (m + 1 parameters).

    Parameters
    ----------
    n_features : int
        Inputs m.
    **options
        Any other ModelSpec setting (learning_rate, optimizer, l2, seed, ...).

    Returns
    -------
    keras.Sequential
        Compiled (see `build_model`).

    Example
    -------
    >>> build_logistic(30).count_params()
    31
    """
    return build_model(ModelSpec(hidden=(), **options), n_features)


@keyword_only
def build_shallow(n_features: int, units: int = 4, *, activation: str = "tanh",
                  **options) -> keras.Sequential:
    """One hidden layer of `units` neurons (4 by default, as in the course).

    Parameters
    ----------
    n_features : int
        Inputs m.
    units : int, default=4
        Width of the hidden layer.
    activation : str, default="tanh"
        Keras activation of the hidden layer.
    **options
        Any other ModelSpec setting (learning_rate, dropout, seed, ...).

    Returns
    -------
    keras.Sequential
        Compiled (see `build_model`).

    Example
    -------
    >>> build_shallow(30, units=4).count_params()   # (30 + 1)·4 + (4 + 1)·1
    129
    """
    return build_model(ModelSpec(hidden=(units,), activation=activation, **options), n_features)


@keyword_only
def build_deep(n_features: int, layers=(32, 16, 8), *, activation="relu",
               **options) -> keras.Sequential:
    """Several hidden layers of the given widths.

    Parameters
    ----------
    n_features : int
        Inputs m.
    layers : sequence of int, default=(32, 16, 8)
        Widths of the hidden layers, first to last.
    activation : str or sequence of str, default="relu"
        One Keras activation for every hidden layer, or one per layer.
    **options
        Any other ModelSpec setting (learning_rate, dropout, l2, seed, ...).

    Returns
    -------
    keras.Sequential
        Compiled (see `build_model`).

    Example
    -------
    >>> build_deep(30, layers=[8, 4]).count_params()
    289
    """
    return build_model(ModelSpec(hidden=tuple(layers), activation=activation, **options), n_features)


@keyword_only
def describe(model: keras.Model, *, n: int | str = "n", print_it: bool = True) -> str:
    """The model in the course's notation: W (m,u), b (1,u), A (n,u) and parameters per layer.

    Parameters
    ----------
    model : keras.Model
        A model from the builders (Dense layers, optionally with Dropout).
    n : int or str, default="n"
        Rows of X, shown in the shapes of A.
    print_it : bool, default=True
        Also print the table.

    Returns
    -------
    str
        The table.

    Example
    -------
    >>> text = describe(build_shallow(30), n=455, print_it=False)
    >>> text.splitlines()[0]
    'shallow: X (455,30) -> ŷ (455,1), 2 layer(s), 129 parameters'
    """
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    dropouts = {layer.name.split("_")[-1]: layer.rate for layer in model.layers
                if isinstance(layer, keras.layers.Dropout)}
    m = model.inputs[0].shape[-1]
    rows = [("l", "layer", "g", "W", "b", "A", "params")]
    for l, layer in enumerate(dense, start=1):
        kernel = tuple(layer.kernel.shape)
        name = layer.name + (f" (+dropout {dropouts[layer.name.split('_')[-1]]:g})"
                             if layer.name.split("_")[-1] in dropouts else "")
        rows.append((str(l), name, layer.activation.__name__, f"({kernel[0]},{kernel[1]})",
                     f"(1,{kernel[1]})", f"({n},{kernel[1]})", f"{layer.count_params():,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"{model.name}: X ({n},{m}) -> ŷ ({n},1), {len(dense)} layer(s), "
             f"{model.count_params():,} parameters"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    text = "\n".join(lines)
    if print_it:
        print(text)
    return text
