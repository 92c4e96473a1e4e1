"""The example notebooks (examples/*.ipynb) executed by a real Jupyter kernel (nbclient,
ipykernel), in a copy of examples/, configs/ and data/; and report.html of the runs two of them
make — the default experiment (configs/compare_baselines.yaml) and configs/depth_vs_width.yaml —
as a researcher opens it: rendered by headless Chromium, each section's screenshot kept in
test-artefacts/report/<run>/ for a person to look at, and the rendered DOM checked for what each
section must hold, against values computed here from the run's tables and from Keras. (One
module, so that each run is made once.)"""
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from browser import chromium, needs_browser

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def test_notebooks_are_stored_without_outputs():
    assert [n.name for n in NOTEBOOKS] == ["01_cross_validation_lab.ipynb", "02_logistic_shallow_deep.ipynb",
                                            "03_depth_vs_width.ipynb"]
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of the repository's examples/, configs/ and data/, and a kernelspec for this interpreter."""
    folder = tmp_path_factory.mktemp("notebooks")
    for name in ("examples", "configs", "data"):
        shutil.copytree(ROOT / name, folder / name)
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nnbin tests", "language": "python"}))
    return folder


@pytest.fixture(scope="module")
def executed(workspace):
    """Each example notebook executed once, when first asked for: name -> the executed notebook."""
    from nbclient import NotebookClient

    done = {}

    def execute(name: str) -> nbformat.NotebookNode:
        if name not in done:
            notebook = nbformat.read(workspace / "examples" / name, as_version=4)
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("JUPYTER_PATH", str(workspace / "jupyter"))
                patch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a user's kernel starts
                NotebookClient(notebook, timeout=300, kernel_name="python3",
                               resources={"metadata": {"path": str(workspace / "examples")}}).execute()
            done[name] = notebook
        return done[name]

    return execute


def outputs(notebook) -> list[list]:
    return [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]


def check_quiet(notebook) -> None:
    """Nothing on stderr in any cell: no TensorFlow C++ start-up lines, no warning, no traceback."""
    for cell_outputs in outputs(notebook):
        for output in cell_outputs:
            assert not (output.output_type == "stream" and output.name == "stderr"), output.text[-2000:]


def html_of(output) -> str:
    return output["data"]["text/html"]


def images(cell_outputs) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell_outputs)


def shown_means(page: str, run: Path, metric: str = "roc_auc") -> None:
    """The display's summary rows hold each configuration's mean ± sd from the run's trials.csv."""
    trials = pd.read_csv(run / "trials.csv").groupby("config")[metric].agg(["mean", "std"])
    for config, row in trials.iterrows():
        assert re.search(rf">{re.escape(config)}</td>.*?>{row['mean']:.3f} ± {row['std']:.3f}<", page, re.S), config


def test_cross_validation_lab_notebook(workspace, executed):
    notebook = executed("01_cross_validation_lab.ipynb")
    check_quiet(notebook)
    cells = outputs(notebook)
    table = pd.read_csv(workspace / "data" / "patients.csv")
    assert f"({len(table)}, {table.shape[1] - 2})" in cells[1][0].text  # the features: no id, no target
    bars = [o for o in cells[2] if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(bars) == 1  # tqdm.auto's notebook bar (ipywidgets); the refits train with the folds here
    page = html_of(cells[2][-1])
    run = workspace / "examples" / "results" / "cv_lab"
    shown_means(page, run)
    assert page.count('<p class="verdict">') == 1 and page.count("data:image/png;base64") == 2  # roc, depth vs width
    folds = cells[4][0]["data"]["text/plain"]
    assert "logistic" in folds and "shallow" in folds and len(pd.read_csv(run / "trials.csv")) == 10
    assert images(cells[5]) == 1 and images(cells[6]) == 1  # learning curves, calibration


def test_logistic_shallow_deep_notebook(workspace, executed):
    from nnbin.compare import compare

    notebook = executed("02_logistic_shallow_deep.ipynb")
    check_quiet(notebook)
    cells = outputs(notebook)
    run = workspace / "examples" / "results" / "compare_baselines"
    trials = pd.read_csv(run / "trials.csv")
    page = html_of(cells[0][-1])
    shown_means(page, run)
    verdicts = [compare(trials, family, "logistic", metric="roc_auc").verdict for family in ("shallow", "deep")]
    for verdict in verdicts:  # the paired test, recomputed here from trials.csv
        assert verdict.replace(">", "&gt;").replace("<", "&lt;") in page and verdict in cells[1][0].text
    assert images(cells[2]) == 1 and images(cells[3]) == 1
    reread = cells[4][0]["data"]["text/plain"]
    assert all(config in reread for config in ("logistic", "shallow", "deep"))


def test_depth_vs_width_notebook(workspace, executed):
    notebook = executed("03_depth_vs_width.ipynb")
    check_quiet(notebook)
    cells = outputs(notebook)
    run = workspace / "examples" / "results" / "depth_vs_width"
    shown_means(html_of(cells[0][-1]), run)
    assert images(cells[1]) == 1
    lines = cells[2][0].text.splitlines()
    assert len(lines) == 2 and "(241 vs 241 parameters)" in lines[0] and "(737 vs 769 parameters)" in lines[1]


# ---------------------------------------------------------------- report.html of the runs

ARTEFACTS = ROOT / "test-artefacts" / "report"


@pytest.fixture(scope="module")
def default_run(workspace, executed):
    """The default experiment, as notebook 02 ran it (configs/compare_baselines.yaml), read back."""
    from nnbin.reload import load_results

    executed("02_logistic_shallow_deep.ipynb")
    return load_results(workspace / "examples" / "results" / "compare_baselines")


@pytest.fixture(scope="module")
def depth_run(workspace, executed):
    """configs/depth_vs_width.yaml, as notebook 03 ran it, read back."""
    from nnbin.reload import load_results

    executed("03_depth_vs_width.ipynb")
    return load_results(workspace / "examples" / "results" / "depth_vs_width")


def sections(dom: str) -> dict[str, str]:
    """{section id: its inner HTML} of the rendered page."""
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', dom, re.S))


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def rendered(run, tmp_path) -> dict[str, str]:
    return sections(chromium(tmp_path / "profile", "--dump-dom", (run.output_dir / "report.html").as_uri()))


def summary_expected(run) -> pd.DataFrame:
    """Each configuration's mean and sd (ddof 1) of every metric, from trials.csv."""
    trials = pd.read_csv(run.output_dir / "trials.csv")
    metrics = list(dict.fromkeys([run.config.rank_by, *run.config.metrics]))
    return trials.groupby("config")[metrics].agg(["mean", "std"])


def check_summary(run, section: str) -> None:
    metrics = list(dict.fromkeys([run.config.rank_by, *run.config.metrics]))
    head = re.search(r"<thead>(.*?)</thead>", section, re.S).group(1)
    assert re.findall(r'data-column="([^"]+)"', head) == ["rank", "config", "trials", "failed", *metrics]
    assert re.findall(r'<th[^>]*aria-sort="ascending"[^>]*>(.*?)</th>', head, re.S)[0].startswith("rank")
    expected = summary_expected(run)
    rows = re.findall(r"<tr>(.*?)</tr>", re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1), re.S)
    assert len(rows) == len(run.summary)
    for row in rows:
        cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        config = cells[1]
        for metric, cell in zip(metrics, cells[4:]):
            mean, sd = expected.loc[config, (metric, "mean")], expected.loc[config, (metric, "std")]
            assert cell == f"{mean:.3f} ± {sd:.3f}", (config, metric)
    means = [expected.loc[text(re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[1]), (run.config.rank_by, "mean")]
             for r in rows]
    assert means == sorted(means, reverse=True)  # ranked: best first (every run here scores all folds)


def check_common(run, found: dict[str, str], plots: set[str]) -> None:
    assert list(found)[:1] == ["verdicts"]
    verdicts = [text(v) for v in re.findall(r'<p class="verdict">(.*?)</p>', found["verdicts"], re.S)]
    assert verdicts == [c.verdict for c in run.comparisons] and len(verdicts) == len(run.config.models) - 1
    assert "<details open" not in found["verdicts"]
    check_summary(run, found["summary-section"])
    thresholds = re.findall(r"<details([^>]*)>", found["thresholds"])
    assert thresholds == [' class="thresholds"'] * len(run.config.models)  # one per family, folded
    assert re.findall(r'<figure id="plot-([^"]+)">', found["plots"]) and set(
        re.findall(r'<figure id="plot-([^"]+)">', found["plots"])) == plots
    config = re.search(r"<details>(.*?)<pre>(.*?)</pre></details>", found["config"], re.S)
    shown = yaml.safe_load(html.unescape(config.group(2)))
    assert shown["name"] == run.config.name and shown["cv"]["folds"] == run.config.cv.folds
    assert "null" not in config.group(2) and None not in shown.values()


@needs_browser
def test_default_report_sections(default_run, tmp_path):
    """compare_baselines: three families, no grid. Its deep network (32-16-8) has no one-layer
    counterpart within 1.5x its size (Keras counts the parameters), so there is no depth-or-width
    section; every other section holds what it must."""
    from nnbin.builders import build_model
    from nnbin.spec import ModelSpec

    found = rendered(default_run, tmp_path)
    assert list(found) == ["verdicts", "dataset", "summary-section", "thresholds", "plots", "config"]
    deep, shallow = (build_model(ModelSpec(hidden=h), 30).count_params() for h in ((32, 16, 8), (16,)))
    assert deep / shallow > 1.5
    check_common(default_run, found, {"roc", "learning_curves", "fold_scores", "calibration", "depth_vs_width"})


@needs_browser
def test_depth_vs_width_report_sections(depth_run, tmp_path):
    """depth_vs_width: the section pairs 8-8-8 with 20 units and 16-16-16 with 64, at the sizes
    Keras counts; its verdicts are those of a paired comparison of the two."""
    from nnbin.builders import build_model
    from nnbin.compare import compare
    from nnbin.spec import ModelSpec

    found = rendered(depth_run, tmp_path)
    assert list(found) == ["verdicts", "depth-width", "dataset", "summary-section", "thresholds", "plots", "config"]
    check_common(depth_run, found, {"roc", "learning_curves", "fold_scores", "calibration", "depth_vs_width"})
    lines = [text(v) for v in re.findall(r'<p class="verdict">(.*?)</p>', found["depth-width"], re.S)]
    size = {h: build_model(ModelSpec(hidden=h), 10).count_params() for h in ((8, 8, 8), (20,), (16, 16, 16), (64,))}
    for line, deep, shallow in zip(lines, ("8-8-8", "16-16-16"), ("20", "64"), strict=True):
        verdict = compare(depth_run.trials, f"deep hidden={deep}", f"shallow hidden={shallow}", metric="roc_auc").verdict
        head, tail = verdict.split(":", 1)
        widths = (tuple(map(int, deep.split("-"))), tuple(map(int, shallow.split("-"))))
        assert line == f"{head} at matched size ({size[widths[0]]:,} vs {size[widths[1]]:,} parameters):{tail}"


def test_depth_vs_width_plot_zooms_on_the_networks(depth_run):
    """Logistic regression (AUC 0.41 on parity) is marked off scale with its value; the axis
    spans every network's mean ± sd (cut at 1), and every network's point is labelled."""
    from nnbin.report.plots import plot_depth_vs_width

    summary = depth_run.summary
    fig = plot_depth_vs_width(summary, 10, "roc_auc")
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    networks = summary[summary["family"] != "logistic"]
    assert low <= (networks["roc_auc_mean"] - networks["roc_auc_sd"]).clip(upper=1).min()
    assert high >= networks["roc_auc_mean"].max() and high <= 1.01
    logistic = summary.loc[summary["family"] == "logistic", "roc_auc_mean"].item()
    assert logistic < low
    labels = [t.get_text() for t in ax.texts]
    assert f"logistic: {logistic:.3f} (off scale, below)" in labels
    assert sorted(labels) == sorted([f"logistic: {logistic:.3f} (off scale, below)", *networks["architecture"]])
    bars = [line for collection in ax.collections for segment in collection.get_segments() for line in segment]
    assert max(y for _, y in bars) <= 1.0  # no error bar past AUC 1


def _screenshots(run, name: str, tmp_path) -> None:
    """Each section alone (the others hidden by a style added to a copy of the page), screenshot."""
    page = (run.output_dir / "report.html").read_text(encoding="utf-8")
    folder = ARTEFACTS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    from matplotlib.image import imread

    for section in re.findall(r'<section id="([^"]+)">', page):
        alone = page.replace("</head>", f"<style>section:not(#{section}),header,footer{{display:none}}</style></head>")
        copy = tmp_path / f"{section}.html"
        copy.write_text(alone, encoding="utf-8")
        shot = folder / f"{section}.png"
        chromium(tmp_path / "profile", "--window-size=1200,1400", f"--screenshot={shot}", copy.as_uri())
        pixels = imread(shot)[..., :3]
        assert (pixels < 0.9).any(axis=-1).mean() > 0.002, section  # something drawn, not a blank page


@needs_browser
def test_default_report_screenshots(default_run, tmp_path):
    _screenshots(default_run, "compare_baselines", tmp_path)
    assert len(list((ARTEFACTS / "compare_baselines").glob("*.png"))) == 6


@needs_browser
def test_depth_vs_width_report_screenshots(depth_run, tmp_path):
    _screenshots(depth_run, "depth_vs_width", tmp_path)
    assert len(list((ARTEFACTS / "depth_vs_width").glob("*.png"))) == 7
