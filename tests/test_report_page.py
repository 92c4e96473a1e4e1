"""report.html of the default run (configs/compare_baselines.yaml) and of configs/depth_vs_width.yaml
as a researcher opens it: rendered by headless Chromium, each section's screenshot kept in
test-artefacts/report/<run>/ for a person to look at, and the rendered DOM checked for what each
section must hold, against values computed here from the run's tables and from Keras."""
import html
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from nnbin.experiment import run_experiment

ROOT = Path(__file__).parents[1]
ARTEFACTS = ROOT / "test-artefacts" / "report"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")


def _run(tmp_path_factory, name):
    return run_experiment(ROOT / "configs" / f"{name}.yaml", progress=False,
                          output_dir=tmp_path_factory.mktemp(name) / "run")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return _run(tmp_path_factory, "compare_baselines")


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    return _run(tmp_path_factory, "depth_vs_width")


def chromium(profile: Path, *arguments) -> str:
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={profile}", *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


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
