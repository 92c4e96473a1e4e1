"""The config reference (Markdown), generated from the schema: every key with its type, bounds
and default read from the pydantic models and the settings' constraint table; only the help
text is written here, and a key without help (or help for a key that is gone) is an error, so
the reference cannot drift from the code. The documentation site includes it (docs/hooks.py)."""
from __future__ import annotations

import typing
from dataclasses import fields

from pydantic import BaseModel

from nnbin.config.schema import ExperimentConfig, FamilyConfig, Hyper, Strict
from nnbin.core.settings import CONSTRAINTS, OPTIONAL, Choice, Interval, Widths
from nnbin.core.specs import TrainSpec
from nnbin.metrics import DEFAULT_METRICS

HELP = {
    "name": "name of the experiment; default output directory `results/<name>`",
    "dataset": "the table: a built-in dataset or a file",
    "dataset.name": "a built-in dataset: `breast_cancer`, `iris_binary`, `moons`, `circles`, `parity`, `synthetic` "
                    "(give `name` or `file`)",
    "dataset.options": "options of the built-in generator, e.g. `{n_bits: 6, seed: 0}`",
    "dataset.file": "CSV / TSV / Parquet / Excel path (relative paths start from the directory you run from)",
    "dataset.target": "target column (required with `file`)",
    "dataset.positive_class": "target value that becomes 1, or a list of values that become 1 (every other value 0); "
                              "default: the greater of the two values",
    "dataset.drop": "columns to ignore (ids)",
    "dataset.categorical": "columns to one-hot even if numeric",
    "dataset.missing": "`impute` (median / most frequent, fitted on each training fold) or `error`",
    "dataset.format": "default: from the extension; `excel` (`.xlsx`) needs `pip install 'nnbin[excel]'`",
    "dataset.header": "`false`: the first row is data; then `columns` names the columns",
    "dataset.columns": "column names for a file without a header row (with a header: new names, in order)",
    "dataset.na_values": "extra markers of a missing value, e.g. `[\"?\", \"-999\"]`, besides pandas' defaults",
    "dataset.sep": "any delimiter: `\";\"`, `\"\\|\"`, or a regular expression such as `\"\\\\s+\"`; default `,` "
                   "(a tab for TSV)",
    "dataset.decimal": "`\",\"` for European numbers",
    "dataset.encoding": "any Python codec, e.g. `latin-1`, `cp1252` (a UTF-8 byte-order mark is handled)",
    "dataset.comment": "lines starting with this character are skipped, e.g. `\"#\"`",
    "dataset.sheet": "Excel: sheet name or index",
    "cv": "the cross-validation",
    "cv.folds": "stratified folds (each class needs at least this many rows)",
    "cv.repeats": "repeats of the k-fold split, reshuffled with seed + repeat",
    "cv.shuffle": "shuffle before splitting",
    "cv.seed": "fixes the splits, initial weights and mini-batch order",
    "cv.inner_fraction": "share of each training fold held out for early stopping (refused when no family sets "
                         "`patience`)",
    "cv.nested": "nested cross-validation: tune each family's grid inside every outer training fold",
    "cv.inner_folds": "folds of the inner (tuning) cross-validation when `nested` (refused without `nested`)",
    "cv.test_size": "fraction of rows (stratified, fixed by the seed) kept out of cross-validation and scored once "
                    "by the refitted models, e.g. `0.2`",
    "models": "the model families, each with a unique name",
    "models[].name": "family name (`logistic`, `shallow`, `deep`, anything unique)",
    "models[].params": "fixed settings of the family (the settings table below)",
    "models[].grid": "settings to sweep: `{learning_rate: [0.001, 0.01], depth: [1, 2], width: [8, 32]}` (cartesian "
                     "product); with a random or TPE search also `{loguniform: [1e-4, 1e-1]}`, `{uniform: [0, 0.5]}`, "
                     "`{int: [1, 4]}`",
    "metrics": "metrics scored on every validation fold; default: all of them",
    "rank_by": "metric that ranks the summary (log_loss and brier: lower is better)",
    "threshold": "probability threshold for accuracy, F1, MCC, sensitivity, specificity and the counts",
    "device": "`auto` (GPU when TensorFlow sees one), `cpu` or `gpu`",
    "deterministic": "deterministic GPU kernels (slower; CPU runs already are)",
    "tensorboard": "also write TensorBoard logs to `output_dir/tensorboard` (loss curves, scores, HParams)",
    "tracking": "experiment tracking",
    "tracking.mlflow": "log the experiment to MLflow: `file:./mlruns` (a local store) or any tracking URI "
                       "(`http://host:5000`); one parent run holds the report and plots, one child run per "
                       "configuration its settings and scores; needs `pip install 'nnbin[mlflow]'`",
    "predictions": "also write every validation probability as a table: `csv` or `parquet`",
    "refit": "after cross-validation, refit each family's best configuration (`families`), only the overall best "
             "(`best`) or nothing (`none`) on the cross-validated rows and save it",
    "engine": "`fused`: all trials of one depth trained at once in one compiled graph; `keras`: one `fit` per trial",
    "search": "how grid points are chosen",
    "search.kind": "`grid`: every combination; `random`: `n_iter` points per family; `halving`: every combination "
                   "through successive halving on epochs; `tpe`: `n_iter` points per family proposed by Optuna's "
                   "TPE sampler",
    "search.n_iter": "with `random` or `tpe`: points per family (repeats dropped); a longer search with the same "
                     "seed keeps the shorter one's points, so raising `n_iter` resumes the trials already run",
    "search.seed": "with `random` or `tpe`: fixes the draws (with the family's name)",
    "search.batch": "with `tpe`: points proposed, then cross-validated together, at a time",
    "search.factor": "with `halving`: keep the best 1/factor at each rung, and give them factor × the epochs",
    "search.min_epochs": "with `halving`: epochs of the first rung",
    "executor": "where trials are trained",
    "executor.kind": "`local` (this process) or `ray` (Ray tasks on a cluster)",
    "executor.address": "with `ray`: `local` (start Ray here), `auto` (the running cluster), `host:port` or "
                        "`ray://host:10001`",
    "executor.cpus_per_task": "CPUs Ray reserves for each task (TensorFlow uses that many threads)",
    "executor.gpus_per_task": "GPUs Ray reserves for each task: `1` pins each task to one GPU",
    "importance": "which inputs drive the models: `true`, or these keys",
    "importance.enabled": "set by `importance: true` (or by giving any other key)",
    "importance.repeats": "permutations of each input on each validation fold",
    "importance.seed": "seed of the permutations (and of the probe column)",
    "importance.probe": "add a column `probe` of standard normal noise, trained with the models, as the reference "
                        "an input must beat",
    "importance.configs": "configurations besides each family's best, e.g. `[\"shallow learning_rate=0.01\"]`",
    "importance.metrics": "metrics whose drop is measured (default: `rank_by`)",
    "output_dir": "where the tables go; default `results/<name>`",
}
SETTING_HELP = {
    "hidden": "hidden layer widths, e.g. `[32, 16, 8]`; `[]` is logistic regression",
    "depth": "shorthand with `width`: `depth` hidden layers of `width` units; `0` is logistic regression",
    "width": "units per hidden layer, with `depth`",
    "activation": "one element-wise Keras activation for all hidden layers, or a list, one per layer",
    "dropout": "dropout rate after each hidden layer",
    "l2": "L2 penalty on every kernel",
    "kernel_initializer": "Keras initializer name",
    "optimizer": "Keras optimizer, with Keras' defaults",
    "learning_rate": "α",
    "momentum": "momentum of `sgd` and `rmsprop`",
    "batch_size": "mini-batch size",
    "epochs": "maximum epochs",
    "class_weight": "`balanced` weighs classes by n / (2·n_class)",
    "patience": "early stopping patience in epochs (0: off), on `cv.inner_fraction` of the training fold; the best "
                "weights are restored",
}


def _sections(model: type[BaseModel], prefix: str = ""):
    """(key, pydantic field) of every key, a section's keys after the section's own row."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        yield key, field
        inner = field.annotation
        if isinstance(inner, type) and issubclass(inner, Strict) and inner is not Hyper:  # params: a table of its own
            yield from _sections(inner, f"{key}.")
        elif typing.get_origin(inner) is list and typing.get_args(inner)[0] is FamilyConfig:
            yield from _sections(FamilyConfig, f"{key}[].")


def _type(annotation) -> str:
    """A type in words: 'integer', 'one of `a`, `b`', 'list of text', ..."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is typing.Union and {bool, int, float, str} <= set(args):
        return ("a value (text, number or true/false)" + (", a list of values" if len(args) > 5 else "")
                + (" or null" if type(None) in args else ""))
    if origin is typing.Union:
        kinds = [_type(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(kinds)) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section" if annotation is not FamilyConfig else "family"
    return {int: "integer", float: "number", bool: "true or false", str: "text"}.get(annotation, "any")


def _interval(interval: Interval) -> str:
    low = None if interval.low is None else f"{'>' if interval.low_open else '≥'} {interval.low:g}"
    high = None if interval.high is None else f"{'<' if interval.high_open else '≤'} {interval.high:g}"
    return ", ".join(b for b in (low, high) if b)


def _bounds(field) -> str:
    found = [m for m in field.metadata if isinstance(m, Interval)]
    inner = typing.get_args(field.annotation)  # Optional[bounded(...)]
    found += [m for a in inner for m in getattr(a, "__metadata__", ()) if isinstance(m, Interval)]
    return _interval(found[0]) if found else ""


def _default(key: str, field) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return ""
    if key == "metrics" and list(value) == list(DEFAULT_METRICS):
        return "all"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def missing_help() -> tuple[list[str], list[str]]:
    """(keys of the schema without help text, help entries naming no key)."""
    keys = [key for key, _ in _sections(ExperimentConfig)]
    settings = [f.name for f in fields(TrainSpec)]
    return ([k for k in keys if k not in HELP] + [s for s in settings if s not in SETTING_HELP],
            [k for k in HELP if k not in keys] + [s for s in SETTING_HELP if s not in settings])


def _setting_constraint(name: str) -> str:
    constraint = CONSTRAINTS[name]
    if isinstance(constraint, Widths):
        return "list of integers ≥ 1"
    if isinstance(constraint, Interval):
        kind = "integer" if constraint.integer else "number"
        return f"{kind} {_interval(constraint)}".strip()
    assert isinstance(constraint, Choice)
    text = "one of " + ", ".join(f"`{c}`" for c in constraint.choices) + (" (or a list, one per layer)"
                                                                         if constraint.many else "")
    return text + (" or null" if name in OPTIONAL else "")


def config_reference() -> str:
    """The config reference as Markdown: the top-level keys, each section's keys (a heading and a
    table each), then a table of a family's settings."""
    missing, stale = missing_help()
    if missing or stale:
        raise ValueError(f"config reference: keys without help text {missing}; help for no key {stale}")
    head = ["| key | type | bounds | default | meaning |", "|---|---|---|---|---|"]
    groups: dict[str, list[str]] = {"": []}
    for key, field in _sections(ExperimentConfig):
        section = key.split(".")[0].split("[")[0]
        if _type(field.annotation) in ("section", "list of family") and "." not in key:
            groups[section] = []
            continue
        groups[section if section in groups else ""].append(
            f"| `{key}` | {_type(field.annotation)} | {_bounds(field)} | {_default(key, field)} | {HELP[key]} |")
    parts = ["## Top-level keys", "", *head, *groups.pop("")]
    for section, rows in groups.items():
        parts += ["", f"## `{section}`", "", HELP[section][0].upper() + HELP[section][1:] + ".", "", *head, *rows]
    settings = ["| setting | type and bounds | default | meaning |", "|---|---|---|---|"]
    for spec_field in fields(TrainSpec):
        default = spec_field.default
        shown = "—" if default is None else f"`{list(default) if isinstance(default, tuple) else default}`"
        settings.append(f"| `{spec_field.name}` | {_setting_constraint(spec_field.name)} | {shown} | "
                        f"{SETTING_HELP[spec_field.name]} |")
    parts += ["", "## A family's settings", "", "Any of them in `models[].params`, and in `models[].grid` to sweep.",
              "", *settings]
    return "\n".join(parts) + "\n"
