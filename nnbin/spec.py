"""ModelSpec: what a network looks like, validated without importing Keras."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

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


def suggest(name: str, choices, aliases: dict | None = None) -> str:
    """' Did you mean 'x'?' when a close match exists, else ''. aliases: {what people write:
    the choice they mean} (e.g. auc -> roc_auc), taken before spelling."""
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
class ModelSpec:
    """A binary classifier's architecture and optimizer.

    hidden: widths of the hidden layers; () is logistic regression (one sigmoid neuron).
    depth, width: shorthand for `depth` hidden layers of `width` units each.
    activation: one Keras activation for every hidden layer, or one per layer.
    """

    hidden: tuple[int, ...] = ()
    depth: int | None = None
    width: int | None = None
    activation: str | tuple[str, ...] = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    kernel_initializer: str = "glorot_uniform"
    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.0
    seed: int | None = None
    activations: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self):
        try:
            self._validate()
        except ValueError as exc:
            from nnbin.errors import ConfigError

            raise ConfigError(str(exc)) from None

    def _validate(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        hidden = check_hidden(self.hidden)
        if self.depth is not None or self.width is not None:
            if hidden:
                raise ValueError("give either hidden (a list of widths) or depth and width, not both")
            if self.depth is None:
                raise ValueError(f"width {self.width} needs depth (the number of hidden layers): "
                                 f"add depth: 1, or give hidden: [{self.width}]")
            depth = check_number(self.depth, low=0, integer=True, name="depth")
            if depth and self.width is None:
                raise ValueError(f"depth {depth} needs a width (units per hidden layer): add width: 16, "
                                 f"or give hidden: {[16] * depth}")
            if depth:
                hidden = (check_number(self.width, low=1, integer=True, name="width"),) * depth
            set_("depth", None)  # resolved into hidden: equal specs compare equal
            set_("width", None)
        set_("hidden", hidden)
        if isinstance(self.activation, str):
            activations = (check_choice("activation", self.activation, ACTIVATIONS),) * len(hidden)
        else:
            activations = tuple(check_choice("activation", a, ACTIVATIONS) for a in self.activation)
            if len(activations) != len(hidden):
                raise ValueError(
                    f"activation lists {len(activations)} names for {len(hidden)} hidden layers; "
                    "give one name for all layers or one per layer"
                )
        set_("activations", activations)
        check_number(self.dropout, low=0, high=1, high_open=True, name="dropout")
        check_number(self.l2, low=0, name="l2")
        check_number(self.learning_rate, low=0, low_open=True, name="learning_rate")
        set_("optimizer", check_choice("optimizer", self.optimizer, OPTIMIZERS))
        check_number(self.momentum, low=0, high=1, high_open=True, name="momentum")
        if self.momentum and self.optimizer not in MOMENTUM_OPTIMIZERS:
            raise ValueError(f"momentum applies to {' and '.join(MOMENTUM_OPTIMIZERS)}, not {self.optimizer}")
        set_("kernel_initializer",
             check_choice("kernel_initializer", self.kernel_initializer, INITIALIZERS))
        if self.seed is not None:
            check_number(self.seed, low=0, integer=True, name="seed")

    @property
    def kind(self) -> str:
        """'logistic', 'shallow' or 'deep', as in the course."""
        return ("logistic", "shallow")[len(self.hidden)] if len(self.hidden) < 2 else "deep"

    def n_params(self, n_features: int) -> int:
        """(m + 1)·u per layer, counted without building the model."""
        sizes = (n_features, *self.hidden, 1)
        return sum((m + 1) * u for m, u in zip(sizes[:-1], sizes[1:]))
