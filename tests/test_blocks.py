"""Widths in blocks: one compilation per depth, whatever the widths, and nothing of the padding
leaks into a model (its weights come back as Keras would hold them, its padding stays zero)."""
import json

import numpy as np
import pytest

from nnbin.builders import initial_weights
from nnbin.config import config_from_dict
from nnbin.core.specs import ModelSpec
from nnbin.cv import make_splits, make_trials
from nnbin.engines import FoldData
from nnbin.engines.fused import blocks, compilations, schedule, train_trials
from nnbin.experiment import run_experiment


@pytest.mark.parametrize("hidden, padded", [((5,), [64]), ((70, 2), [192, 64]), ((1, 40, 7), [64, 128, 64])])
def test_the_blocked_layout_holds_a_model_and_gives_it_back(hidden, padded):
    weights = initial_weights(ModelSpec(hidden=hidden, seed=3), 6)
    blocked = blocks.blocked_weights(weights, 6, padded)
    back = blocks.keras_weights(blocked, 6, hidden)
    assert [w.shape for w in back] == [w.shape for w in weights]
    assert all(np.array_equal(a, b) for a, b in zip(back, weights))
    kept = sum(float(np.abs(w).sum()) for w in weights)
    assert sum(float(np.abs(w).sum()) for w in blocked) == pytest.approx(kept)   # the rest is zeros


def test_an_ordered_sum_ignores_trailing_zeros_bit_for_bit():
    """The property the blocked sums rest on, against numpy's float32 sum as a sanity bound."""
    rng = np.random.default_rng(0)
    for n in (1, 3, 8, 13, 32, 50):
        x = rng.normal(size=(4, n)).astype(np.float32) * 10 ** rng.uniform(-3, 3, size=(4, n)).astype(np.float32)
        alone = blocks.ordered_sum(blocks.tf.constant(x)).numpy()
        for width in (n + 1, 64, 200):
            padded = np.zeros((4, width), np.float32)
            padded[:, :n] = x
            assert np.array_equal(blocks.ordered_sum(blocks.tf.constant(padded)).numpy(), alone)
        np.testing.assert_allclose(alone, x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-3)


def _trials(grid, epochs=3):
    config = config_from_dict({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3, "seed": 0},
                               "models": [{"name": "net", "params": {"epochs": epochs, "batch_size": 16},
                                           "grid": grid}]})
    data = config.dataset.load()
    return make_trials(config, make_splits(data.y, 3, seed=0)), FoldData(data)


def test_a_grid_over_widths_compiles_once_per_depth():
    trials, folds = _trials({"hidden": [[2], [5], [9], [33], [70], [4, 4], [40, 3], [17, 90]],
                             "activation": ["relu", "sigmoid"]})
    schedule._COMPILED.clear()   # compiled functions are kept for the process: start from none
    before = compilations()
    results = list(train_trials(trials, folds))
    assert len(results) == len(trials) == 8 * 2 * 3
    assert compilations() - before == 2          # depth 1 and depth 2, not 8 architectures
    assert all(r.status == "ok" for r in results)


def test_padding_units_stay_zero_through_training():
    """A 3-unit model trained beside a 70-unit one (sigmoid: its padding units would output 0.5 and
    learn, if they were not held at zero): its stacked weights are zero beyond its own units."""
    trials, folds = _trials({"hidden": [[3], [70]], "activation": ["sigmoid"], "l2": [0.01]}, epochs=5)
    stack = schedule.StackedMLP(schedule.StackedFit.build(trials, folds), folds.table().values.shape[1])
    inputs = stack.inputs(schedule._shared_table(folds), np.ones((len(trials), 2)))
    state, final = schedule._compiled([stack], True)([stack.start(inputs[0])],
                                                     schedule.tf.constant(5, schedule.tf.int32), [inputs])[0]
    stack.finish(state, final)
    narrow = [k for k, t in enumerate(trials) if t.hyper.spec().hidden == (3,)]
    W1, b1, w2 = (stack.params[i].numpy() for i in range(3))
    for k in narrow:
        assert not W1[k][..., 3:].any() and not b1[k].reshape(-1)[3:].any() and not w2[k].reshape(-1)[3:].any()
        assert W1[k][..., :3].any()


def test_run_json_counts_the_compilations(tmp_path):
    schedule._COMPILED.clear()
    result = run_experiment({"dataset": {"name": "iris_binary"}, "cv": {"folds": 3},
                             "models": [{"name": "net", "params": {"epochs": 2},
                                         "grid": {"width": [3, 8, 20], "depth": [1]}}], "refit": "none"},
                            progress=False, output_dir=tmp_path, report=False)
    assert result.metadata["compilations"] == 1
    assert json.loads((tmp_path / "run.json").read_text())["compilations"] == 1


def test_a_lone_large_stack_trains_as_two_halves_of_one_shape(monkeypatch):
    """69 trials of one depth: two calls of 35 models (one copy fills the second half), one
    compilation, and every trial's bits as in one stack of 69."""
    trials, folds = _trials({"hidden": [[w] for w in range(2, 25)]}, epochs=2)
    assert len(trials) == 69
    schedule._COMPILED.clear()
    before = compilations()
    halves = {r.trial.id: r for r in train_trials(trials, folds)}
    assert compilations() - before == 1
    monkeypatch.setattr(schedule, "SPLIT_MIN", 1000)
    whole = {r.trial.id: r for r in train_trials(trials, folds)}
    assert halves.keys() == whole.keys()
    for trial_id, result in whole.items():
        assert np.array_equal(result.y_prob, halves[trial_id].y_prob)
        assert result.history == halves[trial_id].history


@pytest.mark.parametrize("epochs, stacks", [(3, 1), (3000, 2)])
def test_widths_far_apart_train_apart_when_padding_costs_more_than_a_compilation(epochs, stacks):
    """[8, 8] beside [256, 256]: padded, it would cost (256² + 64·256 + 256) − (2·64² + 64) ≈ 74,000
    multiply-adds per row more; over 3 folds x 100 rows x 3 passes that is ~2e8 at 3 epochs (merge:
    one compilation) and ~2e11 at 3000 (> COMPILE_COST = 3e10: two stacks)."""
    trials, _ = _trials({"hidden": [[8, 8], [256, 256]]}, epochs=epochs)
    classes = blocks.width_classes(trials)
    assert len(classes) == stacks
    assert sorted(len(c) for c in classes) == ([6] if stacks == 1 else [3, 3])
    assert sorted(len(s) for s in schedule.stacks_of(trials)[0]) == sorted(len(c) for c in classes)


def test_the_costliest_call_is_traced_and_compiled_first(monkeypatch):
    """Calls keep their stacks in order, at most STACKS_PER_CALL each; the call with the deep
    stack (more layers to compile, more multiply-adds to train) goes first."""
    trials, _ = _trials({"hidden": [[], [8], [8, 8, 8]]}, epochs=20)
    stacks, _ = schedule.stacks_of(trials)
    assert [len(s[0].hyper.spec().hidden) for s in stacks] == [0, 1, 3]
    monkeypatch.setattr(schedule, "CONCURRENT_CALLS", 2)
    depths = lambda calls: [[len(t[0].hyper.spec().hidden) for t, _ in call] for call in calls]  # noqa: E731
    assert depths(schedule.split_into_calls([(s, None) for s in stacks])) == [[1, 3], [0]]
    assert schedule.stack_cost(stacks[2]) > schedule.stack_cost(stacks[1]) > schedule.stack_cost(stacks[0])
    monkeypatch.setattr(schedule, "STACKS_PER_CALL", 1)
    assert depths(schedule.split_into_calls([(s, None) for s in stacks])) == [[3], [1], [0]]
    assert schedule.split_into_calls([]) == []


def test_refits_are_trained_in_advance_only_when_cheaper_than_the_chosen_ones_compilation():
    """Two candidates' refits on all 150 rows beside six cross-validation trials (100 rows each,
    so their stack steps through 150): by hand, multiply-adds per row of [8] in blocks of 64 are
    64*64 + 64 = 4160, three passes a row and epoch, against one depth-1 compilation (2 layers
    of COMPILE_COST). An optimizer the fused engine does not train is never among them."""
    from nnbin.refit import refit_trial

    def case(epochs, optimizer="adam"):
        trials, _ = _trials({"learning_rate": [0.01, 0.1], "hidden": [[8]], "optimizer": [optimizer]}, epochs)
        refits = [refit_trial(t, np.arange(150), []) for t in trials if t.split.fold == 0]
        assert [len(t.split.train) for t in trials] == [100] * 6 and len(refits) == 2
        by_hand = 4160 * 3 * epochs * (2 * 150 + 6 * (150 - 100))
        return schedule.worth_training_alongside(trials, refits), refits, by_hand

    cheapest = int(2 * blocks.COMPILE_COST / (4160 * 3 * (2 * 150 + 6 * 50)))  # epochs at the threshold
    chosen, refits, by_hand = case(cheapest)
    assert by_hand < 2 * blocks.COMPILE_COST and chosen == refits
    chosen, _, by_hand = case(cheapest + 1)
    assert by_hand > 2 * blocks.COMPILE_COST and chosen == []
    assert case(3, "adagrad")[0] == []
