"""Random-number-generator state in checkpoints, per rank, so that a resumed run continues."""
import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook


def _local_state():
    """This process's python/numpy/torch states and, with CUDA, its own device's state (not
    every visible GPU: a resume may see fewer). numpy's key array is kept as a tensor, so that
    the checkpoint opens weights-only (``WeightsOnlyCheckpointHook``)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=(name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
               float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the python/numpy/torch(/cuda) RNG states of every rank with each checkpoint and
    restore them when training resumes.

    Why: mmengine restores the model, optimizer, schedulers and iteration, but re-seeds the RNGs
    at start, so RoI sampling (``torch.randperm``) after ``--resume`` differs from the run that
    was killed. The states are restored just before the first resumed iteration, after mmengine
    has advanced the dataloader past the consumed batches. With a deterministic data pipeline
    (or one whose random transforms run in the main process) the resumed run then reproduces an
    uninterrupted one; random augmentations in dataloader workers are re-seeded by mmengine and
    stay statistically, not bitwise, equivalent.

    Layout: ``checkpoint['rng_state'] = dict(world_size=W, ranks=[state of rank 0, ...])``.
    mmengine saves on rank 0 only (``Runner.save_checkpoint`` is ``master_only``), so the states
    are gathered from every rank in ``after_train_iter`` of the iterations at which the
    ``CheckpointHook`` will save and in ``after_val_epoch`` (before its ``best_*`` save and
    re-save; this hook runs before it: priority ``LOW``), and matched by step. A resume on
    another world size restores rank ``r``'s saved state on rank ``r`` where one was saved,
    keeps the fresh seed elsewhere, and says so in one line; the CUDA state is
    restored only where the saved rank had one and this process has a GPU. Checkpoints of the
    earlier single-state layout (rank 0 only) restore on rank 0.
    """
    priority = 'LOW'  # before the CheckpointHook (VERY_LOW) in after_train_iter

    def __init__(self):
        self._pending = None
        self._gathered = None  # (iteration, [state per rank])

    @staticmethod
    def _will_save(runner):
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch:
                return hook.every_n_train_iters(
                    runner, hook.interval, hook.save_begin) or (hook.save_last
                                                                and hook.is_last_train_iter(runner))
        return False

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_world_size() > 1 and self._will_save(runner):
            self._gathered = (runner.iter + 1, all_gather_object(_local_state()))

    def after_val_epoch(self, runner, metrics=None):
        # after a new best, mmengine saves best_*.pth and the last checkpoint again (now, at
        # the same step): gather the states as they are after validation
        if get_world_size() > 1:
            self._gathered = (runner.iter, all_gather_object(_local_state()))

    def before_save_checkpoint(self, runner, checkpoint):
        ranks = [_local_state()]
        step = (checkpoint.get('meta') or {}).get('iter')
        if self._gathered is not None and self._gathered[0] == step:
            ranks += self._gathered[1][1:]
        checkpoint['rng_state'] = dict(world_size=get_world_size(), ranks=ranks)

    def after_load_checkpoint(self, runner, checkpoint):
        saved = checkpoint.get('rng_state')
        if saved is None or not runner._resume:
            return
        if 'ranks' not in saved:  # the earlier layout: rank 0's state only
            saved = dict(world_size=1, ranks=[saved])
        rank, world = get_rank(), get_world_size()
        self._pending = saved['ranks'][rank] if rank < len(saved['ranks']) else None
        if len(saved['ranks']) != world:
            kept = min(world, len(saved['ranks']))
            fresh = f'; ranks {kept}-{world - 1} start from the seed' if world > kept else ''
            unused = f'; the states of saved ranks {kept}-{len(saved["ranks"]) - 1} are not ' \
                'used' if len(saved['ranks']) > kept else ''
            runner.logger.warning(
                f'RNG states: saved for {len(saved["ranks"])} of {saved["world_size"]} '
                f'processes, resumed on {world}: '
                f'ranks 0-{kept - 1} restored{fresh}{unused} (not a bitwise continuation)')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        random.setstate(state['python'])
        name, keys, *rest = state['numpy']
        keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
        np.random.set_state((name, keys.astype(np.uint32), *rest))
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            cuda = state['cuda']
            if isinstance(cuda, (list, tuple)):  # the earlier layout: one per visible GPU
                cuda = cuda[torch.cuda.current_device()] if torch.cuda.current_device() < \
                    len(cuda) else None
            if cuda is not None:
                torch.cuda.set_rng_state(cuda)
