"""Refit, save, load with plain Keras, predict."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.cli import main
from nnbin.experiment import run_experiment
from nnbin.predict import predict_frame

ROOT = Path(__file__).parents[1]
PATIENTS = {
    "name": "patients", "cv": {"folds": 3},
    "dataset": {"file": str(ROOT / "data" / "patients.csv"), "target": "outcome",
                "positive_class": "disease", "drop": ["patient_id"]},
    "models": [{"name": "logistic", "params": {"epochs": 4, "learning_rate": 0.05}},
               {"name": "deep", "params": {"hidden": [6, 4], "epochs": 4, "dropout": 0.1,
                                           "patience": 2, "learning_rate": 0.05}}],
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("patients")
    return run_experiment(PATIENTS, progress=False, output_dir=out, report=False)


def new_rows():
    frame = pd.read_csv(ROOT / "data" / "patients.csv").drop(columns=["patient_id", "outcome"]).head(12)
    frame.loc[0, "exercise"] = "daily"   # a category never seen in training
    frame.loc[1, "smoker"] = np.nan      # missing category -> most frequent
    frame.loc[2, "bmi"] = np.nan         # missing number -> median
    return frame


def test_saved_model_matches_the_scikit_learn_preprocessing(saved):
    """The preprocessing inside the Keras model equals the fitted scikit-learn pipeline,
    including a missing number, a missing category and an unseen category."""
    from nnbin.inspection import _network
    from nnbin.predict import load

    directory = saved.output_dir / "models" / "deep"
    model, _ = load(directory)
    frame = new_rows()
    preprocessor = saved.dataset.preprocessor().fit(saved.dataset.X)
    expected = np.asarray(_network(model)(preprocessor.transform(frame))).ravel()
    np.testing.assert_allclose(predict_frame(directory, frame)["probability"], expected, atol=1e-5)


def test_plain_keras_loads_and_predicts_without_nnbin(saved, tmp_path):
    directory = saved.output_dir / "models" / "logistic"
    frame = new_rows()
    frame.to_csv(tmp_path / "rows.csv", index=False)
    script = f"""
import sys, numpy as np, pandas as pd, keras, tensorflow as tf
frame = pd.read_csv({str(tmp_path / 'rows.csv')!r})
model = keras.models.load_model({str(directory / 'model.keras')!r})
inputs = {{}}
for name in frame.columns:
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column):
        inputs[name] = tf.constant(column.to_numpy("float32")[:, None])
    else:
        inputs[name] = tf.constant(column.fillna("").astype(str).to_numpy()[:, None])
np.save({str(tmp_path / 'p.npy')!r}, np.asarray(model(inputs)).ravel())
assert not any(m.startswith("nnbin") for m in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"),
                               predict_frame(directory, frame)["probability"], atol=1e-6)


def test_predict_cli_with_columns_in_another_order(saved, tmp_path, capsys):
    directory = saved.output_dir / "models" / "logistic"
    frame = new_rows()
    frame[list(reversed(frame.columns))].to_csv(tmp_path / "reversed.csv", index=False)
    assert main(["predict", "--model", str(directory), "--data", str(tmp_path / "reversed.csv"),
                 "--out", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_allclose(scored["probability"], predict_frame(directory, frame)["probability"],
                               atol=1e-6)
    assert set(scored["prediction"]) <= {"disease", "healthy"}


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns=["age"]), "lacks column(s) 'age'"),
    (lambda f: f.assign(shoe_size=42), "unexpected column(s) 'shoe_size'"),
    (lambda f: f.assign(age=["old"] + list(f["age"][1:])), "rows 0 could not be scored: column 'age'"),
])
def test_bad_prediction_inputs(saved, tmp_path, capsys, change, message):
    change(new_rows()).to_csv(tmp_path / "bad.csv", index=False)
    code = main(["predict", "--model", str(saved.output_dir / "models" / "deep"),
                 "--data", str(tmp_path / "bad.csv")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_missing_model_directory(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("a\n1\n")
    assert main(["predict", "--model", str(tmp_path), "--data", str(tmp_path / "x.csv")]) == 2
    assert "holds no saved model" in capsys.readouterr().err


def test_held_out_test_set_is_kept_out_of_cross_validation(tmp_path):
    config = {**PATIENTS, "cv": {"folds": 3, "test_size": 0.25}, "models": PATIENTS["models"][:1],
              "predictions": "csv"}
    result = run_experiment(config, progress=False, output_dir=tmp_path, report=False)
    validated = set(pd.read_csv(tmp_path / "predictions.csv")["row"])
    assert len(validated) == 225 and len(result.dataset.y) == 300  # 75 rows held out
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["test_roc_auc"].between(0, 1).all()
    info = __import__("json").loads((tmp_path / "models" / "logistic" / "model.json").read_text())
    assert info["test_rows"] == 75 and set(info["test_scores"]) >= {"roc_auc", "accuracy"}


def test_inspect_shows_layers_coefficients_and_activations(saved, tmp_path, capsys):
    assert main(["inspect", "--model", str(saved.output_dir / "models" / "logistic")]) == 0
    out = capsys.readouterr().out
    assert "W" in out and "(12,1)" in out and "odds_ratio" in out
    from nnbin.inspection import inspect_model

    table = inspect_model(saved.output_dir / "models" / "logistic")["coefficients"]
    sex = table[table["input"].str.startswith("sex: ")]  # one category against the other
    counts = saved.dataset.X["sex"].value_counts()
    assert len(sex) == 1 and sex["reference"].iloc[0] == counts.idxmax()
    assert sex["input"].iloc[0] == f"sex: {counts.idxmin()}" and sex["input"].iloc[0] in out
    new_rows().to_csv(tmp_path / "rows.csv", index=False)
    assert main(["inspect", "--model", str(saved.output_dir / "models" / "deep"), "--data",
                 str(tmp_path / "rows.csv"), "--out", str(tmp_path / "act")]) == 0
    first = pd.read_csv(tmp_path / "act" / "activations_layer1.csv")
    assert first.shape == (12, 6) and (first >= 0).all().all()  # relu activations A[1] (n, u)
    assert pd.read_csv(tmp_path / "act" / "activations_layer2.csv").shape == (12, 4)
    assert main(["inspect", "--model", str(saved.output_dir / "models" / "deep"), "--data",
                 str(tmp_path / "rows.csv"), "--layers", "7"]) == 2
