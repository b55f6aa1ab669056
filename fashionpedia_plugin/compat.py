"""Every workaround for upstream (mmengine/mmcv/mmdet/fashionpedia) on current torch and numpy.

This is the single place where the plugin adapts upstream behaviour; nothing in site-packages is
edited. :func:`apply_all` runs once when :mod:`fashionpedia_plugin` is imported, so configs that
pull the plugin in through ``custom_imports`` get the fixes in every process, including the
workers started by ``torchrun``. Each workaround has a test in ``tests/test_compat.py`` that fails
without it.

1. ``checkpoint_weights_only`` -- mmengine 0.10.7 calls ``torch.load(filename)`` without
   ``weights_only``. Since torch 2.6 that defaults to ``True``, and a checkpoint written by an
   mmengine ``Runner`` (``message_hub`` holds ``HistoryBuffer`` objects and numpy scalars) fails
   with ``UnpicklingError: Weights only load failed``. That breaks ``--resume``, ``load_from`` and
   ``tools/test.py CONFIG CKPT``. Fixed upstream on main only (not released). We wrap every
   registered ``CheckpointLoader`` scheme so that it loads with ``weights_only=False``, which is
   what mmengine did on torch < 2.6: load only checkpoints you trust, as before. Set
   ``FP_CHECKPOINT_WEIGHTS_ONLY=1`` to keep torch's strict default.
2. ``cpu_distributed`` -- mmengine's pytorch launcher calls ``torch.cuda.set_device(local_rank)``
   unconditionally, which raises on CPU-only torch, and passes ``nccl``, which has no CPU backend;
   ``Runner.wrap_model`` then gives DDP ``device_ids=[LOCAL_RANK]``, which DDP rejects for a
   module on the CPU. Without CUDA we initialise the process group with ``gloo``, skip
   ``set_device`` and build ``MMDistributedDataParallel`` without ``device_ids``; with CUDA the
   upstream code runs untouched. This is the only place that handles CPU-distributed runs (no
   config or tool sets a backend for it).
3. ``numpy_aliases_for_fpeval`` -- the official ``fashionpedia`` evaluator uses ``np.float``,
   removed in numpy 1.24. It is only needed for the reference evaluator, so it is a context manager
   (:func:`numpy_float_alias`) used by the ``--reference`` path, not a global patch.
"""
import contextlib
import functools
import os

import numpy as np
import torch

_APPLIED = set()


def _load_trusted(loader):
    """Wrap an mmengine checkpoint loader so torch.load defaults to ``weights_only=False``."""
    if getattr(loader, '_fp_trusted', False):
        return loader

    @functools.wraps(loader)
    def wrapped(filename, map_location=None, *args, **kwargs):
        if os.environ.get('FP_CHECKPOINT_WEIGHTS_ONLY') == '1':
            return loader(filename, map_location, *args, **kwargs)
        original = torch.load

        @functools.wraps(original)
        def torch_load(*a, **kw):
            kw.setdefault('weights_only', False)
            return original(*a, **kw)

        torch.load = torch_load
        try:
            return loader(filename, map_location, *args, **kwargs)
        finally:
            torch.load = original

    wrapped._fp_trusted = True
    return wrapped


def patch_checkpoint_weights_only():
    """Workaround 1: mmengine checkpoints load again on torch >= 2.6."""
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        CheckpointLoader._schemes[prefix] = _load_trusted(loader)
    _APPLIED.add('checkpoint_weights_only')


def patch_cpu_distributed():
    """Workaround 2: ``--launcher pytorch`` works on machines without CUDA (gloo backend)."""
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_fp_cpu_ok', False):
        return

    @functools.wraps(original)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        if backend == 'nccl':
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._fp_cpu_ok = True
    dist_utils._init_dist_pytorch = init_dist_pytorch

    from mmengine.model import MMDistributedDataParallel
    ddp_init = MMDistributedDataParallel.__init__

    @functools.wraps(ddp_init)
    def init_ddp(self, module, detect_anomalous_params=False, **kwargs):
        if not torch.cuda.is_available():
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        ddp_init(self, module, detect_anomalous_params=detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = init_ddp
    _APPLIED.add('cpu_distributed')


@contextlib.contextmanager
def numpy_float_alias():
    """Workaround 3: let the official ``FPEval`` run on numpy >= 1.24 (``np.float``)."""
    added = []
    for name, value in (('float', float), ('int', int), ('bool', bool)):
        if name not in np.__dict__:
            setattr(np, name, value)
            added.append(name)
    try:
        yield
    finally:
        for name in added:
            delattr(np, name)


def apply_all():
    """Apply the import-time workarounds (idempotent)."""
    patch_checkpoint_weights_only()
    patch_cpu_distributed()
    return sorted(_APPLIED)


apply_all()
