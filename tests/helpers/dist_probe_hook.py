"""A hook for the distributed tests: what each rank trained on, and its weights at the end.

Imported by test configs through ``custom_imports`` (``tests/helpers`` on ``PYTHONPATH``);
writes ``work_dir/probe_rank{R}.json``: the image ids of every training batch of this rank and a
SHA-256 of its parameters (not buffers: BN running statistics are per process by design).
"""
import hashlib
import json
import os.path as osp

from mmdet.registry import HOOKS
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook


@HOOKS.register_module()
class DistProbeHook(Hook):

    def __init__(self):
        self.img_ids = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.img_ids += [s.metainfo['img_id'] for s in data_batch['data_samples']]

    def after_train(self, runner):
        model = getattr(runner.model, 'module', runner.model)
        digest = hashlib.sha256()
        for name, p in sorted(model.named_parameters()):
            digest.update(name.encode())
            digest.update(p.detach().cpu().contiguous().numpy().tobytes())
        out = dict(
            rank=get_rank(),
            world_size=get_world_size(),
            iter=runner.iter,
            img_ids=self.img_ids,
            params_sha256=digest.hexdigest())
        with open(osp.join(runner.work_dir, f'probe_rank{get_rank()}.json'), 'w') as f:
            json.dump(out, f)
