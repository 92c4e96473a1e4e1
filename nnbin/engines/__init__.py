"""Engines train a group of trials and yield, per trial, validation probabilities and history."""
from nnbin.engines.keras_engine import TrialResult, train_trials

ENGINES = {"keras": train_trials}

__all__ = ["ENGINES", "TrialResult", "train_trials"]
