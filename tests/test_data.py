import numpy as np
import pandas as pd
import pytest

from nnbin.data import BUILTIN_DATASETS, from_frame, load_builtin, load_dataset, load_file
from nnbin.errors import DataError


@pytest.mark.parametrize("name", sorted(BUILTIN_DATASETS))
def test_builtin_datasets_are_binary(name):
    data = load_builtin(name)
    assert set(np.unique(data.y)) == {0, 1}
    assert len(data.X) == len(data.y) > 0
    assert data.numeric and not data.categorical


def test_builtin_positive_classes_follow_the_course():
    assert load_builtin("iris_binary").summary()["positives"] == 50  # virginica
    assert load_builtin("breast_cancer").positive_class == "malignant"
    parity = load_builtin("parity", n_bits=3, n_samples=64)
    assert np.array_equal(parity.y, parity.X.sum(axis=1).to_numpy() % 2)


def test_builtin_options_are_checked():
    assert len(load_builtin("moons", n_samples=40).y) == 40
    with pytest.raises(DataError, match="accepts: n_samples, noise, seed"):
        load_builtin("moons", n_sample=40)
    with pytest.raises(DataError, match="did you mean 'moons'"):
        load_builtin("moon")


def test_byte_order_mark_does_not_corrupt_the_first_column(write_csv):
    path = write_csv("age,score,y\n30,1.5,yes\n40,2.5,no\n50,3.5,yes\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    data = load_file(path, target="y")
    assert list(data.X.columns) == ["age", "score"]


def test_string_target_default_rule_and_positive_class(write_csv):
    path = write_csv("x,label\n1,no\n2,yes\n3,no\n4,yes\n")
    data = load_file(path, target="label")
    assert data.classes == {"no": 0, "yes": 1}
    assert data.y.tolist() == [0, 1, 0, 1]
    flipped = load_file(path, target="label", positive_class="no")
    assert flipped.y.tolist() == [1, 0, 1, 0]
    assert flipped.positive_class == "no"


def test_boolean_and_numeric_targets(write_csv):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "flag": [True, False, True, False]})
    assert from_frame(frame, target="flag").y.tolist() == [1, 0, 1, 0]
    path = write_csv("x,y\n1,2\n2,7\n3,2\n4,7\n")
    data = load_file(path, target="y", positive_class=2)
    assert data.y.tolist() == [1, 0, 1, 0]
    assert data.classes == {2: 1, 7: 0}


def test_tsv_and_parquet(tmp_path, write_csv):
    tsv = write_csv("a\tb\ty\n1\tu\t0\n2\tv\t1\n", name="t.tsv")
    data = load_file(tsv, target="y")
    assert data.numeric == ["a"] and data.categorical == ["b"]
    parquet = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.0, 2.0], "y": ["p", "q"]}).to_parquet(parquet)
    assert load_file(parquet, target="y").y.tolist() == [0, 1]


def test_categoricals_are_one_hot_and_ids_dropped(write_csv):
    path = write_csv("id,color,size,y\n1,red,1.0,0\n2,blue,2.0,1\n3,red,,0\n4,green,4.0,1\n")
    data = load_file(path, target="y", drop=["id"])
    assert data.numeric == ["size"] and data.categorical == ["color"]
    features = data.preprocessor().fit_transform(data.X)
    assert features.shape == (4, 1 + 3)
    assert features.dtype == np.float32 and np.isfinite(features).all()


def test_missing_values_imputed_or_refused(write_csv):
    path = write_csv("a,b,y\n1,,0\n2,5,1\n,6,0\n4,7,1\n")
    assert np.isfinite(load_file(path, target="y").preprocessor().fit_transform(
        load_file(path, target="y").X)).all()
    with pytest.raises(DataError, match=r"missing values in 'a' \(1\), 'b' \(1\); fill them"):
        load_file(path, target="y", missing="error")


@pytest.mark.parametrize("text, options, message", [
    ("x,label\n1,0\n2,1\n", {"target": "lable"},
     "target column 'lable' not found in table.csv; did you mean 'label'? (columns: x, label)"),
    ("x,y\n1,0\n2,0\n", {"target": "y"}, "has 1 distinct value(s) (0)"),
    ("x,y\n1,a\n2,b\n3,c\n", {"target": "y"}, "target column 'y' has 3 distinct value(s) ('a', 'b', 'c'); "
     "say which values are the positive class with a list, e.g. positive_class: [b, c] (those become 1, "
     "every other value 0)"),
    ("x,y\n1,a\n2,b\n3,c\n", {"target": "y", "positive_class": ["b", "d"]},
     "positive_class lists 'd', which is not a value of target column 'y' (its values: 'a', 'b', 'c')"),
    ("63.0,1.0,?,0\n41.0,0.0,2.0,1\n", {"target": "y"},
     "the first row of table.csv looks like data, not column names ('63.0', '1.0', '?', '0'); if the file "
     "has no header row, set header: false and name its 4 columns with columns: [...]"),
    ("a,b,a,y\n1,2,3,0\n4,5,6,1\n", {"target": "y"},
     "the header of table.csv names column(s) 'a' more than once; rename them"),
    ("x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n?,1\n", {"target": "y"},
     "column 'x' is numeric but line 7 holds '?' (1 such value(s)); if it marks a missing value, add "
     "na_values: ['?']"),
    ("x,y\n", {"target": "y"}, "has no data rows"),
    ("", {"target": "y"}, "is empty"),
    ("x,y\n1,0\ninf,1\n", {"target": "y"}, "column 'x' holds a non-finite number (inf) at line 3"),
    ("x,z,y\n1,,0\n2,,1\n", {"target": "y"}, "feature column 'z' is entirely missing; drop it"),
    ("x,y\n1,0\n2,1\n3,0\n4,1\n5,0\noops,1\n", {"target": "y"}, "column 'x' is numeric but line 7 holds 'oops'"),
    ("x,y\n1,0\n2,\n3,1\n", {"target": "y"}, "target column 'y' has 1 missing value(s) (line 3)"),
    ("x,y\n1,0\n2,1\n", {"target": "y", "positive_class": "yes"}, "positive_class 'yes' is not a value"),
    ("x,y\n1,0\n2,1\n", {"target": "y", "drop": ["id"]}, "drop names column 'id'"),
    ("y\n1\n0\n", {"target": "y"}, "no feature columns"),
])
def test_data_errors_name_the_problem(write_csv, text, options, message):
    path = write_csv(text)
    with pytest.raises(DataError) as error:
        load_file(path, **options)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_file(tmp_path / "nope.csv", target="y")
    (tmp_path / "data.json").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_file(tmp_path / "data.json", target="y")
    (tmp_path / "data.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match="cannot read .*data.xlsx as excel"):
        load_file(tmp_path / "data.xlsx", target="y")
    with pytest.raises(DataError, match="needs `target`"):
        load_dataset(file=tmp_path / "data.csv")


def test_preprocessor_is_fitted_on_the_rows_it_is_given():
    data = load_builtin("synthetic", n_samples=100, n_features=4, n_informative=2, n_redundant=0)
    train = np.arange(50)
    fitted = data.preprocessor().fit(data.X.iloc[train])
    assert np.allclose(fitted.transform(data.X.iloc[train]).mean(axis=0), 0, atol=1e-5)
    assert not np.allclose(fitted.transform(data.X.iloc[50:]).mean(axis=0), 0, atol=1e-3)


def test_parity_with_distinct_patterns_never_repeats_a_pattern():
    data = load_builtin("parity", n_bits=6, n_samples=64, distinct=True, seed=1)
    patterns = data.X.astype(str).agg("".join, axis=1)
    assert patterns.nunique() == 64  # all 2^6 patterns, each once: no validation row is seen in training
    assert (data.y == data.X.sum(axis=1) % 2).all()
    with pytest.raises(DataError, match="n_samples 65 > 2\\^n_bits = 64 distinct patterns"):
        load_builtin("parity", n_bits=6, n_samples=65, distinct=True)
