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


def train_step_time(cfg, iters, warmup, device, amp=False):
    """Median seconds per ``train_step`` and peak memory (MiB, CUDA only) for ``cfg``."""
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.init_cfg = None  # no pretrained download; speed does not depend on it
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device).train()
    optim_cfg = dict(cfg.optim_wrapper)
    if amp:
        optim_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    times = []
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    it = iter(loader)
    for i in range(warmup + iters):
        data = next(it)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t = time.perf_counter()
        model.train_step(data, optim_wrapper)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    mem = torch.cuda.max_memory_allocated() / 2**20 if device.startswith('cuda') else None
    del model, optim_wrapper, loader
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
    return statistics.median(times), mem


def load_bench_config(path, cfg_options=None, batch_size=None, num_workers=None):
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
    if num_workers is not None:
        cfg.train_dataloader.num_workers = num_workers
        cfg.train_dataloader.persistent_workers = num_workers > 0
    return cfg
