"""nnbin: cross-validated binary classification experiments with Keras.

Logistic regression is one neuron; a shallow network repeats it in a hidden layer;
a deep network stacks layers. nnbin builds all three and compares them honestly.
"""
import os

USER_TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ  # the user's choice is kept (nnbin.device)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out of the way

__version__ = "0.1.0"

from nnbin.errors import ConfigError, DataError, NnbinError  # noqa: E402
from nnbin.core.specs import ModelSpec  # noqa: E402


RUNS = {"run_experiment": "nnbin.experiment", "load_results": "nnbin.reload"}


def __getattr__(name):
    """Import Keras-dependent parts lazily so config and data errors stay fast."""
    if name in {"build_model", "build_logistic", "build_shallow", "build_deep", "describe"}:
        from nnbin import builders

        return getattr(builders, name)
    if name in {"load_dataset", "Dataset", "BUILTIN_DATASETS"}:
        from nnbin import data

        return getattr(data, name)
    if name in RUNS:  # by name: the package's root is not an importer of the run (import-linter)
        import importlib

        return getattr(importlib.import_module(RUNS[name]), name)
    raise AttributeError(f"module 'nnbin' has no attribute {name!r}")


__all__ = [
    "ConfigError", "DataError", "NnbinError", "ModelSpec", "build_model", "build_logistic",
    "build_shallow", "build_deep", "describe", "load_dataset", "Dataset", "BUILTIN_DATASETS",
    "run_experiment", "load_results", "__version__",
]
