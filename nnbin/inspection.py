"""Look inside a saved model: its layers in the course's notation, the hidden activations
A[l] for given rows, and for logistic regression the coefficients and odds ratios (categories
against a reference category)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.core.arguments import keyword_only
from nnbin.errors import DataError


def _network(model):
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Sequential))


def coefficients(network, info: dict) -> pd.DataFrame | None:
    """Logistic regression only: coefficient and odds ratio exp(coefficient) per input, on the
    standardized inputs (per standard deviation) for numeric columns; for a categorical column,
    each category against a reference category (`reference`, the training rows' most frequent):
    one-hot inputs beside an intercept are not identified one by one, but their differences
    w_category - w_reference are, and the intercept absorbs every reference's weight."""
    import keras

    dense = [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) != 1:
        return None
    weights, bias = dense[0].get_weights()
    weight = dict(zip(info.get("inputs", []), weights[:, 0].astype(np.float64)))
    intercept = float(bias[0])
    rows = []
    for feature in info.get("features", []):
        name = feature["name"]
        if feature["kind"] == "numeric":
            rows.append((name, "", float(weight[name])))
            continue
        seen = [c for c in feature["categories"] if f"{name}_{c}" in weight]
        reference = info.get("reference_categories", {}).get(name, seen[0] if seen else None)
        if reference is None:
            continue
        base = weight[f"{name}_{reference}"]
        intercept += base
        rows += [(f"{name}: {c}", reference, weight[f"{name}_{c}"] - base) for c in seen if c != reference]
    table = pd.DataFrame(rows, columns=["input", "reference", "coefficient"])
    table["odds_ratio"] = np.exp(table["coefficient"])
    table = table.reindex(table["coefficient"].abs().sort_values(ascending=False).index)
    last = pd.DataFrame({"input": ["(intercept)"], "reference": [""], "coefficient": [intercept],
                         "odds_ratio": [np.exp(intercept)]})
    return pd.concat([table, last], ignore_index=True)


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


@keyword_only
def inspect_model(directory, frame: pd.DataFrame | None = None, *, layers=None, out_dir=None) -> dict:
    """What a saved model is: its description (and logistic coefficients); with rows, their
    activations per hidden layer, saved as CSV.

    Parameters
    ----------
    directory : str or path
        A saved model.
    frame : pandas.DataFrame, optional
        Rows whose activations are wanted (raw feature columns).
    layers : sequence of int, optional
        Hidden layers (1-based) to keep; every one by default.
    out_dir : str or path, optional
        Where activations_layer<l>.csv go (the model's directory by default).

    Returns
    -------
    dict
        ``description`` (text in the course's notation), ``coefficients`` (a DataFrame for
        logistic regression, else None), ``activations`` ({layer: (n, u) array}).

    Example
    -------
    >>> inspect_model("results/compare_baselines/models/logistic")["coefficients"]   # doctest: +SKIP
    """
    from nnbin.model_io import load
    from nnbin.predict import model_inputs

    model, info = load(directory)  # first: it imports TensorFlow with its start-up logs muted
    from nnbin.builders import describe
    network = _network(model)
    result = {"description": describe(network, n=len(frame) if frame is not None else "n", print_it=False),
              "coefficients": coefficients(network, info), "activations": {}}
    if frame is not None:
        result["activations"] = activations(model, model_inputs(frame, info, ignore_extra=True), layers)
        out = Path(out_dir or directory)
        out.mkdir(parents=True, exist_ok=True)
        for number, values in result["activations"].items():
            pd.DataFrame(values, columns=[f"a{j + 1}" for j in range(values.shape[1])]).to_csv(
                out / f"activations_layer{number}.csv", index=False)
    return result
