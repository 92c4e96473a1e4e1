"""Bad input, config and data: exit code 2, one line naming the problem and the fix, and
nothing already in the output directory damaged."""
import copy

import pytest
import tensorflow as tf
import yaml

from nnbin.cli import main

GOOD = {"name": "bad", "dataset": {"name": "iris_binary"}, "cv": {"folds": 3},
        "models": [{"name": "logistic", "params": {"epochs": 2}}]}


def csv_dataset(text):
    return lambda tmp: {"file": str(write(tmp / "data.csv", text)), "target": "y"}


def write(path, text):
    path.write_text(text)
    return path


def set_in(data, path, value):
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[keys[-1]] = value


CASES = [
    # (name, change to the config or a dataset builder, expected words in the message)
    ("missing file", ("dataset", lambda tmp: {"file": str(tmp / "nope.csv"), "target": "y"}),
     "data file not found"),
    ("file is a directory", ("dataset", lambda tmp: {"file": str(tmp), "target": "y", "format": "csv"}),
     "is a directory"),
    ("not UTF-8", ("dataset", lambda tmp: {"file": str(_binary(tmp)), "target": "y"}), "is not utf-8 text"),
    ("unknown target", ("dataset", lambda tmp: {"file": str(write(tmp / "d.csv", "x,label\n1,0\n2,1\n")),
                                                "target": "lable"}), "did you mean 'label'"),
    ("one class", ("dataset", csv_dataset("x,y\n1,0\n2,0\n3,0\n")), "1 distinct value(s)"),
    ("three classes", ("dataset", csv_dataset("x,y\n1,a\n2,b\n3,c\n")), "e.g. positive_class: [b, c]"),
    ("fewer members than folds", ("dataset", csv_dataset("x,y\n1,0\n2,0\n3,0\n4,1\n5,1\n")),
     "class 1 has only 2 row(s), fewer than cv.folds = 3"),
    ("junk in numeric column", ("dataset", csv_dataset("x,y\n1,0\n2,1\n3,0\n4,1\n5,0\nn/a?,1\n")),
     "column 'x' is numeric but line 7 holds 'n/a?'"),
    ("all-missing column", ("dataset", csv_dataset("x,z,y\n1,,0\n2,,1\n")), "'z' is entirely missing"),
    ("empty file", ("dataset", csv_dataset("")), "is empty"),
    ("unknown activation", ("models.0.params.activation", "rleu"), "did you mean 'relu'"),
    ("unknown optimizer", ("models.0.params.optimizer", "adamm"), "unknown optimizer 'adamm'"),
    ("width 0", ("models.0.params.hidden", [0]), "hidden[0] (layer width) must be >= 1"),
    ("negative learning rate", ("models.0.params.learning_rate", -0.1),
     "models[0].params.learning_rate: must be > 0"),
    ("unknown key", ("models.0.params.learnin_rate", 0.1), "did you mean 'learning_rate'"),
    ("string for a list", ("models.0.params.hidden", "16, 8"), "input should be a valid list"),
    ("grid value", ("models.0.grid", {"learning_rate": [0.1, -2]}), "models[0].grid.learning_rate[1]"),
    ("unknown dataset", ("dataset", lambda tmp: {"name": "moon"}), "did you mean 'moons'"),
    ("bad metric", ("rank_by", "auc_roc"), "unknown metric"),
]


def _binary(tmp):
    path = tmp / "latin1.csv"
    path.write_bytes("x,y\n\xe9t\xe9,1\n".encode("latin-1"))
    return path


@pytest.fixture
def previous_run(tmp_path):
    """An output directory holding an earlier run's files."""
    out = tmp_path / "out"
    out.mkdir()
    for name, text in {"trials.csv": "trial_id,roc_auc\na,0.9\n", "summary.csv": "rank\n1\n",
                       "notes.txt": "mine"}.items():
        (out / name).write_text(text)
    return out


def snapshot(directory):
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def run_cli(config, tmp_path, out, *extra):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return main(["train", "--config", str(path), "--output-dir", str(out), "--quiet", *extra])


@pytest.mark.parametrize("name, change, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, previous_run, name, change, expected):
    config = copy.deepcopy(GOOD)
    key, value = change
    set_in(config, key, value(tmp_path) if callable(value) else value)
    before = snapshot(previous_run)
    assert run_cli(config, tmp_path, previous_run) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnbin: error: ")
    assert expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert snapshot(previous_run) == before


def test_invalid_yaml(tmp_path, capsys, previous_run):
    path = write(tmp_path / "broken.yaml", "dataset: {name: iris_binary\nmodels: [\n")
    assert main(["train", "--config", str(path), "--output-dir", str(previous_run)]) == 2
    assert "invalid YAML" in capsys.readouterr().err


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a GPU is present")
def test_gpu_requested_without_gpu(tmp_path, capsys, previous_run):
    before = snapshot(previous_run)
    assert run_cli({**GOOD, "device": "gpu"}, tmp_path, previous_run) == 2
    assert "TensorFlow sees no GPU; set device: auto or cpu" in capsys.readouterr().err
    assert snapshot(previous_run) == before


def test_foreign_results_are_not_overwritten(tmp_path, capsys, previous_run):
    before = snapshot(previous_run)
    assert run_cli(GOOD, tmp_path, previous_run) == 2
    assert "holds results nnbin cannot resume" in capsys.readouterr().err
    assert snapshot(previous_run) == before


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = write(tmp_path / "file", "keep me")
    assert run_cli(GOOD, tmp_path, blocker / "out") == 2
    assert "cannot be written" in capsys.readouterr().err
    assert blocker.read_text() == "keep me"
