"""Ray scenarios for tests/test_ray.py, run in one process inside a network namespace that
holds only loopback (`unshare -n`, `ip link set lo up`), so that Ray never leaves 127.0.0.1.

    python tests/ray_cluster_run.py PLAN.json

PLAN.json names the output directories and configs (written by the test). This script
only runs things and records what happened in DIR/events.json; the test compares the
results with local runs made in its own process.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from nnbin.cli import main as nnbin_main
from nnbin.errors import ConfigError
from nnbin.executors.ray_cluster import connect
from nnbin.experiment import run_experiment

TASK_TITLE = "ray::train_unit"  # a Ray worker's process title while it runs the task


def with_executor(config: dict, address: str) -> dict:
    return {**config, "executor": {"kind": "ray", "address": address, "cpus_per_task": 1}}


def running_task(seconds: float = 600.0, busy_for: float = 1.0, exclude: int = 0) -> psutil.Process:
    """A worker process that has been running a train_unit task for `busy_for` seconds."""
    first_seen: dict = {}
    deadline = time.time() + seconds
    while time.time() < deadline:
        for process in psutil.process_iter(["pid", "cmdline"]):
            if process.pid != exclude and (process.info["cmdline"] or [""])[0].startswith(TASK_TITLE):
                first_seen.setdefault(process.pid, time.time())
                if time.time() - first_seen[process.pid] >= busy_for:
                    return process
        time.sleep(0.1)
    raise RuntimeError("no Ray task was seen running")


def node_task(raylets: dict, exclude: int, seconds: float = 600.0) -> tuple[psutil.Process, psutil.Process]:
    """(a running train_unit worker, the raylet of its node): Ray tells every worker its raylet's
    pid (RAY_RAYLET_PID), which holds however the worker was started and however loaded the
    machine is; a worker that ends before it is read is passed over for the next one."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        victim = running_task(seconds=max(deadline - time.time(), 1.0), exclude=exclude)
        try:
            pid = int(victim.environ().get("RAY_RAYLET_PID", "0"))
        except (psutil.Error, ValueError):
            continue
        if pid in raylets:
            return victim, psutil.Process(pid)
        time.sleep(0.1)
    raise RuntimeError("no running Ray task was found on a worker node")


def run_in_thread(config: dict, output_dir: Path, progress: bool = False) -> threading.Thread:
    errors = []

    def target():
        try:
            run_experiment(config, output_dir=output_dir, progress=progress, report=False)
        except BaseException as exc:  # recorded and re-raised by the caller
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.errors = errors
    thread.start()
    return thread


def bar_positions(config: dict) -> list[float]:
    """Run with the progress bar on (nothing written); where the bar stood after each move."""
    from nnbin.progress import FitBar

    moved, move = [], FitBar._move

    def recorded(self, fits):
        move(self, fits)
        if fits:
            moved.append(self.bar.n)

    FitBar._move = recorded
    try:
        run_experiment(config, write=False, report=False)
    finally:
        FitBar._move = move
    return moved


def finish(thread: threading.Thread) -> None:
    thread.join(2400)  # bounded only so that a hang cannot outlive CI; never reached by a slow run
    if thread.is_alive() or thread.errors:
        raise RuntimeError(f"the run did not finish: {thread.errors}")


def main() -> None:
    # Ray runs its workers at niceness 15 by default: on a machine busy with other work they would
    # get almost no CPU and the scenarios would crawl; here they compete like any process
    os.environ["RAY_worker_niceness"] = "0"
    plan = json.loads(Path(sys.argv[1]).read_text())
    out = Path(plan["dir"])
    events: dict = {"seconds": {}}
    clock = time.time()

    def lap(name: str) -> None:
        nonlocal clock
        events["seconds"][name] = round(time.time() - clock, 1)
        clock = time.time()

    # 1. an address where no cluster listens: a one-line error, quickly
    started = time.time()
    try:
        connect("127.0.0.1:1")
    except ConfigError as exc:
        import ray

        events["unreachable"] = {"message": str(exc), "seconds": time.time() - started,
                                 "ray_started": ray.is_initialized()}

    lap("unreachable")
    # 2. address: local, from the command line: the README's default experiment
    events["cli_code"] = nnbin_main(["train", "--config", plan["baselines_config"], "--quiet",
                                     "--output-dir", str(out / "baselines"),
                                     "--set", "executor.kind=ray", "--set", "executor.address=local"])
    run_experiment(with_executor(plan["nested"], "local"), output_dir=out / "nested", progress=False,
                   report=False)
    import tensorflow as tf

    events["gpus"] = len(tf.config.list_physical_devices("GPU"))
    if not events["gpus"]:  # a mistake only a worker can see comes back as itself
        try:
            run_experiment(with_executor({**plan["nested"], "device": "gpu", "tensorboard": False}, "local"),
                           write=False, progress=False)
        except ConfigError as exc:
            events["worker_config_error"] = str(exc)
    events["progress"] = bar_positions(with_executor(plan["progress"], "local"))
    lap("local_runs")
    events["local_device"] = json.loads((out / "baselines" / "run.json").read_text())["device"]
    import ray

    ray.shutdown()

    # 3. a cluster of a head (no CPUs: it only schedules) and two one-CPU worker nodes
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    lap("cluster_start")
    faulty = with_executor(plan["faulty"], cluster.address)

    # 3a. one run, two faults: a worker process killed while it trains; then, while the retry
    # (or another task) trains, its whole node lost: the raylet and every process it started
    # killed at once, as when the machine goes down
    run = run_in_thread(faulty, out / "faults", progress=True)  # the workers post progress meanwhile
    worker = running_task()
    worker.send_signal(signal.SIGKILL)
    raylets = {node.all_processes["raylet"][0].process.pid: node for node in nodes}
    victim, raylet = node_task(raylets, exclude=worker.pid)
    for process in raylet.children(recursive=True):
        process.send_signal(signal.SIGKILL)
    cluster.remove_node(raylets[raylet.pid], allow_graceful=False)
    finish(run)
    events["faults"] = {"killed_alive": psutil.pid_exists(worker.pid), "victim_alive": psutil.pid_exists(victim.pid),
                        "raylet_alive": psutil.pid_exists(raylet.pid)}
    lap("faults")
    # 3c. the driver killed mid-run, then the same run again: it resumes from the store
    driver_dir = out / "driver_killed"
    script = ("import json, sys; from nnbin.experiment import run_experiment; "
              "run_experiment(json.loads(sys.argv[1]), output_dir=sys.argv[2], progress=False, report=False)")
    driver = subprocess.Popen([sys.executable, "-c", script, json.dumps(faulty), str(driver_dir)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = driver_dir / "trials.jsonl"
    deadline = time.time() + 1200
    while time.time() < deadline and not (records.exists() and records.read_text().count("\n") >= 1):
        time.sleep(0.1)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    events["driver_killed_after"] = records.read_text().count("\n") if records.exists() else 0
    run_experiment(faulty, output_dir=driver_dir, progress=False, report=False)

    lap("driver_killed")
    # 3d. a run stored by the local executor (by the test, meanwhile), resumed on the cluster
    while not Path(plan["ready"]).exists():
        time.sleep(0.1)
    run_experiment(faulty, output_dir=plan["local_partial"], progress=False, report=False)

    lap("local_partial")
    (out / "events.json").write_text(json.dumps(events))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter teardown of Ray and TensorFlow
