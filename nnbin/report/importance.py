"""The importance plots (importance.png: each input's permutation importance over folds against
the probe; weights.png: the first layer's absolute weights per input, as the course's
boxplots) and the report's section "Which inputs matter?"."""
from __future__ import annotations

import html

import pandas as pd

from nnbin.importance import BEATS_SHARE, summarize_importance
from nnbin.report.figures import LEGEND, new_figure

SHOWN = 20  # inputs per panel, most important first (the probe always shown)


def probe_of(result) -> str | None:
    """The probe column's name in a run (run.json's importance_probe; None without one)."""
    return result.metadata.get("importance_probe")


def _panels(n: int, height: float):
    fig, axes = new_figure(1, n, size=(5.0 * n, height))
    return fig, axes[0]


def _boxes(ax, values: dict, marked: set, title: str, xlabel: str) -> None:
    """Horizontal boxplots of {label: values}, in the given order top to bottom."""
    labels = list(values)[::-1]
    ax.boxplot([values[k] for k in labels], vert=False, widths=0.6, showfliers=False)
    ax.set_yticks(range(1, len(labels) + 1),
                  [f"{k} *" if k in marked else k for k in labels], fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)


def plot_importance(table: pd.DataFrame, metric: str, probe: str | None):
    """One panel per configuration: each input's importance (drop in `metric` when permuted)
    over folds x permutations, most important first, the probe's median as a dashed line;
    '*' marks the inputs above the probe in at least BEATS_SHARE of folds."""
    table = table[table["metric"] == metric]
    summary = summarize_importance(table, probe)
    configs = list(dict.fromkeys(summary["config"]))
    fig, axes = _panels(len(configs), 0.9 + 0.28 * min(SHOWN + 1, summary["feature"].nunique()))
    for ax, config in zip(axes, configs):
        rows = summary[summary["config"] == config]
        order = list(rows["feature"][rows["feature"] != probe][:SHOWN]) + ([probe] if probe else [])
        own = table[table["config"] == config]
        values = {f: own.loc[own["feature"] == f, "importance"].to_numpy() for f in order}
        _boxes(ax, values, set(rows.loc[rows["beats_probe"], "feature"]), config, f"drop in {metric} when permuted")
        if probe:
            ax.axvline(float(pd.Series(values[probe]).median()), color="tab:red", linestyle="--",
                       label=f"{probe} (noise) median")
            ax.legend(fontsize=LEGEND, loc="lower right")
        ax.axvline(0, color="0.6", linewidth=0.8)
    return fig


def plot_weights(weights: pd.DataFrame):
    """One panel per configuration: |first-layer weight| per input over folds x units, sorted by median."""
    configs = list(dict.fromkeys(weights["config"]))
    fig, axes = _panels(len(configs), 0.9 + 0.28 * min(SHOWN, weights["feature"].nunique()))
    for ax, config in zip(axes, configs):
        own = weights[weights["config"] == config].assign(size=lambda w: w["weight"].abs())
        order = own.groupby("feature")["size"].median().sort_values(ascending=False).index[:SHOWN]
        _boxes(ax, {f: own.loc[own["feature"] == f, "size"].to_numpy() for f in order}, set(), config,
               "|first-layer weight| (standardised inputs)")
    return fig


def importance_makers(result) -> dict:
    """The importance plots of a run with importance, by file name: importance, weights and
    settings (the swept settings' marginal means, where any setting was swept)."""
    from nnbin.settings_importance import plot_settings, settings_panels

    if result.importance is None or result.importance.empty:
        return {}
    makers = {"importance": lambda: plot_importance(result.importance, result.config.rank_by, probe_of(result)),
              "weights": lambda: plot_weights(result.input_weights)}
    panels = settings_panels(result.summary, result.config.rank_by)
    if panels:
        makers["settings"] = lambda: plot_settings(panels, result.config.rank_by, result.settings_importance)
    return makers


def importance_section(result) -> str:
    """The report's "Which inputs matter?" section (empty without importance)."""
    from nnbin.report.page import table_html

    if result.importance is None or result.importance.empty:
        return ""
    probe = probe_of(result)
    metric = result.config.rank_by
    summary = summarize_importance(result.importance[result.importance["metric"] == metric], probe)
    shown = summary.groupby("config", sort=False).head(10).round(4)
    where = (f"'*' / beats_probe: above the <code>{html.escape(probe)}</code> column (noise, trained with the "
             f"models) on at least {BEATS_SHARE:.0%} of folds" if probe else "no probe column (importance.probe: false)")
    return ('<section id="importance">' f"<h2>Which inputs matter?</h2><p>Drop in {html.escape(metric)} when one input is permuted on a "
            f"validation fold, that fold's own model; mean and sd over folds × permutations; {where}. "
            "Every row: importance.csv; first-layer weights per fold: weights.csv.</p>"
            + table_html(shown[["config", "feature", "importance_mean", "importance_std", "above_probe",
                                "beats_probe"]]) + _settings_block(result) + "</section>")


def _settings_block(result) -> str:
    from nnbin.report.page import table_html

    table = result.settings_importance
    if table is None or table.empty:
        return ""
    return ("<h3>Which settings mattered?</h3><p>Each swept setting's share of the variance of the mean "
            f"{html.escape(result.config.rank_by)} over a family's configurations (Optuna's "
            f"{html.escape(', '.join(sorted(set(table['evaluator']))))}); settings.png: mean score per value.</p>"
            + table_html(table.round(4)))
