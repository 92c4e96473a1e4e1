import copy

import pytest

from nnbin.config import apply_override, config_from_dict, expand_grid, load_config
from nnbin.cv import make_splits, make_trials
from nnbin.errors import ConfigError, DataError

BASE = {
    "dataset": {"name": "iris_binary"},
    "cv": {"folds": 3, "repeats": 2},
    "models": [
        {"name": "logistic"},
        {"name": "deep", "params": {"epochs": 2},
         "grid": {"depth": [1, 2], "width": [4, 8, 16], "learning_rate": [0.01, 0.1]}},
    ],
}


def config(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_grid_expansion_counts():
    cfg = config_from_dict(config())
    assert len(expand_grid(cfg.models[0])) == 1
    points = expand_grid(cfg.models[1])
    assert len(points) == 2 * 3 * 2
    assert points[0] == {"depth": 1, "width": 4, "learning_rate": 0.01}
    splits = make_splits(cfg.dataset.load().y, 3, 2)
    trials = make_trials(cfg, splits)
    assert len(trials) == (1 + 12) * 3 * 2
    assert len({t.id for t in trials}) == len(trials)


def test_trial_ids_are_stable_and_change_with_the_config():
    cfg = config_from_dict(config())
    splits = make_splits(cfg.dataset.load().y, 3, 2)
    ids = [t.id for t in make_trials(cfg, splits)]
    assert ids == [t.id for t in make_trials(config_from_dict(config()), splits)]
    other = config_from_dict(config(cv={"folds": 3, "repeats": 2, "seed": 1}))
    assert not set(ids) & {t.id for t in make_trials(other, splits)}


def test_identical_folds_and_seeds_across_families():
    cfg = config_from_dict(config())
    trials = make_trials(cfg, make_splits(cfg.dataset.load().y, 3, 2, seed=0))
    by_fold = {}
    for trial in trials:
        key = (trial.split.repeat, trial.split.fold)
        reference = by_fold.setdefault(key, trial)
        assert (trial.split.validation == reference.split.validation).all()
        assert trial.seed == reference.seed
    assert len(by_fold) == 6


def test_same_seed_same_splits_and_stratified():
    y = config_from_dict(config()).dataset.load().y
    first, second = make_splits(y, 5, seed=3), make_splits(y, 5, seed=3)
    assert all((a.validation == b.validation).all() for a, b in zip(first, second))
    assert not (make_splits(y, 5, seed=4)[0].validation == first[0].validation).all()
    assert {int(y[s.validation].sum()) for s in first} == {10}  # 50 positives / 5 folds


def test_too_few_rows_in_a_class_for_the_folds():
    with pytest.raises(DataError, match=r"class 1 has only 2 row\(s\), fewer than cv.folds = 3"):
        make_splits([0, 0, 0, 1, 1, 0], 3)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(cvv={}), "config: unknown key 'cvv'; did you mean 'cv'?"),
    (lambda d: d["models"][0].update(params={"learnin_rate": 0.1}),
     "models[0].params: unknown key 'learnin_rate'; did you mean 'learning_rate'?"),
    (lambda d: d["models"][1]["grid"].update(learning_rate=[0.1, 0.2, -1]),
     "models[1].grid.learning_rate[2]: must be > 0, got -1"),
    (lambda d: d["models"][1]["grid"].update(widht=[3]), "models[1].grid.widht: unknown setting 'widht'; did you mean 'width'?"),
    (lambda d: d["models"][1]["grid"].update(width=8), "models[1].grid.width: input should be a valid list (got 8)"),
    (lambda d: d["models"][0].update(params={"hidden": "16"}), "models[0].params.hidden: input should be a valid list"),
    (lambda d: d["models"][0].update(params={"hidden": [0]}), "models[0].params.hidden: hidden[0] (layer width) must be >= 1"),
    (lambda d: d["models"][0].update(params={"activation": "rleu"}), "did you mean 'relu'?"),
    (lambda d: d["models"][0].update(params={"optimizer": "adamm"}), "unknown optimizer 'adamm'"),
    (lambda d: d["models"][0].update(params={"hidden": [4], "depth": 2, "width": 3}), "models[0].params.hidden and models[0].params.depth: logistic gives its layers twice; use hidden"),
    (lambda d: d.update(cv={"folds": 1}), "cv.folds: must be >= 2, got 1"),
    (lambda d: d.update(cv={"repeats": 2, "shuffle": False}), "set shuffle: true"),
    (lambda d: d.update(metrics=["rocauc"]), "metrics[0]: unknown metric 'rocauc'; did you mean 'roc_auc'?"),
    (lambda d: d.update(device="tpu"), "device: input should be 'auto', 'cpu' or 'gpu'"),
    (lambda d: d.pop("models"), "models: required key is missing"),
    (lambda d: d.update(models=[]), "models: list at least one model family"),
    (lambda d: d.update(models=[{"name": "a"}, {"name": "a"}]), "'a' is used twice"),
    (lambda d: d.update(dataset={"file": "x.csv"}), "dataset: a file dataset needs target"),
    (lambda d: d.update(dataset={"name": "moons", "file": "x.csv"}), "dataset: give either name"),
])
def test_config_errors_name_their_path(change, message):
    data = config()
    change(data)
    with pytest.raises(ConfigError) as error:
        config_from_dict(data)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_set_overrides_by_path_index_and_family_name():
    data = config()
    apply_override(data, "cv.folds=4")
    apply_override(data, "models.deep.grid.learning_rate=[0.5]")
    apply_override(data, "models[0].params.epochs=7")
    apply_override(data, "dataset.options.n_samples=50")
    cfg = config_from_dict(data)
    assert cfg.cv.folds == 4
    assert cfg.models[1].grid["learning_rate"] == [0.5]
    assert cfg.models[0].params.epochs == 7
    assert cfg.dataset.options == {"n_samples": 50}
    with pytest.raises(ConfigError, match=r"no entry named 'dep' in models; did you mean 'deep'\?"):
        apply_override(config(), "models.dep.params.epochs=1")
    with pytest.raises(ConfigError, match="expected key.path=value"):
        apply_override(config(), "cv.folds")


def test_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: {name: moons\nmodels: [\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: invalid YAML: a mapping \('\{'\) is not closed by line 2: add '\}'"):
        load_config(bad)
    wrong = tmp_path / "list.yaml"
    wrong.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="a config must be a mapping"):
        load_config(wrong)


@pytest.mark.parametrize("path", sorted(__import__("pathlib").Path("configs").glob("*.yaml")))
def test_shipped_configs_are_valid(path):
    cfg = load_config(path)
    cfg.dataset.load()
