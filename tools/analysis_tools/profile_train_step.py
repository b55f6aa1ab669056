"""Profile training steps of a config: top torch ops, top functions of this plugin, and every
host-device synchronisation with its caller, as Markdown tables.

  python tools/analysis_tools/profile_train_step.py CONFIG [--iters 2] [--warmup 1]
      [--device cpu|cuda] [--batch-size N] [--precision fp32|bf16|fp16]
      [--memory-format default|channels-last] [--top 15] [--out profile.md]
      [--cfg-options key=value ...]

On the CPU the ops' times are CPU times; the synchronisation ops (``.item()``, ``nonzero``) are
counted the same on any device, so the CPU profile already shows where a GPU step would wait.
"""
import argparse
import sys

import torch

from fashionpedia_plugin.toolkit.benchmark import MEMORY_FORMATS, PRECISIONS, load_bench_config
from fashionpedia_plugin.toolkit.cli import OptionsAction, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--iters', type=int, default=2)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--batch-size', type=int)
    p.add_argument('--workers', type=int, default=0)
    p.add_argument('--precision', choices=PRECISIONS, default='fp32')
    p.add_argument('--memory-format', choices=MEMORY_FORMATS, default='default')
    p.add_argument('--top', type=int, default=15)
    p.add_argument('--out', help='also write the tables to this Markdown file')
    p.add_argument(
        '--image-size',
        type=int,
        help="train at N x N instead of the config's image_size (CPU smoke runs)")
    p.add_argument('--cfg-options', nargs='+', action=OptionsAction, default={})
    a = p.parse_args(argv)
    if a.precision != 'fp32' and not a.device.startswith('cuda'):
        p.error('--precision bf16/fp16 needs --device cuda (mmengine AmpOptimWrapper)')
    from mmdet.utils import register_all_modules

    import fashionpedia_plugin  # noqa: F401  (registers the plugin)
    from fashionpedia_plugin.toolkit.step_profile import format_profile, profile_steps
    register_all_modules()
    cfg = load_bench_config(a.config, a.cfg_options, a.batch_size, a.workers, a.image_size)
    result = profile_steps(cfg, a.device, a.iters, a.warmup, a.precision, a.memory_format)
    text = (f'{a.config}, device {a.device}, torch {torch.__version__}, batch '
            f'{cfg.train_dataloader.batch_size}, {a.precision}, {a.memory_format}, {a.iters} '
            f'profiled steps after {a.warmup} warm-up\n\n' + format_profile(result, a.top))
    print(text)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
