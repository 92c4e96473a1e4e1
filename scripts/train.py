#!/usr/bin/env python
"""Run an experiment: python scripts/train.py --config configs/compare_baselines.yaml"""
import sys

from nnbin.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
