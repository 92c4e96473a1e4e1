"""TensorBoard logs of an experiment: per-trial loss curves and the HParams dashboard.

    tensorboard --logdir results/<name>/tensorboard
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from nnbin.core.specs import TRAIN_SETTINGS


def _hparam_value(value):
    """HParams accepts bool, int, float and str."""
    if value is None or (isinstance(value, float) and value != value):
        return "none"
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def write_tensorboard(trials: pd.DataFrame, history: pd.DataFrame, metrics: list[str],
                      log_dir: Path) -> Path:
    """One run per trial (named family/config/repeat-fold) holding its loss per epoch, its
    hyperparameters and its validation scores; one HParams experiment over all of them."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    columns = ["family", *[c for c in TRAIN_SETTINGS if c in trials], "repeat", "fold"]
    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams_config(hparams=[hp.HParam(c) for c in columns],
                          metrics=[hp.Metric(m, display_name=m) for m in metrics])
    curves = dict(tuple(history.groupby("trial_id"))) if len(history) else {}
    for row in trials.itertuples(index=False):
        row = row._asdict()
        name = f"{row['config'].replace(' ', '_').replace('=', '-')}/r{row['repeat']}f{row['fold']}"
        with tf.summary.create_file_writer(str(log_dir / name)).as_default():
            hp.hparams({c: _hparam_value(row[c]) for c in columns}, trial_id=row["trial_id"])
            for metric in metrics:
                if row[metric] == row[metric]:  # diverged trials have no scores
                    tf.summary.scalar(metric, row[metric], step=0)
            for curve in curves.get(row["trial_id"], pd.DataFrame()).groupby("metric"):
                key, points = curve
                for epoch, value in zip(points["epoch"], points["value"]):
                    tf.summary.scalar(f"epoch_{key}", value, step=int(epoch))
    return log_dir
