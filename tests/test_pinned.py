"""Every path through a run produces, bit for bit, what the pinned code produced (tests/pinned,
written by tests/pinning.py before the re-layering): tables less wall times, every stored
probability, refitted weights, FusedSearchCV's cv_results_; and a results store written then
still resumes without training."""
import difflib
import json
import shutil

import pytest

from pinning import PINNED, SCENARIOS, SEARCHES, STORE_FILES, machine, outputs


def _pinned_machine_or_skip():
    pinned = json.loads((PINNED / "machine.json").read_text())
    here = machine()
    if pinned != here:
        changed = ", ".join(f"{k}: {pinned.get(k)} -> {here.get(k)}" for k in here if pinned.get(k) != here.get(k))
        pytest.skip(f"pins were written on another machine ({changed}): TensorFlow's CPU kernels round "
                    "differently there; rewrite them with `python -m tests.pinning` on trusted code")


def _same(name: str, produced: dict[str, str]) -> None:
    expected = {p.name: p.read_text() for p in (PINNED / name).iterdir() if p.name not in STORE_FILES}
    assert sorted(produced) == sorted(expected), f"{name}: files differ"
    for file, text in expected.items():
        if produced[file] != text:
            diff = "".join(list(difflib.unified_diff(text.splitlines(True), produced[file].splitlines(True),
                                                     f"pinned/{name}/{file}", "now", n=0))[:12])
            pytest.fail(f"{name}/{file} differs from the pinned output:\n{diff}")


@pytest.mark.parametrize("name", [*SCENARIOS, *SEARCHES])
def test_outputs_are_the_pinned_ones(name, tmp_path):
    _pinned_machine_or_skip()
    _same(name, outputs(name, tmp_path / name))


def test_a_store_written_by_the_pinned_code_resumes_without_training(tmp_path):
    _pinned_machine_or_skip()
    directory = tmp_path / "iris_binary"
    directory.mkdir()
    for stored in STORE_FILES:
        shutil.copy(PINNED / "iris_binary" / stored, directory / stored)
    produced = outputs("iris_binary", directory)
    run = json.loads(produced["run.json"])
    assert run["fits"]["trained_now"] == 0 and run["fits"]["resumed"] == run["fits"]["scored"] == 30
    pinned = json.loads((PINNED / "iris_binary" / "run.json").read_text())
    for counts in (run, run["fits"], pinned, pinned["fits"]):  # these differ, as they must
        counts.pop("trained_now"), counts.pop("resumed")
    assert run == pinned
    produced["run.json"] = (PINNED / "iris_binary" / "run.json").read_text()
    _same("iris_binary", produced)
