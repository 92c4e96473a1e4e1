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
    "nnbin.predict:predict_frame", "nnbin.predict:predict_file", "nnbin.inspection:inspect_model",
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
             "nnbin.predict", "nnbin.inspection", "nnbin.core.arguments"]


@pytest.mark.parametrize("module", DOCTESTED)
def test_the_examples_run_as_written(module, monkeypatch):
    import doctest
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # examples name repo paths (data/...)
    outcome = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert outcome.failed == 0, f"{outcome.failed} example(s) of {module} failed (doctest output above)"


POSITIONAL_ALLOWED = {"nnbin.compare:compare": 3}  # the table and the two configurations it compares


@pytest.mark.parametrize("name", [n for n in PUBLIC if n not in {"nnbin:ModelSpec", "nnbin:Dataset",
                                                                  "nnbin.experiment:ExperimentResult",
                                                                  "nnbin.compare:Comparison",
                                                                  "nnbin.core.specs:TrainSpec"}])
def test_public_functions_take_keywords_after_the_first_one_or_two(name):
    """Records (dataclasses) are built by field; everything else takes at most two arguments by position."""
    module, attribute = name.split(":")
    obj = getattr(importlib.import_module(module), attribute)
    target = obj.__init__ if inspect.isclass(obj) else obj
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in inspect.signature(target).parameters.values() if p.kind in kinds and p.name != "self"]
    assert len(positional) <= POSITIONAL_ALLOWED.get(name, 2), \
        f"{name} takes {[p.name for p in positional]} by position; put a * after the first one or two"


def test_yesterdays_positional_calls_still_work_with_a_warning():
    """build_deep(m, layers, "tanh") meant activation="tanh" before the rule: same model, plus a FutureWarning."""
    import nnbin

    with pytest.warns(FutureWarning, match=r"build_deep\(\): pass activation=\.\.\. by keyword"):
        old = nnbin.build_deep(5, [3], "tanh", seed=0)
    new = nnbin.build_deep(5, [3], activation="tanh", seed=0)
    assert old.layers[0].activation.__name__ == "tanh" == new.layers[0].activation.__name__
    assert all((a == b).all() for a, b in zip(old.get_weights(), new.get_weights()))
    with pytest.raises(TypeError, match="multiple values for argument 'activation'"):
        nnbin.build_deep(5, [3], "tanh", activation="relu")
    with pytest.raises(TypeError, match="given by position"):
        nnbin.describe(new, 10, False, "extra")


def test_scikit_learn_still_reads_the_estimators_parameters():
    """get_params reads __init__'s signature: the keyword-only wrapper must not hide it."""
    from sklearn.base import clone

    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    model = NNBinClassifier(hidden=(4,), learning_rate=0.01)
    assert clone(model).get_params()["learning_rate"] == 0.01
    assert "param_distributions" in FusedSearchCV(model, {"l2": [0.0]}).get_params()
