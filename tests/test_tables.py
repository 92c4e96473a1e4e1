"""Tables as they arrive: pandas-style reading options from the config, recorded and reused
by nnbin predict; dates refused; likely mistakes warned about."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from nnbin.cli import main
from nnbin.data import load_file
from nnbin.errors import DataError, NnbinWarning
from nnbin.reading import ReadOptions

COLUMNS = ["age", "sex", "cp", "chol", "ca", "thal", "num"]


def uci_rows(n=90, seed=0):
    """Cleveland-style rows: floats written as 63.0, '?' for missing, a 0-4 severity target."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        age, sex, cp = rng.integers(30, 75), rng.integers(0, 2), rng.integers(1, 5)
        chol, ca, thal = rng.integers(150, 350), rng.integers(0, 4), rng.choice([3, 6, 7])
        num = int(np.clip(round((age - 50) / 10 + cp * 0.5 + ca * 0.8 + rng.normal()), 0, 4))
        rows.append([f"{age}.0", f"{sex}.0", f"{cp}.0", f"{chol}.0", "?" if i % 11 == 0 else f"{ca}.0",
                     "?" if i % 13 == 0 else f"{thal}.0", str(num)])
    return rows


def test_a_headerless_uci_file_runs_from_the_config_and_predict_reads_its_kind(tmp_path, capsys):
    rows = uci_rows()
    (tmp_path / "processed.data").write_text("\n".join(",".join(r) for r in rows) + "\n")
    (tmp_path / "new.data").write_text("\n".join(",".join(r[:-1]) for r in rows[:8]) + "\n")  # no target
    dataset = {"file": str(tmp_path / "processed.data"), "header": False, "columns": COLUMNS,
               "na_values": ["?"], "target": "num", "positive_class": [1, 2, 3, 4], "categorical": ["cp", "thal"]}
    config = tmp_path / "heart.yaml"
    config.write_text(yaml.safe_dump({"name": "heart", "dataset": dataset, "cv": {"folds": 3},
                                      "models": [{"name": "logistic", "params": {"epochs": 20, "learning_rate": 0.05}}]}))
    out = tmp_path / "out"
    assert main(["train", "--config", str(config), "--output-dir", str(out), "--quiet"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["dataset"]["na_values"] == ["?"] and run["dataset"]["positive_class"] == [1, 2, 3, 4]
    assert run["dataset"]["positives"] == sum(r[-1] != "0" for r in rows)
    info = json.loads((out / "models" / "logistic" / "model.json").read_text())
    assert info["reading"] == {"format": "csv", "header": False, "columns": COLUMNS, "na_values": ["?"],
                               "sep": None, "decimal": ".", "encoding": "utf-8", "comment": None, "sheet": 0}
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "models" / "logistic"), "--data", str(tmp_path / "new.data"),
                 "--out", str(tmp_path / "scored.csv")]) == 0
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == COLUMNS[:-1] + ["probability", "prediction"] and len(scored) == 8
    assert scored.loc[0, ["ca", "thal"]].isna().all()                 # '?' read as missing, imputed
    positive = scored["probability"] >= 0.5                           # the classes, named by their values
    assert (scored["prediction"] == np.where(positive, "num in [1, 2, 3, 4]", "num in [0]")).all()
    whole = main(["predict", "--model", str(out / "models" / "logistic"), "--data",
                  str(tmp_path / "processed.data"), "--out", str(tmp_path / "all.csv")])
    assert whole == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "all.csv")["probability"][:8], scored["probability"])
    named = pd.DataFrame([r[:-1] for r in rows[:8]], columns=COLUMNS[:-1]).replace("?", "")
    named.to_csv(tmp_path / "named.csv", index=False)                 # any CSV with named columns
    assert main(["predict", "--model", str(out / "models" / "logistic"), "--data", str(tmp_path / "named.csv"),
                 "--out", str(tmp_path / "named_scored.csv")]) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path / "named_scored.csv")["probability"], scored["probability"])


def test_european_latin1_file_with_comments_and_semicolons(tmp_path):
    text = "# exported 2026\ndosis;ort;y\n1,5;Köln;0\n2,25;München;1\n3,0;Köln;0\n4,75;München;1\n"
    (tmp_path / "t.csv").write_bytes(text.encode("latin-1"))
    options = ReadOptions(sep=";", decimal=",", encoding="latin-1", comment="#")
    data = load_file(tmp_path / "t.csv", target="y", options=options)
    assert data.X["dosis"].tolist() == [1.5, 2.25, 3.0, 4.75]
    assert sorted(data.X["ort"].unique()) == ["Köln", "München"]
    with pytest.raises(DataError, match="is not utf-8 text .*set encoding: \\(e.g. latin-1"):
        load_file(tmp_path / "t.csv", target="y", options=ReadOptions(sep=";", comment="#"))


def test_whitespace_separated_file_with_a_regular_expression(tmp_path):
    (tmp_path / "t.txt").write_text("a   b  y\n1.0  2   0\n3.5 4 1\n 5   6  0\n7 8.25 1\n")
    data = load_file(tmp_path / "t.txt", target="y", options=ReadOptions(sep=r"\s+"))
    assert data.X.to_dict("list") == {"a": [1.0, 3.5, 5.0, 7.0], "b": [2.0, 4.0, 6.0, 8.25]}


def test_excel_sheet_by_name(tmp_path):
    frame = pd.DataFrame({"x": [0.1, 0.5, 0.9, 0.3], "code": ["07", "7", "07", "x"], "y": [0, 1, 1, 0]})
    with pd.ExcelWriter(tmp_path / "book.xlsx") as writer:
        pd.DataFrame({"other": [1]}).to_excel(writer, sheet_name="notes", index=False)
        frame.to_excel(writer, sheet_name="patients", index=False)
    data = load_file(tmp_path / "book.xlsx", target="y", categorical=["code"], options=ReadOptions(sheet="patients"))
    assert data.X["code"].tolist() == ["07", "7", "07", "x"] and data.reading["format"] == "excel"


@pytest.mark.parametrize("column", [["2021-03-04", "2021-05-06", "2022-01-01", "2020-12-31"],
                                    ["12/31/2020", "01/02/2021", "3/4/2021", "5/6/2021"],
                                    pd.to_datetime(["2021-03-04", "2021-05-06", "2022-01-01", "2020-12-31"])])
def test_dates_are_refused_with_the_fix(column):
    from nnbin.data import from_frame

    frame = pd.DataFrame({"visit": column, "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    with pytest.raises(DataError) as error:
        from_frame(frame, target="y")
    assert str(error.value).startswith("column 'visit' holds dates or times (e.g. '")
    assert str(error.value).endswith("convert it in your table (e.g. days since a reference date, or the "
                                     "year), or leave it out with drop: [visit]")


def test_constant_and_id_like_columns_are_warned_about():
    from nnbin.data import from_frame

    n = 30
    frame = pd.DataFrame({"batch": 1, "patient": [f"p{i}" for i in range(n)], "x": np.arange(n, dtype=float),
                          "y": np.tile([0, 1], n // 2)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NnbinWarning)
        from_frame(frame, target="y")
    messages = [str(w.message) for w in caught if w.category is NnbinWarning]
    assert messages == ["column 'batch' has the same value in every row: it carries no information; "
                        "consider drop: [batch]",
                        "column 'patient' holds a different text in almost every row (30 values in 30 "
                        "rows): an id? leave it out with drop: [patient]"]
