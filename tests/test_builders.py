import keras
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from nnbin import ConfigError, ModelSpec, build_deep, build_logistic, build_model, build_shallow, describe


def dense_shapes(model):
    return [(tuple(l.kernel.shape), tuple(l.bias.shape)) for l in model.layers
            if isinstance(l, keras.layers.Dense)]


def test_logistic_is_one_sigmoid_neuron_with_m_plus_1_parameters():
    model = build_logistic(30)
    assert model.count_params() == 31
    assert dense_shapes(model) == [((30, 1), (1,))]
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert model.loss == "binary_crossentropy"


def test_shallow_defaults_to_four_hidden_units():
    model = build_shallow(2)
    assert dense_shapes(model) == [((2, 4), (4,)), ((4, 1), (1,))]
    assert model.count_params() == (2 + 1) * 4 + (4 + 1) * 1


def test_deep_parameter_count_is_sum_of_m_plus_1_times_u():
    model = build_deep(30, layers=[32, 16, 8], activation="tanh")
    assert model.count_params() == 31 * 32 + 33 * 16 + 17 * 8 + 9 * 1
    assert [l.activation.__name__ for l in model.layers] == ["tanh", "tanh", "tanh", "sigmoid"]
    assert model.output_shape == (None, 1)


def test_depth_width_shorthand_and_per_layer_activations():
    spec = ModelSpec(depth=3, width=8, activation=["relu", "tanh", "elu"])
    assert spec.hidden == (8, 8, 8)
    assert spec == ModelSpec(hidden=(8, 8, 8), activation=["relu", "tanh", "elu"])
    assert spec.kind == "deep"
    model = build_model(spec, 5)
    assert [l.activation.__name__ for l in model.layers][:3] == ["relu", "tanh", "elu"]
    assert model.count_params() == spec.n_params(5) == 6 * 8 + 9 * 8 + 9 * 8 + 9


def test_optimizer_learning_rate_dropout_and_l2_reach_the_model():
    model = build_model(ModelSpec(hidden=(4,), dropout=0.25, l2=0.01, optimizer="sgd",
                                  learning_rate=0.05), 3)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert [l.rate for l in model.layers if isinstance(l, keras.layers.Dropout)] == [0.25]
    assert model.layers[0].kernel_regularizer.l2 == pytest.approx(0.01)


def test_same_seed_same_initial_weights():
    first = build_model(ModelSpec(hidden=(5, 3), seed=7), 4).get_weights()
    second = build_model(ModelSpec(hidden=(5, 3), seed=7), 4).get_weights()
    other = build_model(ModelSpec(hidden=(5, 3), seed=8), 4).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("options, message", [
    ({"activation": "rleu", "hidden": (3,)}, "did you mean 'relu'"),
    ({"optimizer": "adamm"}, "unknown optimizer 'adamm'"),
    ({"hidden": (4, 0)}, "hidden[1] (layer width) must be >= 1"),
    ({"learning_rate": 0}, "learning_rate must be > 0"),
    ({"learning_rate": -0.1}, "learning_rate must be > 0"),
    ({"dropout": 1.0}, "dropout must be < 1"),
    ({"dropout": -0.1}, "dropout must be >= 0"),
    ({"depth": 2}, "depth 2 needs a width (units per hidden layer): add width: 16, or give hidden: [16, 16]"),
    ({"width": 16}, "width 16 needs depth (the number of hidden layers): add depth: 1, or give hidden: [16]"),
    ({"hidden": (3,), "depth": 2, "width": 3}, "not both"),
    ({"hidden": (3, 3), "activation": ["relu"]}, "1 names for 2 hidden layers"),
    ({"kernel_initializer": "glorot"}, "unknown kernel_initializer"),
])
def test_invalid_specs_raise_clear_errors(options, message):
    with pytest.raises(ConfigError, match=None) as error:
        ModelSpec(**options)
    assert message in str(error.value)


def test_every_listed_name_is_known_to_keras():
    from nnbin.spec import ACTIVATIONS, INITIALIZERS, OPTIMIZERS

    for name in ACTIVATIONS:
        keras.activations.get(name)
    for name in OPTIMIZERS:
        keras.optimizers.get(name)
    for name in INITIALIZERS:
        keras.initializers.get(name)


def test_describe_uses_the_course_notation(capsys):
    model = build_shallow(30, units=4)
    text = describe(model, n=455)
    lines = text.splitlines()
    assert lines[0] == f"shallow: X (455,30) -> ŷ (455,1), 2 layer(s), {model.count_params()} parameters"
    assert model.count_params() == (30 + 1) * 4 + (4 + 1) * 1
    assert lines[1].split() == ["l", "layer", "g", "W", "b", "A", "params"]
    assert lines[2].split() == ["1", "hidden_1", "tanh", "(30,4)", "(1,4)", "(455,4)", str((30 + 1) * 4)]
    assert lines[3].split() == ["2", "output", "sigmoid", "(4,1)", "(1,1)", "(455,1)", str(4 + 1)]
    assert len(lines) == 4
    assert capsys.readouterr().out.strip() == text


def test_logistic_regression_is_one_neuron():
    """The one-neuron model matches scikit-learn's LogisticRegression within 0.02 accuracy."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y,
                                                      random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
    reference = LogisticRegression(max_iter=1000).fit(X_train, y_train).score(X_val, y_val)
    keras.utils.set_random_seed(0)
    model = build_logistic(X.shape[1], learning_rate=0.01, seed=0)
    model.fit(X_train, y_train, epochs=60, batch_size=32, verbose=0)
    accuracy = float(np.mean((np.asarray(model(X_val)).ravel() >= 0.5) == y_val))
    assert abs(accuracy - reference) <= 0.02, (accuracy, reference)
