"""Plots (PNG) and a self-contained HTML report of an experiment."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from nnbin.metrics import higher_is_better
from nnbin.results import architecture_depth, architecture_params, best_per_family

FPR_GRID = np.linspace(0, 1, 101)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _best_configs(summary: pd.DataFrame) -> list[str]:
    """Each family's best configuration label."""
    return list(best_per_family(summary)["config"])


def _family_panels(summary: pd.DataFrame, height: float):
    """A figure with one panel per family; returns it and (axes, best configuration) pairs."""
    best = _best_configs(summary)
    fig, axes = _pyplot().subplots(1, len(best), figsize=(4.2 * len(best), height), squeeze=False)
    return fig, list(zip(axes[0], best))


def plot_roc(predictions: pd.DataFrame, summary: pd.DataFrame, path: Path) -> Path:
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
            ax.legend(loc="lower right")
        else:  # every fold diverged or held one class
            ax.text(0.5, 0.5, "no ROC curve: no fold was scored", ha="center", va="center")
    return _save(fig, path)


CURVES = (("loss", "tab:blue", "training loss"),
          ("validation_loss", "tab:red", "validation loss (scored fold; recorded only)"),
          ("val_loss", "tab:orange", "early-stopping split loss"))


def plot_learning_curves(history: pd.DataFrame, summary: pd.DataFrame, path: Path) -> Path:
    """Loss per epoch, mean ± sd over folds: training, the scored validation fold (recorded,
    never used to stop or choose) and the early-stopping split when used; a dotted line marks
    the epoch of lowest mean validation loss, after which the family overfits."""
    fig, panels = _family_panels(summary, 3.8)
    for ax, config in panels:
        rows = history[history["config"] == config]
        for metric, color, label in CURVES:
            curve = rows[rows["metric"] == metric].groupby("epoch")["value"].agg(["mean", "std"])
            if curve.empty:
                continue
            ax.plot(curve.index, curve["mean"], color=color, label=label)
            ax.fill_between(curve.index, curve["mean"] - curve["std"].fillna(0),
                            curve["mean"] + curve["std"].fillna(0), color=color, alpha=0.2)
            if metric == "validation_loss" and curve["mean"].idxmin() < curve.index.max():
                ax.axvline(curve["mean"].idxmin(), color=color, linestyle=":", linewidth=1.2,
                           label=f"lowest validation loss (epoch {curve['mean'].idxmin()})")
        ax.set(title=config, xlabel="epoch", ylabel="binary cross-entropy")
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_fold_scores(trials: pd.DataFrame, summary: pd.DataFrame, metric: str, path: Path,
                     limit: int = 15) -> Path:
    """Each fold's score of the top configurations: a box per configuration, a dot per fold."""
    plt = _pyplot()
    configs = list(summary["config"].head(limit))
    data = [trials.loc[(trials["config"] == c) & (trials["status"] == "ok"), metric].to_numpy()
            for c in configs]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(configs) + 1.5))
    ax.boxplot(data, vert=False, widths=0.6, showfliers=False)
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(values, i + rng.uniform(-0.15, 0.15, len(values)), s=14, color="tab:blue", zorder=3)
    ax.set_yticks(range(1, len(configs) + 1), configs)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} per fold", title=f"fold scores, best {len(configs)} configurations")
    return _save(fig, path)


def heatmap_axes(trials: pd.DataFrame, grid_keys: list[str]) -> tuple[str, str] | None:
    """The first two swept settings with more than one value, if any."""
    varying = [k for k in grid_keys if k in trials and trials[k].astype(str).nunique() > 1]
    return (varying[0], varying[1]) if len(varying) >= 2 else None


def plot_heatmap(trials: pd.DataFrame, family: str, axes_keys: tuple[str, str], metric: str,
                 path: Path) -> Path:
    """Mean score over two grid axes (averaged over the family's other settings)."""
    plt = _pyplot()
    rows = trials[(trials["family"] == family) & (trials["status"] == "ok")]
    table = rows.pivot_table(index=axes_keys[0], columns=axes_keys[1], values=metric, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(1.3 * table.shape[1] + 2.5, 0.8 * table.shape[0] + 1.8))
    cmap = "viridis" if higher_is_better(metric) else "viridis_r"
    image = ax.imshow(table.to_numpy(), cmap=cmap, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white", fontsize=9)
    ax.set(xlabel=axes_keys[1], ylabel=axes_keys[0], title=f"{family}: mean {metric}")
    fig.colorbar(image, ax=ax)
    return _save(fig, path)


def plot_search(trials: pd.DataFrame, family, metric: str, path: Path) -> Path:
    """A random search: each configuration's mean score (± fold sd) against each drawn setting,
    one panel per setting (log axis for loguniform draws)."""
    plt = _pyplot()
    rows = trials[(trials["family"] == family.name) & (trials["status"] == "ok")]
    keys = [k for k in family.grid if k in rows and rows[k].astype(str).nunique() > 1]
    per_config = rows.groupby("config").agg(mean=(metric, "mean"), sd=(metric, "std"),
                                            **{k: (k, "first") for k in keys})
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(4.2 * max(len(keys), 1), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        values = per_config[key]
        numeric = pd.api.types.is_numeric_dtype(values)
        x = values if numeric else values.astype(str)
        ax.errorbar(x, per_config["mean"], yerr=per_config["sd"].fillna(0), fmt="o", alpha=0.8, capsize=2)
        if isinstance(family.grid[key], dict) and "loguniform" in family.grid[key]:
            ax.set_xscale("log")
        ax.set(xlabel=key, ylabel=f"mean {metric}")
    fig.suptitle(f"{family.name}: random search, {len(per_config)} configurations (± sd over folds)")
    return _save(fig, path)


def plot_depth_vs_width(summary: pd.DataFrame, n_inputs: int, metric: str, path: Path) -> Path:
    """The course's question at a glance: each configuration's mean score (± sd over folds)
    against its number of parameters (log scale), coloured by its number of hidden layers."""
    plt = _pyplot()
    table = summary.assign(params=[architecture_params(a, n_inputs) for a in summary["architecture"]],
                           depth=[architecture_depth(a) for a in summary["architecture"]])
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    colours = plt.get_cmap("viridis")
    deepest = max(int(table["depth"].max()), 1)
    for depth, rows in table.groupby("depth"):
        name = "logistic (no hidden layer)" if depth == 0 else f"{depth} hidden layer{'s' if depth > 1 else ''}"
        ax.errorbar(rows["params"], rows[f"{metric}_mean"], yerr=rows[f"{metric}_sd"].fillna(0), fmt="o",
                    capsize=3, alpha=0.85, color=colours(0.85 * depth / deepest), label=name)
    best = table.loc[table.groupby("depth")[f"{metric}_mean"].idxmax()]
    for row in best.itertuples():
        ax.annotate(row.architecture, (row.params, getattr(row, f"{metric}_mean")), textcoords="offset points",
                    xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set(xlabel=f"parameters (weights and biases, {n_inputs} inputs)", ylabel=f"mean {metric} over folds",
           title="depth vs width: score against model size")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_calibration(predictions: pd.DataFrame, summary: pd.DataFrame, path: Path, bins: int = 10) -> Path:
    """Observed frequency of the positive class against the predicted probability."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for config in _best_configs(summary):
        rows = predictions[predictions["config"] == config].dropna(subset=["y_prob"])
        if rows["y_true"].nunique() < 2:
            continue
        observed, predicted = calibration_curve(rows["y_true"], rows["y_prob"], n_bins=bins)
        ax.plot(predicted, observed, marker="o", label=config)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    ax.set(xlabel="mean predicted probability", ylabel="observed fraction positive",
           title="calibration (validation folds pooled)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def make_plots(result, output_dir: Path) -> list[Path]:
    """Every plot of the experiment, as PNG files in output_dir."""
    metric = result.config.rank_by
    paths = [
        plot_roc(result.predictions, result.summary, output_dir / "roc.png"),
        plot_learning_curves(result.history, result.summary, output_dir / "learning_curves.png"),
        plot_fold_scores(result.trials, result.summary, metric, output_dir / "fold_scores.png"),
        plot_calibration(result.predictions, result.summary, output_dir / "calibration.png"),
    ]
    if "inputs" in result.metadata["dataset"]:  # the input width (an older run.json lacks it: no plot)
        paths.append(plot_depth_vs_width(result.summary, result.metadata["dataset"]["inputs"], metric,
                                         output_dir / "depth_vs_width.png"))
    for family in result.config.models:
        if result.config.search.kind == "random" and family.grid:
            paths.append(plot_search(result.trials, family, metric, output_dir / f"search_{family.name}.png"))
            continue
        axes_keys = heatmap_axes(result.trials[result.trials["family"] == family.name], list(family.grid))
        if axes_keys:
            paths.append(plot_heatmap(result.trials, family.name, axes_keys, metric,
                                      output_dir / f"heatmap_{family.name}.png"))
    return paths


# ---------------------------------------------------------------- HTML

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:14px;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.verdict{font-size:16px;margin:0.4em 0}"""


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda v: f"{v:.4f}", na_rep="")


def depth_width_lines(result) -> list[str]:
    """Verdicts of deep against shallow configurations of matched size, with their sizes."""
    from nnbin.compare import depth_against_width

    inputs = result.metadata["dataset"].get("inputs")  # runs before nnbin recorded it: unknown
    if inputs is None:
        return []
    pairs = depth_against_width(result.trials, result.summary, inputs, result.config.rank_by)
    return [f"{c.verdict.split(':')[0]} at matched size ({deep:,} vs {shallow:,} parameters):"
            f"{c.verdict.split(':', 1)[1]}" for c, deep, shallow in pairs]


def write_report(result, comparisons, plots: list[Path], path: Path) -> Path:
    """One self-contained page (images embedded) readable without a server."""
    import yaml

    config, data = result.config, result.metadata["dataset"]
    metric = config.rank_by
    columns = ["rank", "config", "trials", "failed"] + [
        c for m in dict.fromkeys([metric, "roc_auc", "accuracy"]) for c in (f"{m}_mean", f"{m}_sd")
        if c in result.summary] + [f"test_{m}" for m in dict.fromkeys([metric, "roc_auc", "accuracy"])
                                    if f"test_{m}" in result.summary]
    dataset = pd.DataFrame([{"dataset": data["name"], "rows": data["rows"], "features": data["features"],
                             "numeric": data["numeric"], "categorical": data["categorical"],
                             "target": data["target"], "positive class": data["positive_class"],
                             "positives": data["positives"], "negatives": data["negatives"]}])
    verdicts = "".join(f'<p class="verdict">{html.escape(c.verdict)}</p>' for c in comparisons) or \
        "<p>Only one model family: nothing to compare.</p>"
    matched = "".join(f'<p class="verdict">{html.escape(line)}</p>' for line in depth_width_lines(result)) or \
        "<p>No configuration with two or more hidden layers has a one-hidden-layer counterpart of similar size.</p>"
    images = "".join(
        f'<h3>{html.escape(p.stem.replace("_", " "))}</h3><img alt="{html.escape(p.stem)}" '
        f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">' for p in plots)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nnbin: {html.escape(config.name)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(config.name)}</h1>
<p>{config.cv.folds}-fold stratified cross-validation × {config.cv.repeats} repeat(s), seed {config.cv.seed};
{len(result.trials)} fits on {html.escape(str(result.metadata['device']))}; ranked by {metric}.</p>
<h2>Is a network better than the baseline?</h2>{verdicts}
<p><small>Best configuration of each family, paired fold by fold. Choosing the best of a grid
flatters it: the best score of a grid is an optimistic estimate of what tuning will achieve on new data.</small></p>
<h2>Depth or width, at the same number of parameters?</h2>{matched}
<p><small>Each deep configuration against the one-hidden-layer configuration closest in size (within
1.5×), paired fold by fold; the depth vs width plot below shows every configuration.</small></p>
<h2>Dataset</h2>{_table(dataset)}
<h2>Summary (mean and sd over folds)</h2>{_table(result.summary[columns].head(30))}
<h2>Plots</h2>{images}
<h2>Config</h2><pre>{html.escape(yaml.safe_dump(config.to_dict(), sort_keys=False))}</pre>
<p><small>nnbin {html.escape(result.metadata['versions']['nnbin'])}, TensorFlow
{html.escape(result.metadata['versions']['tensorflow'])}, Keras {html.escape(result.metadata['versions']['keras'])}</small></p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
