"""Engines train a list of trials and yield, per trial, validation probabilities, history
and weights. `keras`: one fit per trial. `fused`: each architecture's trials as one stack."""
from nnbin.engines import fused, keras_engine
from nnbin.engines.folds import FoldCache
from nnbin.engines.keras_engine import TrialResult

ENGINES = {"fused": fused.train_trials, "keras": keras_engine.train_trials}

__all__ = ["ENGINES", "FoldCache", "TrialResult"]
