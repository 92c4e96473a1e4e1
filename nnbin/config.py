"""The experiment schema: validated once, at the door; every error names its key path.

    dataset   built-in name (with options) or file + target
    cv        folds, repeats, shuffle, seed
    models    named families, each with fixed `params` and a `grid` to sweep
    metrics, rank_by, threshold, device, engine, executor, output_dir
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from nnbin.errors import ConfigError
from nnbin.metrics import DEFAULT_METRICS, METRIC_ALIASES, METRICS
from nnbin.search import check_distribution, family_points, is_distribution
from nnbin.core.settings import check_choice, check_number, check_setting, suggest
from nnbin.core.specs import TRAIN_SETTINGS, TrainSpec


def changed_fields(model: BaseModel) -> set[str]:
    """Fields whose value differs from the default (a resolved config.yaml lists every key)."""
    return {k for k, f in type(model).model_fields.items() if getattr(model, k) != f.get_default(
        call_default_factory=True)}


class Strict(BaseModel):
    """A config section: unknown keys are errors with a suggestion."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data):
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise ValueError(f"unknown key '{key}'{suggest(key, cls.model_fields)} "
                                     f"(valid keys: {', '.join(cls.model_fields)})")
        return data


class Hyper(Strict):
    """Every model and training setting a family may fix or sweep, as the config file gives
    them: parsed here (text to numbers), checked against the one constraint table
    (nnbin.core.settings.CONSTRAINTS), and handed to training as a core `TrainSpec`."""

    hidden: Optional[list[int]] = None
    depth: Optional[int] = None
    width: Optional[int] = None
    activation: Union[str, list[str]] = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    kernel_initializer: str = "glorot_uniform"
    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.0
    batch_size: int = 32
    epochs: int = 100
    class_weight: Optional[Literal["balanced"]] = None
    patience: int = 0

    @field_validator("*")
    @classmethod
    def _constraint(cls, v, info):
        value = check_setting(info.field_name, v)
        return list(value) if isinstance(value, tuple) else value

    def train_spec(self) -> TrainSpec:
        """These settings as the core object training takes."""
        return TrainSpec(**self.model_dump())


HYPER_FIELDS = TRAIN_SETTINGS  # what a family may fix or sweep (the Hyper schema lists the same)


Scalar = Union[bool, int, float, str]
READING_KEYS = ("header", "columns", "na_values", "sep", "decimal", "encoding", "comment", "sheet")


class DatasetConfig(Strict):
    """A built-in dataset (`name`, with `options`) or a file with a `target` column, read with
    pandas-style options (`header`, `columns`, `na_values`, `sep`, `decimal`, `encoding`,
    `comment`, `sheet`)."""

    name: Optional[str] = None
    options: dict[str, Any] = {}
    file: Optional[str] = None
    target: Optional[str] = None
    positive_class: Optional[Union[Scalar, list[Scalar]]] = None
    drop: list[str] = []
    categorical: list[str] = []
    missing: Literal["impute", "error"] = "impute"
    format: Optional[Literal["csv", "tsv", "parquet", "excel"]] = None
    header: bool = True
    columns: list[str] = []
    na_values: list[str] = []
    sep: Optional[str] = None
    decimal: str = "."
    encoding: str = "utf-8"
    comment: Optional[str] = None
    sheet: Union[int, str] = 0

    @field_validator("na_values", mode="before")
    @classmethod
    def _markers_as_text(cls, v):  # na_values: [?, -1] -> ['?', '-1'], as pandas compares them
        return [str(x) for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _one_source(self):
        if (self.name is None) == (self.file is None):
            raise ValueError("give either name (a built-in dataset) or file (a CSV/TSV/Parquet/Excel path)")
        if self.file is not None and not self.target:
            raise ValueError("a file dataset needs target: the name of the column to predict")
        given = changed_fields(self)
        if self.name is not None:
            file_only = [k for k in ("target", "drop", "categorical", "positive_class", "missing", "format",
                                     *READING_KEYS) if k in given]
            if file_only:
                raise ValueError(f"{', '.join(file_only)} appl{'ies' if len(file_only) == 1 else 'y'} "
                                 "to files (file:), not to the built-in "
                                 f"dataset '{self.name}'; remove them or give file: instead of name:")
        elif "options" in given:
            raise ValueError("options apply to built-in datasets (name:), not to files; remove them")
        if not self.header and not self.columns:
            raise ValueError("header: false needs columns: [...], the names of the file's columns")
        if isinstance(self.positive_class, list) and not self.positive_class:
            raise ValueError("positive_class: list at least one target value")
        if len(self.decimal) != 1:
            raise ValueError(f"decimal must be one character such as ',' (got {self.decimal!r})")
        return self

    def reading(self):
        """The file's reading options."""
        from nnbin.reading import ReadOptions

        return ReadOptions(format=self.format, header=self.header, columns=tuple(self.columns),
                           na_values=tuple(self.na_values), sep=self.sep, decimal=self.decimal,
                           encoding=self.encoding, comment=self.comment, sheet=self.sheet)

    def load(self):
        from nnbin.data import load_builtin, load_file

        if self.name is not None:
            return load_builtin(self.name, **self.options)
        return load_file(self.file, target=self.target, positive_class=self.positive_class,
                         drop=self.drop, categorical=self.categorical, missing=self.missing,
                         options=self.reading())


MAX_SEED = 200_000


class CVConfig(Strict):
    """Stratified k-fold, repeated; early stopping holds out `inner_fraction` of each training fold."""

    folds: int = 5
    repeats: int = 1
    shuffle: bool = True
    seed: int = 0
    inner_fraction: float = 0.1
    nested: bool = False
    inner_folds: int = 3
    test_size: Optional[float] = None

    @field_validator("test_size")
    @classmethod
    def _test_size(cls, v):
        return None if v is None else check_number(v, low=0, high=0.5, low_open=True, high_open=True)

    @field_validator("folds")
    @classmethod
    def _folds(cls, v):
        return check_number(v, low=2, integer=True)

    @field_validator("inner_folds")
    @classmethod
    def _inner_folds(cls, v):
        return check_number(v, low=2, high=100, integer=True)

    @field_validator("repeats")
    @classmethod
    def _repeats(cls, v):
        return check_number(v, low=1, integer=True)

    @field_validator("seed")
    @classmethod
    def _seed(cls, v):  # trial seeds are seed * 10000 + fold offsets: kept below 2**32
        return check_number(v, low=0, high=MAX_SEED, integer=True)

    @field_validator("inner_fraction")
    @classmethod
    def _inner(cls, v):
        return check_number(v, low=0, high=0.5, low_open=True)

    @model_validator(mode="after")
    def _repeats_need_shuffle(self):
        if self.repeats > 1 and not self.shuffle:
            raise ValueError("repeats > 1 gives identical repeats without shuffle; set shuffle: true")
        return self


class ExecutorConfig(Strict):
    """Where trials are trained: in this process (local) or as Ray tasks on a cluster."""

    kind: Literal["local", "ray"] = "local"
    address: str = "local"       # local: start Ray here; auto: the running cluster; host:port; ray://host:10001
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0

    @field_validator("address")
    @classmethod
    def _address(cls, v):
        if v in ("local", "auto") or re.fullmatch(r"(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}", v):
            return v
        raise ValueError(f"expected local, auto, host:port or ray://host:10001 (got {v!r})")

    @field_validator("cpus_per_task")
    @classmethod
    def _cpus(cls, v):
        return check_number(v, low=0, low_open=True)

    @field_validator("gpus_per_task")
    @classmethod
    def _gpus(cls, v):
        return check_number(v, low=0)


class FamilyConfig(Strict):
    """A named model family: fixed `params` and a `grid` of values to sweep (lists; with a
    random search also distributions such as {loguniform: [1e-4, 1e-1]})."""

    name: str
    params: Hyper = Hyper()
    grid: dict[str, Union[list[Any], dict[str, Any]]] = {}


class SearchConfig(Strict):
    """How grid points are chosen: every combination (grid), n_iter random points per family
    (random), or every combination through successive halving on epochs (halving)."""

    kind: Literal["grid", "random", "halving"] = "grid"
    n_iter: int = 20
    seed: int = 0
    factor: int = 3
    min_epochs: int = 10

    @field_validator("n_iter", "min_epochs")
    @classmethod
    def _at_least_one(cls, v):
        return check_number(v, low=1, integer=True)

    @field_validator("seed")
    @classmethod
    def _seed(cls, v):
        return check_number(v, low=0, integer=True)

    @field_validator("factor")
    @classmethod
    def _factor(cls, v):
        return check_number(v, low=2, integer=True)

    @model_validator(mode="after")
    def _keys_of_the_kind(self):
        for kind, keys in (("random", {"n_iter", "seed"}), ("halving", {"factor", "min_epochs"})):
            given = sorted(keys & changed_fields(self))
            if given and self.kind != kind:
                one = len(given) == 1
                raise ValueError(f"{', '.join(given)} appl{'ies' if one else 'y'} to kind: {kind}; "
                                 f"remove {'it' if one else 'them'}, or set kind: {kind}")
        return self


MetricName = Annotated[str, AfterValidator(lambda v: check_choice("metric", v, tuple(METRICS), METRIC_ALIASES))]


class TrackingConfig(Strict):
    """Experiment tracking: `mlflow: file:./mlruns` (a local store) or any MLflow tracking URI."""

    mlflow: Optional[str] = None

    @field_validator("mlflow")
    @classmethod
    def _uri(cls, v):
        if v is not None and not v.strip():
            raise ValueError("give a tracking URI such as file:./mlruns, sqlite:///mlflow.db or http://host:5000")
        return v


class ExperimentConfig(Strict):
    """A whole experiment."""

    name: str = "experiment"
    dataset: DatasetConfig
    cv: CVConfig = CVConfig()
    models: list[FamilyConfig]
    metrics: list[MetricName] = list(DEFAULT_METRICS)
    rank_by: str = "roc_auc"
    threshold: float = 0.5
    device: Literal["auto", "cpu", "gpu"] = "auto"
    deterministic: bool = False
    tensorboard: bool = False
    tracking: TrackingConfig = TrackingConfig()
    predictions: Literal["none", "csv", "parquet"] = "none"
    refit: Literal["families", "best", "none"] = "families"
    engine: Literal["fused", "keras"] = "fused"
    search: SearchConfig = SearchConfig()
    executor: ExecutorConfig = ExecutorConfig()
    output_dir: Optional[str] = None

    @field_validator("models")
    @classmethod
    def _models(cls, v):
        if not v:
            raise ValueError("list at least one model family, e.g. - name: logistic")
        names = [family.name for family in v]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"model family names must be unique; '{duplicated[0]}' is used twice")
        return v

    @field_validator("rank_by")
    @classmethod
    def _rank_by(cls, v):
        return check_choice("metric", v, tuple(METRICS), METRIC_ALIASES)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v):
        return check_number(v, low=0, high=1, low_open=True, high_open=True)

    @model_validator(mode="after")
    def _test_set_needs_refit(self):
        if self.cv.test_size and (self.refit == "none" or self.cv.nested):
            raise ValueError("cv.test_size scores the refitted models: set refit: families or best, "
                             "and nested: false")
        return self

    @model_validator(mode="after")
    def _rank_metric_scored(self):
        if self.rank_by not in self.metrics:
            self.metrics = [*self.metrics, self.rank_by]
        if self.output_dir is None:
            self.output_dir = str(Path("results") / self.name)
        return self

    def to_dict(self) -> dict:
        """The resolved config, as plain data (what run.json and config.yaml record)."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------- loading

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
    if config.search.kind != "random":
        raise ConfigError(f"{where}: a distribution ({', '.join(values)}) is drawn from by a random "
                          "search; add search: {kind: random, n_iter: 20}, or list the values")
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


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's core schema: `1e-2` is a number and only true/false are booleans (YAML 1.1
    reads `1e-2` as text and Yes, No, on, off as booleans: `positive_class: Yes` would become True)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (
        "tag:yaml.org,2002:bool", "tag:yaml.org,2002:float", "tag:yaml.org,2002:int")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _tag, _pattern, _first in (
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")):
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _bool_12(loader, node):
    return loader.construct_scalar(node).lower() == "true"


def _int_12(loader, node):
    text = loader.construct_scalar(node)
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _bool_12)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int_12)


def parse_yaml(text: str):
    """YAML text as data, read with YAML 1.2's core schema (see _Yaml12Loader)."""
    return yaml.load(text, Loader=_Yaml12Loader)


YAML_PROBLEMS = (  # PyYAML's words -> what to do, in plain words
    ("found character '\\t'", "a tab indents line {line}; indent with spaces"),
    ("mapping values are not allowed", "a ':' on line {line} where a key cannot start: fix the indentation "
                                       "at line {line}, or quote a value that holds ': '"),
    ("expected <block end>", "fix the indentation at line {line} (each key of a section lines up with the "
                             "others; a list item starts with '- ' at its section's indentation)"),
    ("could not find expected ':'", "a key on line {line} has no ':' after it (write key: value)"),
    ("did not find expected key", "fix the indentation at line {line}"),
    ("found unexpected end of stream", "a quote or bracket opened before line {line} is never closed"),
    ("expected ',' or ']'", "a list ('[') is not closed by line {line}: add ']'"),
    ("expected ',' or '}'", "a mapping ('{{') is not closed by line {line}: add '}}'"),
)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML syntax error in plain words, with its line."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    for words, plain in YAML_PROBLEMS:
        if words in problem and line:
            return f"invalid YAML: {plain.format(line=line)}"
    return f"invalid YAML{f' at line {line}' if line else ''} ({problem})"


def read_yaml(path) -> dict:
    """Read a YAML config file; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {yaml_problem(exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return data if data is not None else {}


def apply_override(data: dict, assignment: str) -> dict:
    """Apply `key.path=value` (value parsed as YAML). Families may be named: models.deep.params.epochs."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key.path=value, e.g. cv.folds=10")
    key, raw = assignment.split("=", 1)
    try:
        value = parse_yaml(raw)
    except yaml.YAMLError:
        value = raw
    parts = [p for p in key.replace("[", ".").replace("]", "").split(".") if p]
    if not parts:
        raise ConfigError(f"--set {assignment!r}: the key path is empty")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, ".".join(parts[:depth]))
            if last:
                node[index] = value
            else:
                node = node[index]
        else:
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, (dict, list)):
                    raise ConfigError(f"--set {key}: '{'.'.join(parts[:depth + 1])}' is a value, "
                                      "not a section")
    return data


def _list_index(items: list, part: str, where: str) -> int:
    if part.lstrip("-").isdigit():
        index = int(part)
        if not -len(items) <= index < len(items):
            raise ConfigError(f"--set: {where} has {len(items)} entries; index {index} is out of range")
        return index
    names = [item.get("name") for item in items if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    raise ConfigError(f"--set: no entry named '{part}' in {where}{suggest(part, names)} "
                      f"(names: {', '.join(map(str, names))})")


def config_yaml(config: ExperimentConfig) -> str:
    """The resolved config as the YAML a run writes (config.yaml) and the report shows."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def config_from_yaml(text: str) -> ExperimentConfig:
    """A config.yaml written by a run (`config_yaml`), read back as it was written."""
    return config_from_dict(yaml.safe_load(text))


def load_config(path, overrides=()) -> ExperimentConfig:
    """Read a YAML file, apply --set overrides, validate."""
    data = read_yaml(path)
    for assignment in overrides:
        data = apply_override(data, assignment)
    return config_from_dict(data)


# ---------------------------------------------------------------- grid

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
