"""report.html: one self-contained page (images embedded, no server), a section per question,
sections without content left out; and the pieces a notebook shows (nnbin.report.notebook)."""
from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from nnbin.metrics import higher_is_better
from nnbin.report.importance import importance_section
from nnbin.results import best_per_family, fits_summary

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:14px;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3;white-space:nowrap}td{white-space:nowrap}td:first-child,th:first-child,td.label,th[data-column=config]{text-align:left}
pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%;border:1px solid #eee;margin:0.5em 0}
.verdict{font-size:16px;margin:0.4em 0}table.sortable th{cursor:pointer}table.sortable th:hover{background:#e4e4e4}
th[aria-sort]{background:#dde8f5}details{margin:0.2em 0 0.8em 1em}summary{cursor:pointer}.wide{overflow-x:auto}
input.filter{font-size:14px;padding:3px 6px;width:22em}figure{margin:1em 0}figcaption{font-weight:600}"""

# Sorting (click a column; #sort=<column>:<asc|desc> in the address) and filtering (type in the
# box; #filter=<text>) of the summary table, inline: the page stays one file that opens offline.
# A cell's data-value (a mean shown as "mean ± sd") is what it sorts by; the sorted column's
# header carries aria-sort and an arrow.
SCRIPT = """(function(){
function value(row,i){var c=row.cells[i];var t=(c.dataset.value!==undefined?c.dataset.value:c.textContent).trim();
var n=Number(t);return t!==''&&!isNaN(n)?n:t.toLowerCase();}
function mark(table,i,descending){Array.from(table.tHead.rows[0].cells).forEach(function(th,j){
var arrow=th.querySelector('.arrow');if(j===i){th.setAttribute('aria-sort',descending?'descending':'ascending');
arrow.textContent=descending?' \\u25bc':' \\u25b2';}else{th.removeAttribute('aria-sort');arrow.textContent='';}});}
function sortBy(table,i,descending){var body=table.tBodies[0];var rows=Array.from(body.rows);
rows.sort(function(a,b){var x=value(a,i),y=value(b,i);if(typeof x!==typeof y){x=String(x);y=String(y);}
return (x<y?-1:x>y?1:0)*(descending?-1:1);});rows.forEach(function(r){body.appendChild(r);});
table.dataset.sorted=table.tHead.rows[0].cells[i].dataset.column+(descending?':desc':':asc');mark(table,i,descending);}
function keep(table,text){text=text.toLowerCase();Array.from(table.tBodies[0].rows).forEach(function(r){
r.style.display=r.textContent.toLowerCase().indexOf(text)>=0?'':'none';});}
document.querySelectorAll('table.sortable').forEach(function(table){
Array.from(table.tHead.rows[0].cells).forEach(function(th,i){if(!th.dataset.column){th.dataset.column=th.textContent.trim();}
if(!th.querySelector('.arrow')){var s=document.createElement('span');s.className='arrow';th.appendChild(s);}
th.title='click to sort';th.addEventListener('click',function(){sortBy(table,i,table.dataset.sorted===th.dataset.column+':asc');});});
var box=document.getElementById(table.id+'-filter');if(box){box.addEventListener('input',function(){keep(table,box.value);});}});
var asked=new URLSearchParams(location.hash.slice(1));var summary=document.getElementById('summary');
if(summary&&asked.get('sort')){var p=asked.get('sort').split(':');var i=Array.from(summary.tHead.rows[0].cells).findIndex(function(c){return c.dataset.column===p[0];});
if(i>=0){sortBy(summary,i,p[1]==='desc');}}
if(summary&&asked.get('filter')){var box=document.getElementById('summary-filter');box.value=asked.get('filter');keep(summary,box.value);}
})();"""
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def table_html(frame: pd.DataFrame, table_id: str | None = None) -> str:
    """An HTML table; with table_id, sortable (click a column) and filterable (a text box)."""
    html_table = frame.to_html(index=False, border=0, float_format=lambda v: f"{v:.4f}", na_rep="",
                               table_id=table_id, classes="sortable" if table_id else None)
    return _with_filter(html_table, table_id) if table_id else html_table


def _with_filter(table: str, table_id: str) -> str:
    return (f'<p><input class="filter" id="{table_id}-filter" type="search" '
            f'placeholder="filter rows, e.g. deep or relu"> click a column to sort</p>{table}')


def summary_columns(result) -> list[str]:
    """The metrics the summary shows: rank_by first, then every other scored metric."""
    metrics = dict.fromkeys([result.config.rank_by, *result.config.metrics])
    return [m for m in metrics if f"{m}_mean" in result.summary]


def summary_html(result, table_id: str | None = "summary", limit: int | None = None,
                 metrics: list[str] | None = None) -> str:
    """The ranked summary: one row per configuration, every scored metric (or `metrics`) as
    mean ± sd (sorted by its mean), held-out test scores where there are; the rank column marked
    as the sort order."""
    summary = result.summary
    metrics = [m for m in dict.fromkeys(metrics) if f"{m}_mean" in summary] if metrics else summary_columns(result)
    tests = [m for m in metrics if f"test_{m}" in summary]
    shown = summary if limit is None else summary.head(limit)
    head = ['<th data-column="rank" aria-sort="ascending">rank<span class="arrow"> \u25b2</span></th>'] + [
        f'<th data-column="{html.escape(c)}">{html.escape(c)}<span class="arrow"></span></th>'
        for c in ["config", "trials", "failed", *metrics, *(f"test_{m}" for m in tests)]]
    rows = []
    for row in shown.itertuples(index=False):
        values = row._asdict()
        cells = [f"<td>{values['rank']}</td>", f'<td class="label">{html.escape(str(values["config"]))}</td>',
                 f"<td>{values['trials']}</td>", f"<td>{values['failed']}</td>"]
        cells += [_mean_sd_cell(values[f"{m}_mean"], values[f"{m}_sd"]) for m in metrics]
        cells += [_mean_sd_cell(values[f"test_{m}"], None) for m in tests]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    attributes = f' id="{table_id}" class="sortable"' if table_id else ""
    table = (f'<div class="wide"><table{attributes}><thead><tr>{"".join(head)}</tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table></div>')
    order = "best first" if higher_is_better(result.config.rank_by) else "lowest first"
    note = (f"<p><small>Mean ± sd over folds; ranked by mean {html.escape(result.config.rank_by)} ({order}; "
            "configurations with a failed fold after every complete one).")
    if limit is not None and len(summary) > limit:
        note += f" The best {limit} of {len(summary)}; every row: summary.csv."
    return (_with_filter(table, table_id) if table_id else table) + note + "</small></p>"


def _mean_sd_cell(mean, sd) -> str:
    if pd.isna(mean):
        return '<td data-value="">n/a</td>'
    text = f"{mean:.3f}" + (f" ± {sd:.3f}" if sd is not None and pd.notna(sd) else "")
    return f'<td data-value="{mean!r}" style="white-space:nowrap">{text}</td>'


def _with_folds(result, verdicts) -> str:
    """Each (verdict, Comparison) and, folded under it, the paired fold-by-fold scores it is
    computed from."""
    from nnbin.compare import paired_scores

    blocks = []
    for verdict, comparison in verdicts:
        folds = paired_scores(result.trials, comparison.a, comparison.b, result.config.rank_by)
        blocks.append(f'<p class="verdict">{html.escape(verdict)}</p><details><summary>fold by fold '
                      f"({len(folds)} paired folds)</summary>{table_html(folds)}</details>")
    return "".join(blocks)


def verdicts_html(result) -> str:
    """Each family's best against the baseline, with its paired folds ('' with one family)."""
    return _with_folds(result, [(c.verdict, c) for c in result.comparisons])


def depth_width_html(result) -> str:
    """Deep against shallow configurations of matched size, with their paired folds ('' when none)."""
    return _with_folds(result, depth_width_lines(result, with_comparisons=True))


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


def thresholds_html(result) -> str:
    """Per family's best configuration, folded: the confusion matrix at the run's threshold and the
    rates at other thresholds ('' without validation probabilities)."""
    predictions, threshold = result.predictions, result.config.threshold
    if predictions is None or predictions.empty:
        return ""
    blocks = []
    for config in best_per_family(result.summary)["config"]:
        table = threshold_table(predictions, config, threshold)
        at = table[table["threshold"] == threshold].iloc[0]
        confusion = pd.DataFrame({"": ["actual positive", "actual negative"],
                                  "predicted positive": [int(at["tp"]), int(at["fp"])],
                                  "predicted negative": [int(at["fn"]), int(at["tn"])]})
        blocks.append(f'<details class="thresholds"><summary>{html.escape(config)}: sensitivity '
                      f'{at["sensitivity"]:.3f}, specificity {at["specificity"]:.3f} at threshold {threshold:g}'
                      f"</summary><p>Confusion matrix at threshold {threshold:g} (every fold's validation rows "
                      f"together):</p>{table_html(confusion)}{table_html(table.drop(columns=['tp', 'fp', 'tn', 'fn']))}"
                      "</details>")
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


def figures_html(images: dict[str, bytes]) -> str:
    """{name: PNG bytes} as figures with captions, embedded in the page."""
    return "".join(
        f'<figure id="plot-{html.escape(name)}"><figcaption>{html.escape(name.replace("_", " "))}</figcaption>'
        f'<img alt="{html.escape(name)}" style="max-width:100%" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
        for name, png in images.items())


def _section(section_id: str, title: str, body: str, after: str = "") -> str:
    return f'<section id="{section_id}"><h2>{title}</h2>{body}{after}</section>\n' if body else ""


def write_report(result, plots: list[Path], path: Path) -> Path:
    """One self-contained page (images embedded) readable without a server."""
    from nnbin.config import config_yaml_set_keys

    config, data = result.config, result.metadata["dataset"]
    dataset = pd.DataFrame([{"dataset": data["name"], "rows": data["rows"], "features": data["features"],
                             "numeric": data["numeric"], "categorical": data["categorical"],
                             "target": data["target"], "positive class": data["positive_class"],
                             "positives": data["positives"], "negatives": data["negatives"]}])
    shown_config = config_yaml_set_keys(config)
    versions = result.metadata["versions"]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nnbin: {html.escape(config.name)}</title>
<style>{STYLE}</style></head><body>
<header><h1>{html.escape(config.name)}</h1>
<p>{config.cv.folds}-fold stratified cross-validation × {config.cv.repeats} repeat(s), seed {config.cv.seed};
{html.escape(fits_summary(result.metadata))}; ranked by {html.escape(config.rank_by)}.</p></header>
{_section("verdicts", "Is a network better than the baseline?", verdicts_html(result), '''<p><small>Best
configuration of each family, paired fold by fold. Choosing the best of a grid flatters it: the best score of a
grid is an optimistic estimate of what tuning will achieve on new data.</small></p>''')}{_section(
        "depth-width", "Depth or width, at the same number of parameters?", depth_width_html(result), '''<p><small>Each
deep configuration against the one-hidden-layer configuration closest in size (within 1.5×), paired fold by fold;
the depth vs width plot below shows every configuration.</small></p>''')}{_section("dataset", "Dataset", table_html(dataset))}{
        _section("summary-section", "Summary", summary_html(result))}{_section(
        "thresholds", "Thresholds: each family's best configuration", thresholds_html(result))}{
        importance_section(result)}{_section("plots", "Plots", figures_html({p.stem: p.read_bytes() for p in plots}))}
<section id="config"><h2>Config</h2><details><summary>The resolved config (keys left unset omitted; config.yaml
beside this page has every key)</summary><pre>{html.escape(shown_config)}</pre></details></section>
<footer><p><small>nnbin {html.escape(versions['nnbin'])}, TensorFlow {html.escape(versions['tensorflow'])}, Keras
{html.escape(versions['keras'])}</small></p></footer>
<script>{SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
