"""The core's one constraint table: the config schema and NNBinClassifier read and check a
setting alike. The schema parses with pydantic, NNBinClassifier with core.coerce_setting:
the two are compared here on the same values (pydantic is the independent reading)."""
import numpy as np
import pytest
from pydantic import ValidationError

from nnbin.config import Hyper
from nnbin.core.settings import CONSTRAINTS, check_setting, coerce_setting
from nnbin.core.specs import TRAIN_SETTINGS, TrainSpec

VALUES = {
    "learning_rate": [1, 0.5, "0.1", "1e-2", True, np.float32(0.1), np.int64(1), np.float64(0.2), "abc", 0, -1],
    "dropout": [0, "0.1", 0.99, 1, np.float64(0.5)],
    "l2": [0, 1e-3, "x"],
    "momentum": [0.9, 1.0, "0.5"],
    "epochs": [5, 5.0, 5.5, "5", "5.0", "5.5", True, np.int64(5), np.float64(5.0), -1, 0, "five"],
    "batch_size": [32, 0, np.int32(16)],
    "patience": [0, 3, -2, 2.0],
    "depth": [0, "2", 2.0, None, -1],
    "width": [None, 4.0, 0, "8"],
    "hidden": [[8], (8,), ["8"], [8.0], [True], np.array([8]), [np.int64(8)], None, [], [0], [8, 4], [2.5]],
    "activation": ["ReLU", ["relu", "TANH"], ("relu",), "tnah", ["relu", "nope"]],
    "optimizer": ["Adam", "sgd", "adamm"],
    "kernel_initializer": ["he_normal", "HE_uniform", "glorot"],
    "class_weight": [None, "balanced"],
}


def _schema(name, value):
    """The config schema's reading (pydantic), as a TrainSpec value, or the error."""
    try:
        return getattr(Hyper.model_validate({name: value}).train_spec(), name)
    except ValidationError:
        return "error"


def _core(name, value):
    try:
        return getattr(TrainSpec(**{name: check_setting(name, coerce_setting(name, value))}), name)
    except ValueError:
        return "error"


@pytest.mark.parametrize("name, value", [(n, v) for n, values in VALUES.items() for v in values])
def test_the_schema_and_the_core_read_a_setting_alike(name, value):
    schema, core = _schema(name, value), _core(name, value)
    assert core == schema and type(core) is type(schema)


def test_every_setting_has_one_constraint_and_the_schema_lists_them_all():
    assert tuple(Hyper.model_fields) == TRAIN_SETTINGS
    assert set(TRAIN_SETTINGS) | {"seed"} == set(CONSTRAINTS)


def test_a_train_spec_records_what_the_schema_records():
    hyper = Hyper.model_validate({"hidden": ["16", 8], "activation": ["ReLU", "tanh"], "learning_rate": 1,
                                  "epochs": 5.0, "class_weight": "balanced"})
    assert hyper.train_spec().to_dict() == hyper.model_dump(mode="json")

