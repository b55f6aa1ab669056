"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out results.json]
[--work-dir D] [--cfg-options k=v ...] [--launcher pytorch]`` (mmdet's flags)."""
import sys

from fashionpedia_plugin.engine.launch import run_cli, test_main

if __name__ == '__main__':
    sys.exit(run_cli(test_main))
