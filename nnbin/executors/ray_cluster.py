"""The Ray executor: groups of trials run as Ray tasks, on one machine or a cluster.

The unit of work is a group the engine trains together (a fused stack: one compilation,
up to 256 models), never a single trial: Ray's per-task overhead is paid once per group.
The dataset goes into Ray's object store once per experiment and each worker process keeps
its encoded table and fold preprocessing across tasks; trials travel without their row
indices (the run's splits travel once, by reference). The driver keeps the results store:
each finished task's trials are handed back as they arrive, so resume, progress and the
tables work as with the local executor; while tasks train, workers post each trial's share of
its epochs to a small actor that the driver reads (live progress). Workers run the same engine
code as the local executor, so a trial's results are the same bits wherever it runs (CPU).

Faults: a task whose worker process or node dies is retried by Ray (MAX_RETRIES) on
another worker; its trials are delivered once, by the retry. If the driver dies, what it
stored is kept and the same command resumes.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Iterable, Iterator

import numpy as np

from nnbin.errors import ConfigError, NnbinError

MAX_RETRIES = 3      # a task lost with its worker or node is run again, up to this many times
WORKER_DATASETS = 2  # encoded tables a worker keeps (one experiment's, and one before it)
PROGRESS_POLL = 0.5  # seconds between the driver's readings of the workers' progress


def _ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("executor.kind: ray needs Ray, which is not installed: "
                          "pip install -e '.[ray]' (or pip install 'ray>=2.40'), or set executor.kind: local"
                          ) from None
    return ray


def connect(address: str) -> str:
    """Join (or for address 'local', start) a Ray cluster, once per process; return in words
    what is used. A process already connected (ray.init called by the user) stays connected."""
    ray = _ray()
    if not ray.is_initialized():
        if address not in ("local", "auto"):
            _check_reachable(address)
        # workers' output (TensorFlow's start-up lines) stays in Ray's logs; errors come back as exceptions
        options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        try:
            ray.init(address=address, **options)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise _unreachable(address, reason) from None
    resources = ray.cluster_resources()
    return (f"ray ({int(resources.get('CPU', 0))} CPUs, {int(resources.get('GPU', 0))} GPUs, "
            f"{len([n for n in ray.nodes() if n['Alive']])} nodes)")


def _unreachable(address: str, reason: str) -> ConfigError:
    return ConfigError(f"executor.address '{address}': no Ray cluster could be reached ({reason}); "
                       "start one with `ray start --head` on that machine, or set executor.address: local")


def _check_reachable(address: str, seconds: float = 10) -> None:
    """Fail fast: ray.init waits minutes for an address where nothing listens."""
    import socket

    host, port = address.removeprefix("ray://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or type(exc).__name__) from None


class RayExecutor:
    """Sends each work unit (nnbin.engines.work_units) to a Ray task."""

    where = "ray"

    def __init__(self, settings, *, device: str = "auto", deterministic: bool = False):
        self.settings, self.device, self.deterministic = settings, device, deterministic
        self.description = connect(settings.address)
        self._datasets: dict = {}  # id(dataset) -> (dataset, its object reference)

    def _dataset_ref(self, dataset):
        """The dataset in the object store, put there once."""
        ray = _ray()
        if id(dataset) not in self._datasets:
            self._datasets[id(dataset)] = (dataset, ray.put(dataset))
        return self._datasets[id(dataset)][1]

    def train(self, engine: str, trials: Iterable, folds, *, keep_weights: Iterable[str] = (),
              progress=None) -> Iterator:
        """The engine's results, one per trial, as each task finishes; the last result of a
        task has batch_end set. keep_weights: ids of trials whose weights come back (the
        others' stay on the worker). progress: called, in this thread, with {trial id: share
        of its epochs done} as the workers report them."""
        from nnbin.engines import work_units

        ray = _ray()
        trials = list(trials)
        if not trials:
            return
        by_id = {t.id: t for t in trials}
        wanted = set(keep_weights)
        splits = ray.put({t.split.key: (t.split.train, t.split.validation) for t in trials})
        data = [self._dataset_ref(folds.dataset)]  # in a list: the worker resolves it once, not per task
        # with GPUs, Ray gives each task a fresh worker process (its max_calls=1 default for GPU
        # tasks), so that TensorFlow sees only the task's GPU and frees its memory afterwards
        task = ray.remote(num_cpus=self.settings.cpus_per_task, num_gpus=self.settings.gpus_per_task,
                          max_retries=MAX_RETRIES, retry_exceptions=False)(train_unit)
        setup = {"device": self.device, "deterministic": self.deterministic,
                 "threads": max(1, int(self.settings.cpus_per_task)),
                 "inner_fraction": folds.inner_fraction}
        board = ProgressReader(progress) if progress else None
        pending = [task.remote(engine, data, splits, [_without_rows(t) for t in unit],
                               [t.id for t in unit if t.id in wanted], setup, board.board if board else None)
                   for unit in work_units(engine, trials)]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=PROGRESS_POLL if board else None)
                if board:
                    board.read()
                if not done:
                    continue
                try:
                    returned = ray.get(done[0])
                except ray.exceptions.RayError as exc:  # retries exhausted, or an error in the task
                    if isinstance(getattr(exc, "cause", None), NnbinError):
                        raise exc.cause from None  # the user's mistake, found on a worker
                    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    raise RuntimeError(f"a group of trials failed on the Ray cluster ({first}); the trials "
                                       "that finished are saved: run the same command again to resume"
                                       ) from exc
                for i, result in enumerate(returned):
                    result.trial = by_id[result.trial]
                    result.batch_end = i == len(returned) - 1
                    yield result
        finally:
            for ref in pending:  # interrupted: stop the tasks still queued or running
                ray.cancel(ref, force=True)
            if board:
                board.close()


class ProgressBoard:
    """An actor: workers post trials' shares of their epochs done; the driver takes them."""

    def __init__(self):
        self.shares: dict = {}

    def post(self, shares: dict) -> None:
        self.shares.update(shares)

    def take(self) -> dict:
        shares, self.shares = self.shares, {}
        return shares


class ProgressReader:
    """The driver's side of a ProgressBoard (on the driver's node): reads without waiting, and
    gives up quietly if the board is lost (progress is a display; training goes on)."""

    def __init__(self, progress):
        ray = _ray()
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        actor = ray.remote(num_cpus=0)(ProgressBoard)
        try:
            here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
            actor = actor.options(scheduling_strategy=here)
        except Exception:  # noqa: BLE001 - e.g. a Ray Client driver has no node of its own
            pass
        self.board = actor.remote()
        self.progress, self.asked = progress, self.board.take.remote()

    def read(self) -> None:
        """Pass on what the workers posted since the last reading, if the board has answered."""
        ray = _ray()
        if self.asked is None or not ray.wait([self.asked], timeout=0)[0]:
            return
        try:
            shares = ray.get(self.asked)
        except ray.exceptions.RayError:
            self.asked = None
            return
        self.asked = self.board.take.remote()
        if shares:
            self.progress(shares)

    def close(self) -> None:
        ray = _ray()
        try:
            ray.kill(self.board)
        except ray.exceptions.RayError:  # already gone with its node
            pass


def _without_rows(trial):
    """The trial without its row indices (they travel once per run, with the splits)."""
    empty = np.zeros(0, np.int64)
    return replace(trial, split=replace(trial.split, train=empty, validation=empty))


# ---------------------------------------------------------------- on the worker
_WORKER_FOLDS: OrderedDict = OrderedDict()  # dataset object id -> FoldData, kept across tasks
_WORKER_THREADS: dict = {}  # TensorFlow's thread counts, once set in this worker process


def _prepare_worker(setup: dict) -> None:
    """TensorFlow's threads (the task's CPUs: once per worker process, before TensorFlow
    starts) and the device choice (every task: a worker may serve several experiments)."""
    import tensorflow as tf

    from nnbin.device import configure_device

    if not _WORKER_THREADS:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(setup["threads"])
            tf.config.threading.set_inter_op_parallelism_threads(setup["threads"])
        except RuntimeError:  # TensorFlow already started in this process
            pass
        _WORKER_THREADS["threads"] = setup["threads"]
    configure_device(setup["device"], setup["deterministic"])


def _worker_folds(data: list, inner_fraction: float):
    """This worker's FoldData of the dataset: encoded and preprocessed once, however many
    tasks it runs."""
    import ray

    from nnbin.engines import FoldData

    key = (data[0].hex(), inner_fraction)
    if key not in _WORKER_FOLDS:
        _WORKER_FOLDS[key] = FoldData(ray.get(data[0]), inner_fraction)
        while len(_WORKER_FOLDS) > WORKER_DATASETS:
            _WORKER_FOLDS.popitem(last=False)
    _WORKER_FOLDS.move_to_end(key)
    return _WORKER_FOLDS[key]


def train_unit(engine: str, data: list, splits: dict, trials: list, keep_weights: list,
               setup: dict, board=None) -> list:
    """A Ray task: train one work unit with the engine, in this worker; return its results
    with the trial as its id and weights only where asked. board: a ProgressBoard to post
    the trials' progress to (None: no progress)."""
    from nnbin.engines import ENGINES

    _prepare_worker(setup)
    folds = _worker_folds(data, setup["inner_fraction"])
    trials = [replace(t, split=replace(t.split, train=splits[t.split.key][0],
                                       validation=splits[t.split.key][1])) for t in trials]
    keep = set(keep_weights)
    results = []
    post = (lambda shares: board.post.remote(shares)) if board is not None else None
    for result in ENGINES[engine](trials, folds, progress=post):
        results.append(replace(result, trial=result.trial.id, model=None,
                               weights=result.weights if result.trial.id in keep else None))
    return results
