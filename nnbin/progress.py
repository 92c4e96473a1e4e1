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
        import warnings

        from tqdm import TqdmWarning

        with warnings.catch_warnings():  # a notebook without ipywidgets: tqdm's text bar, no warning
            warnings.simplefilter("ignore", TqdmWarning)
            from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="fit", desc=desc, disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, bar_format=BAR_FORMAT)
        self._shares: dict = {}  # trial id -> share of its epochs shown on the bar, until finished
        self._lock = threading.Lock()
        self._compiling = False  # trials expected, none reported yet: the first graph compiles

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
        """Trials about to train; until the first of them reports, the bar says it is compiling."""
        with self._lock:
            new = {trial_id: 0.0 for trial_id in trial_ids}
            self._shares.update(new)
            if new and not self.bar.disable and not self._compiling:
                self._compiling = True
                self.bar.set_postfix_str("compiling")

    def report(self, shares: dict) -> None:
        """Move the bar by the epochs done since the last report."""
        with self._lock:
            moved = 0.0
            for trial_id, share in shares.items():
                if share > self._shares.get(trial_id, 1.0):
                    moved += share - self._shares[trial_id]
                    self._shares[trial_id] = share
            if moved and self._compiling:
                self._compiled()
            self._move(moved)

    def postfix(self, text: str) -> None:
        """What was stored last, after the figures."""
        self.bar.set_postfix_str(text)

    def finished(self, trial_ids) -> None:
        """Complete these trials' fits."""
        with self._lock:
            moved = sum(1.0 - self._shares.pop(trial_id, 0.0) for trial_id in trial_ids)
            if moved and self._compiling:
                self._compiled()
            self._move(moved)

    def _compiled(self) -> None:
        """The first graph has run: the label goes."""
        self._compiling = False
        self.bar.set_postfix_str("")

    def _move(self, fits: float) -> None:
        """Advance the bar (under the lock), never past its total (float sums of fractions can
        overshoot it); whole numbers stay whole."""
        if not fits:
            return
        target = self.bar.n + fits
        if self.bar.total is not None:
            target = min(target, self.bar.total)
        if abs(target - round(target)) < 1e-9:
            target = round(target)
        if target > self.bar.n:
            self.bar.update(target - self.bar.n)
            self.bar.n = target  # exactly, not n + (target - n) in floats
