"""InvalidLossHook: a NaN loss stops the run naming the iteration."""
import os.path as osp
import sys

from conftest import DETERMINISTIC, TOOLS, derived_config, run, tiny_cfg_options


def test_nan_loss_stops_with_iteration(synthetic_root, tmp_path):
    cfg = derived_config(
        tmp_path, DETERMINISTIC + """
model = dict(roi_head=dict(bbox_head=dict(loss_attr=dict(loss_weight=float('nan')))))
""")
    res = run([
        sys.executable,
        osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
        str(tmp_path), '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path))
    ],
              check=False)
    assert res.returncode == 2
    assert 'error: non-finite loss at iteration 1' in res.stderr and 'loss_attr=nan' in res.stderr
    assert 'Traceback' not in res.stderr


def test_hook_checks_all_terms_at_once():
    import pytest
    import torch

    from fashionpedia_plugin.engine.hooks import InvalidLossError, InvalidLossHook

    class Runner:
        iter, epoch, work_dir = 4, 0, 'work_dirs/x'

    hook = InvalidLossHook()
    ok = dict(loss_cls=torch.tensor(0.5), loss_bbox=torch.tensor([0.1]), loss=1.0, acc=float('nan'))
    hook.after_train_iter(Runner(), 0, outputs=ok)  # 'acc' is not a loss
    for bad in (dict(ok, loss_bbox=torch.tensor([float('inf')])), dict(ok, loss=float('nan'))):
        with pytest.raises(InvalidLossError, match='non-finite loss at iteration 5'):
            hook.after_train_iter(Runner(), 0, outputs=bad)
