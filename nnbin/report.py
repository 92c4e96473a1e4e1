"""Plots (PNG) and a self-contained HTML report of an experiment."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from nnbin.importance_report import importance_plots, importance_section
from nnbin.metrics import higher_is_better
from nnbin.results import architecture_depth, architecture_params, best_per_family, fits_summary

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


def plot_search(trials: pd.DataFrame, family, metric: str, path: Path, kind: str = "random") -> Path:
    """A random or TPE search: each configuration's mean score (± fold sd) against each drawn
    setting, one panel per setting (log axis for loguniform draws); for TPE first each point's
    score and the best so far against the number of points, in the order asked."""
    plt = _pyplot()
    rows = trials[(trials["family"] == family.name) & (trials["status"] == "ok")]
    keys = [k for k in family.grid if k in rows and rows[k].astype(str).nunique() > 1]
    per_config = rows.groupby("config", sort=False).agg(mean=(metric, "mean"), sd=(metric, "std"),
                                                        **{k: (k, "first") for k in keys})
    panels = len(keys) + (kind == "tpe")
    fig, axes = plt.subplots(1, max(panels, 1), figsize=(4.2 * max(panels, 1), 3.6), squeeze=False)
    if kind == "tpe":
        best = per_config["mean"].cummax() if higher_is_better(metric) else per_config["mean"].cummin()
        points = range(1, len(per_config) + 1)
        axes[0][0].plot(points, per_config["mean"], "o", alpha=0.7, label="point")
        axes[0][0].plot(points, best, "-", color="tab:red", label="best so far")
        axes[0][0].set(xlabel="points, in the order asked", ylabel=f"mean {metric}")
        axes[0][0].legend(fontsize=8)
    for ax, key in zip(axes[0][kind == "tpe":], keys):
        values = per_config[key]
        numeric = pd.api.types.is_numeric_dtype(values)
        x = values if numeric else values.astype(str)
        ax.errorbar(x, per_config["mean"], yerr=per_config["sd"].fillna(0), fmt="o", alpha=0.8, capsize=2)
        if isinstance(family.grid[key], dict) and "loguniform" in family.grid[key]:
            ax.set_xscale("log")
        ax.set(xlabel=key, ylabel=f"mean {metric}")
    fig.suptitle(f"{family.name}: {'TPE' if kind == 'tpe' else 'random'} search, {len(per_config)} "
                 "configurations (± sd over folds)")
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
    if "inputs" in result.metadata["dataset"] and not result.config.cv.nested:  # (an older run.json lacks it)
        paths.append(plot_depth_vs_width(result.summary, result.metadata["dataset"]["inputs"], metric,
                                         output_dir / "depth_vs_width.png"))
    for family in result.config.models:
        if result.config.search.kind in ("random", "tpe") and family.grid:
            paths.append(plot_search(result.trials, family, metric, output_dir / f"search_{family.name}.png",
                                     result.config.search.kind))
            continue
        axes_keys = heatmap_axes(result.trials[result.trials["family"] == family.name], list(family.grid))
        if axes_keys:
            paths.append(plot_heatmap(result.trials, family.name, axes_keys, metric,
                                      output_dir / f"heatmap_{family.name}.png"))
    return paths + importance_plots(result, output_dir)


# ---------------------------------------------------------------- HTML

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:14px;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;overflow:auto}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.verdict{font-size:16px;margin:0.4em 0}
table.sortable th{cursor:pointer}table.sortable th:hover{background:#e4e4e4}details{margin:0.2em 0 0.8em 1em}
input.filter{font-size:14px;padding:3px 6px;width:22em}"""

# Sorting (click a column; #sort=<column>:<asc|desc> in the address) and filtering (type in the
# box; #filter=<text>) of the summary table, inline: the page stays one file that opens offline.
SCRIPT = """(function(){
function value(row,i){var t=row.cells[i].textContent.trim();var n=Number(t);return t!==''&&!isNaN(n)?n:t.toLowerCase();}
function sortBy(table,i,descending){var body=table.tBodies[0];var rows=Array.from(body.rows);
rows.sort(function(a,b){var x=value(a,i),y=value(b,i);if(typeof x!==typeof y){x=String(x);y=String(y);}
return (x<y?-1:x>y?1:0)*(descending?-1:1);});rows.forEach(function(r){body.appendChild(r);});
table.dataset.sorted=table.tHead.rows[0].cells[i].textContent+(descending?':desc':':asc');}
function keep(table,text){text=text.toLowerCase();Array.from(table.tBodies[0].rows).forEach(function(r){
r.style.display=r.textContent.toLowerCase().indexOf(text)>=0?'':'none';});}
document.querySelectorAll('table.sortable').forEach(function(table){
Array.from(table.tHead.rows[0].cells).forEach(function(th,i){th.title='click to sort';th.addEventListener('click',function(){
sortBy(table,i,table.dataset.sorted===th.textContent+':asc');});});
var box=document.getElementById(table.id+'-filter');if(box){box.addEventListener('input',function(){keep(table,box.value);});}});
var asked=new URLSearchParams(location.hash.slice(1));var summary=document.getElementById('summary');
if(summary&&asked.get('sort')){var p=asked.get('sort').split(':');var i=Array.from(summary.tHead.rows[0].cells).findIndex(function(c){return c.textContent===p[0];});
if(i>=0){sortBy(summary,i,p[1]==='desc');}}
if(summary&&asked.get('filter')){var box=document.getElementById('summary-filter');box.value=asked.get('filter');keep(summary,box.value);}
})();"""
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _table(frame: pd.DataFrame, table_id: str | None = None) -> str:
    """An HTML table; with table_id, sortable (click a column) and filterable (a text box)."""
    html_table = frame.to_html(index=False, border=0, float_format=lambda v: f"{v:.4f}", na_rep="",
                               table_id=table_id, classes="sortable" if table_id else None)
    if not table_id:
        return html_table
    return (f'<p><input class="filter" id="{table_id}-filter" type="search" '
            f'placeholder="filter rows, e.g. deep or relu"> click a column to sort</p>{html_table}')


def _with_folds(verdict: str, folds: pd.DataFrame) -> str:
    """A verdict and, folded under it, the paired fold-by-fold scores it is computed from."""
    return (f'<p class="verdict">{html.escape(verdict)}</p><details><summary>fold by fold '
            f"({len(folds)} paired folds)</summary>{_table(folds)}</details>")


def _comparison_blocks(result, comparisons) -> tuple[str, str]:
    """(family verdicts, depth-vs-width verdicts) as HTML, each with its paired folds."""
    from nnbin.compare import paired_scores

    metric = result.config.rank_by
    families = "".join(_with_folds(c.verdict, paired_scores(result.trials, c.a, c.b, metric))
                       for c in comparisons) or "<p>Only one model family: nothing to compare.</p>"
    matched = "".join(_with_folds(line, paired_scores(result.trials, c.a, c.b, metric))
                      for line, c in depth_width_lines(result, with_comparisons=True)) or (
        "<p>No configuration with two or more hidden layers has a one-hidden-layer counterpart of "
        "similar size.</p>")
    return families, matched


def threshold_table(predictions: pd.DataFrame, config: str, threshold: float) -> pd.DataFrame:
    """Sensitivity, specificity and precision of one configuration at several thresholds, with
    the confusion counts, on its validation probabilities pooled over every fold."""
    from nnbin.metrics import score

    rows = predictions[predictions["config"] == config].dropna(subset=["y_prob"])
    table = []
    for t in sorted({*THRESHOLDS, threshold}):
        s = score(rows["y_true"].to_numpy(), rows["y_prob"].to_numpy(), ["sensitivity", "specificity"], t)
        precision = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else float("nan")
        table.append({"threshold": t, "sensitivity": s["sensitivity"], "specificity": s["specificity"],
                      "precision": precision, "tp": s["tp"], "fp": s["fp"], "tn": s["tn"], "fn": s["fn"]})
    return pd.DataFrame(table)


def _threshold_section(result) -> str:
    predictions, threshold = result.predictions, result.config.threshold
    if predictions is None or predictions.empty:
        return "<p>No validation probabilities to show (see the notes).</p>"
    blocks = []
    for config in _best_configs(result.summary):
        table = threshold_table(predictions, config, threshold)
        at = table[table["threshold"] == threshold].iloc[0]
        confusion = pd.DataFrame({"": ["actual positive", "actual negative"],
                                  "predicted positive": [int(at["tp"]), int(at["fp"])],
                                  "predicted negative": [int(at["fn"]), int(at["tn"])]})
        blocks.append(f"<h3>{html.escape(config)}</h3><p>Confusion matrix at threshold {threshold:g} "
                      f"(every fold's validation rows together):</p>{_table(confusion)}"
                      f"{_table(table.drop(columns=['tp', 'fp', 'tn', 'fn']))}")
    return "".join(blocks)


def depth_width_lines(result, with_comparisons: bool = False) -> list:
    """Verdicts of deep against shallow configurations of matched size, with their sizes
    (with_comparisons: (verdict, Comparison) pairs)."""
    from nnbin.compare import depth_against_width

    inputs = result.metadata["dataset"].get("inputs")  # an older run.json lacks it: unknown
    if inputs is None or result.config.cv.nested:  # nested: a family's size differs fold by fold
        return []
    pairs = depth_against_width(result.trials, result.summary, inputs, result.config.rank_by)
    lines = [(f"{c.verdict.split(':')[0]} at matched size ({deep:,} vs {shallow:,} parameters):"
              f"{c.verdict.split(':', 1)[1]}", c) for c, deep, shallow in pairs]
    return lines if with_comparisons else [line for line, _ in lines]


def write_report(result, comparisons, plots: list[Path], path: Path) -> Path:
    """One self-contained page (images embedded) readable without a server."""
    from nnbin.config import config_yaml

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
    verdicts, matched = _comparison_blocks(result, comparisons)
    images = "".join(
        f'<h3>{html.escape(p.stem.replace("_", " "))}</h3><img alt="{html.escape(p.stem)}" '
        f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">' for p in plots)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nnbin: {html.escape(config.name)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(config.name)}</h1>
<p>{config.cv.folds}-fold stratified cross-validation × {config.cv.repeats} repeat(s), seed {config.cv.seed};
{html.escape(fits_summary(result.metadata))}; ranked by {metric}.</p>
<h2>Is a network better than the baseline?</h2>{verdicts}
<p><small>Best configuration of each family, paired fold by fold. Choosing the best of a grid
flatters it: the best score of a grid is an optimistic estimate of what tuning will achieve on new data.</small></p>
<h2>Depth or width, at the same number of parameters?</h2>{matched}
<p><small>Each deep configuration against the one-hidden-layer configuration closest in size (within
1.5×), paired fold by fold; the depth vs width plot below shows every configuration.</small></p>
<h2>Dataset</h2>{_table(dataset)}
<h2>Summary (mean and sd over folds)</h2>{_table(result.summary[columns], "summary")}
<h2>Thresholds: each family's best configuration</h2>{_threshold_section(result)}
{importance_section(result)}
<h2>Plots</h2>{images}
<h2>Config</h2><pre>{html.escape(config_yaml(config))}</pre>
<p><small>nnbin {html.escape(result.metadata['versions']['nnbin'])}, TensorFlow
{html.escape(result.metadata['versions']['tensorflow'])}, Keras {html.escape(result.metadata['versions']['keras'])}</small></p>
<script>{SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
