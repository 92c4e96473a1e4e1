"""Property-based tests: random valid configs complete with tables that agree with each other;
random invalid values exit 2 with one line and leave the output directory as it was."""
import yaml
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from nnbin.cli import main
from nnbin.experiment import run_experiment
from nnbin.metrics import METRICS, higher_is_better

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def distinct(values, max_size=2):
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True)


@st.composite
def families(draw, index):
    hidden = draw(st.sampled_from([[], [3], [4, 2]]))
    params = {"hidden": hidden, "epochs": draw(st.integers(1, 3)),
              "optimizer": draw(st.sampled_from(["adam", "sgd", "rmsprop", "adamw"])),
              "batch_size": draw(st.sampled_from([8, 32])),
              "patience": draw(st.sampled_from([0, 0, 1])),
              "class_weight": draw(st.sampled_from([None, "balanced"]))}
    if hidden:
        params["activation"] = draw(st.sampled_from(["relu", "tanh"]))
        params["dropout"] = draw(st.sampled_from([0.0, 0.25]))
    grid = {"learning_rate": draw(distinct([0.001, 0.05, 5.0]))}   # 5.0 may diverge
    if hidden and draw(st.booleans()):
        grid["l2"] = draw(distinct([0.0, 0.01]))
    return {"name": f"family{index}", "params": params, "grid": grid}


@st.composite
def configs(draw):
    n_families = draw(st.integers(1, 2))
    return {
        "dataset": {"name": "synthetic", "options": {"n_samples": draw(st.sampled_from([40, 61])),
                                                      "n_features": draw(st.integers(2, 5)),
                                                      "n_informative": 2, "n_redundant": 0,
                                                      "seed": draw(st.integers(0, 5))}},
        "cv": {"folds": draw(st.integers(2, 3)), "repeats": draw(st.integers(1, 2)),
               "seed": draw(st.integers(0, 3000))},
        "engine": draw(st.sampled_from(["fused", "keras"])),
        "rank_by": draw(st.sampled_from(["roc_auc", "log_loss", "accuracy"])),
        "models": [draw(families(i)) for i in range(n_families)],
        "refit": "none",
    }


@settings(max_examples=6, **SETTINGS)
@given(config=configs())
def test_random_valid_configs_give_tables_that_agree(config, tmp_path_factory):
    result = run_experiment(config, progress=False, output_dir=tmp_path_factory.mktemp("run"), report=False)
    trials, summary, rank_by = result.trials, result.summary, config["rank_by"]
    cv = config["cv"]
    n_configs = sum(len(f["grid"]["learning_rate"]) * len(f["grid"].get("l2", [0])) for f in config["models"])
    assert len(trials) == n_configs * cv["folds"] * cv["repeats"]          # one row per trial
    assert trials["trial_id"].is_unique
    assert len(summary) == n_configs and summary["rank"].tolist() == list(range(1, n_configs + 1))
    grouped = trials.groupby("config")
    for row in summary.itertuples():
        assert row.trials == len(grouped.get_group(row.config))
        assert row.failed == int((grouped.get_group(row.config)["status"] != "ok").sum())
        for metric in result.config.metrics:
            expected = grouped.get_group(row.config)[metric].mean()
            actual = getattr(row, f"{metric}_mean")
            assert (np.isnan(expected) and np.isnan(actual)) or np.isclose(actual, expected, rtol=1e-12)
    complete = summary[summary["failed"] == 0]
    scores = complete[f"{rank_by}_mean"].dropna().to_numpy()
    ordered = np.sort(scores)[::-1] if higher_is_better(rank_by) else np.sort(scores)
    assert np.array_equal(scores, ordered)                                  # ranked by rank_by
    failed_ranks = summary.loc[summary["failed"] > 0, "rank"]
    assert failed_ranks.empty or failed_ranks.min() > complete["rank"].max(initial=0)
    on_disk = pd.read_csv(result.output_dir / "trials.csv")
    assert len(on_disk) == len(trials) and set(on_disk["trial_id"]) == set(trials["trial_id"])


def not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


INVALID = st.one_of(
    st.tuples(st.just("cv.folds"), st.one_of(st.integers(max_value=1), st.floats(2.1, 9).filter(lambda v: not v.is_integer()),  # 3.0 is read as 3
                                                   st.text(max_size=3).filter(not_a_number))),
    st.tuples(st.just("models.net.params.learning_rate"), st.one_of(st.floats(max_value=0), st.text(max_size=4).filter(not_a_number))),
    st.tuples(st.just("models.net.params.dropout"), st.floats(1, 1e6)),
    st.tuples(st.just("models.net.params.batch_size"), st.integers(max_value=0)),
    st.tuples(st.just("models.net.params.activation"), st.text(min_size=1, max_size=8).filter(
        lambda s: s.strip().lower() not in ("relu", "tanh", "elu", "selu", "gelu", "silu", "swish", "mish",
                                            "linear", "sigmoid", "softplus", "softsign", "celu", "relu6"))),
    st.tuples(st.just("threshold"), st.one_of(st.floats(max_value=0), st.floats(min_value=1))),
    st.tuples(st.just("rank_by"), st.text(min_size=1, max_size=8).filter(lambda s: s not in METRICS)),
    st.tuples(st.just("models.net.grid.width"), st.lists(st.integers(1, 9), min_size=1, max_size=2, unique=True)),
)


@settings(max_examples=40, **SETTINGS)
@given(change=INVALID)
def test_random_invalid_values_exit_2_with_one_line_and_touch_nothing(change, tmp_path_factory, capsys):
    key, value = change
    folder = tmp_path_factory.mktemp("bad")
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump({"dataset": {"name": "iris_binary"},
                                      "models": [{"name": "net", "params": {"hidden": [4], "epochs": 1}}]}))
    out = folder / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("kept")
    capsys.readouterr()
    code = main(["train", "--config", str(config), "--output-dir", str(out), "--quiet",
                 "--set", f"{key}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"])
    err = capsys.readouterr().err
    assert code == 2, (key, value, err)
    assert len(err.strip().splitlines()) == 1 and err.startswith("nnbin: error: ")
    assert sorted(p.name for p in out.iterdir()) == ["earlier.txt"]
    assert (out / "earlier.txt").read_text() == "kept"
