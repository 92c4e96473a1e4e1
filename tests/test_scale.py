"""Scale: the table encoded once (each fold's preprocessing an affine map of it, checked
against scikit-learn's per-fold pipeline) and the compact, crash-safe prediction store."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from nnbin.config import config_from_dict
from nnbin.cv import make_splits, make_trials
from nnbin.data import from_frame, load_builtin
from nnbin.engines import FoldData, fused
from nnbin.engines.fused import schedule
from nnbin.experiment import run_experiment
from nnbin.store import PREDICTIONS, RECORDS, ResultsStore, StoreWarning


def awkward_table(seed=0, n=300):
    """Far-from-zero and wide-ranging numbers, missing values, a column missing on all but a
    few rows, a constant column, categories with missing values and one on two rows only."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "far": 1e9 + rng.normal(0, 3, n), "wide": rng.lognormal(0, 4, n),
        "gappy": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        "rare_value": np.where(np.arange(n) < 4, 2.0, np.nan), "constant": np.ones(n),
        "kind": pd.Series(rng.choice(["a", "b", "c"], n), dtype=object),
        "y": rng.integers(0, 2, n)})
    frame.loc[rng.random(n) < 0.15, "kind"] = np.nan
    frame.loc[[5, 6], "kind"] = "seldom"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return from_frame(frame, target="y", name="awkward")


@pytest.mark.parametrize("table", ["awkward", "breast_cancer"])
def test_each_folds_affine_map_of_the_encoded_table_equals_its_fitted_pipeline(table):
    data = awkward_table() if table == "awkward" else load_builtin("breast_cancer")
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 5},
                               "models": [{"name": "m", "params": {"patience": 2}}]})
    folds = FoldData(data)
    encoded = folds.table()
    for trial in make_trials(config, make_splits(data.y, 5, seed=1)):
        rows, arrays = folds.rows(trial), folds.get(trial)
        mapped = lambda r: np.where(np.isnan(encoded.values[r]), rows.fill,  # noqa: E731
                                    encoded.values[r] * rows.scale + rows.shift)
        for part, expected in ((rows.fit, arrays.X_fit), (rows.stop, arrays.X_stop),
                               (rows.validation, arrays.X_val)):
            got = mapped(part)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6 * max(1, np.abs(expected).max()))
        assert np.array_equal(data.y[rows.fit], arrays.y_fit)  # the same rows, in the same order


SMALL = {"dataset": {"name": "synthetic", "options": {"n_samples": 203, "n_features": 8}},
         "cv": {"folds": 3, "seed": 0},
         "models": [{"name": "logistic", "params": {"epochs": 3}, "grid": {"learning_rate": [0.01, 0.1]}},
                    {"name": "shallow", "params": {"hidden": [4], "epochs": 3}}]}


def test_probabilities_are_stored_in_four_bytes_each_and_read_back_exactly(tmp_path):
    result = run_experiment(SMALL, progress=False, output_dir=tmp_path, report=False)
    predictions = len(result.predictions)
    assert predictions == 203 * 3  # three configurations, every row scored once by each
    assert (tmp_path / PREDICTIONS).stat().st_size == 4 * predictions
    lines = (tmp_path / RECORDS).read_text().splitlines()
    assert all(set(json.loads(l)["predictions"]) == {"offset", "count"} for l in lines)
    assert not (tmp_path / "predictions.csv").exists()  # opt-in: predictions: csv
    stored = ResultsStore(tmp_path, result.config.to_dict(), None)
    stored.data = json.loads((tmp_path / "store.json").read_text())["data"]
    records = stored.open()
    back = np.concatenate([records[t].predictions for t in result.predictions["trial_id"].unique()])
    assert back.dtype == np.float32 and np.array_equal(back, result.predictions["y_prob"].to_numpy())


def test_a_torn_prediction_file_is_repaired_and_missing_probabilities_are_retrained(tmp_path):
    first = run_experiment({**SMALL, "refit": "none"}, progress=False, output_dir=tmp_path, report=False)
    path = tmp_path / PREDICTIONS
    size = path.stat().st_size
    with open(path, "ab") as handle:  # a crash after writing probabilities, before their lines
        handle.write(b"\x00\x01\x02\x03\x04\x05")
    again = run_experiment({**SMALL, "refit": "none"}, progress=False, output_dir=tmp_path, report=False)
    assert again.metadata["trained_now"] == 0 and path.stat().st_size == size
    pd.testing.assert_frame_equal(again.trials, first.trials)
    with open(path, "r+b") as handle:  # probabilities of the last trial lost
        handle.truncate(size - 8)
    with pytest.warns(StoreWarning, match="damaged"):
        repaired = run_experiment({**SMALL, "refit": "none"}, progress=False, output_dir=tmp_path,
                                  report=False)
    assert repaired.metadata["trained_now"] == 1  # alone now, in a stack of three before: same result
    pd.testing.assert_frame_equal(repaired.trials.drop(columns="fit_seconds"),
                                  first.trials.drop(columns="fit_seconds"))
    np.testing.assert_array_equal(repaired.predictions["y_prob"], first.predictions["y_prob"])


def test_a_call_of_the_same_structure_reuses_its_compiled_function_with_the_same_results():
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 2},
                               "models": [{"name": "net", "params": {"hidden": [5], "epochs": 4},
                                           "grid": {"activation": ["relu", "tanh"]}}]})
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, 3, seed=2))
    first = {r.trial.id: r for r in fused.train_trials(trials, FoldData(data))}
    compiled = dict(schedule._COMPILED)
    traced = {key: len(function._list_all_concrete_functions()) for key, function in compiled.items()}
    again = {r.trial.id: r for r in fused.train_trials(trials, FoldData(data))}
    assert dict(schedule._COMPILED).keys() == compiled.keys()           # no new function ...
    assert {k: len(f._list_all_concrete_functions()) for k, f in compiled.items()} == traced  # ... nor trace
    for trial_id, result in first.items():
        assert np.array_equal(result.y_prob, again[trial_id].y_prob)


def test_refits_known_before_cross_validation_train_with_it_and_equal_a_separate_refit(tmp_path, monkeypatch):
    """A family with one configuration and no early stopping has the same refit whatever
    cross-validation finds, and a family whose every candidate trains for less than the chosen
    one's compilation has its refit among them: those are trained in cross-validation's
    compiled calls (no extra compilation), and give the same bits as refits trained on their own
    (a resumed run). Early stopping decides the refit's epochs: that refit comes after."""
    import keras

    from nnbin import engines

    calls = []
    real = engines.ENGINES["fused"]

    def recording(trials, *args, **kwargs):
        trials = list(trials)
        if trials:  # which calls train refits: [False, True] = cross-validation and refits together
            calls.append(sorted({t.id.startswith("refit-") for t in trials}))
        return real(trials, *args, **kwargs)

    monkeypatch.setitem(engines.ENGINES, "fused", recording)
    config = {"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "test_size": 0.2},
              "models": [{"name": "logistic", "params": {"epochs": 3}},
                         {"name": "shallow", "params": {"hidden": [4], "epochs": 3}},
                         {"name": "grid", "params": {"hidden": [3], "epochs": 2},
                          "grid": {"learning_rate": [0.01, 0.1]}},
                         {"name": "stopping", "params": {"hidden": [3], "epochs": 4, "patience": 1},
                          "grid": {"learning_rate": [0.01, 0.1]}}]}
    first = run_experiment(config, progress=False, output_dir=tmp_path, report=False)
    assert calls == [[False, True], [True]]  # logistic, shallow and grid with the CV; stopping's after
    weights = lambda: {f: keras.models.load_model(tmp_path / "models" / f / "model.keras").get_weights()  # noqa: E731
                       for f in ("logistic", "shallow", "grid", "stopping")}
    before, calls[:] = weights(), []
    again = run_experiment(config, progress=False, output_dir=tmp_path, report=False)
    assert again.metadata["trained_now"] == 0 and calls == [[True]]  # every refit on its own
    for family, arrays in weights().items():
        assert all(np.array_equal(a, b) for a, b in zip(arrays, before[family])), family
    pd.testing.assert_frame_equal(again.summary, first.summary)  # test scores included
