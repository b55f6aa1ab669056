"""Train-step time of configs side by side (same data, same process), and data-pipeline
throughput with vs without attributes; or (--sweep) the throughput of one config over per-GPU
batch x precision x memory format.

  python tools/analysis_tools/benchmark_train.py CONFIG [CONFIG ...] [--iters 20] [--warmup 3]
      [--amp] [--device cpu|cuda] [--batch-size N] [--workers N] [--pipeline-samples 100]
      [--cfg-options key=value ...]
  python tools/analysis_tools/benchmark_train.py CONFIG --sweep [--batch-sizes 2 4 8 16]
      [--precisions fp32 bf16 fp16] [--memory-formats default channels-last] [...]

Ratios are relative to the first config (or, with --sweep, img/s relative to the first row),
measured in this one process. Typical: the Attribute-Mask R-CNN config first, then the plain
Mask R-CNN config with the same data. --amp adds an AMP row per config (CUDA). The sweep ends
with the data pipeline's samples/s in one process (= one loader worker) and the workers a GPU
needs to feed the fastest row.
"""
import argparse
import math
import sys

import torch

from fashionpedia_plugin.toolkit.benchmark import (MEMORY_FORMATS, PRECISIONS, format_sweep_row,
                                                   load_bench_config, pipeline_throughput, sweep,
                                                   train_step_time, without_attributes)
from fashionpedia_plugin.toolkit.cli import OptionsAction, run_cli


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--amp', action='store_true', help='also time with AmpOptimWrapper')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--batch-size', type=int)
    p.add_argument('--workers', type=int)
    p.add_argument(
        '--pipeline-samples',
        type=int,
        default=100,
        help='samples for the pipeline throughput (0 = skip)')
    p.add_argument(
        '--image-size',
        type=int,
        help="train at N x N instead of the config's image_size (CPU smoke runs)")
    p.add_argument('--cfg-options', nargs='+', action=OptionsAction, default={})
    p.add_argument('--sweep', action='store_true', help='one config: batch x precision x format')
    p.add_argument('--batch-sizes', nargs='+', type=int, default=[2, 4, 8, 16])
    p.add_argument('--precisions', nargs='+', choices=PRECISIONS, default=list(PRECISIONS))
    p.add_argument(
        '--memory-formats', nargs='+', choices=MEMORY_FORMATS, default=list(MEMORY_FORMATS))
    a = p.parse_args(argv)
    if a.sweep and len(a.configs) != 1:
        p.error('--sweep takes one config')
    if a.amp and not a.device.startswith('cuda'):
        p.error('--amp needs --device cuda (mmengine AmpOptimWrapper refuses the CPU)')
    from mmdet.utils import register_all_modules

    import fashionpedia_plugin  # noqa: F401  (registers the plugin)
    register_all_modules()
    cfgs = [
        load_bench_config(c, a.cfg_options, a.batch_size, a.workers, a.image_size)
        for c in a.configs
    ]
    print(f'device: {a.device}' +
          (f' ({torch.cuda.get_device_name()})' if a.device.startswith('cuda') else '') +
          f', torch {torch.__version__}, batch {cfgs[0].train_dataloader.batch_size}, '
          f'{a.iters} timed iterations after {a.warmup} warm-up')
    if a.sweep:
        return run_sweep(a, cfgs[0])
    print(f'{"config":<62} {"precision":>9} {"s/iter":>8} {"img/s":>7} {"peak MiB":>9} '
          f'{"ratio":>6}')
    base = {}
    for path, cfg in zip(a.configs, cfgs):
        for amp in ([False, True] if a.amp else [False]):
            sec, mem = train_step_time(cfg, a.iters, a.warmup, a.device, amp)
            key = 'amp' if amp else 'fp32'
            base.setdefault(key, sec)
            bs = cfg.train_dataloader.batch_size
            print(
                f'{path.split("/")[-1][:62]:<62} {key:>9} {sec:>8.3f} {bs / sec:>7.1f} '
                f'{"-" if mem is None else f"{mem:.0f}":>9} {sec / base[key]:>6.3f}',
                flush=True)
    if a.pipeline_samples:
        ds = cfgs[0].train_dataloader.dataset
        plain = dict(ds, pipeline=without_attributes(ds.pipeline))
        with_attr = pipeline_throughput(ds, a.pipeline_samples)
        without = pipeline_throughput(plain, a.pipeline_samples)
        print(f'data pipeline ({a.pipeline_samples} samples, 1 process): with attributes '
              f'{with_attr:.1f} samples/s, without {without:.1f} samples/s, ratio '
              f'{without / with_attr:.3f} (time with / time without)')
    return 0


def run_sweep(a, cfg):
    print(
        f'{"batch":>5} {"precision":>9} {"memory format":>13} {"s/iter":>8} {"img/s":>7} '
        f'{"peak MiB":>9} {"ratio":>6}',
        flush=True)
    base = {}

    def log(row):
        if row['sec'] is not None and not base:
            base.update(row)
        print(format_sweep_row(row, base), flush=True)

    rows = sweep(cfg, a.batch_sizes, a.precisions, a.memory_formats, a.iters, a.warmup, a.device,
                 log)
    if a.pipeline_samples:
        rate = pipeline_throughput(cfg.train_dataloader.dataset, a.pipeline_samples)
        timed = [r for r in rows if r['img_s']]
        best = max(timed, key=lambda r: r['img_s']) if timed else None
        n = math.ceil(best['img_s'] / rate) if best else 0
        need = f', {n} worker{"s" if n != 1 else ""} feed the fastest row' if best else ''
        print(f'data pipeline: {rate:.2f} samples/s per loader worker ({a.pipeline_samples} '
              f'samples in this process){need}')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
