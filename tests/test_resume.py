"""Results that survive: resume after a kill, refusal of a changed config, divergence,
reproducibility."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.cli import main
from nnbin.core.trials import TrialRecord
from nnbin.errors import ConfigError
from nnbin.experiment import run_experiment
from nnbin.metrics import METRICS
from nnbin.store import ResultsStore

ROOT = Path(__file__).parents[1]
TIMING = ["fit_seconds"]

SMALL = {
    "name": "small",
    "dataset": {"name": "moons", "options": {"n_samples": 150}},
    "cv": {"folds": 3, "seed": 0},
    "engine": "keras",
    "models": [
        {"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.05}},
        {"name": "shallow", "params": {"hidden": [4], "epochs": 3},
         "grid": {"learning_rate": [0.01, 0.1]}},
    ],
}


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=TIMING).reset_index(drop=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return run_experiment(SMALL, progress=False, output_dir=tmp_path_factory.mktemp("whole"))


def test_kill_then_resume_gives_the_uninterrupted_tables(tmp_path, uninterrupted, capsys):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "nnbin.cli", "train", "--config", str(config),
               "--output-dir", str(out), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = out / "trials.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None:
        if records.exists() and records.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = records.read_text().count("\n")
    assert 3 <= finished_before < 9, "the run must be killed part-way"
    with open(records, "a") as handle:  # a write torn by the kill
        handle.write('{"row": {"trial_id": "half')

    assert main(["train", "--config", str(config), "--output-dir", str(out)]) == 0
    assert f"resuming: {finished_before} of 9 trials" in capsys.readouterr().err
    resumed = pd.read_csv(out / "trials.csv")
    whole = pd.read_csv(uninterrupted.output_dir / "trials.csv")
    assert resumed["trial_id"].is_unique and len(resumed) == 9
    pd.testing.assert_frame_equal(comparable(resumed), comparable(whole))
    assert json.loads((out / "run.json").read_text())["trained_now"] == 9 - finished_before
    lines = records.read_text().splitlines()
    assert len(lines) == 9 and all(json.loads(line) for line in lines)


def test_rerun_of_a_finished_run_trains_nothing(uninterrupted):
    again = run_experiment(SMALL, progress=False, output_dir=uninterrupted.output_dir)
    assert again.metadata["trained_now"] == 0
    pd.testing.assert_frame_equal(comparable(again.trials), comparable(uninterrupted.trials))


def test_changed_config_is_refused_and_fresh_sets_old_results_aside(tmp_path):
    out = tmp_path / "out"
    run_experiment({**SMALL, "models": SMALL["models"][:1]}, progress=False, output_dir=out)
    before = (out / "trials.csv").read_bytes()
    changed = {**SMALL, "models": SMALL["models"][:1], "cv": {"folds": 3, "seed": 1}}
    with pytest.raises(ConfigError, match=r"holds results of a different config \(changed: cv\)"):
        run_experiment(changed, progress=False, output_dir=out)
    assert (out / "trials.csv").read_bytes() == before
    run_experiment(changed, progress=False, output_dir=out, fresh=True)
    assert (out / "previous" / "trials.csv").read_bytes() == before
    assert (out / "trials.csv").read_bytes() != before


def test_neutral_keys_do_not_block_resuming(tmp_path):
    store = ResultsStore(tmp_path, {"name": "a", "cv": {"folds": 3}})
    store.open()
    store.append(TrialRecord({"trial_id": "x", "roc_auc": float("nan")}, [], np.array([0.25], np.float32)))
    renamed = ResultsStore(tmp_path, {"name": "b", "cv": {"folds": 3}, "device": "cpu"}).open()
    assert list(renamed) == ["x"] and np.isnan(renamed["x"].row["roc_auc"])


@pytest.mark.parametrize("engine", ["fused", "keras"])
def test_divergent_trials_are_recorded_and_the_run_goes_on(tmp_path, engine):
    config = {**SMALL, "engine": engine, "models": [
        {"name": "calm", "params": {"hidden": [4], "epochs": 3, "learning_rate": 0.01}},
        {"name": "wild", "params": {"hidden": [8], "optimizer": "sgd", "learning_rate": 1e6,
                                    "epochs": 20}},
    ], "dataset": {"name": "synthetic", "options": {"n_samples": 120, "class_sep": 0.1}}}
    result = run_experiment(config, progress=False, output_dir=tmp_path)
    wild = result.trials[result.trials["family"] == "wild"]
    assert (wild["status"] == "diverged").all() and wild["roc_auc"].isna().all()
    assert (result.trials.query("family == 'calm'")["status"] == "ok").all()
    summary = result.summary.set_index("family")
    assert summary.loc["wild", "failed"] == 3 and summary.loc["calm", "failed"] == 0
    assert result.comparisons[0].verdict.startswith("wild cannot be compared with calm")


@pytest.mark.parametrize("engine", ["fused", "keras"])
def test_same_config_and_seed_give_identical_tables(tmp_path, engine):
    config = {**SMALL, "engine": engine,
              "models": [{"name": "net", "params": {"hidden": [4], "epochs": 4, "dropout": 0.2}}]}
    first = run_experiment(config, progress=False, output_dir=tmp_path / "a").trials
    second = run_experiment(config, progress=False, output_dir=tmp_path / "b").trials
    columns = ["trial_id", *METRICS, "tp", "fp", "tn", "fn", "epochs_run"]
    pd.testing.assert_frame_equal(first[columns], second[columns])  # exact: to the last digit


def test_interrupt_says_what_was_saved(tmp_path, monkeypatch, capsys):
    from nnbin import engines

    real = engines.ENGINES["keras"]

    def interrupted_after_two(trials, folds, keep_models=False, progress=None):
        for i, result in enumerate(real(trials, folds)):
            if i == 2:
                raise KeyboardInterrupt
            yield result

    monkeypatch.setitem(engines.ENGINES, "keras", interrupted_after_two)
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    code = main(["train", "--config", str(config), "--output-dir", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 130
    assert "interrupted: 2 of 9 trials saved" in err and "run the same command again to resume" in err
    assert (tmp_path / "out" / "trials.jsonl").read_text().count("\n") == 2
