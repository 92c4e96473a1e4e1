"""What one network is (`ModelSpec`: layers, activations, optimizer) and how one network is
trained (`TrainSpec`: every setting a model family may fix or sweep), checked against the one
table of constraints in nnbin.core.settings, without importing Keras, pydantic or YAML."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from nnbin.core.errors import ConfigError
from nnbin.core.settings import MOMENTUM_OPTIMIZERS, check_hidden, check_setting


@dataclass(frozen=True)
class NetworkSettings:
    """The settings of a network and its optimizer, declared once: ModelSpec is built from them,
    TrainSpec adds how the network is trained."""

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


@dataclass(frozen=True)
class ModelSpec(NetworkSettings):
    """A binary classifier's architecture and optimizer (checked against the constraints of
    nnbin.core.settings; ConfigError names a bad one).

    Parameters
    ----------
    hidden : tuple of int, default=()
        Widths of the hidden layers; () is logistic regression (one sigmoid neuron).
    depth, width : int, optional
        Shorthand for `depth` hidden layers of `width` units each (resolved into hidden).
    activation : str or tuple of str, default="relu"
        One Keras activation for every hidden layer, or one per layer.
    dropout, l2 : float, default=0.0
        Dropout rate after each hidden layer; L2 penalty on every kernel.
    kernel_initializer, optimizer : str
        Keras names.
    learning_rate, momentum : float
        Optimizer settings (momentum: sgd and rmsprop only).
    seed : int, optional
        Fixes the initial weights and the dropout masks' seeds.

    Example
    -------
    >>> ModelSpec(depth=2, width=8).hidden
    (8, 8)
    """

    seed: int | None = None
    activations: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self):
        try:
            self._validate()
        except ValueError as exc:
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
            depth = check_setting("depth", self.depth, label="depth")
            if depth and self.width is None:
                raise ValueError(f"depth {depth} needs a width (units per hidden layer): add width: 16, "
                                 f"or give hidden: {[16] * depth}")
            if depth:
                hidden = (check_setting("width", self.width, label="width"),) * depth
            set_("depth", None)  # resolved into hidden: equal specs compare equal
            set_("width", None)
        set_("hidden", hidden)
        activations = check_setting("activation", self.activation)
        if isinstance(activations, str):
            activations = (activations,) * len(hidden)
        elif len(activations) != len(hidden):
            raise ValueError(
                f"activation lists {len(activations)} names for {len(hidden)} hidden layers; "
                "give one name for all layers or one per layer"
            )
        set_("activations", activations)
        for name in ("dropout", "l2", "learning_rate"):
            check_setting(name, getattr(self, name), label=name)
        set_("optimizer", check_setting("optimizer", self.optimizer))
        check_setting("momentum", self.momentum, label="momentum")
        if self.momentum and self.optimizer not in MOMENTUM_OPTIMIZERS:
            raise ValueError(f"momentum applies to {' and '.join(MOMENTUM_OPTIMIZERS)}, not {self.optimizer}")
        set_("kernel_initializer", check_setting("kernel_initializer", self.kernel_initializer))
        check_setting("seed", self.seed, label="seed")

    @property
    def kind(self) -> str:
        """'logistic', 'shallow' or 'deep', as in the course."""
        return ("logistic", "shallow")[len(self.hidden)] if len(self.hidden) < 2 else "deep"

    def n_params(self, n_features: int) -> int:
        """(m + 1)·u per layer, counted without building the model."""
        sizes = (n_features, *self.hidden, 1)
        return sum((m + 1) * u for m, u in zip(sizes[:-1], sizes[1:]))


@dataclass(frozen=True)
class TrainSpec(NetworkSettings):
    """Every model and training setting of one configuration, fixed and swept: the network
    (hidden, or depth and width; activation, dropout, l2, kernel_initializer), the optimizer
    (optimizer, learning_rate, momentum) and the training (batch_size, epochs, class_weight,
    patience). Values are checked against `nnbin.core.settings.CONSTRAINTS`; `hidden` and a
    list of activations are held as tuples.

    Parameters
    ----------
    hidden, depth, width, activation, dropout, l2, kernel_initializer, optimizer, learning_rate, momentum
        The network's, as in ModelSpec (hidden None: not given).
    batch_size, epochs : int, default=32, 100
    class_weight : None or "balanced"
    patience : int, default=0
        Early stopping on an inner split of the training fold; 0 trains every epoch.

    Example
    -------
    >>> TrainSpec(hidden=(16,), epochs=50).spec().kind
    'shallow'
    """

    hidden: tuple[int, ...] | None = None  # None: not given (depth and width may say it)
    batch_size: int = 32
    epochs: int = 100
    class_weight: str | None = None
    patience: int = 0

    def __post_init__(self):
        for setting in fields(self):
            object.__setattr__(self, setting.name, check_setting(setting.name, getattr(self, setting.name)))

    def spec(self, seed: int | None = None) -> ModelSpec:
        """The ModelSpec (the network and its optimizer) these settings describe.

        Raises
        ------
        ConfigError
            When settings valid one by one are not valid together (momentum with adam).
        """
        network = {name: getattr(self, name) for name in NETWORK_SETTINGS}
        return ModelSpec(**{**network, "hidden": self.hidden or ()}, seed=seed)

    def to_dict(self) -> dict:
        """The settings as plain data (tuples as lists), as trials.csv, model.json and trial ids
        record them."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


TRAIN_SETTINGS = tuple(f.name for f in fields(TrainSpec))
# the settings a TrainSpec hands to its ModelSpec
NETWORK_SETTINGS = tuple(f.name for f in fields(NetworkSettings))
