#!/usr/bin/env python
"""Benchmark: nnbin fused vs nnbin plain keras vs scikit-learn GridSearchCV, side by side.

    python scripts/bench.py                       # reference + larger workloads (~10 min on 2 cores)
    python scripts/bench.py --workload reference  # the 30-fit reference workload only
    python scripts/bench.py --workload w1         # the course KerasTuner lab's space (160 fits): fused vs scikit-learn
    python scripts/bench.py --peers               # W1: nnbin, scikit-learn, KerasTuner, Optuna (the bench extra)
    python scripts/bench.py --quick               # tiny epochs: checks the script end to end
    python scripts/bench.py --workload metrics    # scoring: nnbin.metrics vs scikit-learn
    python scripts/bench.py --workload big        # 1,000,000 x 30, 80 trials: fused vs keras
    python scripts/bench.py --workload memory     # peak memory against the number of trials
    python scripts/bench.py --executor ray        # larger workload: local executor vs Ray, 1 and 2 workers
    python scripts/bench.py --search              # reference grid: FusedSearchCV vs GridSearchCV(NNBinClassifier)
    python scripts/bench.py --search --workload larger  # the same on the 36-configuration, 10-fold grid
    python scripts/bench.py --search --workload wine    # wine, hidden (), (8,), (16, 8) x 2 rates, 5 folds, 40 epochs
    python scripts/bench.py --halving             # larger grid: successive halving vs the full grid vs scikit-learn's
    python scripts/bench.py --halving --workload tall   # the same on 50,000 rows, where training dominates
    python scripts/bench.py --progress            # live progress: its cost, and how often the bar moves
    python scripts/bench.py --importance          # importance: true vs false (reference and larger): its cost
    python scripts/bench.py --search-strategies   # random vs TPE vs halving, equal budgets, 3 tables, 5 seeds

Each engine runs in its own process, one after another, so wall time (imports included)
and peak resident memory are its own. Engines: fused and keras (nnbin's two), course (the
course-style loop: a fresh keras model and model.fit per fit, on the same preprocessed
folds) and sklearn (GridSearchCV of MLPClassifier). The larger and big workloads' slow
engines are estimated from a measured subset (one fold of one learning rate per
architecture, scaled by the number of fits), as printed.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time

WORKLOADS = {
    "reference": {
        "folds": 5, "epochs": 100, "batch_size": 32,
        "models": [
            {"name": "logistic", "params": {}, "grid": {"learning_rate": [0.001, 0.01]}},
            {"name": "shallow", "params": {"hidden": [16], "activation": "relu"},
             "grid": {"learning_rate": [0.001, 0.01]}},
            {"name": "deep", "params": {"hidden": [32, 16, 8], "activation": "relu"},
             "grid": {"learning_rate": [0.001, 0.01]}},
        ],
    },
    "w1": {  # the course KerasTuner lab's space: one relu layer of 16..128 units x 4 learning rates
        "folds": 5, "epochs": 30, "batch_size": 32,
        "models": [
            {"name": "net", "params": {"activation": "relu"},
             "grid": {"width": [16, 32, 48, 64, 80, 96, 112, 128], "depth": [1],
                      "learning_rate": [0.05, 0.01, 0.001, 0.0001]}},
        ],
    },
    "larger": {
        "folds": 10, "epochs": 50, "batch_size": 32,
        "models": [
            {"name": "net", "params": {},
             "grid": {"width": [8, 32, 128], "depth": [1, 2, 3], "activation": ["relu", "tanh"],
                      "learning_rate": [0.001, 0.01]}},
        ],
    },
    "big": {
        "folds": 5, "epochs": 3, "batch_size": 1024,
        "dataset": {"name": "synthetic", "options": {"n_samples": 1_000_000, "n_features": 30,
                                                     "n_informative": 10}},
        "models": [
            {"name": "logistic", "params": {},
             "grid": {"learning_rate": [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]}},
            {"name": "shallow", "params": {"hidden": [64], "activation": "relu"},
             "grid": {"learning_rate": [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]}},
        ],
    },
    "tall": {  # successive halving where training, not compilation, dominates
        "folds": 5, "epochs": 27, "batch_size": 256,
        "dataset": {"name": "synthetic", "options": {"n_samples": 50_000, "n_features": 20,
                                                     "n_informative": 8}},
        "models": [
            {"name": "net", "params": {},
             "grid": {"width": [8, 32, 128], "depth": [1, 2, 3], "activation": ["relu", "tanh"],
                      "learning_rate": [0.001, 0.01]}},
        ],
    },
}
ENGINES = ("fused", "keras", "course", "sklearn")
ESTIMATED = {"larger": {"keras", "course", "sklearn"}, "big": {"keras", "course"}}


def experiment_config(workload: str, engine: str, epochs: int) -> dict:
    spec = WORKLOADS[workload]
    models = [{**m, "params": {**m["params"], "epochs": epochs, "batch_size": spec["batch_size"],
                               "optimizer": "adam"}} for m in spec["models"]]
    return {"name": f"bench_{workload}", "dataset": spec.get("dataset", {"name": "breast_cancer"}),
            "cv": {"folds": spec["folds"], "shuffle": True, "seed": 0}, "models": models,
            "metrics": ["roc_auc"], "engine": engine, "device": "cpu"}


def subset_filter(trial) -> bool:
    """One fit per architecture: fold 0, learning rate 0.01."""
    return trial.split.fold == 0 and trial.hyper.learning_rate == 0.01


def course_trials(trials, folds):
    """The course-style loop: a fresh keras model per fit, model.fit on the fold, predict."""
    import keras

    from nnbin.builders import build_model

    for trial in trials:
        arrays = folds.get(trial)
        keras.utils.set_random_seed(trial.seed)
        model = build_model(trial.hyper.spec(seed=trial.seed), arrays.X_fit.shape[1])
        model.fit(arrays.X_fit, arrays.y_fit, batch_size=trial.hyper.batch_size,
                  epochs=trial.hyper.epochs, shuffle=True, verbose=0)
        yield trial, model.predict(arrays.X_val, batch_size=4096, verbose=0).ravel()


# ---------------------------------------------------------------- children (one engine each)

def run_nnbin(workload: str, engine: str, epochs: int, subset: bool) -> dict:
    from nnbin.config import config_from_dict
    from nnbin.cv import make_splits, make_trials
    from nnbin.engines import ENGINES as NNBIN_ENGINES, FoldData
    from nnbin.experiment import run_experiment

    config = config_from_dict(experiment_config(workload, "keras" if engine == "course" else engine, epochs))
    start = time.perf_counter()
    if engine == "course" and not subset:
        from nnbin.metrics import score

        data = config.dataset.load()
        trials = make_trials(config, make_splits(data.y, config.cv.folds, seed=0))
        scores = {}
        for trial, y_prob in course_trials(trials, FoldData(data)):
            scores.setdefault(trial.label, []).append(
                score(data.y[trial.split.validation], y_prob, ["roc_auc"])["roc_auc"])
        return {"seconds": time.perf_counter() - start, "fits": len(trials), "measured_fits": len(trials),
                "auc": {label: sum(v) / len(v) for label, v in scores.items()}}
    if not subset:
        result = run_experiment(config, progress=False, write=False)
        auc = dict(zip(result.summary["config"], result.summary["roc_auc_mean"]))
        return {"seconds": time.perf_counter() - start, "fits": len(result.trials),
                "measured_fits": len(result.trials), "auc": auc,
                "compilations": result.metadata.get("compilations")}
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, config.cv.folds, seed=0))
    chosen = [t for t in trials if subset_filter(t)]
    train = course_trials if engine == "course" else NNBIN_ENGINES[engine]
    for _ in train(chosen, FoldData(data)):
        pass
    measured = time.perf_counter() - start
    return {"seconds": measured * len(trials) / len(chosen), "fits": len(trials),
            "measured_fits": len(chosen), "measured_seconds": measured, "auc": {}}


def _sklearn_grid(workload: str, epochs: int, subset: bool):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    spec = WORKLOADS[workload]
    grids = []
    for model in spec["models"]:
        grid, params = dict(model["grid"]), model["params"]
        if subset:
            grid["learning_rate"] = [0.01]
        if model["name"] == "logistic":  # not epoch-based: one fit per fold, shared by both rates
            grids.append((model["name"], {"clf": [LogisticRegression(penalty=None, max_iter=1000)]}, []))
            continue
        mlp = MLPClassifier(solver="adam", batch_size=spec["batch_size"], max_iter=epochs, alpha=0.0,
                            tol=0.0, n_iter_no_change=epochs + 1, random_state=0)
        combos = []
        for values in itertools.product(*grid.values()):
            point = dict(zip(grid, values))
            hidden = tuple(params.get("hidden") or [point["width"]] * point["depth"])
            activation = point.get("activation", params.get("activation", "relu"))
            label = " ".join([model["name"], *(f"{k}={v}" for k, v in point.items())])
            combos.append((label, {"clf": [mlp], "clf__hidden_layer_sizes": [hidden],
                                   "clf__activation": [activation],
                                   "clf__learning_rate_init": [point["learning_rate"]]}))
        grids.append((model["name"], None, combos))
    return grids


def run_sklearn(workload: str, epochs: int, subset: bool) -> dict:
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from nnbin.data import load_builtin

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    spec = WORKLOADS[workload]
    data = load_builtin("breast_cancer")
    X, y = data.X.to_numpy(np.float32), data.y
    folds = list(StratifiedKFold(spec["folds"], shuffle=True, random_state=0).split(X, y))
    if subset:
        folds = folds[:1]
    start = time.perf_counter()
    param_grid, labels = [], []
    for family, logistic_grid, combos in _sklearn_grid(workload, epochs, subset):
        if logistic_grid is not None:
            param_grid.append(logistic_grid)
            labels.append([f"{family} learning_rate={lr}" for lr in
                           next(m for m in spec["models"] if m["name"] == family)["grid"]["learning_rate"]])
        for label, grid in combos:
            param_grid.append(grid)
            labels.append([label])
    search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("clf", None)]), param_grid,
                          scoring="roc_auc", cv=folds, refit=False, n_jobs=1)
    search.fit(X, y)
    measured = time.perf_counter() - start
    auc = {}
    if not subset:
        for names, score in zip(labels, search.cv_results_["mean_test_score"]):
            for name in names:
                auc[name] = float(score)
    n_fits = len(search.cv_results_["params"]) * len(folds)
    scale = 1.0
    if subset:  # scale by the grid points and folds left out
        full_points = sum(len(combos) or 1 for _, _, combos in _sklearn_grid(workload, epochs, False))
        scale = full_points / len(search.cv_results_["params"]) * spec["folds"]
    return {"seconds": measured * scale, "fits": int(round(n_fits * scale)), "measured_fits": n_fits,
            "measured_seconds": measured, "auc": auc}


def child(args) -> None:
    if args.child == "sklearn":
        result = run_sklearn(args.workload, args.epochs, args.subset)
    else:
        result = run_nnbin(args.workload, args.child, args.epochs, args.subset)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)  # as the nnbin command does: skip the interpreter teardown (~1 s with TensorFlow)


# ---------------------------------------------------------------- parent

def run_script(arguments: list, what: str) -> tuple[dict, float]:
    """Run this script as a child with `arguments`; its BENCH-RESULT and its wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - start
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH-RESULT ")), None)
    if done.returncode or line is None:
        sys.exit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(line.removeprefix("BENCH-RESULT ")), wall


def run_child(engine: str, workload: str, epochs: int, subset: bool) -> dict:
    result, wall = run_script(["--child", engine, "--workload", workload, "--epochs", str(epochs)]
                              + (["--subset"] if subset else []), f"{engine} on {workload}")
    startup = wall - result.get("measured_seconds", result["seconds"])
    result["wall"] = result["seconds"] + startup  # estimates keep the measured start-up cost
    result["startup"] = startup
    return result


def report(workload: str, epochs: int, results: dict) -> None:
    spec = WORKLOADS[workload]
    table = spec.get("dataset", {"name": "breast_cancer"})
    options = table.get("options", {})
    name = (f"synthetic {options['n_samples']:,} x {options['n_features']}" if options else table["name"])
    print(f"\n## {workload} workload: {name}, stratified {spec['folds']}-fold (seed 0), "
          f"Adam, batch {spec['batch_size']}, {epochs} epochs")
    print(f"{'engine':<10} {'fits':>5} {'wall s':>9} {'in-process s':>13} {'peak MB':>8}  note")
    for engine, r in results.items():
        note = (f"estimated from {r['measured_fits']} measured fits ({r['measured_seconds']:.1f} s)"
                if r["measured_fits"] != r["fits"] else "measured")
        if r.get("compilations") is not None and engine == "fused":
            note += f", {r['compilations']} XLA compilation(s)"
        print(f"{engine:<10} {r['fits']:>5} {r['wall']:>9.1f} {r['seconds']:>13.1f} "
              f"{r['peak_mb']:>8.0f}  {note}")
    fused = results["fused"]
    for other in ("keras", "course", "sklearn"):
        if other in results:
            print(f"fused wall time / {other}: {fused['wall'] / results[other]['wall']:.4f} "
                  f"(1/{results[other]['wall'] / fused['wall']:.1f})")
    if "n_samples" in options:
        rows = options["n_samples"] * (spec["folds"] - 1) / spec["folds"] * epochs
        for engine, r in results.items():  # a trial's rows x epochs over its share of the time
            print(f"{engine}: {rows / (r['seconds'] / r['fits']):,.0f} training rows/s per trial "
                  f"({r['seconds'] / r['fits']:.2f} s per trial, in-process)")
    labels = list(fused["auc"])
    if labels:
        width = max(len(label) for label in labels) + 2
        print(f"\n{'configuration':<{width}}" + " ".join(f"{e + ' AUC':>12}" for e in results))
        for label in labels:
            cells = [f"{results[e]['auc'][label]:>12.4f}" if label in results[e]["auc"] else f"{'-':>12}"
                     for e in results]
            print(f"{label:<{width}}" + " ".join(cells))
        if results.get("keras", {}).get("auc"):
            gap = max(abs(fused["auc"][l] - results["keras"]["auc"][l]) for l in labels)
            print(f"largest |fused - keras| mean AUC difference: {gap:.4f}")


def bench_metrics(folds: int = 500, rows: int = 114) -> None:
    """Scoring one validation fold with the ten metrics: nnbin.metrics (numpy/scipy) against
    the scikit-learn functions they mirror, argument checks off (config_context)."""
    import numpy as np
    import sklearn
    from sklearn import metrics as skm

    from nnbin.metrics import score

    rng = np.random.default_rng(0)
    data = [(rng.integers(0, 2, rows), rng.random(rows)) for _ in range(folds)]

    def with_sklearn(y, p):
        predicted = (p >= 0.5).astype(int)
        return [skm.accuracy_score(y, predicted), skm.roc_auc_score(y, p),
                skm.average_precision_score(y, p), skm.log_loss(y, p, labels=[0, 1]),
                skm.f1_score(y, predicted, zero_division=0), skm.matthews_corrcoef(y, predicted),
                skm.recall_score(y, predicted), skm.recall_score(1 - y, 1 - predicted),
                skm.balanced_accuracy_score(y, predicted), skm.brier_score_loss(y, p),
                skm.confusion_matrix(y, predicted, labels=[0, 1])]

    timings = {}
    for name, scorer in (("nnbin.metrics", lambda y, p: score(y, p)), ("scikit-learn", with_sklearn)):
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            start = time.perf_counter()
            for y, p in data:
                scorer(y, p)
            timings[name] = (time.perf_counter() - start) / folds * 1e3
    print(f"\n## metrics: ten metrics and the confusion counts on one fold of {rows} rows "
          f"(mean of {folds} folds)")
    for name, ms in timings.items():
        print(f"{name:<14} {ms:8.3f} ms per trial")
    print(f"scikit-learn / nnbin.metrics: {timings['scikit-learn'] / timings['nnbin.metrics']:.0f}x; "
          f"for the larger workload's 360 trials: {timings['scikit-learn'] * 360 / 1e3:.1f} s "
          f"against {timings['nnbin.metrics'] * 360 / 1e3:.2f} s")


# ---------------------------------------------------------------- memory against trials

MEMORY_RUNS = ((200_000, 1), (200_000, 4), (200_000, 16), (1_000_000, 16))  # rows, learning rates
MEMORY_LIVE = ((200_000, 16), (1_000_000, 16))  # also with the bar on: stacks trained in chunks of epochs


def memory_child(rows: int, rates: int, live: int = 0) -> None:
    """One experiment through run_experiment, written to a temporary directory (the results
    store included): 200,000 or 1,000,000 x 30, hidden [32], 2 epochs, batch 512, 5 folds,
    `rates` learning rates (5 trials each); live: with the progress bar (chunked calls)."""
    import tempfile
    from pathlib import Path

    from nnbin.experiment import run_experiment

    config = {"dataset": {"name": "synthetic", "options": {"n_samples": rows, "n_features": 30}},
              "cv": {"folds": 5, "seed": 0}, "device": "cpu",
              "models": [{"name": "net", "params": {"hidden": [32], "epochs": 2, "batch_size": 512},
                          "grid": {"learning_rate": [round(0.001 * 1.5 ** i, 6) for i in range(rates)]}}]}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = run_experiment(config, progress=bool(live), output_dir=out, report=False)
        seconds = time.perf_counter() - start
        stored = sum(f.stat().st_size for f in Path(out).glob("trials.jsonl")) + \
            (Path(out) / "predictions.f32").stat().st_size
        print("BENCH-RESULT " + json.dumps({
            "seconds": seconds, "trials": len(result.trials), "predictions": len(result.predictions),
            "stored_bytes": stored, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
            flush=True)
    os._exit(0)


# ---------------------------------------------------------------- executors

def executor_child(workload: str, epochs: int, cpus_per_task: int) -> None:
    """The fused engine through run_experiment, locally (cpus_per_task 0) or as Ray tasks on
    a local cluster of this machine's cores, cpus_per_task each; with Ray, also the cluster's
    start-up and a no-op task's overhead."""
    from nnbin.config import config_from_dict
    from nnbin.cv import make_splits, make_trials
    from nnbin.engines import work_units
    from nnbin.experiment import run_experiment

    raw = experiment_config(workload, "fused", epochs)
    result = {}
    if cpus_per_task:
        from nnbin.executors.ray_cluster import connect

        start = time.perf_counter()
        connect("local")
        result["cluster_start"] = time.perf_counter() - start
        raw["executor"] = {"kind": "ray", "address": "local", "cpus_per_task": cpus_per_task}
    config = config_from_dict(raw)
    start = time.perf_counter()
    run = run_experiment(config, progress=False, write=False)
    result["seconds"] = time.perf_counter() - start
    result["auc"] = dict(zip(run.summary["config"], run.summary["roc_auc_mean"]))
    result["trial_seconds"] = float(run.trials["fit_seconds"].sum())  # compute time, summed over units
    data = config.dataset.load()
    units = work_units("fused", make_trials(config, make_splits(data.y, config.cv.folds, seed=0)))
    result["units"] = [len(u) for u in units]
    if cpus_per_task:
        import ray

        noop = ray.remote(num_cpus=cpus_per_task)(lambda: None)
        ray.get(noop.remote())
        start = time.perf_counter()
        for _ in range(200):
            ray.get(noop.remote())
        result["task_ms_serial"] = (time.perf_counter() - start) / 200 * 1e3
        start = time.perf_counter()
        ray.get([noop.remote() for _ in range(1000)])
        result["task_ms_pipelined"] = (time.perf_counter() - start) / 1000 * 1e3
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)


def bench_executors(workload: str, epochs: int) -> None:
    cores = os.cpu_count() or 1
    runs = {"local": 0, f"ray, {cores} worker(s) x 1 CPU": 1}
    if cores > 1:
        runs[f"ray, 1 worker x {cores} CPUs"] = cores
    results = {}
    for name, cpus in runs.items():
        result, wall = run_script(["--executor-child", f"{workload},{epochs},{cpus}"], f"{name} on {workload}")
        results[name] = {**result, "wall": wall}
    units = results["local"]["units"]
    print(f"\n## executors, {workload} workload, fused engine, {epochs} epochs: {sum(units)} trials in "
          f"{len(units)} work units (stacks of {min(units)}-{max(units)} trials)")
    print(f"{'executor':<26} {'wall s':>7} {'in-process s':>13} {'cluster start s':>16} {'compute s':>10} "
          f"{'task ms (serial / pipelined)':>29}")
    for name, r in results.items():
        task = (f"{r['task_ms_serial']:.2f} / {r['task_ms_pipelined']:.2f}" if "task_ms_serial" in r else "-")
        print(f"{name:<26} {r['wall']:>7.1f} {r['seconds']:>13.1f} {r.get('cluster_start', 0):>16.1f} "
              f"{r['trial_seconds']:>10.1f} {task:>29}")
    same = all(r["auc"] == results["local"]["auc"] for r in results.values())
    print(f"mean AUC of every configuration identical across executors: {same}")
    for name, r in results.items():
        print(f"{name}: wall / local = {r['wall'] / results['local']['wall']:.2f}")


# ---------------------------------------------------------------- scikit-learn searches

def course_style_classifier():
    """What SciKeras' KerasClassifier does per fit, for the course's binary network: a fresh
    Keras model built and compiled, model.fit(shuffle=True), predict. The baseline the issue's
    "SciKeras + GridSearchCV" figure describes (SciKeras itself fails with scoring='roc_auc')."""
    import keras
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin

    from nnbin.builders import build_model
    from nnbin.spec import ModelSpec

    class CourseStyleClassifier(ClassifierMixin, BaseEstimator):
        def __init__(self, hidden=(), activation="relu", learning_rate=0.001, epochs=100, batch_size=32,
                     random_state=0):
            self.hidden, self.activation, self.learning_rate = hidden, activation, learning_rate
            self.epochs, self.batch_size, self.random_state = epochs, batch_size, random_state

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            keras.utils.set_random_seed(self.random_state)
            spec = ModelSpec(hidden=self.hidden, activation=self.activation, learning_rate=self.learning_rate,
                             seed=self.random_state)
            self.model_ = build_model(spec, X.shape[1])
            self.model_.fit(X.astype("float32"), (y == self.classes_[1]).astype("float32"),
                            batch_size=self.batch_size, epochs=self.epochs, shuffle=True, verbose=0)
            return self

        def predict_proba(self, X):
            p = self.model_.predict(X.astype("float32"), verbose=0).ravel().astype(float)
            return np.column_stack([1 - p, p])

        def predict(self, X):
            return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    return CourseStyleClassifier


def search_child(kind: str, workload: str, epochs: int) -> None:
    """A workload's grid as a scikit-learn search of NNBinClassifier behind a StandardScaler
    (fitted per fold), its stratified folds, roc_auc, refit of the best: `fused`
    (FusedSearchCV), `grid` (GridSearchCV, one NNBinClassifier fit per candidate and fold) or
    `course` (GridSearchCV of a course-style classifier: a fresh model and model.fit per fit)."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from nnbin.sklearn import FusedSearchCV, NNBinClassifier

    spec = SEARCH_ONLY.get(workload) or WORKLOADS[workload]
    X, y = load_breast_cancer(return_X_y=True)
    if workload == "wine":  # class 0 against the rest
        from sklearn.datasets import load_wine

        X, y = load_wine(return_X_y=True)
        y = (y == 0).astype(int)
    classifier = course_style_classifier() if kind == "course" else NNBinClassifier
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("net", classifier(epochs=epochs, batch_size=spec["batch_size"], random_state=0))])
    if workload == "wine":
        grid = {"net__hidden": [(), (8,), (16, 8)], "net__learning_rate": [0.001, 0.01]}
    elif workload == "reference":
        grid = [{"net__hidden": [tuple(m["params"].get("hidden", ()))],
                 "net__activation": [m["params"].get("activation", "relu")],
                 "net__learning_rate": m["grid"]["learning_rate"]} for m in spec["models"]]
    else:  # width x depth x activation x learning rate
        values = spec["models"][0]["grid"]
        grid = {"net__hidden": [(w,) * d for w in values["width"] for d in values["depth"]],
                "net__activation": values["activation"], "net__learning_rate": values["learning_rate"]}
    search_class = FusedSearchCV if kind == "fused" else GridSearchCV
    search = search_class(pipeline, grid, cv=StratifiedKFold(spec["folds"], shuffle=True, random_state=0),
                          scoring="roc_auc")
    start = time.perf_counter()
    search.fit(X, y)
    result = {"seconds": time.perf_counter() - start, "refit_seconds": search.refit_time_,
              "fits": len(search.cv_results_["params"]) * spec["folds"],
              "best_params": {k.split("__")[-1]: str(v) for k, v in search.best_params_.items()},
              "best_score": search.best_score_,
              "mean_test_score": np.asarray(search.cv_results_["mean_test_score"]).tolist(),
              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)


# ---------------------------------------------------------------- peers on W1 (--peers)

W1_UNITS, W1_RATES = [16, 32, 48, 64, 80, 96, 112, 128], [0.05, 0.01, 0.001, 0.0001]


def _w1_data():
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from nnbin.data import load_builtin

    data = load_builtin("breast_cancer")
    X, y = data.X.to_numpy(np.float32), data.y.astype(np.float32)
    return X, y, list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))


def _keras_cv_score(units: int, learning_rate: float, epochs: int) -> float:
    """The hand-written cross-validation a KerasTuner or Optuna user writes: per fold, standardise
    on the training fold, a fresh Keras model, fit, score the validation fold's ROC AUC."""
    import keras
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    X, y, folds = _w1_data()
    scores = []
    for train, validation in folds:
        scaler = StandardScaler().fit(X[train])
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy")
        model.fit(scaler.transform(X[train]), y[train], batch_size=32, epochs=epochs, verbose=0)
        scores.append(roc_auc_score(y[validation], model.predict(scaler.transform(X[validation]), verbose=0).ravel()))
    return float(np.mean(scores))


def peer_child(tool: str, epochs: int) -> None:
    import tempfile

    start = time.perf_counter()
    if tool == "kerastuner":  # GridSearch with run_trial overridden to cross-validate (KerasTuner has no CV)
        import keras_tuner as kt

        class CrossValidatedGrid(kt.GridSearch):
            def run_trial(self, trial, *args, **kwargs):
                hp = trial.hyperparameters
                return {"auc": _keras_cv_score(hp.get("units"), hp.get("learning_rate"), epochs)}

        def build(hp):  # declares the space; the model is built in run_trial
            hp.Int("units", 16, 128, step=16)
            hp.Choice("learning_rate", W1_RATES)

        with tempfile.TemporaryDirectory() as directory:
            tuner = CrossValidatedGrid(build, objective=kt.Objective("auc", "max"), directory=directory,
                                       project_name="w1", overwrite=True)
            tuner.search()
            best = tuner.oracle.get_best_trials(1)[0]
            config, score = best.hyperparameters.values, best.score
            n = len(tuner.oracle.trials)
    else:  # optuna: GridSampler, the objective the hand-written CV
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.GridSampler(
            {"units": W1_UNITS, "learning_rate": W1_RATES}, seed=0))
        study.optimize(lambda trial: _keras_cv_score(trial.suggest_categorical("units", W1_UNITS),
                                                     trial.suggest_categorical("learning_rate", W1_RATES), epochs))
        config, score, n = study.best_params, study.best_value, len(study.trials)
    print("BENCH-RESULT " + json.dumps({"seconds": time.perf_counter() - start, "configurations": n,
                                        "best": {k: config[k] for k in ("units", "learning_rate")},
                                        "score": score}), flush=True)
    os._exit(0)


def bench_peers(epochs: int) -> None:
    """W1 with nnbin, scikit-learn, KerasTuner and Optuna, same folds, one after another."""
    print(f"\n## peers on W1: breast_cancer, 5 folds (seed 0), relu units {W1_UNITS[0]}..{W1_UNITS[-1]} x "
          f"learning rate {W1_RATES}, Adam, batch 32, {epochs} epochs (160 fits each)")
    print(f"{'tool':<12} {'wall s':>8}  {'best configuration':<32} {'best mean AUC':>13}")
    rows = {}
    for engine in ("fused", "sklearn"):
        result = run_child(engine, "w1", epochs, False)
        label = max(result["auc"], key=result["auc"].get)
        rows["nnbin" if engine == "fused" else "scikit-learn"] = (result["wall"], label, result["auc"][label])
    for tool in ("kerastuner", "optuna"):
        result, wall = run_script(["--peer-child", f"{tool},{epochs}"], tool)
        best = f"width={result['best']['units']} learning_rate={result['best']['learning_rate']}"
        rows[tool] = (wall, best, result["score"])
    for tool, (wall, best, score) in rows.items():
        print(f"{tool:<12} {wall:>8.1f}  {best.removeprefix('net '):<32} {score:>13.4f}")
    for tool in ("scikit-learn", "kerastuner", "optuna"):
        print(f"{tool} wall time / nnbin: {rows[tool][0] / rows['nnbin'][0]:.2f}x")


# workloads of --search only: wine (class 0 vs rest, 178 x 13), hidden (), (8,), (16, 8) x 2 rates
SEARCH_ONLY = {"wine": {"folds": 5, "epochs": 40, "batch_size": 32}}


def bench_search(workload: str, epochs: int) -> None:
    names = {"fused": "FusedSearchCV", "grid": "GridSearchCV(NNBinClassifier)",
             "course": "GridSearchCV(course-style Keras)"}
    if workload == "larger":
        names.pop("course")  # ~5 s per fit: 30 minutes on the larger grid
    results = {}
    for kind in names:
        result, wall = run_script(["--search-child", f"{kind},{workload},{epochs}"], f"{kind} search")
        results[kind] = {**result, "wall": wall}
    spec = SEARCH_ONLY.get(workload) or WORKLOADS[workload]
    fits = results["fused"]["fits"]
    table = "wine (class 0 vs rest)" if workload == "wine" else "breast_cancer"
    print(f"\n## scikit-learn search, {workload} grid ({fits // spec['folds']} candidates x {spec['folds']} folds, "
          f"{table}, Adam, batch 32, {epochs} epochs), StandardScaler per fold, roc_auc, refit of the best")
    print(f"{'search':<34} {'fits':>5} {'wall s':>8} {'in-process s':>13} {'refit s':>8} {'peak MB':>8}  best")
    for kind, r in results.items():
        best = ", ".join(f"{k}={v}" for k, v in r["best_params"].items())
        print(f"{names[kind]:<34} {r['fits']:>5} {r['wall']:>8.1f} {r['seconds']:>13.1f} {r['refit_seconds']:>8.2f} "
              f"{r['peak_mb']:>8.0f}  {best} (AUC {r['best_score']:.4f})")
    fused = results["fused"]
    for kind in [k for k in names if k != "fused"]:
        other = results[kind]
        gap = max(abs(a - b) for a, b in zip(fused["mean_test_score"], other["mean_test_score"]))
        print(f"{names[kind]} / FusedSearchCV: {other['wall'] / fused['wall']:.1f}x wall, "
              f"{other['seconds'] / fused['seconds']:.1f}x in-process; same best candidate: "
              f"{fused['best_params'] == other['best_params']}; largest |difference| of mean_test_score: {gap:.2e}")


# ---------------------------------------------------------------- successive halving

HALVING = {"larger": {"factor": 3, "min_epochs": 5}, "tall": {"factor": 3, "min_epochs": 3}}


def halving_child(kind: str, workload: str, epochs: int) -> None:
    """A workload's grid (36 configurations): nnbin's full grid (`grid`),
    nnbin's successive halving (`halving`), or scikit-learn's HalvingGridSearchCV over
    MLPClassifier's max_iter (`sklearn`: it chooses on the scored folds themselves)."""
    import warnings

    import numpy as np

    result = {}
    start = time.perf_counter()
    if kind == "sklearn":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.experimental import enable_halving_search_cv  # noqa: F401
        from sklearn.model_selection import HalvingGridSearchCV, StratifiedKFold
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        from nnbin.data import load_builtin

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        spec = WORKLOADS[workload]
        grid = spec["models"][0]["grid"]
        table = spec.get("dataset", {"name": "breast_cancer"})
        data = load_builtin(table["name"], **table.get("options", {}))
        mlp = MLPClassifier(solver="adam", batch_size=spec["batch_size"], alpha=0.0, tol=0.0,
                            n_iter_no_change=epochs + 1, random_state=0)
        search = HalvingGridSearchCV(
            Pipeline([("scale", StandardScaler()), ("clf", mlp)]),
            {"clf__hidden_layer_sizes": [(w,) * d for w in grid["width"] for d in grid["depth"]],
             "clf__activation": grid["activation"], "clf__learning_rate_init": grid["learning_rate"]},
            resource="clf__max_iter", min_resources=HALVING[workload]["min_epochs"], max_resources=epochs,
            factor=HALVING[workload]["factor"], scoring="roc_auc", refit=False,
            cv=StratifiedKFold(spec["folds"], shuffle=True, random_state=0))
        search.fit(data.X.to_numpy(np.float32), data.y)
        best = search.best_params_
        hidden = best["clf__hidden_layer_sizes"]
        result.update(best=f"width={hidden[0]} depth={len(hidden)} activation={best['clf__activation']} "
                           f"learning_rate={best['clf__learning_rate_init']}",
                      best_auc=float(search.best_score_), fits=int(sum(search.n_candidates_)) * spec["folds"],
                      rungs=[int(n) for n in search.n_candidates_],
                      epochs=[int(r) for r in search.n_resources_])
    else:
        from nnbin.config import config_from_dict
        from nnbin.experiment import run_experiment

        raw = experiment_config(workload, "fused", epochs)
        if kind == "halving":
            raw["search"] = {"kind": "halving", **HALVING[workload]}
        run = run_experiment(config_from_dict(raw), progress=False, write=False)
        top = run.summary.iloc[0]
        result.update(best=top["config"].removeprefix("net "), best_auc=float(top["roc_auc_mean"]),
                      fits=int(run.metadata["trials"]),
                      auc={c.removeprefix("net "): float(v) for c, v in zip(run.summary["config"],
                                                                            run.summary["roc_auc_mean"])},
                      note=" ".join(n for n in run.notes if "halving" in n))
    result["seconds"] = time.perf_counter() - start
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)


def bench_halving(workload: str, epochs: int) -> None:
    names = {"grid": "nnbin full grid", "halving": "nnbin halving", "sklearn": "HalvingGridSearchCV(MLP)"}
    results = {}
    for kind in names:
        result, wall = run_script(["--halving-child", f"{kind},{workload},{epochs}"], f"{kind} halving")
        results[kind] = {**result, "wall": wall}
    spec, settings = WORKLOADS[workload], HALVING[workload]
    table = spec.get("dataset", {"name": "breast_cancer"})
    rows = table.get("options", {}).get("n_samples")
    print(f"\n## successive halving, {workload} workload ({'synthetic %s rows' % f'{rows:,}' if rows else table['name']}, "
          f"36 configurations x {spec['folds']} folds, Adam, batch {spec['batch_size']}, up to {epochs} epochs; "
          f"factor {settings['factor']}, from {settings['min_epochs']} epochs)")
    print(f"{'search':<26} {'fits':>6} {'wall s':>8} {'in-process s':>13} {'peak MB':>8}  best configuration (mean AUC)")
    for kind, r in results.items():
        print(f"{names[kind]:<26} {r['fits']:>6} {r['wall']:>8.1f} {r['seconds']:>13.1f} {r['peak_mb']:>8.0f}  "
              f"{r['best']} ({r['best_auc']:.4f})")
    grid, halving = results["grid"], results["halving"]
    ranked = sorted(grid["auc"], key=grid["auc"].get, reverse=True)
    pick = halving["best"]
    print(f"full grid / halving: {grid['wall'] / halving['wall']:.2f}x wall; halving's pick is the full grid's "
          f"#{ranked.index(pick) + 1 if pick in ranked else '?'} of {len(ranked)} (full-grid AUC "
          f"{grid['auc'].get(pick, float('nan')):.4f}; the full grid's best {grid['best_auc']:.4f})")
    scores = sorted(grid["auc"].values())
    print(f"full grid: the {len(scores)} configurations' mean AUC spans {scores[0]:.4f}-{scores[-1]:.4f} "
          f"(median {scores[len(scores) // 2]:.4f})")
    print(f"nnbin halving: {halving['note']}")
    sk = results["sklearn"]
    print(f"HalvingGridSearchCV: candidates per rung {sk['rungs']} at {sk['epochs']} epochs (chosen on the "
          "scored folds); its pick in nnbin's full grid: "
          f"{grid['auc'].get(sk['best'], float('nan')):.4f}")


# ---------------------------------------------------------------- input importance

def importance_child(kind: str, workload: str, epochs: int) -> None:
    """A workload through run_experiment (nothing written) with importance off or on (its
    probe column and permutations); the run's and the importance stage's seconds."""
    import nnbin.experiment as experiment
    from nnbin.config import config_from_dict

    stage, explain = [0.0], experiment.explain_inputs

    def timed(*args):
        began = time.perf_counter()
        explain(*args)
        stage[0] = time.perf_counter() - began

    experiment.explain_inputs = timed
    raw = experiment_config(workload, "fused", epochs)
    raw["importance"] = kind == "on"
    start = time.perf_counter()
    run = experiment.run_experiment(config_from_dict(raw), progress=False, write=False)
    result = {"seconds": time.perf_counter() - start, "stage": stage[0],
              "rows": 0 if run.importance is None else len(run.importance)}
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    os._exit(0)


def bench_importance(workloads: list, quick: bool, repeats: int = 2) -> None:
    """Importance's cost: the same workload with importance off and on, each in its own process,
    interleaved `repeats` times; the importance stage's share of the run (in-process)."""
    for workload in workloads:
        epochs = 3 if quick else WORKLOADS[workload]["epochs"]
        runs = {"off": [], "on": []}
        for _ in range(repeats):
            for kind in runs:
                result, wall = run_script(["--importance-child", f"{kind},{workload},{epochs}"], f"importance {kind}")
                runs[kind].append({**result, "wall": wall})
        print(f"\n## importance cost, {workload} workload ({epochs} epochs; each line one process, interleaved)")
        print(f"{'importance':<11} {'wall s':>7} {'in-process s':>13} {'importance stage s':>19} {'rows':>6}")
        for kind, results in runs.items():
            for r in results:
                print(f"{kind:<11} {r['wall']:>7.1f} {r['seconds']:>13.1f} {r['stage']:>19.2f} {r['rows']:>6}")
        off = min(r["seconds"] for r in runs["off"])
        on = min(r["seconds"] for r in runs["on"])
        stage = min(r["stage"] for r in runs["on"])
        print(f"importance stage: {stage / (on - stage):.1%} of the rest of the run; run with importance / "
              f"without: {on / off:.2f}x (best of {repeats}; the probe adds one input column)")


# ---------------------------------------------------------------- search strategies

STRATEGY_BUDGET = 24  # configurations each search considers
STRATEGY_TABLES = {   # table -> (epochs, batch size)
    "breast_cancer": (30, 32),
    "narrow_20000x30": (15, 256),   # generated: the parity of three inputs' signs, 27 noise inputs
    "patients": (50, 32),
}


def _strategy_dataset(table: str) -> dict:
    if table == "breast_cancer":
        return {"name": "breast_cancer"}
    if table == "patients":
        return {"file": os.path.join(os.path.dirname(__file__), "..", "data", "patients.csv"), "target": "outcome",
                "positive_class": "disease", "drop": ["patient_id"]}
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 30))
    y = (np.sign(X[:, 0]) * np.sign(X[:, 1]) * np.sign(X[:, 2]) > 0) ^ (rng.random(20_000) < 0.1)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "nnbin_bench_narrow.csv")
    pd.DataFrame(X, columns=[f"x{i}" for i in range(30)]).assign(y=y.astype(int)).to_csv(path, index=False)
    return {"file": path, "target": "y"}


def strategy_child(kind: str, table: str, seed: int) -> None:
    """One search (random, tpe or halving) on one table: the best cross-validated ROC AUC found."""
    from nnbin.config import config_from_dict
    from nnbin.experiment import run_experiment

    epochs, batch = STRATEGY_TABLES[table]
    if kind == "halving":  # a grid of the budget's size: 3 widths x 2 depths x 4 learning rates
        grid = {"width": [8, 32, 128], "depth": [1, 2], "learning_rate": [0.0001, 0.001, 0.01, 0.1]}
        search = {"kind": "halving", "factor": 3, "min_epochs": max(1, epochs // 9)}
    else:
        grid = {"width": {"int": [2, 128]}, "depth": [1, 2, 3], "learning_rate": {"loguniform": [0.0001, 0.3]},
                "activation": ["relu", "tanh"]}
        search = {"kind": kind, "n_iter": STRATEGY_BUDGET, "seed": seed, **({"batch": 8} if kind == "tpe" else {})}
    config = {"name": f"strategy_{kind}", "dataset": _strategy_dataset(table), "cv": {"folds": 5, "seed": 0},
              "models": [{"name": "net", "params": {"epochs": epochs, "batch_size": batch}, "grid": grid}],
              "search": search, "metrics": ["roc_auc"], "refit": "none", "device": "cpu"}
    start = time.perf_counter()
    run = run_experiment(config_from_dict(config), progress=False, write=False)
    print("BENCH-RESULT " + json.dumps({"seconds": time.perf_counter() - start,
                                        "best": float(run.summary["roc_auc_mean"].iloc[0]),
                                        "config": run.summary["config"].iloc[0],
                                        "configurations": int(run.summary.shape[0]),
                                        "fits": int(run.metadata["fits"]["scored"] + run.metadata["fits"]["inner"])}),
          flush=True)
    os._exit(0)


def bench_strategies(quick: bool, seeds: int = 5) -> None:
    """Random, TPE and halving at equal budgets (the same number of configurations considered) on
    each table: the best cross-validated ROC AUC found, mean and spread over the search seeds."""
    import statistics

    for table in STRATEGY_TABLES:
        print(f"\n## search strategies, {table}: {STRATEGY_BUDGET} configurations each, 5-fold CV, "
              f"{STRATEGY_TABLES[table][0]} epochs" + (" (quick)" if quick else ""))
        print(f"{'search':<9} {'seeds':>5} {'best AUC mean':>14} {'sd':>7} {'min':>7} {'max':>7} {'wall s mean':>12} "
              f"{'fits':>6}  best configuration (first seed)")
        for kind in ("random", "tpe", "halving"):
            results = []
            for seed in range(1 if quick or kind == "halving" else seeds):  # halving has no search seed
                result, wall = run_script(["--strategy-child", f"{kind},{table},{seed}"] + (["--quick"] if quick else []),
                                          f"{kind} on {table}")
                results.append({**result, "wall": wall})
            best = [r["best"] for r in results]
            print(f"{kind:<9} {len(results):>5} {statistics.mean(best):>14.4f} "
                  f"{statistics.stdev(best) if len(best) > 1 else 0.0:>7.4f} {min(best):>7.4f} {max(best):>7.4f} "
                  f"{statistics.mean(r['wall'] for r in results):>12.1f} {results[0]['fits']:>6}  {results[0]['config']}")


# ---------------------------------------------------------------- live progress
PROGRESS_MODES = {
    "quiet": "no bar (--quiet): each compiled call in one piece",
    "per call": "bar moved only when a compiled call's trials finish (before live progress)",
    "live": "bar moved after every chunk of epochs (about a second each)",
}


def progress_child(mode: str, workload: str, epochs: int) -> None:
    """The fused engine through run_experiment (nothing written) with the bar off, moved per
    compiled call, or live; when the bar moved."""
    import nnbin.engines.fused as fused
    import nnbin.experiment as experiment
    from nnbin.config import config_from_dict
    from nnbin.progress import FitBar

    moved, move = [], FitBar._move

    def timed(self, fits):
        move(self, fits)
        if fits:
            moved.append(time.perf_counter())

    FitBar._move = timed
    if mode == "per call":
        whole = fused.schedule._run
        fused.schedule._run = lambda stacks, inputs, groups, jit, progress: whole(stacks, inputs, groups, jit, None)
    config = config_from_dict(experiment_config(workload, "fused", epochs))
    start = time.perf_counter()
    experiment.run_experiment(config, progress=mode != "quiet", write=False, report=False)
    end = time.perf_counter()
    gaps = [b - a for a, b in zip([start, *moved], [*moved, end])]
    print("BENCH-RESULT " + json.dumps({"seconds": end - start, "moves": len(moved), "longest_still": max(gaps),
                                        "first_move": moved[0] - start if moved else None}), flush=True)
    os._exit(0)


def bench_progress(workloads: list, quick: bool, repeats: int = 2) -> None:
    """Each mode in its own process, the modes interleaved `repeats` times: the cost of live
    progress (in-process seconds against quiet) and the longest time the bar stood still."""
    for workload in workloads:
        epochs = 3 if quick else WORKLOADS[workload]["epochs"]
        runs = {mode: [] for mode in PROGRESS_MODES}
        for _ in range(repeats):
            for mode in PROGRESS_MODES:
                runs[mode].append(run_script(["--progress-child", f"{mode},{workload},{epochs}"],
                                             f"progress {mode} on {workload}")[0])
        print(f"\n## live progress, {workload} workload, fused engine, {epochs} epochs "
              f"({repeats} runs of each mode, interleaved)")
        print(f"{'mode':<9} {'in-process s':>13} {'bar moves':>10} {'first move s':>13} {'longest still s':>16}  what")
        for mode, results in runs.items():
            mean = lambda key: sum(r[key] or 0 for r in results) / len(results)  # noqa: E731
            bar = (f"{'-':>10} {'-':>13} {'-':>16}" if mode == "quiet" else
                   f"{mean('moves'):>10.0f} {mean('first_move'):>13.1f} {max(r['longest_still'] for r in results):>16.1f}")
            print(f"{mode:<9} {mean('seconds'):>13.1f} {bar}  {PROGRESS_MODES[mode]}")
        quiet = sum(r["seconds"] for r in runs["quiet"])
        for mode in ("per call", "live"):
            print(f"{mode} / quiet, in-process seconds: {sum(r['seconds'] for r in runs[mode]) / quiet:.3f}")


def bench_memory() -> None:
    print("\n## memory: synthetic rows x 30, hidden [32], 2 epochs, batch 512, 5 folds, refit of the best; "
          "written to disk (results store), report off")
    print(f"{'rows':>9} {'trials':>6} {'peak MB':>8} {'in-process s':>13} {'stored B/prediction':>20}")
    peaks = {}
    for rows, rates, live in [(*run, 0) for run in MEMORY_RUNS] + [(*run, 1) for run in MEMORY_LIVE]:
        r, _ = run_script(["--memory", f"{rows},{rates},{live}"], f"memory run {rows} x {rates}")
        peaks[rows, r["trials"], live] = r["peak_mb"]
        print(f"{rows:>9,} {r['trials']:>6} {r['peak_mb']:>8.0f} {r['seconds']:>13.1f} "
              f"{r['stored_bytes'] / r['predictions']:>20.2f}" + ("  progress bar on (chunked calls)" if live else ""))
    print(f"peak with 80 trials / with 5 trials (200,000 rows): {peaks[200_000, 80, 0] / peaks[200_000, 5, 0]:.2f}")
    for rows, rates in MEMORY_LIVE:
        print(f"peak with the bar on / off ({rows:,} rows, {5 * rates} trials): "
              f"{peaks[rows, 5 * rates, 1] / peaks[rows, 5 * rates, 0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", choices=["reference", "larger", "both", "w1", "metrics", "big", "memory",
                                               "tall", "wine"],
                        default="both")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of fused,keras,course,sklearn")
    parser.add_argument("--quick", action="store_true", help="3 epochs: a smoke test of the script")
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--subset", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--executor", choices=["ray"],
                        help="compare the local executor with Ray (a local cluster of this machine)")
    parser.add_argument("--search", action="store_true",
                        help="FusedSearchCV against GridSearchCV(NNBinClassifier) on the reference grid")
    parser.add_argument("--search-child", help=argparse.SUPPRESS)  # child: fused|grid|course,WORKLOAD,EPOCHS
    parser.add_argument("--halving", action="store_true",
                        help="successive halving against the full grid and scikit-learn's HalvingGridSearchCV")
    parser.add_argument("--halving-child", help=argparse.SUPPRESS)  # child: grid|halving|sklearn,WORKLOAD,EPOCHS
    parser.add_argument("--progress", action="store_true",
                        help="live progress: its cost and how often the bar moves (larger and tall workloads)")
    parser.add_argument("--progress-child", help=argparse.SUPPRESS)  # child: MODE,WORKLOAD,EPOCHS
    parser.add_argument("--importance", action="store_true",
                        help="importance: true against false on the reference and larger workloads: its cost")
    parser.add_argument("--importance-child", help=argparse.SUPPRESS)  # child: off|on,WORKLOAD,EPOCHS
    parser.add_argument("--search-strategies", action="store_true",
                        help="random vs TPE vs halving at equal budgets on three tables (mean and spread over 5 seeds)")
    parser.add_argument("--strategy-child", help=argparse.SUPPRESS)  # child: KIND,TABLE,SEED
    parser.add_argument("--peers", action="store_true",
                        help="W1 with nnbin, scikit-learn, KerasTuner and Optuna (pip install -e '.[bench]')")
    parser.add_argument("--peer-child", help=argparse.SUPPRESS)  # child: kerastuner|optuna,EPOCHS
    parser.add_argument("--memory", help=argparse.SUPPRESS)  # child: ROWS,LEARNING_RATES
    parser.add_argument("--executor-child", help=argparse.SUPPRESS)  # child: WORKLOAD,EPOCHS,CPUS_PER_TASK
    args = parser.parse_args()
    if args.workload in SEARCH_ONLY and not args.search:
        parser.error(f"--workload {args.workload} is a scikit-learn search workload: add --search")
    if args.peer_child:
        tool, epochs = args.peer_child.split(",")
        return peer_child(tool, int(epochs))
    if args.peers:
        return bench_peers(3 if args.quick else WORKLOADS["w1"]["epochs"])
    if args.memory:
        return memory_child(*map(int, args.memory.split(",")))
    if args.executor_child:
        workload, epochs, cpus = args.executor_child.split(",")
        return executor_child(workload, int(epochs), int(cpus))
    if args.strategy_child:
        kind, table, seed = args.strategy_child.split(",")
        if args.quick:
            STRATEGY_TABLES[table] = (2, STRATEGY_TABLES[table][1])
        return strategy_child(kind, table, int(seed))
    if args.search_strategies:
        return bench_strategies(args.quick)
    for value, child_main in ((args.search_child, search_child), (args.importance_child, importance_child),
                              (args.progress_child, progress_child), (args.halving_child, halving_child)):
        if value:  # KIND,WORKLOAD,EPOCHS
            kind, workload, epochs = value.split(",")
            return child_main(kind, workload, int(epochs))
    if args.importance:
        workloads = ["reference", "larger"] if args.workload == "both" else [args.workload]
        return bench_importance(workloads, args.quick)
    if args.progress:
        workloads = ["larger", "tall"] if args.workload == "both" else [args.workload]
        return bench_progress(workloads, args.quick)
    if args.halving:  # --workload larger (default) or tall
        workload = "larger" if args.workload == "both" else args.workload
        return bench_halving(workload, 6 if args.quick else WORKLOADS[workload]["epochs"])
    if args.search:  # --workload reference (default), larger or wine
        workload = "reference" if args.workload == "both" else args.workload
        return bench_search(workload, 3 if args.quick else (SEARCH_ONLY.get(workload) or WORKLOADS[workload])["epochs"])
    if args.executor:
        workload = "larger" if args.workload == "both" else args.workload
        return bench_executors(workload, 3 if args.quick else WORKLOADS[workload]["epochs"])
    if args.child:
        return child(args)
    if args.workload == "metrics":
        return bench_metrics()
    if args.workload == "memory":
        return bench_memory()
    workloads = ["reference", "larger"] if args.workload == "both" else [args.workload]
    engines = [e for e in args.engines.split(",") if e]
    print(f"nnbin benchmark, {os.cpu_count()} CPU cores, python {sys.version.split()[0]}"
          + (" (quick)" if args.quick else "")
          + (" (NNBIN_XLA_CACHE set: compiled graphs may come from it)" if os.environ.get("NNBIN_XLA_CACHE") else ""))
    for workload in workloads:
        epochs = 3 if args.quick else WORKLOADS[workload]["epochs"]
        subset_for = ESTIMATED.get(workload, set())
        results = {}
        for engine in engines:
            if engine == "sklearn" and "dataset" in WORKLOADS[workload]:
                continue  # the scikit-learn grid is written for breast_cancer
            results[engine] = run_child(engine, workload, epochs, engine in subset_for)
        report(workload, epochs, results)


if __name__ == "__main__":
    main()
