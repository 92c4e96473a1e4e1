"""The public Python API (what README and the coming documentation site show) carries numpydoc
docstrings: a summary, Parameters where it takes any, Returns for functions, and an Example."""
import dataclasses
import importlib
import inspect

import pytest

PUBLIC = [
    "nnbin:build_model", "nnbin:build_logistic", "nnbin:build_shallow", "nnbin:build_deep", "nnbin:describe",
    "nnbin:load_dataset", "nnbin:ModelSpec", "nnbin:Dataset",
    "nnbin.experiment:run_experiment", "nnbin.experiment:ExperimentResult", "nnbin.reload:load_results",
    "nnbin.compare:compare", "nnbin.compare:corrected_t_test", "nnbin.compare:Comparison",
    "nnbin.predict:predict_frame", "nnbin.predict:predict_file", "nnbin.inspect:inspect_model",
    "nnbin.sklearn:NNBinClassifier", "nnbin.sklearn:FusedSearchCV", "nnbin.search.ranking:rank_scores",
    "nnbin.core.specs:TrainSpec",
]


def _sections(doc: str) -> set[str]:
    """numpydoc section titles: a line followed by a line of dashes as long."""
    lines = [line.strip() for line in doc.splitlines()]
    return {title for title, rule in zip(lines, lines[1:]) if rule and set(rule) == {"-"} and len(rule) == len(title)}


def _takes_parameters(obj) -> bool:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        names = [p for p in inspect.signature(target).parameters if p not in ("self", "args", "kwargs")]
    except (TypeError, ValueError):
        return False
    return bool(names)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_api_has_numpydoc_docstrings(name):
    module, attribute = name.split(":")
    obj = getattr(importlib.import_module(module), attribute)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    sections = _sections(doc)
    if dataclasses.is_dataclass(obj) and "Attributes" in sections:  # a record's fields are its attributes
        sections.add("Parameters")
    expected = {"Example"}
    if _takes_parameters(obj):
        expected.add("Parameters")
    if not inspect.isclass(obj):
        expected.add("Returns")
    missing = expected - sections - ({"Example"} if "Examples" in sections else set())
    assert not missing, f"{name}'s docstring lacks the numpydoc section(s) {sorted(missing)}"


def test_the_section_reader_can_fail():
    assert _sections("Summary.\n\nParameters\n----------\nx : int\n") == {"Parameters"}
    assert _sections("Summary.\n\nParameters\n---\n") == set()


DOCTESTED = ["nnbin.builders", "nnbin.data", "nnbin.compare", "nnbin.search.ranking", "nnbin.core.specs",
             "nnbin.sklearn.classifier", "nnbin.sklearn.search", "nnbin.experiment", "nnbin.reload",
             "nnbin.predict", "nnbin.inspect"]


@pytest.mark.parametrize("module", DOCTESTED)
def test_the_examples_run_as_written(module, monkeypatch):
    import doctest
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # examples name repo paths (data/...)
    outcome = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert outcome.failed == 0, f"{outcome.failed} example(s) of {module} failed (doctest output above)"
