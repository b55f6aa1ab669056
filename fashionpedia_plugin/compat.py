"""Every workaround for upstream (mmengine/mmcv/mmdet/fashionpedia) on current torch and numpy.

This is the single place where the plugin documents how it adapts upstream behaviour; nothing in
site-packages is edited, and importing the plugin replaces no function (only registration). Each
workaround has a test that fails without it (``tests/test_compat.py``; 4:
``tests/test_throughput.py``).

1. ``weights_only_checkpoints`` -- a hook, not a patch: ``WeightsOnlyCheckpointHook``
   (``engine/hooks/weights_only_checkpoint_hook.py``, in every config's ``custom_hooks``;
   ``tools/train.py`` adds it where a config replaces them). Since torch 2.6, ``torch.load``
   defaults to ``weights_only=True`` and mmengine 0.10.7 calls it without the argument, so a
   checkpoint written by an mmengine ``Runner`` fails with ``UnpicklingError: Weights only load
   failed``: its ``message_hub`` holds ``HistoryBuffer`` objects whose pickled state references
   ``builtins.getattr`` (their statistics methods) and numpy arrays. ``getattr`` cannot be put on
   torch's allowlist without opening it to code execution, so instead the hook writes the
   message hub as tensors and numbers and rebuilds the buffers on load (``RNGStateHook`` keeps
   numpy's RNG key as a tensor). Our checkpoints then open weights-only in every loader
   (``--resume``, ``load_from``, ``tools/test.py``, the inferencer, mmdet's own tools); no
   function of torch or mmengine is replaced. Files that need more (an earlier checkpoint, a
   tampered one) are refused with one line, and load only with ``--trust-checkpoint``
   (:mod:`fashionpedia_plugin.apis.checkpoint`).
2. ``cpu_distributed`` -- *not* applied on import: :func:`patch_cpu_distributed` is called by
   ``tools/train.py`` / ``tools/test.py`` only for a ``--launcher`` other than ``none`` on a
   machine without CUDA (what it changes is used by the pytorch launcher and DDP). mmengine's
   pytorch launcher calls ``torch.cuda.set_device(local_rank)`` unconditionally, which raises on
   CPU-only torch, and passes ``nccl``, which has no CPU backend; ``Runner.wrap_model`` then
   gives DDP ``device_ids=[LOCAL_RANK]``, which DDP rejects for a module on the CPU. Without
   CUDA we initialise the process group with ``gloo``, skip ``set_device`` and build
   ``MMDistributedDataParallel`` without ``device_ids``.
3. ``numpy_aliases_for_fpeval`` -- the official ``fashionpedia`` evaluator uses ``np.float``,
   removed in numpy 1.24. It is only needed for the reference evaluator, so it is a context manager
   (:func:`numpy_float_alias`) used by the ``--reference`` path, not a global patch.
4. ``roi_align_channels_last`` -- a pre-hook, only where channels-last is asked for:
   ``ChannelsLastHook`` (``engine/hooks/channels_last_hook.py``). mmcv 2.x ``RoIAlign`` hands a
   channels-last feature map to its kernel without ``.contiguous()`` and the kernel indexes it
   as NCHW: wrong RoI features, no error (max |diff| 1.4 on a random map). The hook makes the
   RoI extractors' inputs contiguous; ``tests/test_throughput.py`` shows the upstream behaviour
   and that the losses change without the pre-hook.
5. ``resume_paths`` -- at ``--resume``, in ``CheckpointProvenanceHook`` and ``tools/train.py``
   (``engine/hooks/resume_checks.py``, ``toolkit/resume.py``), no patch. mmengine 0.10.7 keeps
   absolute paths: ``work_dir/last_checkpoint`` (``CheckpointHook._save_checkpoint``, read by
   ``find_latest_checkpoint``) and ``message_hub.runtime_info['best_ckpt*']`` /
   ``['last_ckpt']``, which ``CheckpointHook.before_train`` restores and
   ``_save_best_checkpoint`` *removes* at the next better score. A copied work dir therefore
   resumed from the original folder and would delete that folder's ``best_*.pth``; a moved one
   failed. The run's own checkpoint folder is used instead, and the restored paths are moved
   into it or forgotten (``tests/test_compat.py``: a copied work dir's resume removes the
   original's ``best_*.pth`` without the hook, its own with it; ``tests/test_resume.py``: the
   path cases, and a moved work dir resumed by ``tools/train.py``).
6. ``resume_seed`` -- at ``--resume``, in ``tools/train.py`` (``toolkit/resume.py``), no patch.
   mmengine 0.10.7's ``Runner.train()`` builds the train loop (the sampler seeded with the
   runner's seed) before ``load_or_resume()`` restores the checkpoint's seed: without
   ``randomness.seed`` a resume drew another data order. The checkpoint's seed is set in the
   config before the runner is built (``tests/test_checkpoint.py``).
7. ``gather_results_in_memory``, ``local_rank`` -- at launch (``toolkit/launch.py``), no patch.
   mmengine's ``collect_results_cpu`` (the metrics' default ``collect_device='cpu'``) needs a
   folder every node shares; on several nodes the metrics gather through the process group.
   mmengine's ``_init_dist_mpi`` sets no ``LOCAL_RANK`` that ``Runner.wrap_model`` reads
   (``tests/test_launch.py``).
"""
import contextlib
import functools

import numpy as np
import torch

_APPLIED = set()


def patch_cpu_distributed():
    """Workaround 2: ``--launcher pytorch`` works on machines without CUDA (gloo backend).

    Process-wide (mmengine's launcher and DDP wrapper), so only the tools call it, and only
    when there is no CUDA device; with CUDA it does nothing."""
    if torch.cuda.is_available():
        return
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_fp_cpu_ok', False):
        return

    @functools.wraps(original)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if backend == 'nccl':
            backend = 'gloo'
        torch.distributed.init_process_group(backend=backend, **kwargs)

    init_dist_pytorch._fp_cpu_ok = True
    dist_utils._init_dist_pytorch = init_dist_pytorch

    from mmengine.model import MMDistributedDataParallel
    ddp_init = MMDistributedDataParallel.__init__

    @functools.wraps(ddp_init)
    def init_ddp(self, module, detect_anomalous_params=False, **kwargs):
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


def applied():
    """The workarounds in effect in this process."""
    return sorted(_APPLIED)
