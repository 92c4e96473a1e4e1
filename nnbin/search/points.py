"""The grid points of a family: every combination (`search: {kind: grid}` and `halving`), or
`n_iter` points drawn at random (`search: {kind: random}`) from lists (a uniform choice) and
distributions: {loguniform: [low, high]}, {uniform: [low, high]}, {int: [low, high]}; and the
epochs of successive halving's rungs."""
from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np

DISTRIBUTIONS = ("loguniform", "uniform", "int")
SIGNIFICANT_DIGITS = 4   # drawn floats are rounded: readable labels, stable trial ids


def is_distribution(values) -> bool:
    return isinstance(values, dict)


def check_distribution(values) -> tuple[str, float, float]:
    """(kind, low, high) of a distribution, or ValueError saying what is expected."""
    expected = "expected one of {loguniform: [low, high]}, {uniform: [low, high]}, {int: [low, high]}"
    if len(values) != 1 or next(iter(values)) not in DISTRIBUTIONS:
        raise ValueError(f"{expected}, got {values!r}")
    kind, bounds = next(iter(values.items()))
    numbers = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
    if not numbers or not bounds[0] < bounds[1]:
        raise ValueError(f"{kind} needs [low, high] with low < high, got {bounds!r}")
    if kind == "int" and not all(isinstance(b, int) for b in bounds):
        raise ValueError(f"int needs whole-number bounds, got {bounds!r}")
    if kind == "loguniform" and bounds[0] <= 0:
        raise ValueError(f"loguniform needs low > 0, got {bounds!r}")
    return kind, bounds[0], bounds[1]


def _draw(values, rng: np.random.Generator):
    if not is_distribution(values):
        return values[int(rng.integers(len(values)))]
    kind, low, high = check_distribution(values)
    if kind == "int":
        return int(rng.integers(low, high + 1))
    value = (math.exp(rng.uniform(math.log(low), math.log(high))) if kind == "loguniform"
             else rng.uniform(low, high))
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def family_points(name: str, grid: dict, search) -> list[dict]:
    """The {setting: value} points of one family under the experiment's search settings.

    Random points are drawn one after another from a generator seeded by the search seed and
    the family's name, so a larger n_iter keeps the points of a smaller one (and resumes them);
    repeated points are dropped."""
    keys = list(grid)
    if search.kind == "tpe":  # the points checked before a TPE search: each distribution's bounds
        corners = [[*check_distribution(v)[1:]] if is_distribution(v) else v for v in grid.values()]
        return [dict(zip(keys, values)) for values in itertools.product(*corners)]
    if search.kind != "random":
        return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]
    stream = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng([search.seed, stream])
    points: list[dict] = []
    for _ in range(search.n_iter):
        point = {key: _draw(grid[key], rng) for key in keys}
        if point not in points:
            points.append(point)
    return points


def halving_budgets(epochs: int, min_epochs: int, factor: int) -> list[int]:
    """Epochs of each rung: min_epochs · factor^i while that fits in `epochs`, the last rung
    `epochs` itself (e.g. 100 epochs, from 10, factor 3: [10, 30, 100])."""
    rungs = 1
    while min_epochs * factor ** rungs <= epochs:
        rungs += 1
    return [min_epochs * factor ** i for i in range(rungs - 1)] + [epochs]

