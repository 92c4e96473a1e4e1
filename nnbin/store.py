"""The append-only results store: each finished trial is one JSON line (settings, scores,
history) and its validation probabilities are float32 values appended to one binary file
(4 bytes per prediction; the line holds their offset and count). A batch of finished trials
is written probabilities first, then lines, each flushed and fsynced before training goes
on, so a crash loses at most the batch being trained and a rerun resumes where the last
one stopped."""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from nnbin.core.trials import TrialRecord
from nnbin.errors import ConfigError, NnbinWarning
from nnbin.files import write_bytes, write_text


class StoreWarning(NnbinWarning):
    """Something in the results store needed repair; the message says what."""

RECORDS = "trials.jsonl"
PREDICTIONS = "predictions.f32"   # little-endian float32, appended
DAMAGED = "trials.damaged.jsonl"
STAMP = "store.json"
TABLES = ("trials.csv", "summary.csv", "trials.parquet")
# keys that do not change any result: a rerun with other values may resume
# (search: trials are identified by their settings, so a longer random search resumes a shorter one;
# importance: its probe column changes the data, which the data fingerprint holds)
NEUTRAL_KEYS = ("name", "output_dir", "device", "deterministic", "tensorboard", "refit", "predictions",
                "executor", "search", "tracking", "importance")
FLOAT32 = np.dtype("<f4")


def fingerprint(config: dict) -> str:
    """A hash of everything in the config that changes results."""
    relevant = {k: v for k, v in config.items() if k not in NEUTRAL_KEYS}
    return hashlib.sha1(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def data_fingerprint(dataset, splits) -> dict:
    """Content hashes of the table as loaded (columns, their kinds, every value, the target)
    and of the split plan (every fold's rows): results are resumed only on the same data."""
    import numpy as np
    import pandas as pd

    table = hashlib.sha1(json.dumps([list(dataset.X.columns), dataset.numeric, dataset.categorical,
                                     dataset.classes], default=str).encode())
    table.update(pd.util.hash_pandas_object(dataset.X, index=False).to_numpy().tobytes())
    table.update(np.asarray(dataset.y, dtype=np.int64).tobytes())
    plan = hashlib.sha1()
    for split in splits:
        plan.update(json.dumps(split.key).encode())
        plan.update(np.asarray(split.train, dtype=np.int64).tobytes())
        plan.update(np.asarray(split.validation, dtype=np.int64).tobytes())
    return {"table": table.hexdigest()[:16], "rows": int(dataset.n_rows), "splits": plan.hexdigest()[:16]}


def is_generation(name: str) -> bool:
    """`previous`, `previous.2`, ...: a run set aside by --fresh."""
    return name == "previous" or (name.startswith("previous.") and name[len("previous."):].isdigit())


def next_generation(directory: Path) -> Path:
    """The first free name of previous/, previous.2/, previous.3/, ..."""
    candidate, number = directory / "previous", 1
    while candidate.exists():
        number += 1
        candidate = directory / f"previous.{number}"
    return candidate


class ResultsStore:
    """Finished trials of one config, on one dataset, in `output_dir/trials.jsonl`."""

    def __init__(self, output_dir: Path, config: dict, data: dict | None = None):
        self.dir = Path(output_dir)
        self.config = config
        self.data = data
        self.path = self.dir / RECORDS
        self.predictions = self.dir / PREDICTIONS
        self.stamp = self.dir / STAMP
        self._end = 0  # values in the predictions file that records refer to

    def open(self, fresh: bool = False) -> dict[str, TrialRecord]:
        """Check the directory belongs to this config; return finished records by trial id.

        fresh: set earlier results of any config aside, models included (moved to `previous/`,
        or `previous.2/`, ... when that is taken; nothing is deleted).
        """
        if fresh and (self.path.exists() or self.stamp.exists()):
            self._set_aside()
        if self.stamp.exists():
            stored = json.loads(self.stamp.read_text(encoding="utf-8"))
            if stored.get("fingerprint") != fingerprint(self.config):
                changed = sorted(k for k in set(stored.get("config", {})) | set(self.config)
                                 if k not in NEUTRAL_KEYS
                                 and stored.get("config", {}).get(k) != self.config.get(k))
                raise ConfigError(
                    f"output_dir '{self.dir}' holds results of a different config (changed: "
                    f"{', '.join(changed) or 'unknown'}); use another --output-dir (output_dir= in "
                    "Python), or --fresh (fresh=True) to set the old results aside and start again")
            if stored.get("data") != self.data:
                changed = [k for k in ("table", "splits") if (stored.get("data") or {}).get(k)
                           != (self.data or {}).get(k)]
                what = ("the data changed since those results (its content differs)" if "table" in changed
                        else "the folds differ from those of the stored results")
                raise ConfigError(
                    f"output_dir '{self.dir}' holds results of this config on other data: {what}; "
                    "use another --output-dir (output_dir= in Python), or --fresh (fresh=True) to set the old "
                    "results aside and start again")
        elif any((self.dir / name).exists() for name in (RECORDS, PREDICTIONS, *TABLES)):
            raise ConfigError(
                f"output_dir '{self.dir}' holds results nnbin cannot resume (no {STAMP}); use "
                "another --output-dir (output_dir= in Python), or --fresh (fresh=True) to set them aside "
                "(into previous/)")
        else:
            write_text(self.stamp, json.dumps({"fingerprint": fingerprint(self.config),
                                               "data": self.data, "config": self.config}, indent=2))
        return self._read()

    def _set_aside(self) -> Path:
        """Move everything of the last run (tables, store, plots, models/) into a new generation,
        `previous/`, then `previous.2/`, `previous.3/`, ...: earlier generations are never touched."""
        previous = next_generation(self.dir)
        previous.mkdir()
        for item in sorted(self.dir.iterdir()):
            if item != previous and not is_generation(item.name):
                item.replace(previous / item.name)
        return previous

    def _read(self) -> dict[str, TrialRecord]:
        """Complete lines only: a last line torn by a crash is cut off so appends stay clean, and
        so are probabilities no line refers to. A damaged line elsewhere (or one whose
        probabilities are missing) is moved to trials.damaged.jsonl, with a warning: its trial
        is trained again. Each record's probabilities are returned as a float32 array."""
        values = (np.fromfile(self.predictions, dtype=FLOAT32) if self.predictions.exists()
                  else np.zeros(0, FLOAT32))
        if not self.path.exists():
            self._cut_predictions(0, len(values))
            return {}
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        records, good, damaged, used = {}, [], [], 0
        for line in data[:end].splitlines():
            try:
                stored = json.loads(line)
                where = stored["predictions"]
                record = TrialRecord(stored["row"], stored["history"], _predictions(where, values))
                records[record.trial_id] = record
                good.append(line)
                if isinstance(where, dict):
                    used = max(used, int(where["offset"]) + int(where["count"]))
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
                damaged.append(line)
        if damaged:
            with open(self.dir / DAMAGED, "ab") as handle:
                handle.write(b"".join(line + b"\n" for line in damaged))
            write_bytes(self.path, b"".join(line + b"\n" for line in good))
            warnings.warn(f"{len(damaged)} damaged line(s) in {self.path} were moved to {DAMAGED}; "
                          "their trials will be trained again", StoreWarning, stacklevel=2)
        elif end < len(data):
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
        self._cut_predictions(used, len(values))
        return records

    def _cut_predictions(self, used: int, stored: int) -> None:
        """Drop probabilities after the last ones a record refers to (a torn batch)."""
        self._end = used
        if stored > used:
            with open(self.predictions, "r+b") as handle:
                handle.truncate(used * FLOAT32.itemsize)

    def append(self, record: TrialRecord) -> None:
        """Write one finished trial durably before the next one starts."""
        self.append_many([record])

    def append_many(self, records: list[TrialRecord]) -> None:
        """Write finished trials durably: their probabilities, then their lines."""
        arrays = [np.asarray(r.predictions, dtype=FLOAT32) for r in records]
        with open(self.predictions, "ab") as handle:
            handle.write(b"".join(a.tobytes() for a in arrays))
            handle.flush()
            os.fsync(handle.fileno())
        lines = []
        for record, values in zip(records, arrays):
            where = {"offset": self._end, "count": len(values)}
            self._end += len(values)
            lines.append(json.dumps({"row": record.row, "history": record.history, "predictions": where},
                                    default=_plain) + "\n")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("".join(lines))
            handle.flush()
            os.fsync(handle.fileno())


class MemoryStore:
    """The results store of a run that writes nothing (`write=False`): ResultsStore's interface,
    the records kept in memory for the run only."""

    def __init__(self):
        self.records: dict[str, TrialRecord] = {}

    def open(self, fresh: bool = False) -> dict[str, TrialRecord]:
        return dict(self.records)

    def append(self, record: TrialRecord) -> None:
        self.append_many([record])

    def append_many(self, records: list[TrialRecord]) -> None:
        self.records.update((record.trial_id, record) for record in records)


def stored_probabilities(directory: Path) -> dict[str, np.ndarray]:
    """{trial id: its validation probabilities} of a results store, read only (damaged lines
    are skipped here; `ResultsStore.open` is what repairs a store)."""
    directory = Path(directory)
    values = (np.fromfile(directory / PREDICTIONS, dtype=FLOAT32) if (directory / PREDICTIONS).is_file()
              else np.zeros(0, FLOAT32))
    found = {}
    lines = (directory / RECORDS).read_bytes().splitlines() if (directory / RECORDS).is_file() else []
    for line in lines:
        try:
            record = json.loads(line)
            found[record["row"]["trial_id"]] = _predictions(record["predictions"], values)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
            continue
    return found


def _predictions(stored, values: np.ndarray) -> np.ndarray:
    """A record's probabilities: {"offset", "count"} into the predictions file (or, from older
    stores, the list itself)."""
    if isinstance(stored, list):
        return np.asarray(stored, dtype=np.float32)
    offset, count = int(stored["offset"]), int(stored["count"])
    if offset < 0 or count < 0 or offset + count > len(values):
        raise ValueError("probabilities missing from the predictions file")
    return values[offset:offset + count]  # a view: the file's values are read once, not copied


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")
