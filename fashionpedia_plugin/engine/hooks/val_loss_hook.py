"""Validation loss: the model's training losses on the val set at every validation."""
import copy
from collections import defaultdict

import torch
from mmdet.registry import HOOKS
from mmdet.structures.bbox import BaseBoxes
from mmengine.hooks import Hook


@HOOKS.register_module()
class ValLossHook(Hook):
    """Compute the losses on each val batch (no gradient, model in eval mode) and log their
    means next to the metrics as ``val_loss``, ``val_loss_cls``, ``val_loss_attr``, ...

    Why: a validation loss that rises while the train loss falls shows over-fitting long before
    AP does (the seed run's AP fell after 8.5k iterations). It needs ground truth in the val
    pipeline (``LoadAnnotations`` + ``LoadFashionpediaAttributes``, as the configs here have)
    and costs one more forward per val batch, so it is a switch: on in the demo, off in the
    real-data configs (add ``custom_hooks = [dict(type='ValLossHook')]``).

    Eval mode keeps BN statistics untouched; batch augments of the data preprocessor are applied
    as in training.
    """
    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), so the values are logged

    def __init__(self):
        self._sums = defaultdict(float)
        self._count = 0
        self._rescale = False

    def before_val_epoch(self, runner):
        self._sums.clear()
        self._count = 0
        # mmdet test pipelines load annotations *after* Resize, so ground truth stays in the
        # original image frame (for evaluation); losses need it in the network input frame.
        types = [t['type'] for t in runner.cfg.val_dataloader.dataset.pipeline]
        load = [i for i, t in enumerate(types) if 'Annotations' in t]
        resize = [i for i, t in enumerate(types) if 'Resize' in t]
        if not load:
            raise ValueError('ValLossHook needs ground truth in the val pipeline (add '
                             'LoadAnnotations and LoadFashionpediaAttributes) or remove the hook')
        self._rescale = bool(resize) and load[0] > resize[0]

    @staticmethod
    def _to_input_frame(samples):
        """Copies of ``samples`` with boxes/masks rescaled from the original image frame."""
        out = []
        for sample in samples:
            sample = copy.deepcopy(sample)
            w_scale, h_scale = sample.metainfo['scale_factor']
            h, w = sample.metainfo['img_shape'][:2]
            for inst in (sample.gt_instances, sample.get('ignored_instances', None)):
                if inst is None or len(inst) == 0:
                    continue
                if isinstance(inst.bboxes, BaseBoxes):
                    inst.bboxes.rescale_((w_scale, h_scale))
                else:
                    inst.bboxes = inst.bboxes * inst.bboxes.new_tensor(
                        [w_scale, h_scale, w_scale, h_scale])
                if 'masks' in inst:
                    inst.masks = inst.masks.resize((h, w))
            out.append(sample)
        return out

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        if self._rescale:
            data_batch = dict(
                data_batch, data_samples=self._to_input_frame(data_batch['data_samples']))
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, True)
            losses = model(**data, mode='loss')
            _, log_vars = model.parse_losses(losses)
        for key, value in log_vars.items():
            if key.startswith('loss'):
                self._sums[key] += float(value)
        self._count += 1

    def after_val_epoch(self, runner, metrics=None):
        if not self._count:
            return
        from mmengine.dist import all_reduce
        for key, total in self._sums.items():
            stat = torch.tensor([total, self._count], dtype=torch.float64)
            all_reduce(stat)  # no-op when not distributed
            value = float(stat[0] / stat[1])
            name = f'val_{key}'
            runner.message_hub.update_scalar(f'val/{name}', value)
            if metrics is not None:
                metrics[name] = value
