"""Each workaround in fashionpedia_plugin/compat.py, tested with and without it."""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

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


def _runner(work_dir, max_iters, resume=False):
    return Runner(
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


@pytest.fixture
def unpatched_loaders():
    """CheckpointLoader with mmengine's own loaders (the compat layer switched off)."""
    saved = dict(CheckpointLoader._schemes)
    CheckpointLoader._schemes.update({
        k: getattr(v, '__wrapped__', v)
        for k, v in CheckpointLoader._schemes.items()
    })
    yield
    CheckpointLoader._schemes.clear()
    CheckpointLoader._schemes.update(saved)


def test_resume_from_runner_checkpoint(tmp_path):
    _runner(tmp_path, 2).train()
    assert (tmp_path / 'iter_2.pth').exists()
    runner = _runner(tmp_path, 4, resume=True)
    runner.train()
    assert runner.iter == 4
    assert runner.message_hub.get_info('iter') is not None


def test_resume_fails_without_compat(tmp_path, unpatched_loaders):
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) < (2, 6):
        pytest.skip('torch < 2.6 loads with weights_only=False by default')
    _runner(tmp_path, 2).train()
    with pytest.raises(pickle.UnpicklingError, match='[Ww]eights only load failed'):
        _runner(tmp_path, 4, resume=True).train()


def test_strict_mode_env_keeps_torch_default(tmp_path, monkeypatch):
    if tuple(int(v) for v in torch.__version__.split('.')[:2]) < (2, 6):
        pytest.skip('torch < 2.6 has no strict default to keep')
    _runner(tmp_path, 2).train()
    monkeypatch.setenv('FP_CHECKPOINT_WEIGHTS_ONLY', '1')
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'iter_2.pth'))


DIST_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=sys.argv[2])
    if sys.argv[1] == 'with':
        import fashionpedia_plugin  # noqa: F401  (applies compat)
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
    port = str(29600 + (os.getpid() % 200) + (mode == 'with'))
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
