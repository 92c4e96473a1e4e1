"""ModelSpec and the settings' choices, at their public path (defined in nnbin.core)."""
from nnbin.core.settings import (ACTIVATIONS, INITIALIZERS, MOMENTUM_OPTIMIZERS, OPTIMIZERS, check_choice,
                                 check_hidden, check_number, suggest)
from nnbin.core.specs import ModelSpec

__all__ = ["ACTIVATIONS", "INITIALIZERS", "MOMENTUM_OPTIMIZERS", "OPTIMIZERS", "ModelSpec", "check_choice",
           "check_hidden", "check_number", "suggest"]
