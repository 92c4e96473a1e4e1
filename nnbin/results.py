"""Result tables: one row per trial, and a ranked summary per configuration."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nnbin.files import atomic_write, write_text
from nnbin.metrics import COUNTS, higher_is_better, score
from nnbin.search.ranking import rank_scores


def trial_row(result, y_true: np.ndarray, metrics, threshold: float) -> dict:
    """One tidy row: family, configuration, every hyperparameter, repeat, fold, metrics, timing."""
    trial = result.trial
    hyper = trial.hyper.to_dict()
    spec = trial.hyper.spec()
    row = {"trial_id": trial.id, "family": trial.family, "config": trial.label,
           "architecture": "-".join(map(str, spec.hidden)) or "logistic"}
    row.update({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in hyper.items()})
    row.update(repeat=trial.split.repeat, fold=trial.split.fold)
    if trial.split.inner_fold is not None:  # nested CV: the inner fold of the outer fold
        row["inner_fold"] = trial.split.inner_fold
    row.update(seed=trial.seed,
               n_train=len(trial.split.train), n_validation=len(trial.split.validation),
               status=result.status)
    if result.status == "ok":
        row.update(score(y_true, result.y_prob, metrics, threshold))
    else:
        row.update({name: np.nan for name in (*metrics, *COUNTS)})
    row.update(epochs_run=result.epochs_run, best_epoch=result.best_epoch,
               fit_seconds=round(result.fit_seconds, 4))
    return row


def architecture_params(architecture: str, n_inputs: int) -> int:
    """Weights and biases of a network of this architecture ('16-8', 'logistic') on m inputs."""
    from nnbin.core.specs import ModelSpec

    widths = () if architecture == "logistic" else tuple(int(u) for u in architecture.split("-"))
    return ModelSpec(hidden=widths).n_params(n_inputs)


def architecture_depth(architecture: str) -> int:
    """Hidden layers of an architecture ('logistic': 0)."""
    return 0 if architecture == "logistic" else architecture.count("-") + 1


def rank_order(table: pd.DataFrame, score: str, rank_by: str, failed: str = "failed") -> pd.DataFrame:
    """Rows best first by `score` (a `rank_by` value), those with failed trials after every
    complete one, whatever their score (nnbin.search.ranking.rank_scores; ties keep their order)."""
    ranks = rank_scores(table[score].to_numpy(np.float64), higher_is_better=higher_is_better(rank_by),
                        failed=table[failed].to_numpy() > 0)
    return table.iloc[np.argsort(ranks, kind="stable")]


def ranked_means(trials: pd.DataFrame, by: list[str], rank_by: str) -> pd.DataFrame:
    """Mean `rank_by` ('score') and number of failed trials ('failed') per group of `by`
    (which ends with 'config'), best first (see rank_order)."""
    means = (trials.assign(failed=trials["status"] != "ok").groupby(by, sort=False)
             .agg(score=(rank_by, "mean"), failed=("failed", "sum")).reset_index())
    return rank_order(means, "score", rank_by)


def summarize(trials: pd.DataFrame, metrics, rank_by: str) -> pd.DataFrame:
    """Mean and sd of each metric per configuration, ranked best first by `rank_by`; a
    configuration with a failed (diverged) trial ranks after every complete one, and its
    `note` says so (its means are over its finished trials only)."""
    _check_each_fold_once(trials)
    grouped = trials.groupby(["family", "config"], sort=False)
    summary = grouped.agg(
        architecture=("architecture", "first"),
        trials=("trial_id", "size"),
        failed=("status", lambda s: int((s != "ok").sum())),
        **{f"{m}_{stat}": (m, stat) for m in metrics for stat in ("mean", "std")},
        epochs_mean=("epochs_run", "mean"),
        best_epoch_mean=("best_epoch", "mean"),
        fit_seconds=("fit_seconds", "sum"),
    ).reset_index()
    summary.columns = [c.replace("_std", "_sd") for c in summary.columns]
    summary["note"] = [
        f"diverged on {failed} of {n} folds: ranked after every complete configuration; "
        f"means over the {n - failed} finished fold(s)" if failed else ""
        for failed, n in zip(summary["failed"], summary["trials"])]
    summary = rank_order(summary, f"{rank_by}_mean", rank_by)
    summary.insert(0, "rank", range(1, len(summary) + 1))
    return summary.reset_index(drop=True)


def _check_each_fold_once(trials: pd.DataFrame) -> None:
    """A configuration holds each (repeat, fold) once: at most folds x repeats trials. Anything
    else would shrink its sd and inflate its paired tests, so it is an error, never a summary."""
    keys = ["family", "config", "repeat", "fold"] + (["inner_fold"] if "inner_fold" in trials else [])
    twice = trials[trials.duplicated(keys, keep=False)]
    if len(twice):
        row = twice.iloc[0]
        times = int((twice[keys] == row[keys]).all(axis=1).sum())
        raise RuntimeError(f"internal error: configuration '{row['config']}' holds repeat {row['repeat']} "
                           f"fold {row['fold']} {times} times; "
                           "its summary would count folds twice (please report this)")


def best_per_family(summary: pd.DataFrame) -> pd.DataFrame:
    """The top-ranked configuration of each family (summary is already ranked)."""
    return summary.drop_duplicates("family", keep="first")


def format_summary(summary: pd.DataFrame, columns=("roc_auc", "accuracy"), limit: int = 20) -> str:
    """A plain-text table: rank, configuration, mean ± sd of the chosen metrics."""
    columns = [c for c in columns if f"{c}_mean" in summary]
    header = ["rank", "configuration", *columns, "failed"]
    rows = [header]
    for _, row in summary.head(limit).iterrows():
        cells = [f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_sd']:.3f}" if pd.notna(row[f"{m}_mean"])
                 else "n/a" for m in columns]
        rows.append([str(row["rank"]), row["config"], *cells, f"{row['failed']}/{row['trials']}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    if len(summary) > limit:
        lines.append(f"... {len(summary) - limit} more in summary.csv")
    return "\n".join(lines)


def fits_summary(metadata: dict) -> str:
    """What a run trained, in words: '40 fits (+120 inner), 100 trained now in 12.3 s on cpu,
    60 resumed from earlier runs' (a run.json without these counts: its scored fits only)."""
    fits = metadata.get("fits")
    if fits is None:
        return f"{metadata.get('trials', '?')} fits in {metadata['seconds']:.1f} s on {metadata['device']}"
    text = f"{fits['scored']} fits" + (f" (+{fits['inner']} inner)" if fits["inner"] else "")
    if not fits["trained_now"]:
        return text + f", all resumed from earlier runs (none trained now, {metadata['seconds']:.1f} s)"
    text += f", {fits['trained_now']} trained now in {metadata['seconds']:.1f} s on {metadata['device']}"
    return text + (f", {fits['resumed']} resumed from earlier runs" if fits["resumed"] else "")


def prediction_table(trials, records: list, y) -> pd.DataFrame:
    """Validation-fold probabilities: one row per (trial, validation row). Compact: the text
    columns are categorical, probabilities float32 (as trained), rows int32."""
    rows = [t.split.validation for t in trials]
    trial_of_row = np.repeat(np.arange(len(trials)), [len(r) for r in rows])

    def per_row(values, dtype):
        return np.asarray(values, dtype=dtype)[trial_of_row]

    def text(values):  # one category per distinct value, in order of appearance
        per_trial, categories = pd.factorize(pd.Series(values, dtype=object))
        return pd.Categorical.from_codes(per_trial[trial_of_row], categories)

    all_rows = np.concatenate(rows).astype(np.int32) if trials else np.zeros(0, np.int32)
    return pd.DataFrame({
        "trial_id": text([t.id for t in trials]), "family": text([t.family for t in trials]),
        "config": text([t.label for t in trials]),
        "repeat": per_row([t.split.repeat for t in trials], np.int16),
        "fold": per_row([t.split.fold for t in trials], np.int16), "row": all_rows,
        "y_true": np.asarray(y)[all_rows].astype(np.int8),
        "y_prob": (np.concatenate([np.asarray(r.predictions, np.float32) for r in records])
                   if records else np.zeros(0, np.float32))})


def write_tables(output_dir: Path, tables: dict[str, pd.DataFrame], metadata: dict) -> list[Path]:
    """CSV for every table (Parquet too when pyarrow is present) and run.json; returns the paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        path = output_dir / f"{name}.csv"
        atomic_write(path, lambda tmp, t=table: t.to_csv(tmp, index=False))
        written.append(path)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        path = output_dir / "trials.parquet"
        atomic_write(path, lambda tmp: tables["trials"].to_parquet(tmp, index=False))
        written.append(path)
    path = output_dir / "run.json"
    write_text(path, json.dumps(metadata, indent=2, default=str))
    written.append(path)
    return written


def write_predictions(output_dir: Path, predictions: pd.DataFrame, kind: str) -> Path:
    """The table of every validation probability, as predictions.csv or predictions.parquet
    (config `predictions:`; the results store keeps them compactly either way)."""
    path = output_dir / f"predictions.{kind}"
    if kind == "csv":  # float32 written as the float64 it equals: read back exactly
        exact = predictions.assign(y_prob=predictions["y_prob"].astype(np.float64))
        atomic_write(path, lambda tmp: exact.to_csv(tmp, index=False))
    else:
        atomic_write(path, lambda tmp: predictions.to_parquet(tmp, index=False))
    return path
