"""Matplotlib figures without pyplot: no global backend is chosen or changed, so the same
figures are saved by a terminal run and shown inline by a notebook's own backend."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nnbin.metrics import metric_range

LEGEND = 9  # legend font size: readable in the report at its 1100 px width
DPI = 110


def new_figure(rows: int = 1, columns: int = 1, *, size: tuple[float, float], layout=None, **grid):
    """A matplotlib Figure and its 2-D array of axes (gridspec options in `grid`; layout
    "constrained" for a figure-wide legend outside the panels, else laid out tight when saved)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout=layout)
    axes = fig.subplots(rows, columns, squeeze=False, **grid)
    return fig, axes


def save(fig, path: Path) -> Path:
    """Write the figure as PNG."""
    _lay_out(fig)
    fig.savefig(path, dpi=DPI)
    return path


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (for pages that embed their images)."""
    import io

    buffer = io.BytesIO()
    _lay_out(fig)
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _lay_out(fig) -> None:
    if fig.get_layout_engine() is None:
        fig.tight_layout()


def clipped_error(mean, sd, metric: str) -> np.ndarray:
    """Error bars of mean ± sd cut at the metric's range (an AUC bar never passes 1):
    the (below, above) lengths matplotlib's `yerr` takes."""
    mean = np.asarray(mean, dtype=float)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    low, high = metric_range(metric)
    return np.vstack([mean - np.clip(mean - sd, low, high), np.clip(mean + sd, low, high) - mean])
