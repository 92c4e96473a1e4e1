"""Which settings mattered: over the configurations a search cross-validated (grid, random,
halving's survivors), each swept setting's importance for the mean `rank_by` score, by Optuna's
evaluators (fANOVA; PED-ANOVA from PED_ANOVA_FROM configurations), per family; and the marginal
means for a plot. Optuna is an extra (`pip install nnbin[optuna]`): without it, a note."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from nnbin.metrics import higher_is_better

PED_ANOVA_FROM = 200  # configurations: PED-ANOVA instead of fANOVA (its random forest grows slow)
COLUMNS = ["family", "setting", "importance", "evaluator", "configurations"]
MISSING = ("settings importance needs Optuna (pip install 'nnbin[optuna]', or pip install optuna); "
           "not computed")


def _value(text: str):
    """A setting's value as a label writes it: a number where it reads as one, else the text."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def swept_points(summary: pd.DataFrame, family: str) -> pd.DataFrame:
    """One row per configuration of the family: its swept settings (read from the label, e.g.
    'shallow learning_rate=0.01 width=16') and 'score', its mean rank_by; settings with a single
    value and configurations without a score (every fold diverged) left out."""
    rows = summary[summary["family"] == family]
    points = [dict(part.split("=", 1) for part in label.split(" ")[1:]) for label in rows["config"]]
    frame = pd.DataFrame([{k: _value(v) for k, v in p.items()} for p in points], index=rows.index)
    frame["score"] = rows["score"].to_numpy() if "score" in rows else np.nan
    frame = frame[np.isfinite(frame["score"])]
    keep = [c for c in frame.columns if c != "score" and frame[c].nunique() > 1]
    return frame[[*keep, "score"]].reset_index(drop=True)


def _distribution(values: pd.Series):
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    if pd.api.types.is_numeric_dtype(values):
        low, high = float(values.min()), float(values.max())
        return FloatDistribution(low, high, log=low > 0 and high / low >= 10)
    return CategoricalDistribution(sorted(map(str, values.unique())))


def setting_importance(points: pd.DataFrame, maximize: bool, seed: int = 0) -> tuple[dict, str]:
    """({setting: importance, summing to 1}, evaluator name) of one family's configurations."""
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator

    settings = [c for c in points.columns if c != "score"]
    distributions = {s: _distribution(points[s]) for s in settings}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    for row in points.itertuples(index=False):
        values = row._asdict()
        params = {s: (float(values[s]) if isinstance(distributions[s], optuna.distributions.FloatDistribution)
                      else str(values[s])) for s in settings}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions,
                                                  value=float(values["score"])))
    if len(points) >= PED_ANOVA_FROM:
        evaluator, name = PedAnovaImportanceEvaluator(), "ped-anova"
    else:
        evaluator, name = FanovaImportanceEvaluator(seed=seed), "fanova"
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)), name


class SettingsImportance(NamedTuple):
    """What `settings_importance` gives back."""

    table: pd.DataFrame  # COLUMNS: one row per family and swept setting
    notes: list          # MISSING without Optuna


def settings_importance(summary: pd.DataFrame, rank_by: str, seed: int = 0) -> SettingsImportance:
    """Each swept setting's importance, for every family with at least two swept settings over
    at least three configurations (a single swept setting is all the importance there is)."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return SettingsImportance(pd.DataFrame(columns=COLUMNS), [MISSING])
    summary = summary.rename(columns={f"{rank_by}_mean": "score"})
    rows = []
    for family in dict.fromkeys(summary["family"]):
        points = swept_points(summary, family)
        if points.shape[1] < 3 or len(points) < 3:
            continue
        found, evaluator = setting_importance(points, higher_is_better(rank_by), seed)
        rows += [{"family": family, "setting": s, "importance": v, "evaluator": evaluator,
                  "configurations": len(points)} for s, v in found.items()]
    return SettingsImportance(pd.DataFrame(rows, columns=COLUMNS), [])


def marginal_means(points: pd.DataFrame, setting: str) -> pd.DataFrame:
    """Per value of `setting`: the mean and sd of the configurations' scores there (the other
    settings averaged over), and how many configurations."""
    grouped = points.groupby(setting)["score"]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std().fillna(0.0),
                         "configurations": grouped.size()}).reset_index()


def settings_panels(summary: pd.DataFrame, rank_by: str) -> list[tuple[str, str, pd.DataFrame]]:
    """(family, setting, that family's swept points) for each swept setting of each family."""
    summary = summary.rename(columns={f"{rank_by}_mean": "score"})
    points = {family: swept_points(summary, family) for family in dict.fromkeys(summary["family"])}
    return [(family, setting, table) for family, table in points.items() for setting in table.columns
            if setting != "score"]


def plot_settings(panels: list, rank_by: str, importance: pd.DataFrame | None = None):
    """One panel per swept setting (`settings_panels`): the mean score (± sd over the other settings,
    clipped to the metric's range) at each of the setting's values, a log axis where they span a
    factor of 10 or more; the setting's importance in the title when given."""
    from nnbin.report.figures import clipped_error, new_figure

    shares = {} if importance is None else {(r.family, r.setting): r.importance for r in importance.itertuples()}
    columns = min(4, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = new_figure(rows, columns, size=(4.0 * columns, 3.2 * rows))
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax, (family, setting, points) in zip(axes.ravel(), panels):
        means = marginal_means(points, setting)
        numeric = pd.api.types.is_numeric_dtype(means[setting])
        x = means[setting].to_numpy(float) if numeric else np.arange(len(means))
        ax.errorbar(x, means["mean"], yerr=clipped_error(means["mean"], means["sd"], rank_by), marker="o", capsize=3)
        if numeric and x.min() > 0 and x.max() / x.min() >= 10:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(x, [f"{v:g}" for v in x] if numeric else means[setting].astype(str))
        ax.set_xlabel(setting)
        ax.set_ylabel(f"mean {rank_by}")
        share = shares.get((family, setting))
        ax.set_title(f"{family}: {setting}" + (f" (importance {share:.2f})" if share is not None else ""), fontsize=10)
    return fig
