"""The Ray scenarios of tests/test_ray.py: their plan, and the one process that runs them
(tests/ray_cluster_run.py inside a loopback-only network namespace, so that every connection stays
on 127.0.0.1). Started once per session, as early as possible so that Ray's ~90 s, mostly in its
own processes, overlap the other tests: by conftest.py at collection (one pytest process), by the
pytest-xdist controller before its workers start (the worker that runs tests/test_ray.py finds
them through the ENV variable), or else by that module's fixture. Plain Python only: the
controller imports this without TensorFlow or Ray."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = "NNBIN_RAY_SCENARIOS"  # the directory of scenarios another process started
BASELINES = ROOT / "configs" / "compare_baselines.yaml"

FAULTY = {  # four work units: three fused stacks (one with early stopping and dropout), one keras-engine configuration
    "dataset": {"name": "breast_cancer"}, "cv": {"folds": 3, "seed": 4},
    "models": [
        {"name": "logistic", "params": {"epochs": 10}, "grid": {"learning_rate": [0.01, 0.1]}},
        {"name": "shallow", "params": {"hidden": [8], "epochs": 10, "learning_rate": 0.01}},
        {"name": "net", "params": {"hidden": [16, 8], "epochs": 15, "patience": 3, "dropout": 0.1,
                                   "activation": "tanh"}, "grid": {"learning_rate": [0.01, 0.05]}},
        {"name": "adamw", "params": {"hidden": [4], "optimizer": "adamw", "epochs": 4}},
    ],
    "metrics": ["roc_auc", "log_loss"], "refit": "best",
    "importance": {"repeats": 2},  # computed on the driver from the weights the workers send back
}
PROGRESS = {  # one stack trained for a few seconds: the workers' progress reaches the bar meanwhile
    "dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0}, "refit": "none",
    "models": [{"name": "net", "params": {"hidden": [4], "epochs": 8000}}],
}
NESTED = {
    "dataset": {"name": "breast_cancer"},
    "cv": {"folds": 2, "nested": True, "inner_folds": 2, "seed": 1},
    "models": [{"name": "logistic", "params": {"epochs": 5}, "grid": {"learning_rate": [0.01, 0.1]}}],
    "metrics": ["roc_auc"], "tensorboard": True,
}


def _namespace_problem() -> str | None:
    """Why Ray cannot be run in a loopback-only network namespace here (None: it can)."""
    if importlib.util.find_spec("ray") is None:
        return "Ray is not installed (pip install -e '.[ray]')"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "needs unshare and ip (util-linux, iproute2) for a loopback-only network namespace"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode:
        return f"cannot make a network namespace (unshare -n needs root): {probe.stderr.strip()[:120]}"
    return None


def start() -> dict:
    """Start the scenarios in the background: {"base": their directory, "child": the process or
    None, "problem": why they cannot run here, or None, "owner": True}."""
    base = Path(tempfile.mkdtemp(prefix="nnbin-ray-"))
    problem = _namespace_problem()
    (base / "problem").write_text(problem or "")
    child = None
    if problem is None:
        plan = {"dir": str(base / "ray"), "baselines_config": str(BASELINES), "faulty": FAULTY,
                "nested": NESTED, "progress": PROGRESS, "local_partial": str(base / "local_partial"),
                "ready": str(base / "ready")}
        (base / "plan.json").write_text(json.dumps(plan))
        with open(base / "child.log", "w") as log:
            child = subprocess.Popen(
                ["unshare", "-n", "sh", "-c", f"ip link set lo up && {sys.executable} "
                 f"{ROOT / 'tests' / 'ray_cluster_run.py'} {base / 'plan.json'}; echo $? > {base / 'exit_code'}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=base, start_new_session=True)
    return {"base": base, "child": child, "problem": problem, "owner": True}


def attach(base: Path) -> dict:
    """The scenarios another process of this session started in `base`."""
    problem = (base / "problem").read_text() if (base / "problem").exists() else "the Ray scenarios did not start"
    return {"base": base, "child": None, "problem": problem or None, "owner": False}


def wait(scenarios: dict, timeout: float = 3600) -> int:
    """The scenarios' exit code, once they ended (a bound for a hang, not a speed: CI's own
    limit is 90 minutes)."""
    code, deadline = scenarios["base"] / "exit_code", time.time() + timeout
    while not (code.exists() and code.read_text().strip()):
        if time.time() > deadline:
            raise TimeoutError(f"the Ray scenarios did not end within {timeout} s")
        time.sleep(0.2)
    return int(code.read_text())


def stop(scenarios: dict) -> None:
    """End the scenarios' processes and remove their directory (only where they were started)."""
    if not scenarios["owner"]:
        return
    if scenarios["child"] is not None and scenarios["child"].poll() is None:
        os.killpg(scenarios["child"].pid, signal.SIGKILL)
    shutil.rmtree(scenarios["base"], ignore_errors=True)
