"""Pinned outputs: what today's code produces on small versions of every path through a run,
written as text so that a refactor can prove it changed nothing, bit for bit.

    .venv/bin/python -m tests.pinning          # (re)write tests/pinned/ from the code as it is
    .venv/bin/python -m tests.pinning NAME...  # add or rewrite only these scenarios

Run that only on code whose outputs are trusted (before a refactor), never to make a failing
comparison pass. tests/test_pinned.py runs the same scenarios and compares every file. Floats
are written as their shortest round-trip text, so two values that differ in their last bit
differ here. Bits depend on the CPU kernels TensorFlow picks, so the pins record the machine
they were written on; elsewhere the comparison is skipped with the reason.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PINNED = Path(__file__).resolve().parent / "pinned"
CONFIGS = ROOT / "configs"
VOLATILE_COLUMNS = ("fit_seconds",)                     # wall time: never the same twice
VOLATILE_RUN_KEYS = ("seconds", "started", "versions", "device",
                     "compilations")  # counted per process: a resumed run, or a cached structure, compiles less
VOLATILE_MODEL_KEYS = ("saved",)
STORE_FILES = ("trials.jsonl", "predictions.f32", "store.json")  # iris_binary's store, pinned as written


def _epochs(families, epochs):
    return [f"models.{name}.params.epochs={epochs}" for name in families]


# name -> (config file or dict, --set overrides); every path a run can take, kept small
SCENARIOS = {
    "compare_baselines": ("compare_baselines.yaml",
                          ["cv.folds=3", *_epochs(("logistic", "shallow", "deep"), 6)]),
    "grid_search": ("grid_search.yaml", ["cv.folds=3", *_epochs(("logistic", "network"), 4)]),
    "random_search": ("random_search.yaml",
                      ["cv.folds=3", "search.n_iter=5", *_epochs(("logistic", "network"), 4)]),
    "iris_binary": ("iris_binary.yaml", _epochs(("logistic", "shallow"), 10)),
    "patients_csv": ("patients_csv.yaml", ["cv.folds=3", *_epochs(("logistic", "shallow", "deep"), 25),
                                           "models.deep.params.patience=2"]),
    "depth_vs_width": ("depth_vs_width.yaml",
                       ["dataset.options.n_bits=6", "dataset.options.n_samples=64",
                        *_epochs(("logistic", "shallow", "deep"), 8)]),
    "halving": ({"name": "halving", "dataset": {"name": "breast_cancer"}, "cv": {"folds": 3, "seed": 1},
                 "search": {"kind": "halving", "factor": 2, "min_epochs": 2},
                 "models": [{"name": "logistic", "params": {"epochs": 8},
                             "grid": {"learning_rate": [0.001, 0.01, 0.1]}},
                            {"name": "network", "params": {"epochs": 8},
                             "grid": {"width": [4, 8], "depth": [1, 2]}}]}, []),
    "nested": ({"name": "nested", "dataset": {"name": "iris_binary"},
                "cv": {"folds": 3, "nested": True, "inner_folds": 2, "seed": 2},
                "models": [{"name": "logistic", "params": {"epochs": 8},
                            "grid": {"learning_rate": [0.01, 0.05]}},
                           {"name": "shallow", "params": {"hidden": [4], "epochs": 8, "dropout": 0.1},
                            "grid": {"learning_rate": [0.01, 0.05]}}]}, []),
    "keras_engine": ({"name": "keras_engine", "dataset": {"name": "breast_cancer"}, "engine": "keras",
                      "cv": {"folds": 3},
                      "models": [{"name": "logistic", "params": {"epochs": 3}},
                                 {"name": "shallow", "params": {"hidden": [8], "epochs": 3,
                                                                "optimizer": "sgd", "momentum": 0.9}}]}, []),
    "keras_engine_stopping": ({"name": "keras_engine_stopping", "dataset": {"name": "iris_binary"},
                               "engine": "keras", "cv": {"folds": 3, "seed": 4},
                               "models": [{"name": "shallow", "params": {"hidden": [5], "epochs": 8, "patience": 2,
                                                                         "dropout": 0.2, "class_weight": "balanced"},
                                           "grid": {"learning_rate": [0.01, 0.05]}}]}, []),
    "test_size": ({"name": "test_size", "dataset": {"name": "breast_cancer"}, "refit": "best",
                   "cv": {"folds": 3, "test_size": 0.25, "seed": 3},
                   "models": [{"name": "logistic", "params": {"epochs": 6, "class_weight": "balanced"}},
                              {"name": "shallow", "params": {"hidden": [6], "epochs": 6, "l2": 0.001,
                                                             "optimizer": "rmsprop"},
                               "grid": {"learning_rate": [0.001, 0.01]}}]}, []),
}


def machine() -> dict:
    """What decides TensorFlow's CPU bits: the processor, its core count, the libraries, and the
    instruction set XLA may use (device.exact_arithmetic: no fused multiply-adds; pins written
    before it, with FMA, lack the key and no longer apply)."""
    import keras
    import tensorflow as tf

    from nnbin.device import exact_arithmetic

    exact_arithmetic()  # what nnbin runs with, whoever imported TensorFlow first
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor())
    # two hosts both named "AMD EPYC" gave different bits: the processor's generation and its
    # instruction-set flags decide which kernels TensorFlow and XLA pick
    fields = {key: line.split(":", 1)[1].strip() for line in lines if ":" in line
              for key in ("cpu family", "model", "stepping", "flags") if line.split(":", 1)[0].strip() == key}
    flags = hashlib.sha1(fields.get("flags", "").encode()).hexdigest()[:12]
    return {"cpu": model, "cpu_id": "/".join(fields.get(k, "?") for k in ("cpu family", "model", "stepping")),
            "cpu_flags": flags, "cores": os.cpu_count(), "machine": platform.machine(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
            "xla_flags": os.environ.get("XLA_FLAGS", "")}


def _csv(frame: pd.DataFrame) -> str:
    return frame.drop(columns=[c for c in VOLATILE_COLUMNS if c in frame.columns]).to_csv(index=False)


def _weights_text(path: Path) -> str:
    """Every weight of a saved model, one array per line, as exact text."""
    import keras

    model = keras.models.load_model(path, compile=False)
    return "".join(f"{weight.path} {list(weight.shape)}: "
                   + " ".join(repr(float(v)) for v in np.asarray(weight.numpy()).ravel()) + "\n"
                   for weight in model.weights)


def experiment_outputs(name: str, directory: Path) -> dict[str, str]:
    """Run scenario `name` into `directory`; {file name: its pinned text}."""
    from nnbin.config import config_from_dict, load_config
    from nnbin.experiment import run_experiment

    source, overrides = SCENARIOS[name]
    config = (load_config(CONFIGS / source, [*overrides, "predictions=csv"]) if isinstance(source, str)
              else config_from_dict({**source, "predictions": "csv"}))
    cwd = os.getcwd()
    os.chdir(ROOT)  # configs name files relative to the repository root
    try:
        run_experiment(config, progress=False, output_dir=directory, report=False)
    finally:
        os.chdir(cwd)
    files = {}
    for table in ("trials", "summary", "history", "inner_trials", "predictions"):
        if (directory / f"{table}.csv").exists():
            files[f"{table}.csv"] = _csv(pd.read_csv(directory / f"{table}.csv"))
    run = json.loads((directory / "run.json").read_text())
    run["config"]["output_dir"] = "<output_dir>"  # where it ran: not a result
    # keys newer than the pins, left out at their defaults (they change no output there)
    if not run["config"].get("importance", {}).get("enabled", False):
        run["config"].pop("importance", None)
    if run["config"]["search"].get("kind") != "tpe" and run["config"]["search"].get("batch") == 16:
        run["config"]["search"].pop("batch")
    files["run.json"] = json.dumps({k: v for k, v in run.items() if k not in VOLATILE_RUN_KEYS},
                                   indent=1, sort_keys=True)
    for model_dir in sorted((directory / "models").glob("*")):
        info = json.loads((model_dir / "model.json").read_text())
        files[f"models.{model_dir.name}.json"] = json.dumps(
            {k: v for k, v in info.items() if k not in VOLATILE_MODEL_KEYS}, indent=1, sort_keys=True)
        files[f"models.{model_dir.name}.weights"] = _weights_text(model_dir / "model.keras")
    return files


def _wine():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    return X, (y == 0).astype(int)


def _cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def search_outputs(name: str) -> dict[str, str]:
    """FusedSearchCV's cv_results_ (less times), best and probabilities on two searches."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    if name == "classifier":
        return classifier_outputs()
    if name == "fused_search_wine":
        X, y = _wine()
        search = FusedSearchCV(make_pipeline(StandardScaler(), NNBinClassifier(epochs=5, random_state=0)),
                               param_grid={"nnbinclassifier__hidden": [(), (8,)],
                                           "nnbinclassifier__learning_rate": [0.001, 0.01]},
                               cv=3, scoring=["roc_auc", "accuracy"], refit="roc_auc")
    elif name == "fused_search_plain":  # optimizers the stacked engine does not train, and early stopping
        X, y = _cancer()
        X = StandardScaler().fit_transform(X)
        search = FusedSearchCV(NNBinClassifier(epochs=5, patience=1, random_state=2),
                               param_grid={"optimizer": ["adam", "adagrad"], "hidden": [(), (4,)]},
                               cv=3, scoring="roc_auc")
    else:
        X, y = _cancer()
        X = StandardScaler().fit_transform(X)
        search = FusedSearchCV(NNBinClassifier(epochs=4, batch_size=16, random_state=1),
                               param_grid={"hidden": [(4,), (4, 4)], "activation": ["relu", "tanh"]},
                               cv=4, scoring="neg_log_loss")
    search.fit(X, y)
    results = {key: [repr(v) for v in np.asarray(values, dtype=object).ravel()]
               for key, values in search.cv_results_.items() if not key.endswith("_time")}
    return {"cv_results.json": json.dumps(results, indent=1, sort_keys=True),
            "best.json": json.dumps({"best_index": int(search.best_index_), "best_score": repr(search.best_score_),
                                     "best_params": repr(search.best_params_)}, indent=1),
            "predict_proba.txt": "\n".join(repr(float(p)) for p in search.predict_proba(X)[:, 1]) + "\n"}


def classifier_outputs() -> dict[str, str]:
    """One NNBinClassifier fit with sample weights, balanced class weights, dropout and early
    stopping: its history and probabilities."""
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import NNBinClassifier

    X, y = _wine()
    X = StandardScaler().fit_transform(X)
    weights = 1 + (np.arange(len(y)) % 3)
    model = NNBinClassifier(hidden=(6,), dropout=0.1, epochs=12, patience=3, class_weight="balanced",
                            random_state=5).fit(X, y, sample_weight=weights)
    return {"history.json": json.dumps({k: [repr(v) for v in values] for k, values in model.history_.items()},
                                       indent=1),
            "predict_proba.txt": "\n".join(repr(float(p)) for p in model.predict_proba(X)[:, 1]) + "\n"}


SEARCHES = ("fused_search_wine", "fused_search_cancer", "fused_search_plain", "classifier")


def outputs(name: str, directory: Path) -> dict[str, str]:
    """The pinned text of any scenario or search."""
    return search_outputs(name) if name in SEARCHES else experiment_outputs(name, directory)


def write_pins(directory: Path = PINNED, names: list[str] | None = None) -> None:
    """Write every scenario's outputs (or only `names`, the others left as they are) and the
    machine into `directory` (the store of iris_binary too, to check that stores written by
    this code still resume)."""
    import tempfile

    if names is None and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "machine.json").write_text(json.dumps(machine(), indent=1, sort_keys=True))
    for name in names or (*SCENARIOS, *SEARCHES):
        if name not in SCENARIOS and name not in SEARCHES:
            raise SystemExit(f"no pinned scenario {name!r}; known: {', '.join((*SCENARIOS, *SEARCHES))}")
        with tempfile.TemporaryDirectory() as tmp:
            files = outputs(name, Path(tmp) / name)
            shutil.rmtree(directory / name, ignore_errors=True)
            (directory / name).mkdir()
            for file, text in files.items():
                (directory / name / file).write_text(text)
            if name == "iris_binary":  # a store as this code writes it
                for stored in STORE_FILES:
                    shutil.copy(Path(tmp) / name / stored, directory / name / stored)
        print(f"pinned {name}: {len(files)} files", file=sys.stderr)


if __name__ == "__main__":
    write_pins(names=sys.argv[1:] or None)  # python -m tests.pinning [NAME ...]
