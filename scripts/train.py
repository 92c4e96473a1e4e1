#!/usr/bin/env python
"""Run an experiment: python scripts/train.py --config configs/compare_baselines.yaml"""
import sys

from nnbin.cli import entry

if __name__ == "__main__":
    entry(["train", *sys.argv[1:]])
