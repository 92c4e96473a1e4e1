"""Config files: YAML read with YAML 1.2's core schema, syntax errors in plain words, --set
overrides, and the resolved config written as the config.yaml of a run and read back."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from nnbin.config.schema import ExperimentConfig
from nnbin.config.validation import config_from_dict
from nnbin.core.settings import suggest
from nnbin.errors import ConfigError


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


def config_yaml_set_keys(config: ExperimentConfig) -> str:
    """The resolved config as YAML without its unset (null) keys: what the report shows."""
    def set_only(value):
        if isinstance(value, dict):
            return {k: set_only(v) for k, v in value.items() if v is not None}
        return [set_only(v) for v in value] if isinstance(value, list) else value

    return yaml.safe_dump(set_only(config.to_dict()), sort_keys=False)


def config_from_yaml(text: str) -> ExperimentConfig:
    """A config.yaml written by a run (`config_yaml`), read back as it was written."""
    return config_from_dict(yaml.safe_load(text))


def load_config(path, overrides=()) -> ExperimentConfig:
    """Read a YAML file, apply --set overrides, validate."""
    data = read_yaml(path)
    for assignment in overrides:
        data = apply_override(data, assignment)
    return config_from_dict(data)
