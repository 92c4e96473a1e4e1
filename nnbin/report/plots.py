"""The plots of an experiment, each a matplotlib Figure: `figure_makers` lists a run's, by file
name; `make_plots` writes them as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from nnbin.metrics import higher_is_better, metric_range
from nnbin.report.figures import LEGEND, clipped_error, new_figure, save
from nnbin.report.importance import importance_makers
from nnbin.results import architecture_depth, architecture_params, best_per_family

FPR_GRID = np.linspace(0, 1, 101)


def _best_configs(summary: pd.DataFrame) -> list[str]:
    """Each family's best configuration label."""
    return list(best_per_family(summary)["config"])


def _family_panels(summary: pd.DataFrame, height: float, layout=None):
    """A figure with one panel per family; returns it and (axes, best configuration) pairs."""
    best = _best_configs(summary)
    fig, axes = new_figure(1, len(best), size=(4.2 * len(best), height), layout=layout)
    return fig, list(zip(axes[0], best))


def plot_roc(predictions: pd.DataFrame, summary: pd.DataFrame):
    """ROC curve of each family's best configuration: every fold, and their mean."""
    fig, panels = _family_panels(summary, 4.2)
    for ax, config in panels:
        rows = predictions[predictions["config"] == config]
        curves = []
        for _, fold in rows.dropna(subset=["y_prob"]).groupby(["repeat", "fold"]):
            if fold["y_true"].nunique() < 2:  # no curve on a fold with one class
                continue
            fpr, tpr, _ = roc_curve(fold["y_true"], fold["y_prob"])
            ax.plot(fpr, tpr, color="tab:blue", alpha=0.25, linewidth=1)
            curves.append(np.interp(FPR_GRID, fpr, tpr))
        if curves:
            ax.plot(FPR_GRID, np.mean(curves, axis=0), color="tab:blue", linewidth=2.5, label="mean")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
        ax.set(title=config, xlabel="false positive rate (1 - specificity)",
               ylabel="true positive rate (sensitivity)", xlim=(0, 1), ylim=(0, 1.01))
        if curves:
            ax.legend(loc="lower right", fontsize=LEGEND)
        else:  # every fold diverged or held one class
            ax.text(0.5, 0.5, "no ROC curve: no fold was scored", ha="center", va="center")
    return fig


CURVES = (("loss", "tab:blue", "training loss"),
          ("validation_loss", "tab:red", "validation loss (scored fold; recorded only)"),
          ("val_loss", "tab:orange", "early-stopping split loss"))


def plot_learning_curves(history: pd.DataFrame, summary: pd.DataFrame):
    """Loss per epoch, mean ± sd over folds: training, the scored validation fold (recorded,
    never used to stop or choose) and the early-stopping split when used; a dotted line marks
    the epoch of lowest mean validation loss, after which the family overfits."""
    fig, panels = _family_panels(summary, 4.2, layout="constrained")
    legend = {}  # one legend for every panel, below them
    for ax, config in panels:
        rows = history[history["config"] == config]
        for metric, color, label in CURVES:
            curve = rows[rows["metric"] == metric].groupby("epoch")["value"].agg(["mean", "std"])
            if curve.empty:
                continue
            legend[label] = ax.plot(curve.index, curve["mean"], color=color)[0]
            ax.fill_between(curve.index, curve["mean"] - curve["std"].fillna(0),
                            curve["mean"] + curve["std"].fillna(0), color=color, alpha=0.2)
            if metric != "validation_loss" or curve["mean"].isna().all():  # (every fold diverged: no minimum)
                continue
            lowest = curve["mean"].idxmin()
            if lowest < curve.index.max():
                legend["lowest mean validation loss"] = ax.axvline(lowest, color=color, linestyle=":", linewidth=1.2)
                ax.annotate(f"epoch {lowest}", (lowest, 0.97), xycoords=("data", "axes fraction"), xytext=(3, 0),
                            textcoords="offset points", va="top", fontsize=LEGEND, color=color)
        ax.set(title=config, xlabel="epoch", ylabel="binary cross-entropy")
    if legend:
        fig.legend(list(legend.values()), list(legend), loc="outside lower center", ncol=len(legend),
                   fontsize=LEGEND, frameon=False)
    return fig


def plot_fold_scores(trials: pd.DataFrame, summary: pd.DataFrame, metric: str, limit: int = 15):
    """Each fold's score of the top configurations: a box per configuration, a dot per fold."""
    configs = list(summary["config"].head(limit))
    data = [trials.loc[(trials["config"] == c) & (trials["status"] == "ok"), metric].to_numpy()
            for c in configs]
    fig, ((ax,),) = new_figure(size=(8, 0.45 * len(configs) + 1.5))
    ax.boxplot(data, vert=False, widths=0.6, showfliers=False)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(values, i + rng.uniform(-0.15, 0.15, len(values)), s=14, color="tab:blue", zorder=3)
    ax.set_yticks(range(1, len(configs) + 1), configs)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} per fold", title=f"fold scores, best {len(configs)} configurations")
    return fig


def heatmap_axes(trials: pd.DataFrame, grid_keys: list[str]) -> tuple[str, str] | None:
    """The first two swept settings with more than one value, if any."""
    varying = [k for k in grid_keys if k in trials and trials[k].astype(str).nunique() > 1]
    return (varying[0], varying[1]) if len(varying) >= 2 else None


def plot_heatmap(trials: pd.DataFrame, family: str, axes_keys: tuple[str, str], metric: str):
    """Mean score over two grid axes (averaged over the family's other settings)."""
    rows = trials[(trials["family"] == family) & (trials["status"] == "ok")]
    table = rows.pivot_table(index=axes_keys[0], columns=axes_keys[1], values=metric, aggfunc="mean")
    fig, ((ax,),) = new_figure(size=(1.3 * table.shape[1] + 2.5, 0.8 * table.shape[0] + 1.8))
    cmap = "viridis" if higher_is_better(metric) else "viridis_r"
    image = ax.imshow(table.to_numpy(), cmap=cmap, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=9)
    ax.set(xlabel=axes_keys[1], ylabel=axes_keys[0], title=f"{family}: mean {metric}")
    fig.colorbar(image, ax=ax)
    return fig


def plot_search(trials: pd.DataFrame, family, metric: str, kind: str = "random"):
    """A random or TPE search: each configuration's mean score (± fold sd) against each drawn
    setting, one panel per setting (log axis for loguniform draws); for TPE first each point's
    score and the best so far against the number of points, in the order asked."""
    rows = trials[(trials["family"] == family.name) & (trials["status"] == "ok")]
    keys = [k for k in family.grid if k in rows and rows[k].astype(str).nunique() > 1]
    per_config = rows.groupby("config", sort=False).agg(mean=(metric, "mean"), sd=(metric, "std"),
                                                        **{k: (k, "first") for k in keys})
    panels = len(keys) + (kind == "tpe")
    fig, axes = new_figure(1, max(panels, 1), size=(4.2 * max(panels, 1), 3.6))
    if kind == "tpe":
        best = per_config["mean"].cummax() if higher_is_better(metric) else per_config["mean"].cummin()
        points = range(1, len(per_config) + 1)
        axes[0][0].plot(points, per_config["mean"], "o", alpha=0.7, label="point")
        axes[0][0].plot(points, best, "-", color="tab:red", label="best so far")
        axes[0][0].set(xlabel="points, in the order asked", ylabel=f"mean {metric}")
        axes[0][0].legend(fontsize=LEGEND)
    for ax, key in zip(axes[0][kind == "tpe":], keys):
        values = per_config[key]
        numeric = pd.api.types.is_numeric_dtype(values)
        x = values if numeric else values.astype(str)
        ax.errorbar(x, per_config["mean"], yerr=clipped_error(per_config["mean"], per_config["sd"], metric),
                    fmt="o", alpha=0.8, capsize=2)
        if isinstance(family.grid[key], dict) and "loguniform" in family.grid[key]:
            ax.set_xscale("log")
        ax.set(xlabel=key, ylabel=f"mean {metric}")
    fig.suptitle(f"{family.name}: {'TPE' if kind == 'tpe' else 'random'} search, {len(per_config)} "
                 "configurations (± sd over folds)")
    return fig


def plot_depth_vs_width(summary: pd.DataFrame, n_inputs: int, metric: str):
    """The course's question at a glance: each configuration's mean score (± sd over folds, cut
    at the metric's range) against its number of parameters (log scale), coloured by its number
    of hidden layers, every point labelled. The axis spans the networks' scores; logistic
    regression, when far below (or above) them, is marked at the axis's edge with its value."""
    table = summary.dropna(subset=[f"{metric}_mean"]).assign(
        params=lambda t: [architecture_params(a, n_inputs) for a in t["architecture"]],
        depth=lambda t: [architecture_depth(a) for a in t["architecture"]])
    mean, error = table[f"{metric}_mean"].to_numpy(), clipped_error(table[f"{metric}_mean"], table[f"{metric}_sd"], metric)
    fig, ((ax,),) = new_figure(size=(8.5, 5.0))
    from matplotlib import colormaps

    deepest = max(int(table["depth"].max()), 1) if len(table) else 1
    networks = (table["depth"] > 0).to_numpy()
    limits = _zoomed_limits(mean[networks] - error[0][networks], mean[networks] + error[1][networks], metric)
    off_scale = ~networks & ((mean < limits[0]) | (mean > limits[1])) if limits else np.zeros(len(table), bool)
    depths = sorted(set(table["depth"]))
    # each depth nudged sideways (a few % on the log axis) so equal sizes do not hide each other
    x = table["params"].to_numpy(float) * 10 ** (0.02 * (np.searchsorted(depths, table["depth"]) - (len(depths) - 1) / 2))
    for depth in depths:
        at = (table["depth"] == depth).to_numpy() & ~off_scale
        name = "logistic (no hidden layer)" if depth == 0 else f"{depth} hidden layer{'s' if depth > 1 else ''}"
        ax.errorbar(x[at], mean[at], yerr=error[:, at], fmt="o", capsize=3, alpha=0.85,
                    color=colormaps["viridis"](0.85 * depth / deepest), label=name)
    labels = _point_labels(table)
    for k, (params, value, label) in enumerate(zip(x, mean, labels)):
        if off_scale[k]:
            below = value < limits[0]
            edge = limits[0] if below else limits[1]
            ax.annotate(f"{label}: {value:.3f} (off scale, {'below' if below else 'above'})", (params, edge),
                        xytext=(0, 14 if below else -14), textcoords="offset points", ha="center",
                        va="bottom" if below else "top", fontsize=LEGEND, color="tab:purple",
                        arrowprops={"arrowstyle": "->", "color": "tab:purple"}, annotation_clip=False)
            continue
        ax.annotate(label, (params, value), textcoords="offset points", xytext=(6, 7 if k % 2 else -11),
                    fontsize=8)
    ax.set_xscale("log")
    if len(table):  # every point's size on the axis, the off-scale ones' too
        ax.set_xlim(table["params"].min() / 1.6, table["params"].max() * 1.6)
    if limits:
        ax.set_ylim(*limits)
    ax.set(xlabel=f"parameters (weights and biases, {n_inputs} inputs)", ylabel=f"mean {metric} over folds (± sd)",
           title="depth vs width: score against model size")
    ax.legend(fontsize=LEGEND, loc="best")
    return fig


def _zoomed_limits(lows: np.ndarray, highs: np.ndarray, metric: str) -> tuple[float, float] | None:
    """The y range of the networks' error bars, padded and kept inside the metric's range
    (None: no network, the axis is left as drawn)."""
    if not len(lows):
        return None
    low, high = float(np.min(lows)), float(np.max(highs))
    pad = max(0.08 * (high - low), 0.005)
    floor, ceiling = metric_range(metric)
    return max(low - pad, floor - pad / 4), min(high + pad, ceiling + pad / 4)


def _point_labels(table: pd.DataFrame) -> list[str]:
    """Each point's architecture, or its whole configuration where one architecture appears twice."""
    twice = table["architecture"].duplicated(keep=False)
    return [config if repeated else architecture
            for architecture, config, repeated in zip(table["architecture"], table["config"], twice)]


def calibration_bins(y_true, y_prob, bins: int = 10) -> pd.DataFrame:
    """Quantile bins of the predicted probability (scikit-learn's `calibration_curve(strategy=
    "quantile")` bins, empty ones left out): per bin the mean prediction, the observed fraction
    positive with its 95% Wilson interval, and the number of rows."""
    y_true, y_prob = np.asarray(y_true, float), np.asarray(y_prob, float)
    edges = np.percentile(y_prob, np.linspace(0, 1, bins + 1) * 100)
    ids = np.searchsorted(edges[1:-1], y_prob)
    rows = np.bincount(ids, minlength=bins)
    kept = rows > 0
    n = rows[kept].astype(float)
    observed = np.bincount(ids, weights=y_true, minlength=bins)[kept] / n
    predicted = np.bincount(ids, weights=y_prob, minlength=bins)[kept] / n
    z = 1.959963984540054
    centre = (observed + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(observed * (1 - observed) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = np.clip(np.minimum(centre - half, observed), 0, 1)  # (0 and 1 exactly, not rounded past them)
    high = np.clip(np.maximum(centre + half, observed), 0, 1)
    return pd.DataFrame({"predicted": predicted, "observed": observed, "low": low, "high": high,
                         "rows": rows[kept]})


def plot_calibration(predictions: pd.DataFrame, summary: pd.DataFrame, bins: int = 10):
    """Reliability of each family's best configuration (validation folds pooled): the observed
    fraction positive (95% Wilson interval) against the mean prediction in quantile bins of
    equal counts, the counts stated; below, how the predictions are spread."""
    fig, axes = new_figure(2, 1, size=(6.0, 7.0), height_ratios=[3, 1], sharex=True)
    top, bottom = axes[0][0], axes[1][0]
    for k, config in enumerate(_best_configs(summary)):
        rows = predictions[predictions["config"] == config].dropna(subset=["y_prob"])
        if rows["y_true"].nunique() < 2:
            continue
        table = calibration_bins(rows["y_true"], rows["y_prob"], bins)
        colour = f"C{k}"
        top.errorbar(table["predicted"], table["observed"], yerr=[table["observed"] - table["low"],
                     table["high"] - table["observed"]], fmt="o", capsize=3, color=colour,
                     label=f"{config} ({len(table)} bins, {table['rows'].min()}-{table['rows'].max()} rows each)")
        bottom.hist(rows["y_prob"], bins=np.linspace(0, 1, 21), histtype="step", color=colour, linewidth=1.5)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    top.set(ylabel="observed fraction positive (95% CI)", title="calibration (validation folds pooled)",
            xlim=(0, 1), ylim=(-0.02, 1.02))
    top.legend(fontsize=LEGEND - 1, loc="upper left")
    bottom.set(xlabel="predicted probability (quantile bins of equal counts above)", ylabel="rows")
    return fig


def figure_makers(result) -> dict:
    """Every plot of a run by file name ('roc', 'depth_vs_width', 'importance', ...): a function
    drawing its matplotlib Figure, so a caller draws only what it shows."""
    metric, trials, summary = result.config.rank_by, result.trials, result.summary
    makers = {"roc": lambda: plot_roc(result.predictions, summary),
              "learning_curves": lambda: plot_learning_curves(result.history, summary),
              "fold_scores": lambda: plot_fold_scores(trials, summary, metric),
              "calibration": lambda: plot_calibration(result.predictions, summary)}
    inputs = result.metadata["dataset"].get("inputs")  # an older run.json lacks it
    if inputs is not None and not result.config.cv.nested:
        makers["depth_vs_width"] = lambda: plot_depth_vs_width(summary, inputs, metric)
    kind = result.config.search.kind
    for family in result.config.models:
        if kind in ("random", "tpe") and family.grid:
            makers[f"search_{family.name}"] = lambda family=family: plot_search(trials, family, metric, kind)
            continue
        axes_keys = heatmap_axes(trials[trials["family"] == family.name], list(family.grid))
        if axes_keys:
            makers[f"heatmap_{family.name}"] = lambda family=family, axes_keys=axes_keys: plot_heatmap(
                trials, family.name, axes_keys, metric)
    return makers | importance_makers(result)


def make_plots(result, output_dir: Path) -> list[Path]:
    """Every plot of the experiment, as PNG files in output_dir."""
    return [save(make(), output_dir / f"{name}.png") for name, make in figure_makers(result).items()]

