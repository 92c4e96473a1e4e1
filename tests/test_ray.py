"""The Ray executor against the local one: the same bits, whatever fails along the way.

Ray runs in one child process (tests/ray_cluster_run.py) inside a network namespace that
holds only loopback, so that every connection stays on 127.0.0.1; the local runs it is
compared with are made here."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ray_scenarios
from nnbin.experiment import run_experiment
from ray_scenarios import BASELINES, FAULTY, NESTED

def _drop_last_records(directory: Path, n: int) -> None:
    """A store as an interrupted run leaves it: the last n trials are missing."""
    records = directory / "trials.jsonl"
    lines = records.read_text().splitlines(keepends=True)
    records.write_text("".join(lines[:-n]))


def _metrics(directory: Path, table: str = "trials.csv") -> pd.DataFrame:
    frame = pd.read_csv(directory / table)
    return frame.drop(columns="fit_seconds").sort_values("trial_id").reset_index(drop=True)


def _stored_ids(directory: Path) -> list[str]:
    return [json.loads(line)["row"]["trial_id"] for line in (directory / "trials.jsonl").read_text().splitlines()]


SCENARIOS = pytest.StashKey[dict]()


def start_scenarios(config) -> dict:
    """This session's scenarios (tests/ray_scenarios.py): those the pytest-xdist controller
    started, or started here."""
    if SCENARIOS not in config.stash:
        elsewhere = os.environ.get(ray_scenarios.ENV)
        config.stash[SCENARIOS] = ray_scenarios.attach(Path(elsewhere)) if elsewhere else ray_scenarios.start()
    return config.stash[SCENARIOS]


def stop_scenarios(config) -> None:
    scenarios = config.stash.get(SCENARIOS, None)
    if scenarios is not None:
        ray_scenarios.stop(scenarios)


@pytest.fixture(scope="module")
def runs(request):
    scenarios = start_scenarios(request.config)
    if scenarios["problem"]:
        pytest.skip(scenarios["problem"])
    base = scenarios["base"]
    local = {"baselines": run_experiment(BASELINES, output_dir=base / "local_baselines", progress=False,
                                         report=False),
             "faulty": run_experiment(FAULTY, output_dir=base / "local_faulty", progress=False, report=False),
             "nested": run_experiment(NESTED, output_dir=base / "local_nested", progress=False, report=False)}
    shutil.copytree(base / "local_faulty", base / "local_partial")
    _drop_last_records(base / "local_partial", 9)
    (base / "ready").touch()  # the scenarios' last step resumes this store on the cluster
    code = ray_scenarios.wait(scenarios)
    assert code == 0, (base / "child.log").read_text()[-4000:]
    ray_dir = base / "ray"
    return {"base": base, "ray": ray_dir, "local": local,
            "events": json.loads((ray_dir / "events.json").read_text())}


def test_the_default_experiment_on_ray_gives_the_local_metrics_bit_for_bit(runs):
    assert runs["events"]["cli_code"] == 0
    assert runs["events"]["local_device"].startswith("ray (") and runs["events"]["local_device"].endswith(
        "driver: cpu")
    ray_dir, local_dir = runs["ray"] / "baselines", runs["base"] / "local_baselines"
    pd.testing.assert_frame_equal(_metrics(ray_dir), _metrics(local_dir), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(ray_dir / "history.csv"), pd.read_csv(local_dir / "history.csv"),
                                  check_exact=True)
    ours = np.fromfile(ray_dir / "predictions.f32", "<f4")
    assert np.array_equal(np.sort(ours), np.sort(np.fromfile(local_dir / "predictions.f32", "<f4")))


def test_refitted_models_trained_on_ray_hold_the_local_weights(runs):
    import keras

    for family in ("logistic", "shallow", "deep"):
        ours = keras.models.load_model(runs["ray"] / "baselines" / "models" / family / "model.keras")
        theirs = keras.models.load_model(runs["base"] / "local_baselines" / "models" / family / "model.keras")
        assert len(ours.get_weights()) == len(theirs.get_weights()) > 0
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            assert np.array_equal(a, b)


def test_nested_cross_validation_and_tensorboard_on_ray(runs):
    ray_dir, local_dir = runs["ray"] / "nested", runs["base"] / "local_nested"
    for table in ("trials.csv", "inner_trials.csv"):
        pd.testing.assert_frame_equal(_metrics(ray_dir, table), _metrics(local_dir, table), check_exact=True)
    assert any((ray_dir / "tensorboard").rglob("events.out.tfevents.*"))


@pytest.mark.parametrize("scenario", ["faults", "driver_killed", "local_partial"])
def test_faults_lose_and_duplicate_nothing(runs, scenario):
    """A worker process killed and then a node lost in one run, the driver killed mid-run (then
    rerun), and a run stored by the local executor resumed on Ray: every trial stored exactly
    once and every metric equal to the uninterrupted local run's."""
    directory = (Path(runs["base"]) / "local_partial" if scenario == "local_partial"
                 else runs["ray"] / scenario)
    expected = runs["local"]["faulty"].trials
    ids = _stored_ids(directory)
    assert len(ids) == len(set(ids)) == len(expected)
    assert not (directory / "trials.damaged.jsonl").exists()
    pd.testing.assert_frame_equal(_metrics(directory), _metrics(runs["base"] / "local_faulty"), check_exact=True)
    for table in ("importance.csv", "weights.csv"):  # fold models from workers, or trained again on resume
        pd.testing.assert_frame_equal(pd.read_csv(directory / table), pd.read_csv(runs["base"] / "local_faulty" / table),
                                      check_exact=True)
    assert not [n for n in json.loads((directory / "run.json").read_text())["notes"] if n.startswith("importance")]
    events = runs["events"]
    if scenario == "faults":  # both faults happened while a task trained
        assert not any(events["faults"].values())
    if scenario == "driver_killed":
        assert 1 <= events["driver_killed_after"] < len(expected)
        run = json.loads((directory / "run.json").read_text())
        assert run["resumed"] == events["driver_killed_after"] and run["trained_now"] > 0
    if scenario == "local_partial":
        assert json.loads((directory / "run.json").read_text())["trained_now"] == 9


def test_a_run_stored_on_ray_resumes_locally(runs, tmp_path):
    partial = tmp_path / "from_ray"
    shutil.copytree(runs["ray"] / "baselines", partial)
    _drop_last_records(partial, 4)
    result = run_experiment(BASELINES, output_dir=partial, progress=False, report=False)
    assert result.metadata["trained_now"] == 4 and result.metadata["resumed"] == 11
    pd.testing.assert_frame_equal(_metrics(partial), _metrics(runs["base"] / "local_baselines"), check_exact=True)


def test_an_unreachable_address_is_one_line_error(runs):
    unreachable = runs["events"]["unreachable"]
    assert "executor.address '127.0.0.1:1'" in unreachable["message"]
    assert "ray start --head" in unreachable["message"] and "\n" not in unreachable["message"]
    assert unreachable["ray_started"] is False  # refused before Ray tried (and retried) to connect


def test_a_users_mistake_found_on_a_worker_is_the_same_one_line_error(runs):
    if runs["events"]["gpus"]:
        pytest.skip("this machine has a GPU: device: gpu is no mistake here")
    assert runs["events"]["worker_config_error"].startswith("device: gpu, but TensorFlow sees no GPU")


def test_workers_progress_moves_the_bar_before_their_task_ends(runs):
    """The bar moves by fractions of fits posted by the worker training the stack (about once a
    second), never goes back, and ends at exactly 3 fits."""
    positions = runs["events"]["progress"]
    assert positions == sorted(positions) and positions[-1] == 3
    assert any(0 < n < 3 for n in positions), positions


def test_ray_missing_is_one_line_error(monkeypatch):
    from nnbin.errors import ConfigError
    from nnbin.executors import make_executor
    from nnbin.config import ExecutorConfig

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as when it is not installed
    with pytest.raises(ConfigError, match=r"executor.kind: ray needs Ray.*pip install -e '.\[ray\]'"):
        make_executor(ExecutorConfig(kind="ray"))


def test_executor_settings_are_validated():
    from nnbin.config import ConfigError, config_from_dict

    base = {"dataset": {"name": "breast_cancer"}, "models": [{"name": "logistic"}]}
    for executor, key in [({"kind": "spark"}, "executor.kind"), ({"address": "my cluster"}, "executor.address"),
                          ({"cpus_per_task": 0}, "executor.cpus_per_task"),
                          ({"gpus_per_task": -1}, "executor.gpus_per_task")]:
        with pytest.raises(ConfigError, match=key):
            config_from_dict({**base, "executor": executor})
