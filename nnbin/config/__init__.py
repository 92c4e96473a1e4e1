"""The experiment config: validated once, at the door; every error names its key path. The
only part of nnbin that imports YAML and pydantic; it turns a file into the objects the rest
takes (nnbin.core's TrainSpec for a family's settings).

    dataset   built-in name (with options) or file + target
    cv        folds, repeats, shuffle, seed
    models    named families, each with fixed `params` and a `grid` to sweep
    metrics, rank_by, threshold, device, engine, executor, output_dir

schema      the pydantic models of every section
validation  a config checked as a whole (config_from_dict), error messages, grid expansion
files       YAML 1.2 reading, --set overrides, load_config, the run's config.yaml
"""
from nnbin.config.files import (apply_override, config_from_yaml, config_yaml, config_yaml_set_keys, load_config, parse_yaml,
                                read_yaml, yaml_problem)
from nnbin.config.schema import (HYPER_FIELDS, CVConfig, DatasetConfig, ExecutorConfig, ExperimentConfig, ImportanceConfig,
                                 FamilyConfig, Hyper, SearchConfig, TrackingConfig, changed_fields)
from nnbin.config.validation import (config_from_dict, error_message, expand_grid, family_hyper, normal_value,
                                     resolved_key, validate_grid)
from nnbin.errors import ConfigError

__all__ = ["CVConfig", "ConfigError", "DatasetConfig", "ExecutorConfig", "ExperimentConfig", "FamilyConfig", "ImportanceConfig",
           "HYPER_FIELDS", "Hyper", "SearchConfig", "TrackingConfig", "apply_override", "changed_fields",
           "config_from_dict", "config_from_yaml", "config_yaml", "config_yaml_set_keys", "error_message", "expand_grid",
           "family_hyper", "load_config", "normal_value", "parse_yaml", "read_yaml", "resolved_key",
           "validate_grid", "yaml_problem"]
