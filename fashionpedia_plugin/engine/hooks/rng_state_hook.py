"""Random-number-generator state in checkpoints, so that a resumed run continues exactly."""
import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the python/numpy/torch(/cuda) RNG states with every checkpoint and restore them
    when training resumes.

    Why: mmengine restores the model, optimizer, schedulers and iteration, but re-seeds the RNGs
    at start, so RoI sampling (``torch.randperm``) after ``--resume`` differs from the run that
    was killed. The states are restored just before the first resumed iteration, after mmengine
    has advanced the dataloader past the consumed batches. With a deterministic data pipeline
    (or one whose random transforms run in the main process) the resumed run then reproduces an
    uninterrupted one; random augmentations in dataloader workers are re-seeded by mmengine and
    stay statistically, not bitwise, equivalent.
    """
    priority = 'VERY_LOW'

    def __init__(self):
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint):
        state = dict(
            python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint):
        self._pending = checkpoint.get('rng_state')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
