"""The old name of `nnbin.inspection` (it shadowed the standard library's `inspect`); kept so
that `nnbin.inspect.inspect_model` still works. New code imports `nnbin.inspection`."""
from nnbin.inspection import activations, coefficients, inspect_model

__all__ = ["activations", "coefficients", "inspect_model"]
