"""Stop training on a NaN/inf loss, naming the iteration and the losses."""
import math

from mmdet.registry import HOOKS
from mmengine.hooks import Hook


class InvalidLossError(FloatingPointError):
    """Raised by ``InvalidLossHook``; ``tools/train.py`` prints it as one line."""


@HOOKS.register_module()
class InvalidLossHook(Hook):
    """Raise :class:`InvalidLossError` as soon as any logged loss is NaN or infinite.

    mmdet's ``CheckInvalidLossHook`` asserts without saying where; hours later a NaN run looks
    like a run that stopped learning. This names the iteration and every loss term, so the
    culprit (e.g. ``loss_attr``) is visible at once. Costs a few float checks per iteration.
    """
    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not outputs:
            return
        losses = {
            k: float(v.detach() if hasattr(v, 'detach') else v)
            for k, v in outputs.items() if k.startswith('loss')
        }
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{k}={v:.4g}' for k, v in losses.items())
            raise InvalidLossError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch {runner.epoch}): {terms}. '
                f'Last checkpoint: {runner.work_dir}; lower the lr, enable clip_grad or check '
                f'the data.')
