"""Data that must never pass silently: categories of any type round-trip from CV to a saved
model and `nnbin predict`, the store refuses changed data, stored predictions are exact."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.cli import main
from nnbin.experiment import run_experiment
from nnbin.metrics import score
from nnbin.predict import predict_frame

ROOT = Path(__file__).parents[1]
N = 90


def clinical_table() -> pd.DataFrame:
    """Categories as they arrive: integer codes, float codes, booleans, text mixed with numbers."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({
        "age": rng.normal(60, 10, N).round(1),
        "stage": rng.integers(0, 3, N),                       # int codes 0, 1, 2
        "grade": rng.choice([1.0, 2.0, 2.5], N),              # float codes
        "smoker": rng.choice([True, False], N),               # booleans
        "ward": rng.choice(["A", "B", "7", "12"], N),          # text, some of it number-like
        "code": rng.choice(["07", "7", "x"], N),               # '07' and '7' are different codes
    })
    signal = frame["stage"] + (frame["ward"] == "7") + (frame["code"] == "07") - 1.2 + rng.normal(0, 0.5, N)
    frame["outcome"] = (signal > 0).astype(int)
    return frame


CATEGORICAL = ["stage", "grade", "smoker", "code"]


def config_for(path: Path, **changes) -> dict:
    return {"name": "clinical", "cv": {"folds": 3},
            "dataset": {"file": str(path), "target": "outcome", "categorical": CATEGORICAL, **changes},
            "models": [{"name": "logistic", "params": {"epochs": 5, "learning_rate": 0.1}},
                       {"name": "shallow", "params": {"hidden": [4], "epochs": 5, "learning_rate": 0.1}}]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The table as CSV and Parquet, cross-validated, refitted and saved."""
    folder = tmp_path_factory.mktemp("clinical")
    frame = clinical_table()
    frame.to_csv(folder / "table.csv", index=False)
    frame.to_parquet(folder / "table.parquet")
    results = {kind: run_experiment(config_for(folder / f"table.{kind}"), progress=False,
                                    output_dir=folder / kind, report=False) for kind in ("csv", "parquet")}
    return folder, frame, results


def test_categories_of_every_type_are_text_as_written(trained):
    _, _, results = trained
    data = results["csv"].dataset
    assert data.categorical == ["stage", "grade", "smoker", "ward", "code"]
    assert sorted(data.X["stage"].unique()) == ["0", "1", "2"]
    assert sorted(data.X["grade"].unique()) == ["1", "2", "2.5"]    # '1.0' in the CSV, 1.0 in Parquet
    assert sorted(data.X["smoker"].unique()) == ["False", "True"]
    assert sorted(data.X["code"].unique()) == ["07", "7", "x"]
    parquet = results["parquet"].dataset
    pd.testing.assert_frame_equal(data.X, parquet.X)      # same categories from either format
    pd.testing.assert_frame_equal(results["csv"].trials.drop(columns=["fit_seconds", "trial_id"]),
                                  results["parquet"].trials.drop(columns=["fit_seconds", "trial_id"]))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_cv_refit_save_load_predict_round_trip_in_a_fresh_process(trained, kind):
    """nnbin predict (a fresh process) on the original file gives the refitted model's own
    probabilities, computed here from the scikit-learn preprocessing and the network."""
    from nnbin.refit import refit
    from nnbin.inspection import _network
    from nnbin.predict import load

    folder, frame, results = trained
    result = results[kind]
    for family in ("logistic", "shallow"):
        directory = folder / kind / "models" / family
        scored = folder / f"{kind}-{family}.csv"
        process = subprocess.run([sys.executable, "-m", "nnbin.cli", "predict", "--model", str(directory),
                                  "--data", str(folder / f"table.{kind}"), "--out", str(scored)],
                                 cwd=ROOT, capture_output=True, text=True)
        assert process.returncode == 0, process.stderr
        assert "never seen" not in process.stderr
        model, info = load(directory)
        preprocessor = result.dataset.preprocessor().fit(result.dataset.X)
        expected = np.asarray(_network(model)(preprocessor.transform(result.dataset.X))).ravel()
        np.testing.assert_allclose(pd.read_csv(scored)["probability"], expected, rtol=0, atol=1e-6)
        from_python = predict_frame(directory, frame.drop(columns="outcome"))   # ints, floats, bools
        np.testing.assert_allclose(from_python["probability"], expected, rtol=0, atol=1e-6)
    assert refit  # the refit path is the one run_experiment used


def test_number_like_categories_keep_their_training_meaning_in_new_files(trained, tmp_path, capsys):
    """A ward column trained on A, B, 7, 12 and scored on a file holding only 7, 12 and a blank,
    a code '07' that must not become 7: the rows score as they did in the full file."""
    folder, frame, _ = trained
    directory = folder / "csv" / "models" / "shallow"
    full = predict_frame(directory, pd.read_csv(folder / "table.csv", dtype={c: str for c in CATEGORICAL}))
    rows = frame.index[frame["ward"].isin(["7", "12"])][:6]
    subset = frame.loc[rows].drop(columns="outcome")
    subset.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", "--model", str(directory), "--data", str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_allclose(scored["probability"], full.loc[rows, "probability"], rtol=0, atol=1e-7)
    assert "never seen" not in capsys.readouterr().err
    subset["stage"] = subset["stage"].astype(object)
    subset.loc[rows[1], "stage"] = None            # a blank: the integer codes would be read as floats
    subset.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", "--model", str(directory), "--data", str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_allclose(scored["probability"], predict_frame(directory, subset)["probability"],
                               rtol=0, atol=1e-7)
    others = [r for r in rows if r != rows[1]]
    np.testing.assert_allclose(scored.set_index(rows).loc[others, "probability"],
                               full.loc[others, "probability"], rtol=0, atol=1e-7)
    assert "never seen" not in capsys.readouterr().err
    subset.loc[rows[0], "ward"] = "99"                       # a category never seen in training
    subset.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", "--model", str(directory), "--data", str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "scored.csv")]) == 0
    assert ("nnbin: note: column 'ward': 1 row(s) hold categories never seen in training ('99'); they "
            "encode as all zeros") in capsys.readouterr().err


def test_integer_codes_as_the_only_categorical_columns(tmp_path):
    """Category codes stored as numbers, and no text column at all: CV, refit, save, predict."""
    frame = clinical_table()[["age", "stage", "grade", "outcome"]]
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run_experiment({**config_for(tmp_path / "t.csv", categorical=["stage", "grade"]),
                             "models": [{"name": "logistic", "params": {"epochs": 3, "learning_rate": 0.1}}]},
                            progress=False, output_dir=tmp_path / "out", report=False)
    assert result.dataset.categorical == ["stage", "grade"]
    floats = frame.drop(columns="outcome").astype({"stage": float})     # 1.0 where training saw 1
    np.testing.assert_allclose(predict_frame(result.models[0], floats)["probability"],
                               predict_frame(result.models[0], frame)["probability"], rtol=0, atol=0)


def test_an_id_column_listed_under_drop_is_carried_into_the_scored_rows(tmp_path):
    frame = clinical_table()
    frame.insert(0, "patient", [f"p{i:03d}" for i in range(N)])
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run_experiment({**config_for(tmp_path / "t.csv", drop=["patient"]),
                             "models": [{"name": "logistic", "params": {"epochs": 2}}]},
                            progress=False, output_dir=tmp_path / "out", report=False)
    new = frame.drop(columns="outcome").sample(frac=1, axis=1, random_state=0)
    scored = predict_frame(result.models[0], new)
    assert scored["patient"].tolist() == frame["patient"].tolist()
    with pytest.raises(Exception, match="unexpected column\\(s\\) 'shoe': the model does not use them; "
                                        "carry them into the output with --keep"):
        predict_frame(result.models[0], new.assign(shoe=1))
    kept = predict_frame(result.models[0], new.assign(shoe=1), keep=["shoe"])
    np.testing.assert_array_equal(kept["probability"], scored["probability"])
    assert (kept["shoe"] == 1).all()


def test_a_model_trained_with_missing_error_refuses_missing_values(tmp_path):
    frame = clinical_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run_experiment({**config_for(tmp_path / "t.csv", missing="error"),
                             "models": [{"name": "logistic", "params": {"epochs": 2}}]},
                            progress=False, output_dir=tmp_path / "out", report=False)
    rows = frame.drop(columns="outcome").head(5).copy()
    rows.loc[2, "age"] = np.nan
    rows.loc[4, "ward"] = None
    with pytest.raises(Exception) as error:
        predict_frame(result.models[0], rows)
    assert str(error.value) == ("missing values in column(s) 'age', 'ward' (rows 2, 4); the model was "
                                "trained with missing: error, so fill them first")


def test_changed_data_is_refused_on_resume(tmp_path, capsys):
    frame = clinical_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**config_for(tmp_path / "t.csv"),
                                      "models": [{"name": "logistic", "params": {"epochs": 2}}]}))
    command = ["train", "--config", str(config), "--output-dir", str(tmp_path / "out"), "--quiet"]
    assert main(command) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}
    frame["age"] = np.random.default_rng(9).normal(size=N)       # features replaced, labels kept
    frame.to_csv(tmp_path / "t.csv", index=False)
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"nnbin: error: output_dir '{tmp_path / 'out'}' holds results of this config on "
                           "other data: the data changed since those results (its content differs); use "
                           "another --output-dir (output_dir= in Python), or --fresh (fresh=True) to set the old "
                           "results aside and start again")
    assert before == {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert main([*command, "--fresh"]) == 0


def test_stored_predictions_reproduce_every_metric_exactly(tmp_path):
    result = run_experiment({"dataset": {"name": "breast_cancer"}, "cv": {"folds": 3},
                             "models": [{"name": "shallow", "params": {"hidden": [8], "epochs": 40,
                                                                       "learning_rate": 0.05}}],
                             "predictions": "csv"},
                            progress=False, output_dir=tmp_path, report=False)
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    trials = pd.read_csv(tmp_path / "trials.csv").set_index("trial_id")
    for trial_id, rows in predictions.groupby("trial_id"):
        recomputed = score(rows["y_true"].to_numpy(), rows["y_prob"].to_numpy(), result.config.metrics)
        for metric in result.config.metrics:
            assert recomputed[metric] == trials.loc[trial_id, metric], metric
    stored = predictions["y_prob"].to_numpy()
    assert np.array_equal(stored.astype(np.float32).astype(float), stored)   # float32 values, exactly
    assert (np.round(stored, 7) != stored).mean() > 0.5                       # not rounded to 7 decimals


def test_nested_runs_say_why_no_model_is_refitted_and_keep_the_inner_fold(tmp_path):
    result = run_experiment({"dataset": {"name": "iris_binary"}, "cv": {"folds": 2, "nested": True, "inner_folds": 2},
                             "models": [{"name": "logistic", "params": {"epochs": 2}}]},
                            progress=False, output_dir=tmp_path, report=False)
    inner = pd.read_csv(tmp_path / "inner_trials.csv")
    assert sorted(inner.groupby(["fold", "inner_fold"]).size().index) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert result.notes == ["no model was refitted: nested cross-validation scores the tuning procedure; "
                            "run again with cv.nested: false to refit and save models"]
    assert json.loads((tmp_path / "run.json").read_text())["notes"] == result.notes
