"""The settings of one network and its training, and ONE table of their constraints
(`CONSTRAINTS`, like scikit-learn's `_parameter_constraints`), checked by one function,
`check_setting`, which the config schema, `ModelSpec`/`TrainSpec` and `NNBinClassifier` all use."""
from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass

# element-wise activations only: glu halves its input's width, so a layer would not have its units
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "mish", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_shrink", "softplus", "softsign", "sparse_plus",
    "squareplus", "swish", "tanh", "tanh_shrink",
)
OPTIMIZERS = ("adadelta", "adafactor", "adagrad", "adam", "adamax", "adamw", "ftrl",
              "lion", "nadam", "rmsprop", "sgd")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
INITIALIZERS = (
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "zeros",
)
CLASS_WEIGHTS = ("balanced",)


def suggest(name: str, choices, aliases: dict | None = None) -> str:
    """'; did you mean 'x'?' when a close match exists, else ''.

    Parameters
    ----------
    name : str
        What the user wrote.
    choices : iterable of str
        The valid names.
    aliases : dict, optional
        {what people write: the choice they mean} (e.g. auc -> roc_auc), taken before spelling.

    Example
    -------
    >>> suggest("tnah", ACTIVATIONS)
    "; did you mean 'tanh'?"
    """
    meant = (aliases or {}).get(str(name).lower())
    close = [meant] if meant in choices else difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_choice(kind: str, name, choices, aliases: dict | None = None) -> str:
    """Return the lower-cased name if it is one of choices, else raise ValueError."""
    if not isinstance(name, str) or name.lower() not in choices:
        raise ValueError(
            f"unknown {kind} {name!r}{suggest(name, choices, aliases)} (choose one of: {', '.join(choices)})"
        )
    return name.lower()


def check_number(value, low=None, high=None, low_open=False, high_open=False, integer=False,
                 name: str = ""):
    """Validate a number against an interval; raise ValueError naming the bound."""
    prefix = f"{name} " if name else ""
    wanted = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        raise ValueError(f"{prefix}must be {'an integer' if integer else 'a number'}, got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{prefix}must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{prefix}must be {'<' if high_open else '<='} {high}, got {value!r}")
    return value


def check_hidden(hidden) -> tuple[int, ...]:
    """Hidden layer widths: a list of integers >= 1 (empty = logistic regression)."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise ValueError(f"hidden must be a list of layer widths such as [16, 8], got {hidden!r}")
    widths = tuple(hidden)
    for i, width in enumerate(widths):
        check_number(width, low=1, integer=True, name=f"hidden[{i}] (layer width)")
    return widths


@dataclass(frozen=True)
class Interval:
    """A number setting's bounds (None: unbounded on that side)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False


@dataclass(frozen=True)
class Choice:
    """A name setting's choices; `many`: one name or a list of names (one per hidden layer);
    `exact`: the name as listed (not lower-cased)."""

    kind: str
    choices: tuple[str, ...]
    many: bool = False
    exact: bool = False


@dataclass(frozen=True)
class Widths:
    """The hidden layers' widths: a list of integers >= 1 (empty: logistic regression)."""


CONSTRAINTS = {  # each setting's bounds, declared once
    "hidden": Widths(),
    "depth": Interval(low=0, integer=True),
    "width": Interval(low=1, integer=True),
    "activation": Choice("activation", ACTIVATIONS, many=True),
    "dropout": Interval(low=0, high=1, high_open=True),
    "l2": Interval(low=0),
    "kernel_initializer": Choice("kernel_initializer", INITIALIZERS),
    "optimizer": Choice("optimizer", OPTIMIZERS),
    "learning_rate": Interval(low=0, low_open=True),
    "momentum": Interval(low=0, high=1, high_open=True),
    "batch_size": Interval(low=1, integer=True),
    "epochs": Interval(low=1, integer=True),
    "class_weight": Choice("class_weight", CLASS_WEIGHTS, exact=True),
    "patience": Interval(low=0, integer=True),
    "seed": Interval(low=0, integer=True),
}
OPTIONAL = ("hidden", "depth", "width", "class_weight", "seed")  # None means "not given"


def check_setting(name: str, value, *, label: str = ""):
    """Check one setting against its constraint; return it normalised (names lower-cased,
    widths and a list of activations as tuples).

    Parameters
    ----------
    name : str
        A key of `CONSTRAINTS`.
    value
        The value, already of its type (the config schema parses text first).
    label : str, optional
        Prefix of the error ("dropout" gives "dropout must be < 1, got 1.0").

    Raises
    ------
    ValueError
        Naming the bound or the choices.

    Example
    -------
    >>> check_setting("activation", ["ReLU", "tanh"])
    ('relu', 'tanh')
    """
    constraint = CONSTRAINTS[name]
    if value is None and name in OPTIONAL:
        return None
    if isinstance(constraint, Widths):
        return check_hidden(value)
    if isinstance(constraint, Choice):
        if constraint.many and not isinstance(value, str):
            return tuple(check_choice(constraint.kind, v, constraint.choices) for v in value)
        if constraint.exact:
            if value not in constraint.choices:
                listed = " or ".join([*map(repr, constraint.choices), *(["null"] if name in OPTIONAL else [])])
                raise ValueError(f"{name} must be {listed}, got {value!r}")
            return value
        return check_choice(constraint.kind, value, constraint.choices)
    return check_number(value, low=constraint.low, high=constraint.high, low_open=constraint.low_open,
                        high_open=constraint.high_open, integer=constraint.integer, name=label)


INTEGER_SETTINGS = tuple(n for n, c in CONSTRAINTS.items() if isinstance(c, Interval) and c.integer)
FLOAT_SETTINGS = tuple(n for n, c in CONSTRAINTS.items() if isinstance(c, Interval) and not c.integer)


def _integer(value, name: str) -> int:
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        try:
            return _integer(float(value) if any(c in value.lower() for c in ".e") else int(value), name)
        except ValueError:
            pass
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{name} must be an integer, got {value!r}")


def coerce_setting(name: str, value):
    """A Python value as its setting's type, read the way the config schema reads it: an
    integer from a whole float or numeric text (5.0, "5" -> 5), a float from any real number
    or numeric text (1 -> 1.0, numpy scalars to Python floats), widths as a tuple of integers.
    Used where settings arrive as Python values (NNBinClassifier's parameters).

    Raises
    ------
    ValueError
        A value that is not of the setting's type.

    Example
    -------
    >>> coerce_setting("epochs", 5.0), coerce_setting("learning_rate", "1e-2")
    (5, 0.01)
    """
    if value is None:
        return None
    if name in INTEGER_SETTINGS:
        return _integer(value, name)
    if name in FLOAT_SETTINGS:
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ValueError(f"{name} must be a number, got {value!r}")
    constraint, listed = CONSTRAINTS[name], not isinstance(value, (str, bytes)) and hasattr(value, "__iter__")
    if isinstance(constraint, Widths) and listed:
        return tuple(_integer(width, f"hidden[{i}] (layer width)") for i, width in enumerate(value))
    if isinstance(constraint, Choice) and constraint.many and listed:
        return tuple(value)
    return value

