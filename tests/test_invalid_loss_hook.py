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
