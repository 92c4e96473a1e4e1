"""What people see of a run: its plots (matplotlib Figures, PNG files), report.html, and its
display in a notebook."""
from nnbin.report.page import depth_width_lines, threshold_table, write_report
from nnbin.report.plots import figure_makers, make_plots

__all__ = ["depth_width_lines", "figure_makers", "make_plots", "threshold_table", "write_report"]
