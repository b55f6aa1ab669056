"""Side-by-side train-step and data-pipeline benchmarks (used by tools/analysis_tools/)."""
import copy
import statistics
import time

import torch
from mmengine.config import Config

PLAIN_PIPELINE_MAP = {'PackFashionpediaInputs': 'PackDetInputs'}


def without_attributes(pipeline):
    """The same pipeline with mmdet's own loading/packing and no AlignInstanceFields wrapper."""
    out = []
    for t in copy.deepcopy(pipeline):
        if t['type'] == 'AlignInstanceFields':
            out.extend(t['transforms'])
            continue
        if t['type'] == 'LoadFashionpediaAttributes':
            continue
        t['type'] = PLAIN_PIPELINE_MAP.get(t['type'], t['type'])
        out.append(t)
    return out


def pipeline_throughput(dataset_cfg, num_samples):
    """Samples/s of ``dataset_cfg``'s pipeline in this process (no workers)."""
    from mmdet.registry import DATASETS
    ds = DATASETS.build(dataset_cfg)
    n = min(num_samples, len(ds))
    ds[0]  # warm caches
    t = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    return n / (time.perf_counter() - t)


PRECISIONS = ('fp32', 'bf16', 'fp16')
MEMORY_FORMATS = ('default', 'channels-last')


def build_step(cfg, device, precision='fp32', memory_format='default'):
    """``(model, optim_wrapper, batches)`` of ``cfg`` ready for ``model.train_step``.

    ``precision``: ``fp32`` (the config's optimizer wrapper), ``bf16``/``fp16`` (mmengine
    ``AmpOptimWrapper`` with that dtype; dynamic loss scale for fp16). ``memory_format``:
    ``channels-last`` applies ``ChannelsLastHook``'s conversion.
    """
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from ..engine.hooks.channels_last_hook import to_channels_last
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg = None  # no pretrained download; speed does not depend on it
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device).train()
    if memory_format == 'channels-last':
        to_channels_last(model)
    optim_cfg = dict(cfg.optim_wrapper)
    if precision != 'fp32':
        optim_cfg.update(
            type='AmpOptimWrapper',
            dtype=dict(bf16='bfloat16', fp16='float16')[precision],
            loss_scale='dynamic')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return model, optim_wrapper, _cycle(loader)


def _cycle(loader):
    while True:
        yield from loader


def train_step_time(cfg, iters, warmup, device, amp=False, precision=None, memory_format='default'):
    """Median seconds per ``train_step`` and peak memory (MiB, CUDA only) for ``cfg``
    (``amp=True``: ``precision='fp16'``, the earlier flag)."""
    precision = precision or ('fp16' if amp else 'fp32')
    cuda = device.startswith('cuda')
    model, optim_wrapper, batches = build_step(cfg, device, precision, memory_format)
    times = []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for i in range(warmup + iters):
        data = next(batches)
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        model.train_step(data, optim_wrapper)
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    mem = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    del model, optim_wrapper, batches
    if cuda:
        torch.cuda.empty_cache()
    return statistics.median(times), mem


def sweep(cfg, batch_sizes, precisions, memory_formats, iters, warmup, device, log=print):
    """Rows ``dict(batch, precision, memory_format, sec, img_s, mem, note)`` of every setting;
    a setting that does not run here (AMP on the CPU: mmengine's ``AmpOptimWrapper`` needs a
    GPU; out of GPU memory; an error of the model, e.g. BN on a 1 x 1 map at batch 1) is a row
    with ``note`` and no time. ``log(row)`` after each."""
    rows = []
    for bs in batch_sizes:
        for precision in precisions:
            for fmt in memory_formats:
                row = dict(
                    batch=bs,
                    precision=precision,
                    memory_format=fmt,
                    sec=None,
                    img_s=None,
                    mem=None,
                    note='')
                if precision != 'fp32' and not device.startswith('cuda'):
                    row['note'] = 'skipped: AmpOptimWrapper needs a GPU'
                else:
                    c = copy.deepcopy(cfg)
                    c.train_dataloader.batch_size = bs
                    try:
                        row['sec'], row['mem'] = train_step_time(
                            c, iters, warmup, device, precision=precision, memory_format=fmt)
                        row['img_s'] = bs / row['sec']
                    except torch.cuda.OutOfMemoryError:
                        torch.cuda.empty_cache()
                        row['note'] = 'out of memory'
                    except (RuntimeError, ValueError) as e:  # a setting this model refuses
                        row['note'] = f'error: {str(e).splitlines()[0][:80]}'
                rows.append(row)
                log(row)
    return rows


def format_sweep_row(row, base):
    """One table line; ``base``: the first timed row (ratios of img/s to it)."""
    mem = '-' if row['mem'] is None else f'{row["mem"]:.0f}'
    if row['sec'] is None:
        timing = f'{"-":>8} {"-":>7} {mem:>9} {"-":>6}  {row["note"]}'
    else:
        ratio = row['img_s'] / base['img_s'] if base else 1.0
        timing = f'{row["sec"]:>8.3f} {row["img_s"]:>7.2f} {mem:>9} {ratio:>6.2f}'
    return f'{row["batch"]:>5} {row["precision"]:>9} {row["memory_format"]:>13} {timing}'


def set_image_size(cfg, size):
    """Run ``cfg``'s train pipeline at ``size`` x ``size`` (the LSJ scale and crop, and the
    batch pad of the data preprocessor): what the CPU smoke runs and profiles use. Every
    ``scale``/``crop_size``/``size`` equal to the config's ``image_size`` is replaced."""
    old = tuple(cfg.get('image_size', (1024, 1024)))
    new = (size, size)

    def walk(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in ('scale', 'crop_size', 'size') and tuple(v) == old:
                    obj[k] = new
                else:
                    walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(cfg.train_dataloader.dataset.pipeline)
    walk(cfg.model.data_preprocessor.get('batch_augments') or [])
    cfg.image_size = new
    return cfg


def load_bench_config(path, cfg_options=None, batch_size=None, num_workers=None, image_size=None):
    cfg = Config.fromfile(path)
    if cfg_options:
        from .config_options import merge_options
        merge_options(cfg, cfg_options, path)
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    if num_workers is not None:
        cfg.train_dataloader.num_workers = num_workers
        cfg.train_dataloader.persistent_workers = num_workers > 0
    if image_size is not None:
        set_image_size(cfg, image_size)
    return cfg
