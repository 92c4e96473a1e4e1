"""The local executor: the engine trains every trial in this process."""
from __future__ import annotations

from typing import Iterable, Iterator


class LocalExecutor:
    """Trains in this process, exactly as the engine does on its own."""

    where = "local"

    def train(self, engine: str, trials: Iterable, folds, *, keep_weights: Iterable[str] = (),
              progress=None) -> Iterator:
        """The engine's results (nnbin.engines.TrainedTrial), one per trial, as they finish.
        keep_weights: ids of trials whose weights the caller needs (here: every trial's).
        progress: called with {trial id: share of its epochs done} as they train."""
        from nnbin.engines import ENGINES

        return ENGINES[engine](trials, folds, progress=progress)
