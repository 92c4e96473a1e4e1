"""What an experiment's result shows in a notebook: itself (Jupyter calls `_repr_html_`: the
verdicts, the best configurations, the key plots) and each plot as a matplotlib Figure."""
from __future__ import annotations

import html
import sys

from nnbin.errors import ConfigError
from nnbin.report.figures import png_bytes

SHOWN_PLOTS = ("roc", "depth_vs_width", "importance")  # in the result's own display
SHOWN_ROWS = 10
SHOWN_METRICS = ("accuracy", "log_loss")  # beside rank_by (every metric: result.summary)


def _titled(title: str, body: str) -> str:
    return f"<h4>{html.escape(title)}</h4>{body}" if body else ""


def show_figures_inline() -> None:
    """In IPython (a notebook), show a returned matplotlib Figure as PNG, unless a display for
    Figures is already set (the inline backend's, or the user's)."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, png_bytes)


class ResultDisplay:
    """Plot methods and the notebook display of `ExperimentResult` (a run, or one read back)."""

    def __repr__(self) -> str:
        best = self.summary.iloc[0] if len(self.summary) else None
        metric = self.config.rank_by
        top = (f"; best {best['config']} {metric} {best[f'{metric}_mean']:.3f} ± {best[f'{metric}_sd']:.3f}"
               if best is not None else "")
        where = f"; {self.output_dir}" if self.output_dir else ""
        return f"<ExperimentResult {self.config.name!r}: {len(self.summary)} configurations{top}{where}>"

    def plot_names(self) -> list[str]:
        """The plots this run has ('roc', 'learning_curves', ..., 'importance' with importance)."""
        from nnbin.report.plots import figure_makers

        return list(figure_makers(self))

    def plot(self, name: str):
        """One of the run's plots (`plot_names`) as a matplotlib Figure, as report.html shows it.

        Raises
        ------
        ConfigError
            The run has no such plot (the message lists those it has).
        """
        from nnbin.report.plots import figure_makers

        makers = figure_makers(self)
        if name not in makers:
            why = " (the run had no `importance: true`)" if name in ("importance", "weights", "settings") else ""
            raise ConfigError(f"this run has no {name!r} plot{why}; it has: {', '.join(makers)}")
        show_figures_inline()
        return makers[name]()

    def plot_roc(self):
        """ROC curves of each family's best configuration, every fold and their mean."""
        return self.plot("roc")

    def plot_learning_curves(self):
        """Training and validation loss per epoch of each family's best configuration."""
        return self.plot("learning_curves")

    def plot_calibration(self):
        """Observed against predicted probability in quantile bins, with counts."""
        return self.plot("calibration")

    def plot_fold_scores(self):
        """Each fold's score of the best configurations."""
        return self.plot("fold_scores")

    def plot_depth_vs_width(self):
        """Every configuration's score against its number of parameters, by depth."""
        return self.plot("depth_vs_width")

    def plot_importance(self):
        """Each input's permutation importance over folds against the probe (`importance: true`)."""
        return self.plot("importance")

    def _repr_html_(self) -> str:
        from nnbin.report.page import depth_width_html, figures_html, summary_html, verdicts_html
        from nnbin.report.plots import figure_makers
        from nnbin.results import fits_summary

        config = self.config
        makers = figure_makers(self)
        images = {name: png_bytes(makers[name]()) for name in SHOWN_PLOTS if name in makers}
        parts = [f"<h3>{html.escape(config.name)}</h3><p>{config.cv.folds}-fold CV × {config.cv.repeats} "
                 f"repeat(s); {html.escape(fits_summary(self.metadata))}; ranked by {html.escape(config.rank_by)}"
                 + (f"; written to <code>{html.escape(str(self.output_dir))}</code>" if self.output_dir else "")
                 + "</p>", _titled("Is a network better than the baseline?", verdicts_html(self)),
                 _titled("Depth or width, at the same number of parameters?", depth_width_html(self)),
                 _titled("Summary", summary_html(self, table_id=None, limit=SHOWN_ROWS,
                                                 metrics=[config.rank_by, *SHOWN_METRICS])),
                 "".join(f"<p><small>{html.escape(note)}</small></p>" for note in self.notes),
                 figures_html(images),
                 f"<p><small>Other plots: {', '.join(f'result.plot({n!r})' for n in makers if n not in images)}"
                 "</small></p>"]
        return "<div class=\"nnbin-result\">" + "".join(parts) + "</div>"
