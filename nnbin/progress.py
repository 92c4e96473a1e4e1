"""Progress bars counted in fits, moved by the engines' reports of epochs done (a fused stack
reports after every chunk of epochs, the plain engine after every epoch) and completed as each
trial finishes."""
from __future__ import annotations

import sys
import threading

BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"  # tqdm's, n in tenths


class FitBar:
    """A tqdm bar on stderr, counted in fits, that the engines move (fits move in fractions while
    they train: `12.4/80`). `expect` the trials about to train, give `listener` to the engine (it
    reports {trial id: share of its epochs done}, from any thread), and call `finished` as trials
    finish. Reports for trials not expected (stored ones, refits trained alongside) are ignored;
    a finished trial not expected counts as one whole fit. A context manager: closes the bar."""

    def __init__(self, total: int, enabled: bool, desc: str = "training"):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="fit", desc=desc, disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, bar_format=BAR_FORMAT)
        self._shares: dict = {}  # trial id -> share of its epochs shown on the bar, until finished
        self._lock = threading.Lock()

    def __enter__(self) -> "FitBar":
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

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

    def postfix(self, text: str) -> None:
        """What is training now, after the figures."""
        self.bar.set_postfix_str(text)

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
