"""Each workaround in fashionpedia_plugin/compat.py, tested with and without it."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import free_port
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner

from fashionpedia_plugin import compat


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out.squeeze(-1) - torch.stack(labels))**2).mean())
        return out


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict()

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([i, 1.0]), labels=torch.tensor(float(i % 3)))


def _runner(work_dir, max_iters, resume=False, hook=True):
    import fashionpedia_plugin  # noqa: F401  (registers WeightsOnlyCheckpointHook)
    return Runner(
        custom_hooks=[dict(type='mmdet.WeightsOnlyCheckpointHook')] if hook else [],
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(), sampler=dict(type='InfiniteSampler'), batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[2], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        resume=resume,
        randomness=dict(seed=0),
        default_scope='mmengine')


def test_resume_from_runner_checkpoint_weights_only(tmp_path):
    """With WeightsOnlyCheckpointHook an mmengine Runner checkpoint opens with torch's
    weights-only default and resumes with its message hub (HistoryBuffers) intact."""
    _runner(tmp_path, 2).train()
    assert (tmp_path / 'iter_2.pth').exists()
    assert torch.load.__module__ == 'torch.serialization'
    torch.load(tmp_path / 'iter_2.pth', weights_only=True)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(tmp_path / 'iter_2.pth') == []
    runner = _runner(tmp_path, 4, resume=True)
    runner.train()
    assert runner.iter == 4
    assert runner.message_hub.get_info('iter') is not None
    loss = runner.message_hub.get_scalar('train/loss')
    assert len(loss.data[0]) == 4  # 2 saved + 2 resumed iterations, as a HistoryBuffer


WITHOUT = textwrap.dedent("""
    import sys, torch
    try:
        torch.load(sys.argv[1], weights_only=True)
    except Exception as e:
        print(type(e).__name__, str(e).splitlines()[0])
    else:
        print('loaded')
""")


def test_runner_checkpoint_fails_weights_only_without_the_hook(tmp_path):
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) < (2, 6):
        pytest.skip('torch < 2.6 loads with weights_only=False by default')
    _runner(tmp_path, 2, hook=False).train()
    res = subprocess.run(
        [sys.executable, '-c', WITHOUT, str(tmp_path / 'iter_2.pth')],
        capture_output=True,
        text=True,
        timeout=120)
    assert res.stdout.startswith('UnpicklingError'), res.stdout + res.stderr[-2000:]


DIST_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=sys.argv[2])
    import fashionpedia_plugin  # noqa: F401  (importing alone patches nothing)
    if sys.argv[1] == 'with':
        from fashionpedia_plugin.compat import patch_cpu_distributed
        patch_cpu_distributed()  # what tools/train.py does for --launcher pytorch
    from mmengine.dist import init_dist, get_world_size
    import torch.distributed as dist
    init_dist('pytorch', backend='nccl')
    print('backend', dist.get_backend(), 'world', get_world_size())
""")


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU-only launcher path')
@pytest.mark.parametrize('mode', ['with', 'without'])
def test_pytorch_launcher_on_cpu(mode, tmp_path):
    script = tmp_path / 'dist.py'
    script.write_text(DIST_SCRIPT)
    port = str(free_port())
    res = subprocess.run([sys.executable, str(script), mode, port],
                         capture_output=True,
                         text=True,
                         timeout=120)
    if mode == 'with':
        assert res.returncode == 0, res.stderr[-2000:]
        assert 'backend gloo world 1' in res.stdout
    else:  # mmengine's launcher calls torch.cuda.set_device on a CPU-only build
        assert res.returncode != 0


def test_numpy_float_alias_only_inside_context():
    assert 'float' not in np.__dict__
    with compat.numpy_float_alias():
        assert np.float is float
    assert 'float' not in np.__dict__


class IterScore(BaseMetric):
    """A validation score that grows with the iteration (every validation is a new best)."""

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        from mmengine.logging import MessageHub
        return dict(score=float(MessageHub.get_current_instance().get_info('iter')))


def _runner_with_best(work_dir, max_iters, load_from=None, hook=True):
    import fashionpedia_plugin  # noqa: F401  (registers the hooks)
    hooks = [dict(type='mmdet.WeightsOnlyCheckpointHook')]
    hooks += [dict(type='mmdet.CheckpointProvenanceHook')] if hook else []
    loader = dict(
        dataset=ToyDataset(),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        num_workers=0)
    return Runner(
        custom_hooks=hooks,
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler')),
        val_dataloader=loader,
        val_evaluator=Evaluator([IterScore()]),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                interval=2,
                by_epoch=False,
                save_best='score',
                rule='greater'),
            logger=dict(type='LoggerHook', interval=1)),
        resume=load_from is not None,
        load_from=load_from,
        randomness=dict(seed=0),
        # runners built in the same second would share the timestamp's message hub
        experiment_name=f'{work_dir}_{max_iters}_{hook}'.replace('/', '_'),
        default_scope='mmengine')


@pytest.mark.parametrize('hook', [False, True])
def test_resume_of_a_copied_work_dir_keeps_the_originals_best_checkpoint(tmp_path, hook):
    """Workaround 5: mmengine restores the absolute ``best_ckpt`` path with the message hub and
    removes that file at the next better score. Without CheckpointProvenanceHook the resumed
    copy deletes the *original* folder's best checkpoint; with it, its own copy's."""
    import shutil
    orig, copy = tmp_path / 'orig', tmp_path / 'copy'
    _runner_with_best(orig, 2).train()
    assert (orig / 'best_score_iter_2.pth').exists()
    shutil.copytree(orig, copy)
    _runner_with_best(copy, 4, load_from=str(copy / 'iter_2.pth'), hook=hook).train()
    assert (copy / 'best_score_iter_4.pth').exists()
    # the original run's best checkpoint: removed by the copy's resume without the hook
    assert (orig / 'best_score_iter_2.pth').exists() == hook
    assert (copy / 'best_score_iter_2.pth').exists() != hook
