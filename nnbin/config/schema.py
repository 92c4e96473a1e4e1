"""The experiment schema (pydantic models): every section of a config and its keys, unknown
keys refused with a suggestion; a family's settings (Hyper) derived from the core's TrainSpec."""
from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    create_model,
    field_validator,
    model_validator,
)

from nnbin.core.settings import (
    CONSTRAINTS,
    OPTIONAL,
    Interval,
    Widths,
    check_choice,
    check_number,
    check_setting,
    suggest,
)
from nnbin.core.specs import TRAIN_SETTINGS, TrainSpec
from nnbin.metrics import DEFAULT_METRICS, METRIC_ALIASES, METRICS


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


def bounded(kind, **bounds):
    """A number type within bounds (nnbin.core.settings.check_number's), checked after parsing;
    the Interval stays in the field's metadata, where the config reference reads it."""
    return Annotated[kind, Interval(**bounds), AfterValidator(lambda v: check_number(v, **bounds))]


def _schema_type(name: str):
    """The type a setting is parsed as from a config file, from its constraint: numbers as
    int or float, widths as a list, names as text (or a list of them, one per layer), an exact
    choice as its literal values."""
    constraint = CONSTRAINTS[name]
    if isinstance(constraint, Widths):
        kind = list[int]
    elif isinstance(constraint, Interval):
        kind = int if constraint.integer else float
    elif constraint.many:
        kind = Union[str, list[str]]
    elif constraint.exact:
        kind = Literal[constraint.choices]
    else:
        kind = str
    return Optional[kind] if name in OPTIONAL else kind


class _Settings(Strict):
    """Every model and training setting a family may fix or sweep, as the config file gives
    them: parsed here (text to numbers), checked against the one constraint table
    (nnbin.core.settings.CONSTRAINTS), and handed to training as a core `TrainSpec`. The
    fields and defaults are TrainSpec's: each setting is declared once."""

    @field_validator("*")
    @classmethod
    def _constraint(cls, v, info):
        value = check_setting(info.field_name, v)
        return list(value) if isinstance(value, tuple) else value

    def train_spec(self) -> TrainSpec:
        """These settings as the core object training takes."""
        return TrainSpec(**self.model_dump())


Hyper = create_model("Hyper", __base__=_Settings, __doc__=_Settings.__doc__, __module__=__name__,
                     **{f.name: (_schema_type(f.name), f.default) for f in fields(TrainSpec)})


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

    folds: bounded(int, low=2, integer=True) = 5
    repeats: bounded(int, low=1, integer=True) = 1
    shuffle: bool = True
    seed: bounded(int, low=0, high=MAX_SEED, integer=True) = 0  # trial seeds seed * 10000 + offsets: < 2**32
    inner_fraction: bounded(float, low=0, high=0.5, low_open=True) = 0.1
    nested: bool = False
    inner_folds: bounded(int, low=2, high=100, integer=True) = 3
    test_size: Optional[bounded(float, low=0, high=0.5, low_open=True, high_open=True)] = None

    @model_validator(mode="after")
    def _repeats_need_shuffle(self):
        if self.repeats > 1 and not self.shuffle:
            raise ValueError("repeats > 1 gives identical repeats without shuffle; set shuffle: true")
        return self


class ExecutorConfig(Strict):
    """Where trials are trained: in this process (local) or as Ray tasks on a cluster."""

    kind: Literal["local", "ray"] = "local"
    address: str = "local"       # local: start Ray here; auto: the running cluster; host:port; ray://host:10001
    cpus_per_task: bounded(float, low=0, low_open=True) = 1.0
    gpus_per_task: bounded(float, low=0) = 0.0

    @field_validator("address")
    @classmethod
    def _address(cls, v):
        if v in ("local", "auto") or re.fullmatch(r"(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}", v):
            return v
        raise ValueError(f"expected local, auto, host:port or ray://host:10001 (got {v!r})")


class FamilyConfig(Strict):
    """A named model family: fixed `params` and a `grid` of values to sweep (lists; with a
    random search also distributions such as {loguniform: [1e-4, 1e-1]})."""

    name: str
    params: Hyper = Hyper()
    grid: dict[str, Union[list[Any], dict[str, Any]]] = {}


class SearchConfig(Strict):
    """How grid points are chosen: every combination (grid), n_iter random points per family
    (random), every combination through successive halving on epochs (halving), or n_iter
    points per family proposed by Optuna's TPE sampler, `batch` at a time (tpe)."""

    kind: Literal["grid", "random", "halving", "tpe"] = "grid"
    n_iter: bounded(int, low=1, integer=True) = 20
    seed: bounded(int, low=0, integer=True) = 0
    batch: bounded(int, low=1, integer=True) = 16
    factor: bounded(int, low=2, integer=True) = 3
    min_epochs: bounded(int, low=1, integer=True) = 10

    @model_validator(mode="after")
    def _keys_of_the_kind(self):
        for kinds, keys in ((("random", "tpe"), {"n_iter", "seed"}), (("tpe",), {"batch"}),
                            (("halving",), {"factor", "min_epochs"})):
            given = sorted(keys & changed_fields(self))
            if given and self.kind not in kinds:
                one, kind = len(given) == 1, " or ".join(kinds)
                raise ValueError(f"{', '.join(given)} appl{'ies' if one else 'y'} to kind: {kind}; "
                                 f"remove {'it' if one else 'them'}, or set kind: {kinds[0]}")
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


class ImportanceConfig(Strict):
    """Which inputs drive the models (`importance: true`, or these keys): permutation importance
    on every validation fold with that fold's trained model, for each family's best
    configuration and any listed in `configs`; a `probe` column of noise trained with the models
    as the reference an input must beat."""

    enabled: bool = False
    repeats: bounded(int, low=1, integer=True) = 5
    seed: bounded(int, low=0, integer=True) = 0
    probe: bool = True
    configs: list[str] = []
    metrics: list[MetricName] = []  # default: rank_by

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data):
        if isinstance(data, bool):  # importance: true
            return {"enabled": data}
        if isinstance(data, dict) and data and "enabled" not in data:  # importance: {repeats: 10}
            return {"enabled": True, **data}
        return data


class ExperimentConfig(Strict):
    """A whole experiment."""

    name: str = "experiment"
    dataset: DatasetConfig
    cv: CVConfig = CVConfig()
    models: list[FamilyConfig]
    metrics: list[MetricName] = list(DEFAULT_METRICS)
    rank_by: str = "roc_auc"
    threshold: bounded(float, low=0, high=1, low_open=True, high_open=True) = 0.5
    device: Literal["auto", "cpu", "gpu"] = "auto"
    deterministic: bool = False
    tensorboard: bool = False
    tracking: TrackingConfig = TrackingConfig()
    predictions: Literal["none", "csv", "parquet"] = "none"
    refit: Literal["families", "best", "none"] = "families"
    engine: Literal["fused", "keras"] = "fused"
    search: SearchConfig = SearchConfig()
    executor: ExecutorConfig = ExecutorConfig()
    importance: ImportanceConfig = ImportanceConfig()
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
