"""The append-only results store: each finished trial is one JSON line, flushed and fsynced
before the next trial starts, so a crash loses at most the trial being trained and a rerun
resumes where the last one stopped."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from nnbin.errors import ConfigError
from nnbin.results import write_text

RECORDS = "trials.jsonl"
STAMP = "store.json"
TABLES = ("trials.csv", "summary.csv", "trials.parquet")
# keys that do not change any result: a rerun with other values may resume
NEUTRAL_KEYS = ("name", "output_dir", "device", "deterministic", "tensorboard", "refit")


def fingerprint(config: dict) -> str:
    """A hash of everything in the config that changes results."""
    relevant = {k: v for k, v in config.items() if k not in NEUTRAL_KEYS}
    return hashlib.sha1(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class ResultsStore:
    """Finished trials of one config in `output_dir/trials.jsonl`."""

    def __init__(self, output_dir: Path, config: dict):
        self.dir = Path(output_dir)
        self.config = config
        self.path = self.dir / RECORDS
        self.stamp = self.dir / STAMP

    def open(self, fresh: bool = False) -> dict[str, dict]:
        """Check the directory belongs to this config; return finished records by trial id.

        fresh: discard earlier results of any config (moved to `previous/`, not deleted).
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
                    f"{', '.join(changed) or 'unknown'}); use another --output-dir, or --fresh to "
                    "set the old results aside and start again")
        elif any((self.dir / name).exists() for name in (RECORDS, *TABLES)):
            raise ConfigError(
                f"output_dir '{self.dir}' holds results nnbin cannot resume (no {STAMP}); use "
                "another --output-dir, or --fresh to set them aside (into previous/)")
        else:
            write_text(self.stamp, json.dumps({"fingerprint": fingerprint(self.config),
                                               "config": self.config}, indent=2))
        return self._read()

    def _set_aside(self) -> None:
        previous = self.dir / "previous"
        if previous.exists():
            shutil.rmtree(previous)
        previous.mkdir()
        for item in self.dir.iterdir():
            if item.name != "previous" and item.is_file():
                item.replace(previous / item.name)

    def _read(self) -> dict[str, dict]:
        """Complete lines only: a line torn by a crash is cut off so appends stay clean."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        records = {}
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn write followed by a later append: skip it
            records[record["row"]["trial_id"]] = record
        if end < len(data):
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
        return records

    def append(self, record: dict) -> None:
        """Write one finished trial durably before the next one starts."""
        line = json.dumps(record, default=_plain) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")
