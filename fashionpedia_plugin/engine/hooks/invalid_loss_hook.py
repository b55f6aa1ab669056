"""Stop training on a NaN/inf loss, naming the iteration and the losses."""
import math

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


class InvalidLossError(FloatingPointError):
    """Raised by ``InvalidLossHook``; ``tools/train.py`` prints it as one line."""


@HOOKS.register_module()
class InvalidLossHook(Hook):
    """Raise :class:`InvalidLossError` as soon as any logged loss is NaN or infinite.

    mmdet's ``CheckInvalidLossHook`` asserts without saying where; hours later a NaN run looks
    like a run that stopped learning. This names the iteration and every loss term, so the
    culprit (e.g. ``loss_attr``) is visible at once. Costs one check on the device and one
    host-device transfer per iteration.
    """
    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not outputs:
            return
        terms = {k: v for k, v in outputs.items() if k.startswith('loss')}
        tensors = [v.detach().reshape(-1) for v in terms.values() if isinstance(v, torch.Tensor)]
        numbers = [float(v) for v in terms.values() if not isinstance(v, torch.Tensor)]
        # one check on the device and one transfer per iteration, not one per loss term
        if (not tensors or bool(torch.isfinite(torch.cat(tensors)).all())) and all(
                math.isfinite(v) for v in numbers):
            return
        losses = {k: float(v.detach() if hasattr(v, 'detach') else v) for k, v in terms.items()}
        text = ', '.join(f'{k}={v:.4g}' for k, v in losses.items())
        raise InvalidLossError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch}): {text}. '
            f'Last checkpoint: {runner.work_dir}; lower the lr, enable clip_grad or check '
            f'the data.')
