"""RNGStateHook: a run killed with SIGKILL and resumed matches an uninterrupted one."""
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import DETERMINISTIC, REPO, TOOLS, derived_config, run, tiny_cfg_options


@pytest.mark.slow
@pytest.mark.parametrize('rng_hook', [True, False])
def test_kill_and_resume_matches_uninterrupted_run(synthetic_root, tmp_path, rng_hook):
    body = DETERMINISTIC if rng_hook else DETERMINISTIC.replace(", dict(type='RNGStateHook')", '')
    cfg = derived_config(tmp_path, body)
    opts = tiny_cfg_options(synthetic_root, str(tmp_path), max_iters=6)
    opts = [o for o in opts if not o.startswith(('train_cfg.val_interval', 'default_hooks.ch'))]
    opts += [
        'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
        'default_hooks.checkpoint.max_keep_ckpts=10', 'default_hooks.checkpoint.save_best=None'
    ]
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(full), '--cfg-options', *opts
    ])
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
    res = run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(killed), '--resume', '--cfg-options', *opts
    ])
    assert 'resumed epoch: 0, iter: ' in res.stdout + res.stderr
    a = torch.load(full / 'iter_6.pth', map_location='cpu', weights_only=False)
    b = torch.load(killed / 'iter_6.pth', map_location='cpu', weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 6, resumed_from
    worst = max(
        float((a['state_dict'][k].float() - b['state_dict'][k].float()).abs().max())
        for k in a['state_dict'])
    if not rng_hook:  # without the RNG states, RoI sampling after the resume differs
        assert worst > 1e-5, 'RNGStateHook would not be needed'
        return
    assert worst < 1e-5, f'resumed from {resumed_from}: max |diff| {worst}'
    lr_a = a['param_schedulers'][-1]['last_step']
    lr_b = b['param_schedulers'][-1]['last_step']
    assert lr_a == lr_b == 6
