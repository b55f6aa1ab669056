"""Train a detector: ``python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp]
[--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]`` (mmdet's flags)."""
import sys

from fashionpedia_plugin.engine.launch import run_cli, train_main

if __name__ == '__main__':
    sys.exit(run_cli(train_main))
