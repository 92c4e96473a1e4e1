"""NNBIN_XLA_CACHE: a second process loads the first one's compiled graphs (no new entries) and
gets the same bits; XLA without fused multiply-adds (device.exact_arithmetic), and the check that
it took effect."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnbin import device

x86_only = pytest.mark.skipif(not device.X86, reason="the switch exists on x86 only")

ROOT = Path(__file__).resolve().parent.parent
TRAIN = """
import numpy as np
from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.engines import FoldData
from nnbin.engines.fused import train_trials
config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3},
                           "models": [{"name": "net", "params": {"epochs": 3, "hidden": [5]}}]})
data = config.dataset.load()
trials = make_trials(config, make_splits(data.y, 3, seed=0))
print(repr(np.concatenate([r.y_prob for r in train_trials(trials, FoldData(data))]).tolist()))
"""


def test_a_second_process_reuses_the_compiled_graphs(tmp_path):
    env = {**os.environ, "NNBIN_XLA_CACHE": str(tmp_path), "TF_XLA_FLAGS": ""}
    run = lambda: subprocess.run([sys.executable, "-c", TRAIN], cwd=ROOT, env=env, capture_output=True,  # noqa: E731
                                 text=True, check=True).stdout
    first = run()
    entries = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert entries, "the first process wrote no compiled graph"
    assert run() == first
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == entries  # loaded, not compiled again


@x86_only
def test_xla_compiles_without_fused_multiply_adds_unless_the_user_chose_and_the_cache_keeps_flags_apart(
        tmp_path, monkeypatch):
    """device.exact_arithmetic caps XLA's CPU instruction set below FMA (x86), adding to the
    user's XLA_FLAGS and leaving a chosen instruction set alone; cached graphs compiled under
    other XLA_FLAGS live in another folder (never loaded for these)."""
    for given, expected in [(None, "--xla_cpu_max_isa=AVX"),
                            ("--xla_dump_to=/x", "--xla_dump_to=/x --xla_cpu_max_isa=AVX"),
                            ("--xla_cpu_max_isa=AVX2", "--xla_cpu_max_isa=AVX2")]:
        if given is None:
            monkeypatch.delenv("XLA_FLAGS", raising=False)
        else:
            monkeypatch.setenv("XLA_FLAGS", given)
        device.exact_arithmetic()
        device.exact_arithmetic()  # once only
        assert os.environ["XLA_FLAGS"] == expected
    monkeypatch.setenv("NNBIN_XLA_CACHE", str(tmp_path))
    folders = set()
    for flags in ("--xla_cpu_max_isa=AVX", "--xla_cpu_max_isa=AVX2", "--xla_cpu_max_isa=AVX"):
        monkeypatch.setenv("XLA_FLAGS", flags)
        monkeypatch.setenv("TF_XLA_FLAGS", "")
        folders.add(device.use_compilation_cache())
    assert len(folders) == 2 and all(Path(f).parent == tmp_path for f in folders)


LATE = """
import warnings
import tensorflow as tf
tf.function(lambda x: x * x, jit_compile=True)(tf.constant(2.0))  # XLA reads its flags now, with FMA
from nnbin import device
from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.engines import FoldData
from nnbin.engines.fused import train_trials
config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3},
                           "models": [{"name": "net", "params": {"epochs": 1, "hidden": [3]}}]})
data = config.dataset.load()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    list(train_trials(make_trials(config, make_splits(data.y, 3, seed=0)), FoldData(data)))
print(device.fma_contracted(), [str(w.message) for w in caught if "fused multiply-adds" in str(w.message)])
"""


@x86_only
def test_fused_multiply_adds_that_came_back_are_detected_and_said():
    """Here XLA runs without FMA (nnbin was imported first); in a process where XLA compiled
    before nnbin was imported, the flag comes too late: the fused engine says so."""
    assert device.fma_contracted() is False
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", LATE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out.startswith("True [") and "a trial's last bits can depend on the trials stacked with it" in out
