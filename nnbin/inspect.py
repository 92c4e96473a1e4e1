"""Look inside a saved model: its layers in the course's notation, the hidden activations
A[l] for given rows, and for logistic regression the coefficients and odds ratios."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.errors import DataError


def _network(model):
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Sequential))


def coefficients(network, inputs: list[str]) -> pd.DataFrame | None:
    """Logistic regression only: weight, odds ratio exp(w) per input (per standard deviation for
    numeric columns, for the category versus none of the listed ones for one-hot inputs)."""
    import keras

    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 1:
        return None
    weights, bias = dense[0].get_weights()
    table = pd.DataFrame({"input": inputs, "coefficient": weights[:, 0],
                          "odds_ratio": np.exp(weights[:, 0])})
    table = table.reindex(table["coefficient"].abs().sort_values(ascending=False).index)
    intercept = pd.DataFrame({"input": ["(intercept)"], "coefficient": bias, "odds_ratio": np.exp(bias)})
    return pd.concat([table, intercept], ignore_index=True)


def activations(model, inputs: dict, layers=None) -> dict[int, np.ndarray]:
    """A[l] = g(Z[l]) of the chosen Dense layers (1-based; default: every hidden layer)."""
    import keras

    network = _network(model)
    features = keras.Model(model.inputs, model.get_layer("nnbin_features").output)(inputs, training=False)
    dense_count = sum(isinstance(layer, keras.layers.Dense) for layer in network.layers)
    wanted = set(layers or range(1, dense_count))
    unknown = sorted(wanted - set(range(1, dense_count + 1)))
    if unknown:
        raise DataError(f"layer {unknown[0]} does not exist: the model has Dense layers 1..{dense_count}")
    found, h, number = {}, features, 0
    for layer in network.layers:
        h = layer(h, training=False)
        if isinstance(layer, keras.layers.Dense):
            number += 1
            if number in wanted:
                found[number] = np.asarray(h)
    return found


def inspect_model(directory, frame: pd.DataFrame | None = None, layers=None, out_dir=None) -> dict:
    """Description (and logistic coefficients); with rows, their activations, saved as CSV."""
    from nnbin.predict import load, model_inputs

    model, info = load(directory)  # first: it imports TensorFlow with its start-up logs muted
    from nnbin.builders import describe
    network = _network(model)
    result = {"description": describe(network, n=len(frame) if frame is not None else "n", print_it=False),
              "coefficients": coefficients(network, info.get("inputs", [])), "activations": {}}
    if frame is not None:
        result["activations"] = activations(model, model_inputs(frame, info, ignore_extra=True), layers)
        out = Path(out_dir or directory)
        out.mkdir(parents=True, exist_ok=True)
        for number, values in result["activations"].items():
            pd.DataFrame(values, columns=[f"a{j + 1}" for j in range(values.shape[1])]).to_csv(
                out / f"activations_layer{number}.csv", index=False)
    return result
