"""Progress bars counted in fits, moved by the engines' reports of epochs done (a fused stack
reports after every chunk of epochs, the plain engine after every epoch) and completed as each
trial finishes."""
from __future__ import annotations

import sys
import threading


def make_bar(total: int, enabled: bool, desc: str = "training"):
    """A tqdm bar on stderr; fits move in fractions while they train (`12.4/80`)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="fit", desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]")


class FitBar:
    """A bar the engines move. `expect` the trials about to train, give `listener` to the engine
    (it reports {trial id: share of its epochs done}, from any thread), and call `finished` as
    trials finish. Reports for trials not expected (stored ones, refits trained alongside) are
    ignored; a finished trial not expected counts as one whole fit."""

    def __init__(self, bar):
        self.bar = bar
        self._shares: dict = {}  # trial id -> share of its epochs shown on the bar, until finished
        self._lock = threading.Lock()

    @property
    def listener(self):
        """The engines' progress callback; None with the bar off (then nothing is reported and a
        fused call runs in one piece)."""
        return None if self.bar.disable else self.report

    def expect(self, trial_ids) -> None:
        with self._lock:
            self._shares.update({trial_id: 0.0 for trial_id in trial_ids})

    def report(self, shares: dict) -> None:
        """Move the bar by the epochs done since the last report."""
        with self._lock:
            moved = 0.0
            for trial_id, share in shares.items():
                if share > self._shares.get(trial_id, 1.0):
                    moved += share - self._shares[trial_id]
                    self._shares[trial_id] = share
            self._move(moved)

    def finished(self, trial_ids) -> None:
        """Complete these trials' fits."""
        with self._lock:
            self._move(sum(1.0 - self._shares.pop(trial_id, 0.0) for trial_id in trial_ids))

    def _move(self, fits: float) -> None:
        """Advance the bar (under the lock); whole numbers stay whole despite float sums."""
        if fits:
            self.bar.update(fits)
            if abs(self.bar.n - round(self.bar.n)) < 1e-9:
                self.bar.n = round(self.bar.n)
