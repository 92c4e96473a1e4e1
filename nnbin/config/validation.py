"""A config checked as a whole, at the door: one-line errors that name the key path, every grid
value normalised and checked, nothing accepted that would be ignored; and the grid points of a
family as settings (expand_grid, family_hyper)."""
from __future__ import annotations

from pydantic import ValidationError

from nnbin.config.schema import (
    HYPER_FIELDS,
    ExperimentConfig,
    FamilyConfig,
    Hyper,
    SearchConfig,
    changed_fields,
)
from nnbin.core.settings import suggest
from nnbin.core.specs import TrainSpec
from nnbin.errors import ConfigError
from nnbin.search import check_distribution, family_points, is_distribution


def _path(loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clean(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


def error_message(error: ValidationError) -> str:
    """What was wrong with the first problem, without its path."""
    first = error.errors()[0]
    message = _clean(first["msg"])
    if first["type"] == "missing":
        return "required key is missing"
    if first["type"] != "value_error" and not isinstance(first.get("input"), dict):
        message += f" (got {first.get('input')!r})"
    return message


def _first_error(error: ValidationError) -> str:
    """One line: the key path of the first problem and what was wrong."""
    # pydantic tries each member of a Union and adds the member's type name to the path
    loc = [p for p in error.errors()[0]["loc"] if not (isinstance(p, str) and (
        "[" in p or p in {"str", "int", "float", "bool"}))]
    return f"{_path(loc) or 'config'}: {error_message(error)}"


HIDDEN_LAYER_SETTINGS = ("activation", "dropout")  # act on hidden layers only


def validate_grid(config: ExperimentConfig):
    """Check every grid key and every value in it; paths like models[1].grid.learning_rate[2].
    No setting may be accepted and then ignored: duplicated grid values, hidden-layer settings
    of a family without hidden layers and unused cv keys are refused."""
    for i, family in enumerate(config.models):
        for key, values in family.grid.items():
            where = f"models[{i}].grid.{key}"
            if key not in HYPER_FIELDS:
                raise ConfigError(f"{where}: unknown setting '{key}'{suggest(key, HYPER_FIELDS)} "
                                  f"(sweepable: {', '.join(HYPER_FIELDS)})")
            if key == "epochs" and config.search.kind == "halving":
                raise ConfigError(f"{where}: successive halving sets the epochs of each rung (search.min_epochs "
                                  "up to the family's epochs); remove epochs from the grid, set it in params")
            if is_distribution(values):
                _check_distribution(config, where, key, values)
                continue
            if not values:
                raise ConfigError(f"{where}: list at least one value to sweep")
            normal = []
            for j, value in enumerate(values):
                try:
                    normal.append(normal_value(key, value))
                except ValidationError as exc:
                    raise ConfigError(f"{where}[{j}]: {error_message(exc)}") from None
                if normal[j] in normal[:j]:
                    first = values[normal.index(normal[j])]
                    same = "" if first == value else f" (the same value as {first!r})"
                    raise ConfigError(f"{where}[{j}]: {value!r} is listed twice{same}; each value once, "
                                      "or the configuration's folds would be counted twice")
        _check_layer_keys(i, family)
        specs, seen = [], {}
        for point in expand_grid(family, config.search):
            try:
                hyper = family_hyper(family, point)
                specs.append(hyper.spec())
            except ConfigError as exc:
                shown = f" at grid point {point}" if point else ""
                raise ConfigError(f"models[{i}] ({family.name}){shown}: {exc}") from None
            key = resolved_key(hyper)
            if key in seen:
                raise ConfigError(f"models[{i}].grid: the points {seen[key]} and {point} give the same "
                                  f"network and training of {family.name}; list each configuration once, "
                                  "or its folds would be counted twice")
            seen[key] = point
        if not any(spec.hidden for spec in specs):
            for key in HIDDEN_LAYER_SETTINGS:
                section = ("grid" if key in family.grid
                           else "params" if key in changed_fields(family.params) else None)
                if section:
                    raise ConfigError(
                        f"models[{i}].{section}.{key}: {family.name} has no hidden layer (logistic "
                        f"regression), so {key} would be ignored; remove it, or add hidden layers "
                        "(hidden: [16], or depth: 1 with width: 16)")
    _check_cv_keys_used(config)
    if config.search.kind == "tpe":
        _check_tpe(config)


def normal_value(key: str, value):
    """A grid value as the setting reads it (`"8"` -> 8, `"1e-2"` -> 0.01); ValidationError if invalid."""
    return getattr(Hyper.model_validate({key: value}), key)


def resolved_key(hyper: TrainSpec) -> tuple:
    """What a configuration trains: its resolved network (activation `relu` = `[relu]` for one
    layer) and its training settings; equal keys mean equal trials."""
    from dataclasses import replace

    spec = hyper.spec()
    training = tuple(getattr(hyper, k) for k in ("batch_size", "epochs", "class_weight", "patience"))
    return replace(spec, activation=spec.activations), training


def _check_layer_keys(i: int, family: FamilyConfig) -> None:
    """`hidden` (the list of widths) and `depth`/`width` (its shorthand) describe the same layers:
    one family uses one of them, or a sweep of one would silently override the other."""
    given = {key: section for section, keys in (("params", changed_fields(family.params)),
                                                 ("grid", set(family.grid)))
             for key in ("hidden", "depth", "width") if key in keys}
    if "hidden" in given and {"depth", "width"} & set(given):
        other = "depth" if "depth" in given else "width"
        raise ConfigError(f"models[{i}].{given['hidden']}.hidden and models[{i}].{given[other]}.{other}: "
                          f"{family.name} gives its layers twice; use hidden (a list of widths such as "
                          "[[8], [16, 8]]) or depth and width, not both")


def _check_distribution(config: ExperimentConfig, where: str, key: str, values: dict) -> None:
    """A distribution in a grid: random search only, a known form, bounds valid for the setting."""
    if config.search.kind not in ("random", "tpe"):
        raise ConfigError(f"{where}: a distribution ({', '.join(values)}) is drawn from by a random or "
                          "TPE search; add search: {kind: random, n_iter: 20}, or list the values")
    try:
        kind, low, high = check_distribution(values)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for bound in (low, high):
        try:
            Hyper.model_validate({key: bound})
        except ValidationError as exc:
            raise ConfigError(f"{where}.{kind}: {error_message(exc)}") from None
    annotation = Hyper.model_fields[key].annotation
    if kind != "int" and int in (annotation, *getattr(annotation, "__args__", ())):
        raise ConfigError(f"{where}: {key} takes whole numbers; use {{int: [{int(low)}, {int(high)}]}}")


def _check_tpe(config: ExperimentConfig) -> None:
    """A TPE search needs Optuna (refused before training without it) and plain cross-validation."""
    import importlib.util

    if importlib.util.find_spec("optuna") is None:
        raise ConfigError("search.kind: tpe proposes points with Optuna, which is not installed: "
                          "pip install 'nnbin[optuna]' (or pip install optuna), or use kind: random")
    if config.cv.nested:
        raise ConfigError("search.kind: tpe with cv.nested: true is not supported; set cv.nested: false")


def _check_cv_keys_used(config: ExperimentConfig) -> None:
    """cv keys that only act with another setting must not be set without it."""
    given = changed_fields(config.cv)
    if "inner_fraction" in given and config.search.kind != "halving" and not any(
            family_hyper(f, p).patience for f in config.models for p in expand_grid(f, config.search)):
        raise ConfigError("cv.inner_fraction: it is the early-stopping split, but no family sets "
                          "patience; remove it, or set patience (e.g. patience: 10)")
    if config.search.kind == "halving" and config.cv.nested:
        raise ConfigError("search.kind: halving chooses candidates on a hold-out of each training fold, "
                          "nested cross-validation on inner folds; use one of them (set cv.nested: false)")
    if "inner_folds" in given and not config.cv.nested:
        raise ConfigError("cv.inner_folds: it applies to nested cross-validation only; remove it, "
                          "or set cv.nested: true")


def config_from_dict(data: dict) -> ExperimentConfig:
    """Validate plain data (from YAML or Python) into an ExperimentConfig."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping of keys (dataset, cv, models, ...), "
                          f"got {type(data).__name__}")
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    validate_grid(config)
    return config


def expand_grid(family: FamilyConfig, search: SearchConfig | None = None) -> list[dict]:
    """The family's grid points ({setting: value}): every combination, or a random search's draws."""
    points = family_points(family.name, family.grid, search or SearchConfig())
    return [{k: _as_read(k, v) for k, v in point.items()} for point in points]


def _as_read(key: str, value):
    """A value written as text that a setting reads as a number (`"1e-2"`) becomes that number,
    so that labels and duplicate checks see what is trained; other values stay as written."""
    if isinstance(value, str):
        try:
            return normal_value(key, value)
        except ValidationError:
            return value
    return value


def family_hyper(family: FamilyConfig, point: dict) -> TrainSpec:
    """The family's fixed params with one grid point laid over them."""
    merged = {**family.params.model_dump(exclude_unset=True), **point}
    if {"depth", "width"} & set(point) and "hidden" not in point:
        merged.pop("hidden", None)  # a swept depth/width replaces a fixed list of widths
    if "hidden" in point:
        merged.pop("depth", None)
        merged.pop("width", None)
    return Hyper.model_validate(merged).train_spec()
