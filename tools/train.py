"""Train a detector: ``python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp]
[--auto-scale-lr] [--keep-schedule] [--data-root DIR ...] [--vis-backend NAME]
[--allow-partial] [--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]``
(mmdet's flags and ours; ``-h`` lists them all, docs/configs-and-recipe.md explains them)."""
import sys

from fashionpedia_plugin.toolkit.cli import run_cli
from fashionpedia_plugin.toolkit.launch import train_main

if __name__ == '__main__':
    sys.exit(run_cli(train_main))
