"""Run a whole experiment: data -> splits -> trials -> engine -> tables on disk."""
from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

import nnbin
from nnbin.config import ExperimentConfig, config_from_dict, load_config
from nnbin.cv import make_splits, make_trials
from nnbin.data import Dataset
from nnbin.errors import ConfigError, Interrupted
from nnbin.results import summarize, trial_row, write_tables, write_text
from nnbin.store import ResultsStore


@dataclass
class ExperimentResult:
    """The per-trial table, the ranked summary and where they were written."""

    config: ExperimentConfig
    dataset: Dataset
    trials: pd.DataFrame
    summary: pd.DataFrame
    history: pd.DataFrame
    metadata: dict
    output_dir: Path | None


def check_writable(output_dir: Path) -> None:
    """Fail before training, not after, when results could not be saved."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".nnbin-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output_dir '{output_dir}' cannot be written ({exc.strerror or exc}); "
                          "choose another with --output-dir or output_dir:") from None


def versions() -> dict:
    import keras
    import sklearn
    import tensorflow as tf

    return {"nnbin": nnbin.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
            "python": platform.python_version()}


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="fit", desc="training", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True)


def _history_rows(trial, history: dict) -> list[dict]:
    return [{"trial_id": trial.id, "family": trial.family, "config": trial.label,
             "fold": trial.split.fold, "repeat": trial.split.repeat, "metric": key,
             "epoch": epoch + 1, "value": value}
            for key, values in history.items() for epoch, value in enumerate(values)]


def run_experiment(config, overrides=(), progress: bool = True, write: bool = True,
                   output_dir=None, fresh: bool = False) -> ExperimentResult:
    """Cross-validate every model family's grid. `config`: ExperimentConfig, dict or YAML path.

    With `write`, finished trials are stored as they finish in output_dir, and a rerun of
    the same config resumes: trials already finished are not trained again.
    fresh: set earlier results in output_dir aside (in previous/) and start again.
    """
    if isinstance(config, (str, Path)):
        config = load_config(config, overrides)
    elif isinstance(config, dict):
        config = config_from_dict(config)
    if output_dir is not None:
        config = config.model_copy(update={"output_dir": str(output_dir)})
    out = Path(config.output_dir) if write else None

    dataset = config.dataset.load()
    cv = config.cv
    splits = make_splits(dataset.y, cv.folds, cv.repeats, cv.shuffle, cv.seed)
    trials = make_trials(config, splits)
    if out is not None:
        check_writable(out)

    from nnbin.device import configure_device
    from nnbin.engines import ENGINES, FoldCache

    device = configure_device(config.device, config.deterministic)
    store = ResultsStore(out, config.to_dict()) if out is not None else None
    done = store.open(fresh) if store is not None else {}
    done = {t.id: done[t.id] for t in trials if t.id in done}
    todo = [t for t in trials if t.id not in done]
    if done and progress:
        print(f"resuming: {len(done)} of {len(trials)} trials already in {out}", file=sys.stderr)
    started = time.time()
    train = ENGINES[config.engine]
    try:
        with _progress(len(trials), progress) as bar:
            bar.update(len(done))
            for result in train(todo, FoldCache(dataset, cv.inner_fraction)):
                trial = result.trial
                record = {"row": trial_row(result, dataset.y[trial.split.validation],
                                           config.metrics, config.threshold),
                          "history": _history_rows(trial, result.history)}
                if store is not None:
                    store.append(record)
                done[trial.id] = record
                bar.set_postfix_str(f"{trial.family} repeat {trial.split.repeat} fold {trial.split.fold}")
                bar.update()
    except KeyboardInterrupt:
        where = f" in {out}; run the same command again to resume" if out is not None else ""
        raise Interrupted(f"interrupted: {len(done)} of {len(trials)} trials saved{where}") from None

    ordered = [done[t.id] for t in trials]  # trial order, not finishing order: resumed = uninterrupted
    trials_table = pd.DataFrame([record["row"] for record in ordered])
    summary = summarize(trials_table, config.metrics, config.rank_by)
    history_table = pd.DataFrame([row for record in ordered for row in record["history"]])
    metadata = {
        "config": config.to_dict(), "dataset": dataset.summary(), "device": device,
        "seed": cv.seed, "versions": versions(), "trials": len(trials),
        "trained_now": len(todo), "resumed": len(trials) - len(todo),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
    }
    if out is not None:
        write_tables(out, {"trials": trials_table, "summary": summary, "history": history_table},
                     metadata)
        write_text(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    return ExperimentResult(config, dataset, trials_table, summary, history_table, metadata, out)
