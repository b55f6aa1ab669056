"""RNGStateHook: a run killed with SIGKILL and resumed matches an uninterrupted one."""
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import DETERMINISTIC, REPO, TOOLS, derived_config, run, tiny_cfg_options

NO_HOOK = DETERMINISTIC.replace(", dict(type='RNGStateHook')", '')


def _opts(synthetic_root, work):
    opts = tiny_cfg_options(synthetic_root, work, max_iters=6)
    opts = [o for o in opts if not o.startswith(('train_cfg.val_interval', 'default_hooks.ch'))]
    return opts + [
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10', 'default_hooks.checkpoint.save_best=None'
    ]


def _train(cfg, work, opts, *extra):
    return run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(work), *extra, '--cfg-options', *opts
    ])


def _worst_diff(a, b):
    return max(
        float((a['state_dict'][k].float() - b['state_dict'][k].float()).abs().max())
        for k in a['state_dict'])


@pytest.fixture(scope='module')
def uninterrupted(synthetic_root, tmp_path_factory):
    """6 iterations with the hook, checkpoints every 2: the reference of both tests."""
    tmp = tmp_path_factory.mktemp('rng')
    cfg = derived_config(tmp, DETERMINISTIC)
    full = tmp / 'full'
    _train(cfg, full, _opts(synthetic_root, str(tmp)))
    return full, torch.load(full / 'iter_6.pth', map_location='cpu', weights_only=False)


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted_run(synthetic_root, tmp_path, uninterrupted):
    full, a = uninterrupted
    cfg = derived_config(tmp_path, DETERMINISTIC)
    opts = _opts(synthetic_root, str(tmp_path))
    killed = tmp_path / 'killed'
    proc = subprocess.Popen([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(killed), '--cfg-options', *opts
    ],
                            cwd=REPO,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    last = killed / 'last_checkpoint'
    while time.time() < deadline and proc.poll() is None:
        if last.exists() and 'iter_' in last.read_text():
            break
        time.sleep(0.2)
    assert proc.poll() is None, 'training finished before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed_from = last.read_text().strip()
    assert not (killed / 'iter_6.pth').exists()
    res = _train(cfg, killed, opts, '--resume')
    assert 'resumed epoch: 0, iter: ' in res.stdout + res.stderr
    b = torch.load(killed / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 6, resumed_from
    worst = _worst_diff(a, b)
    assert worst < 1e-5, f'resumed from {resumed_from}: max |diff| {worst}'
    lr_a = a['param_schedulers'][-1]['last_step']
    lr_b = b['param_schedulers'][-1]['last_step']
    assert lr_a == lr_b == 6


@pytest.mark.slow
def test_without_the_hook_a_resumed_run_differs(synthetic_root, tmp_path, uninterrupted):
    """The same resume (from the reference's iteration-2 checkpoint, as a run without the hook
    writes it: no RNG states) with only the hook taken out of the config: RoI sampling after
    the resume differs, so the weights do (the hook is needed)."""
    full, a = uninterrupted
    cfg = derived_config(tmp_path, NO_HOOK)
    work = tmp_path / 'resumed'
    work.mkdir()
    ckpt = torch.load(full / 'iter_2.pth', map_location='cpu', weights_only=False)
    assert ckpt.pop('rng_state', None) is not None  # the reference's hook wrote it
    torch.save(ckpt, work / 'iter_2.pth')
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    res = _train(cfg, work, _opts(synthetic_root, str(tmp_path)), '--resume')
    assert 'resumed epoch: 0, iter: 2' in res.stdout + res.stderr
    b = torch.load(work / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert b['meta']['iter'] == 6
    assert _worst_diff(a, b) > 1e-5, 'RNGStateHook would not be needed'
