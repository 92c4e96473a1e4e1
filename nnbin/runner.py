"""The search protocol's `evaluate` for an experiment: `TrialRunner.run(trials)` trains what the
store does not hold yet through the executor and engine, stores each finished trial as a typed
record (its trials.csv row, history rows and probabilities) and returns the records in order."""
from __future__ import annotations

import numpy as np

from nnbin.core.trials import TrialRecord
from nnbin.refit import refit_key
from nnbin.results import trial_row


def _history_rows(trial, points: list[tuple]) -> list[dict]:
    """Long-format history rows of a trial from (metric, 1-based epoch, value) points."""
    same = {"trial_id": trial.id, "family": trial.family, "config": trial.label,
            "fold": trial.split.fold, "repeat": trial.split.repeat}
    return [{**same, "metric": key, "epoch": epoch, "value": value} for key, epoch, value in points]


def _epoch_points(history: dict) -> list[tuple]:
    """A Keras-style history {metric: [value per epoch]} as (metric, epoch, value) points."""
    return [(key, epoch + 1, value) for key, values in history.items() for epoch, value in enumerate(values)]


class TrialRunner:
    """Trains trials through the engine, appending each finished one to the store and
    skipping those already there; one progress bar across stages, moved by the epochs done
    as the engine reports them and completed as each trial is stored."""

    def __init__(self, config, dataset, store, stored: dict, bar, executor, refits=()):
        from nnbin.engines import FoldData

        self.config, self.dataset, self.store, self.stored = config, dataset, store, stored
        self.bar, self.executor = bar, executor
        self.folds = FoldData(dataset, config.cv.inner_fraction)
        self.done: dict = {}
        self.trained = 0
        self.resumed = 0            # records taken from the store, not trained now
        self.refits = list(refits)  # trained with the first trials that need training ...
        self.refitted: dict = {}    # ... their results, by refit_key
        # importance: every trained trial's weights, for the fold models of the chosen configurations
        self.keep_weights = config.importance.enabled
        self.weights: dict = {}

    def _record(self, result) -> TrialRecord:
        """A finished trial as stored: scores, history, probabilities (exact float32)."""
        trial = result.trial
        y_true = self.dataset.y[trial.split.validation]
        return TrialRecord(trial_row(result, y_true, self.config.metrics, self.config.threshold),
                           _history_rows(trial, _epoch_points(result.history) + self._curve(result, y_true)),
                           result.y_prob.astype(np.float32))

    def _curve(self, result, y_true) -> list[tuple]:
        """The scored fold's loss and rank_by metric at the recorded epochs, as history points
        `validation_loss`, `validation_<rank_by>` (recorded only: never used to stop or choose)."""
        if result.curve is None or result.status != "ok":
            return []
        from nnbin.metrics import score_rows

        epochs, probabilities = result.curve
        finite = np.all(np.isfinite(probabilities), axis=1)
        kept = len(finite) if finite.all() else int(np.argmin(finite))  # up to the first non-finite epoch
        probabilities = np.asarray(probabilities[:kept], np.float64)
        names = {"log_loss": "validation_loss", self.config.rank_by: f"validation_{self.config.rank_by}"}
        values = {name: score_rows(name, y_true, probabilities, self.config.threshold) for name in names}
        return [(label, epoch, values[name][k]) for k, epoch in enumerate(epochs[:kept])
                for name, label in names.items()]

    def _save(self, records: list[TrialRecord]) -> None:
        """Store a batch of finished trials durably (one write and fsync per batch)."""
        if records:
            self.store.append_many(records)
        for record in records:
            self.done[record.trial_id] = record
        self.trained += len(records)
        self.bar.finished([record.trial_id for record in records])
        if records:  # what was stored last, shown as the count moves (not while it stands still)
            row = records[-1].row
            self.bar.postfix(f"{row['family']} repeat {row['repeat']} fold {row['fold']}")

    def run(self, trials: list) -> list[TrialRecord]:
        """Records of the given trials, in their order (not the order they finished in)."""
        todo = []
        for trial in trials:
            if trial.id in self.stored:
                self.resumed += trial.id not in self.done
                self.done[trial.id] = self.stored[trial.id]
                self.bar.finished([trial.id])
            else:
                todo.append(trial)
        extra, self.refits = (self.refits, []) if todo else ([], self.refits)
        refit_ids = {t.id for t in extra}
        kept = refit_ids | ({t.id for t in todo} if self.keep_weights else set())
        pending = []
        self.bar.expect(t.id for t in todo)
        try:
            for result in self.executor.train(self.config.engine, todo + extra, self.folds,
                                              keep_weights=kept, progress=self.bar.listener):
                if result.trial.id in refit_ids:  # a refit trained alongside, for refit_best
                    self.refitted[refit_key(result.trial)] = result
                else:
                    pending.append(self._record(result))
                    if self.keep_weights and result.status == "ok":
                        self.weights[result.trial.id] = result.weights
                if result.batch_end:
                    self._save(pending)
                    pending = []
        finally:
            self._save(pending)  # an interrupt between results keeps what finished
        return [self.done[t.id] for t in trials]
