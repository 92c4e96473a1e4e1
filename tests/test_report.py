"""Plots and the HTML report from a short run."""
import base64
import re
import shutil

import pandas as pd
import pytest

from browser import chromium, needs_browser
from nnbin.experiment import run_experiment

SHORT = {
    "name": "short",
    "dataset": {"name": "iris_binary"},
    "cv": {"folds": 3},
    "predictions": "csv",
    "models": [
        {"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.05}},
        {"name": "net", "params": {"epochs": 3, "patience": 1},
         "grid": {"width": [4, 8], "depth": [1, 2], "learning_rate": [0.05]}},
    ],
}


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    return run_experiment(SHORT, progress=False, output_dir=tmp_path_factory.mktemp("short"))


def test_plots_are_written(short_run):
    out = short_run.output_dir
    for name in ["roc.png", "learning_curves.png", "fold_scores.png", "calibration.png",
                 "depth_vs_width.png", "heatmap_net.png"]:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name


def test_depth_vs_width_counts_parameters_as_keras_does(short_run):
    from nnbin.builders import build_model
    from nnbin.results import architecture_params as n_parameters
    from nnbin.spec import ModelSpec

    for architecture, widths in [("logistic", ()), ("4", (4,)), ("8-8", (8, 8)), ("32-16-8", (32, 16, 8))]:
        assert n_parameters(architecture, 7) == build_model(ModelSpec(hidden=widths), 7).count_params()
    assert short_run.metadata["dataset"]["inputs"] == 4  # iris: 4 numeric columns


def test_depth_against_width_at_matched_size(short_run):
    """iris has 4 inputs: width 4 x depth 2 has 45 parameters, the closest one-layer network is
    width 8 (49, within 1.5x); 8-8 (121) has no one-layer counterpart that close."""
    from nnbin.compare import compare

    page = (short_run.output_dir / "report.html").read_text()
    expected = compare(short_run.trials, "net width=4 depth=2 learning_rate=0.05",
                       "net width=8 depth=1 learning_rate=0.05", metric="roc_auc").verdict
    head, tail = expected.split(":", 1)
    assert f"{head} at matched size (45 vs 49 parameters):{tail}" in page
    assert page.count("at matched size") == 1


def test_predictions_table(short_run):
    predictions = pd.read_csv(short_run.output_dir / "predictions.csv")
    assert len(predictions) == 150 * 5  # every row scored once per configuration
    assert predictions["y_prob"].between(0, 1).all()
    one = predictions[predictions["config"] == "logistic"]
    assert sorted(one["row"]) == list(range(150))


def test_report_is_self_contained_with_verdicts(short_run):
    page = (short_run.output_dir / "report.html").read_text()
    assert "Is a network better than the baseline?" in page
    for comparison in short_run.comparisons:
        assert comparison.verdict.split(":")[0] in page
    assert "corrected resampled t-test" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 6 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="(http|file|/)', page)  # nothing to fetch
    from sklearn.datasets import load_iris

    iris = load_iris()  # the dataset summary, against scikit-learn's own copy of the table
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if "<td>iris_binary</td>" in r)
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    positives = int((iris.target == 2).sum())
    assert cells[:3] == ["iris_binary", str(len(iris.target)), str(iris.data.shape[1])]
    assert cells[-3:] == [iris.target_names[2], str(positives), str(len(iris.target) - positives)]


@needs_browser
def test_report_renders_in_headless_chromium(short_run, tmp_path):
    dom = chromium(tmp_path / "profile", "--dump-dom", (short_run.output_dir / "report.html").as_uri())
    assert "Is a network better than the baseline?" in dom
    assert dom.count("<img") == 6


def _chromium(tmp_path, *arguments):
    return chromium(tmp_path / "profile", "--window-size=1200,1600", *arguments)


def _summary_rows(dom: str) -> list[list[str]]:
    table = dom[dom.index('id="summary"'):]
    table = table[table.index("<tbody>"):table.index("</tbody>")]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            + ["hidden" if "display: none" in attributes else "shown"]
            for attributes, row in re.findall(r"<tr([^>]*)>(.*?)</tr>", table, re.S)]


@needs_browser
def test_report_table_sorts_and_filters_in_headless_chromium(short_run, tmp_path):
    """The summary table sorted by a column (#sort=, as a click does) and filtered (#filter=, as
    typing does) by the page's own script, in a real browser; screenshots of the page and of
    the sorted table are written for a person to look at."""
    page = (short_run.output_dir / "report.html").as_uri()
    rows = _summary_rows(_chromium(tmp_path, "--dump-dom", page + "#sort=accuracy:asc"))
    expected = short_run.summary.sort_values("accuracy_mean", kind="stable")["config"].tolist()
    assert [r[1] for r in rows] == expected and expected != short_run.summary["config"].tolist()
    rows = _summary_rows(_chromium(tmp_path, "--dump-dom", page + "#sort=config:desc&filter=depth=2"))
    assert [r[1] for r in rows] == sorted(short_run.summary["config"], reverse=True)
    assert {r[1] for r in rows if r[-1] == "shown"} == {c for c in short_run.summary["config"] if "depth=2" in c}
    for name, address in (("page.png", page), ("sorted.png", page + "#sort=roc_auc:asc")):
        _chromium(tmp_path, f"--screenshot={tmp_path / name}", address)
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG") and (tmp_path / name).stat().st_size > 20_000


def test_report_thresholds_and_paired_folds(short_run):
    """Each family's best configuration: the confusion matrix at the threshold, from every fold's
    validation rows together, as scikit-learn counts it; each verdict unfolds its paired folds."""
    from sklearn.metrics import confusion_matrix

    from nnbin.report import threshold_table

    page = (short_run.output_dir / "report.html").read_text()
    best = short_run.summary.drop_duplicates("family")["config"]
    for config in best:
        rows = short_run.predictions[short_run.predictions["config"] == config]
        tn, fp, fn, tp = confusion_matrix(rows["y_true"], rows["y_prob"] >= 0.5).ravel()
        at = threshold_table(short_run.predictions, config, 0.5).set_index("threshold").loc[0.5]
        assert (at["tp"], at["fp"], at["tn"], at["fn"]) == (tp, fp, tn, fn)
        assert at["sensitivity"] == pytest.approx(tp / (tp + fn)) and at["precision"] == pytest.approx(tp / (tp + fp))
        assert f'<details class="thresholds"><summary>{config}: sensitivity {at["sensitivity"]:.3f}' in page
    assert page.count("fold by fold (3 paired folds)") == len(short_run.comparisons) + 1  # + depth vs width


def test_tensorboard_logs_scalars_and_hparams(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = {**SHORT, "tensorboard": True, "models": SHORT["models"][:1]}
    run_experiment(config, progress=False, output_dir=tmp_path, report=False)
    root = tmp_path / "tensorboard"
    runs = sorted(p.parent for p in root.rglob("events.out.tfevents.*") if p.parent != root)
    assert len(runs) == 3  # one per trial
    events = EventAccumulator(str(runs[0]), size_guidance={"tensors": 0}).Reload()
    tags = set(events.Tags()["tensors"])
    assert {"roc_auc", "epoch_loss", "_hparams_/session_start_info"} <= tags
    assert len(events.Tensors("epoch_loss")) == 3  # 3 epochs
    root_events = EventAccumulator(str(root)).Reload()
    assert "_hparams_/experiment" in root_events.Tags()["tensors"]


def test_report_summary_and_compare_commands_on_a_finished_run(short_run, tmp_path, capsys):
    """`nnbin report DIR` draws the same plots again from what the run stored (the results
    store and the data's labels; predictions.csv removed), byte for byte; `summary` and
    `compare` print from the stored tables; mistakes are one line and exit 2."""
    from nnbin.cli import main

    copy = tmp_path / "run"
    shutil.copytree(short_run.output_dir, copy)
    plots = sorted(p.name for p in short_run.output_dir.glob("*.png"))
    for name in [*plots, "report.html", "predictions.csv"]:
        (copy / name).unlink()
    assert main(["report", str(copy)]) == 0
    for name in plots:
        assert (copy / name).read_bytes() == (short_run.output_dir / name).read_bytes(), name
    page = (copy / "report.html").read_text()
    assert page.count("data:image/png;base64") == len(plots) and "Is a network better" in page

    assert main(["summary", str(copy)]) == 0
    out = capsys.readouterr().out
    best = short_run.summary.iloc[0]
    assert best["config"] in out and f"{best['roc_auc_mean']:.3f}" in out
    a, b = short_run.comparisons[0].a, short_run.comparisons[0].b
    assert main(["compare", str(copy), a, b, "--metric", "accuracy"]) == 0
    out = capsys.readouterr().out
    trials = short_run.trials.set_index(["config", "fold"])["accuracy"]
    for fold in range(3):  # each fold's paired difference, as the trials table has it
        assert f"{trials[a, fold] - trials[b, fold]:.4f}" in out
    from nnbin.compare import compare

    assert compare(short_run.trials, a, b, metric="accuracy").verdict in out
    assert main(["compare", str(copy), a, "logistc"]) == 2
    names = ", ".join(f"'{n}'" for n in dict.fromkeys(short_run.trials["config"]))
    assert capsys.readouterr().err.strip() == (
        f"nnbin: error: no configuration 'logistc'; did you mean 'logistic'?; the run's configurations: {names}")
    assert main(["compare", str(copy), a, b, "--metric", "auc"]) == 2
    assert capsys.readouterr().err.strip().endswith("did you mean 'roc_auc'?")
    assert main(["summary", str(tmp_path)]) == 2
    assert "holds no finished nnbin run" in capsys.readouterr().err


def test_calibration_bins_against_scikit_learn_and_statsmodels():
    """Quantile bins as scikit-learn's calibration_curve(strategy="quantile") makes them (ties
    leave a bin empty: it is left out, never drawn across), counts as numpy's, and each bin's
    95% interval as statsmodels' Wilson interval."""
    import numpy as np
    from sklearn.calibration import calibration_curve
    from statsmodels.stats.proportion import proportion_confint

    from nnbin.report.plots import calibration_bins

    rng = np.random.default_rng(3)
    for y_prob in (rng.uniform(size=500), np.round(rng.beta(0.5, 0.5, size=500), 1)):  # the second: heavy ties
        y_true = (rng.uniform(size=500) < y_prob).astype(int)
        table = calibration_bins(y_true, y_prob, bins=10)
        observed, predicted = calibration_curve(y_true, y_prob, n_bins=10, strategy="quantile")
        np.testing.assert_allclose(table["observed"], observed, rtol=1e-12)
        np.testing.assert_allclose(table["predicted"], predicted, rtol=1e-12)
        assert table["rows"].sum() == 500 and (table["rows"] > 0).all()
        positives = np.rint(table["observed"] * table["rows"]).astype(int)
        low, high = proportion_confint(positives, table["rows"], alpha=0.05, method="wilson")
        np.testing.assert_allclose(table["low"], low, atol=1e-12)
        np.testing.assert_allclose(table["high"], high, atol=1e-12)
    assert len(calibration_bins(y_true, y_prob, bins=10)) < 10  # ties: fewer bins than asked


def test_error_bars_stop_at_the_metric_range():
    import numpy as np

    from nnbin.report.figures import clipped_error

    below, above = clipped_error([0.99, 0.5, 0.02], [0.05, 0.1, 0.05], "roc_auc")
    np.testing.assert_allclose(below, [0.05, 0.1, 0.02])
    np.testing.assert_allclose(above, [0.01, 0.1, 0.05])
    below, above = clipped_error([0.1], [0.3], "log_loss")  # log loss: no ceiling, floor 0
    np.testing.assert_allclose([below[0], above[0]], [0.1, 0.3])
    below, above = clipped_error([-0.9], [0.3], "mcc")  # MCC's floor is -1
    np.testing.assert_allclose([below[0], above[0]], [0.1, 0.3])


def test_result_plot_methods_and_notebook_display(short_run):
    """Each plot method returns the figure report.html shows (the same PNG bytes); a plot the
    run lacks is a one-line error naming those it has; the notebook display holds the
    verdicts, the summary and two plots."""
    from matplotlib.figure import Figure

    from nnbin.errors import ConfigError
    from nnbin.report.figures import png_bytes

    names = ["roc", "learning_curves", "fold_scores", "calibration", "depth_vs_width", "heatmap_net"]
    assert short_run.plot_names() == names
    for method in ("plot_roc", "plot_learning_curves", "plot_calibration", "plot_fold_scores", "plot_depth_vs_width"):
        figure = getattr(short_run, method)()
        assert isinstance(figure, Figure)
        name = method.removeprefix("plot_")
        assert png_bytes(figure) == (short_run.output_dir / f"{name}.png").read_bytes(), name
    with pytest.raises(ConfigError) as error:
        short_run.plot_importance()
    assert str(error.value) == ("this run has no 'importance' plot (the run had no `importance: true`); "
                                f"it has: {', '.join(names)}")
    page = short_run._repr_html_()
    for comparison in short_run.comparisons:
        assert comparison.verdict in page.replace("&lt;", "<").replace("&gt;", ">")
    assert page.count("data:image/png;base64") == 2 and page.count("<td class=\"label\">") == len(short_run.summary)
    assert repr(short_run).startswith(f"<ExperimentResult 'short': {len(short_run.summary)} configurations; best ")


def test_a_family_that_diverges_on_every_fold_still_gets_its_report(tmp_path):
    """Every fold of 'wild' diverges (SGD at learning rate 1e9): its loss curves are all NaN. The
    run still writes every plot and the page, where wild's scores read n/a and it ranks last."""
    config = {"dataset": {"name": "iris_binary"}, "cv": {"folds": 3}, "rank_by": "mcc",
              "models": [{"name": "logistic", "params": {"epochs": 5}},
                         {"name": "wild", "params": {"epochs": 5, "learning_rate": 1e9, "optimizer": "sgd",
                                                     "hidden": [8]}}]}
    result = run_experiment(config, progress=False, output_dir=tmp_path / "run")
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert (trials.loc[trials["family"] == "wild", "status"] != "ok").all()
    for name in result.plot_names():
        assert (tmp_path / "run" / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
    page = (tmp_path / "run" / "report.html").read_text()
    row = re.search(r'<td class="label">wild</td>(.*?)</tr>', page, re.S).group(1)
    assert row.count(">n/a<") == len(result.config.metrics) and list(result.summary["config"]) == ["logistic", "wild"]
