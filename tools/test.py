"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out results.json]
[--work-dir D] [--cfg-options k=v ...] [--launcher pytorch]`` (mmdet's flags)."""
import sys

from fashionpedia_plugin.toolkit.cli import run_cli
from fashionpedia_plugin.toolkit.launch import test_main

if __name__ == '__main__':
    sys.exit(run_cli(test_main))
