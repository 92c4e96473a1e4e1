"""The example notebooks (examples/*.ipynb) executed by a real Jupyter kernel (nbclient,
ipykernel), each in a copy of examples/, configs/ and data/; and the result's notebook display
and plot methods, checked in this process."""
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

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


def execute(workspace: Path, name: str, monkeypatch) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(workspace / "jupyter"))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a user's kernel starts
    notebook = nbformat.read(workspace / "examples" / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(workspace / "examples")}}).execute()
    return notebook


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


def test_cross_validation_lab_notebook(workspace, monkeypatch):
    notebook = execute(workspace, "01_cross_validation_lab.ipynb", monkeypatch)
    check_quiet(notebook)
    cells = outputs(notebook)
    table = pd.read_csv(workspace / "data" / "patients.csv")
    assert f"({len(table)}, {table.shape[1] - 2})" in cells[1][0].text  # the features: no id, no target
    page = html_of(cells[2][-1])
    run = workspace / "examples" / "results" / "cv_lab"
    shown_means(page, run)
    assert page.count('<p class="verdict">') == 1 and page.count("data:image/png;base64") == 2  # roc, depth vs width
    folds = cells[4][0]["data"]["text/plain"]
    assert "logistic" in folds and "shallow" in folds and len(pd.read_csv(run / "trials.csv")) == 10
    assert images(cells[5]) == 1 and images(cells[6]) == 1  # learning curves, calibration


def test_logistic_shallow_deep_notebook(workspace, monkeypatch):
    from nnbin.compare import compare

    notebook = execute(workspace, "02_logistic_shallow_deep.ipynb", monkeypatch)
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


def test_depth_vs_width_notebook(workspace, monkeypatch):
    notebook = execute(workspace, "03_depth_vs_width.ipynb", monkeypatch)
    check_quiet(notebook)
    cells = outputs(notebook)
    run = workspace / "examples" / "results" / "depth_vs_width"
    shown_means(html_of(cells[0][-1]), run)
    assert images(cells[1]) == 1
    lines = cells[2][0].text.splitlines()
    assert len(lines) == 2 and "(241 vs 241 parameters)" in lines[0] and "(737 vs 769 parameters)" in lines[1]
