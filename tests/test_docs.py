"""The documentation site: it builds with `mkdocs build --strict`, and its config reference,
generated from the schema, lists every key, and the bounds it states are the ones the config
validation enforces (each checked at and beyond the bound). Its code blocks run in
tests/test_readme.py."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nnbin.config import config_from_dict
from nnbin.config.reference import HELP, config_reference, missing_help
from nnbin.errors import ConfigError

ROOT = Path(__file__).parents[1]
BASE = {"dataset": {"name": "iris_binary"}, "models": [{"name": "logistic"}]}
CONTEXT = {  # what a key needs beside it to be accepted at all
    "cv.inner_fraction": {"models": [{"name": "logistic", "params": {"patience": 2}}]},
    "cv.inner_folds": {"cv": {"nested": True}},
    "search.n_iter": {"search": {"kind": "random"}}, "search.seed": {"search": {"kind": "random"}},
    "search.batch": {"search": {"kind": "tpe"}},
    "search.factor": {"search": {"kind": "halving"}}, "search.min_epochs": {"search": {"kind": "halving"}},
    "executor.cpus_per_task": {"executor": {"kind": "ray"}}, "executor.gpus_per_task": {"executor": {"kind": "ray"}},
    "importance.repeats": {"importance": {"enabled": True}}, "importance.seed": {"importance": {"enabled": True}},
}


def test_site_builds_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "reference" / "config" / "index.html").read_text(encoding="utf-8")
    for key in HELP:
        assert f"<code>{key}</code>" in page, key
    api = (tmp_path / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "run_experiment" in api and "NNBinClassifier" in api and "Parameters" in api


def test_config_reference_has_help_for_every_key_and_no_other():
    assert missing_help() == ([], [])


def _rows() -> list[tuple[str, str, str]]:
    """(key, type, bounds) of each row of the generated table with bounds."""
    rows = [line.split(" | ") for line in config_reference().splitlines() if line.startswith("| `")]
    return [(r[0].strip("| `"), r[1], r[2]) for r in rows if len(r) == 5 and r[2].strip()]


def _with(key: str, value) -> dict:
    config = {**BASE, **CONTEXT.get(key, {})}
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    section, _, name = key.rpartition(".")
    target = config.setdefault(section, {}) if section else config
    target[name] = value
    return config


def test_documented_bounds_are_the_enforced_ones():
    rows = _rows()
    assert {key for key, _, _ in rows} >= {"cv.folds", "cv.seed", "cv.test_size", "threshold", "search.factor"}
    for key, kind, bounds in rows:
        integer = kind.startswith("integer")
        step = 1 if integer else 1e-9
        for bound in bounds.split(", "):
            sign, number = re.fullmatch(r"(≥|≤|>|<) (\S+)", bound).groups()
            value = int(number) if integer else float(number)
            beyond = value - step if sign in "≥>" else value + step
            with pytest.raises(ConfigError):
                config_from_dict(_with(key, beyond))
            at = config_from_dict if sign in "≥≤" else None
            if at:  # a closed bound is accepted
                config_from_dict(_with(key, value))
            else:
                with pytest.raises(ConfigError):
                    config_from_dict(_with(key, value))
