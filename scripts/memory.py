#!/usr/bin/env python
"""Memory and time over many sequential trials of the plain keras engine.

    python scripts/memory.py              # 200 trials (about 4 minutes on 2 cores)
    python scripts/memory.py --trials 50

Prints resident memory and time per trial at checkpoints, and the growth of resident
memory from trial 20 to the last: it should stay flat (sessions and graphs are released
between trials), and so should the time per trial.
"""
from __future__ import annotations

import argparse
import resource
import time


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()

    from nnbin.config import config_from_dict
    from nnbin.cv import make_splits, make_trials
    from nnbin.engines import FoldData
    from nnbin.engines.keras_engine import train_trials

    repeats = -(-args.trials // 5)
    config = config_from_dict({
        "dataset": {"name": "moons", "options": {"n_samples": 300}},
        "cv": {"folds": 5, "repeats": repeats, "seed": 0}, "engine": "keras",
        "models": [{"name": "small", "params": {"hidden": [8], "epochs": 5, "batch_size": 32}}]})
    data = config.dataset.load()
    trials = make_trials(config, make_splits(data.y, 5, repeats, seed=0))[:args.trials]
    rss, seconds = [], []
    last = time.perf_counter()
    for i, _ in enumerate(train_trials(trials, FoldData(data)), start=1):
        now = time.perf_counter()
        seconds.append(now - last)
        last = now
        rss.append(resident_mb())
        if i in (1, 10, 20) or i % 50 == 0 or i == len(trials):
            print(f"trial {i:4d}: resident {rss[-1]:7.1f} MB, "
                  f"mean time of the last 10 trials {sum(seconds[-10:]) / len(seconds[-10:]):.3f} s")
    first = min(20, len(rss)) - 1
    growth = (rss[-1] - rss[first]) / rss[first] * 100
    early, late = seconds[first - 9:first + 1], seconds[-10:]
    print(f"\nresident memory: trial {first + 1} {rss[first]:.1f} MB -> trial {len(rss)} {rss[-1]:.1f} MB "
          f"({growth:+.1f}%); peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    print(f"time per trial: trials {first - 8}-{first + 1} {sum(early) / len(early):.3f} s, "
          f"last 10 {sum(late) / len(late):.3f} s ({(sum(late) / len(late)) / (sum(early) / len(early)):.2f}x)")


if __name__ == "__main__":
    main()
