"""ValLossHook: validation losses are logged, ground truth moves to the input frame."""
import os.path as osp

import numpy as np
import pytest
from conftest import DEMO_CONFIG

NO_ATTR_DEMO = osp.join(
    osp.dirname(DEMO_CONFIG), 'mask-rcnn_r18_fpn_demo-520it_synthetic-fashionpedia.py')


@pytest.mark.parametrize(
    'config, attr', [(DEMO_CONFIG, True), (NO_ATTR_DEMO, False)], ids=['demo', 'no-attr-twin'])
def test_val_loss_hook_logs_losses(tmp_path, synthetic_root, config, attr):
    """Both demo configs log validation losses, so their curves compare side by side."""
    from conftest import tiny_cfg_options

    from fashionpedia_plugin.toolkit.launch import build_train_runner
    runner = build_train_runner([
        config, '--work-dir',
        str(tmp_path), '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path))
    ])
    runner.train()
    hub = runner.message_hub
    assert ('val/val_loss_attr' in hub.log_scalars) == attr
    for key in ('val/val_loss', 'val/val_loss_mask', 'val/val_loss_cls'):
        assert key in hub.log_scalars, key
        assert np.isfinite(hub.get_scalar(key).current())


def test_val_loss_ground_truth_moves_to_the_input_frame():
    """Test pipelines load annotations after Resize (original frame); losses need the resized
    frame: boxes scale with scale_factor, masks take img_shape."""
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.bbox import HorizontalBoxes
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    from fashionpedia_plugin.engine.hooks.val_loss_hook import ValLossHook
    s = DetDataSample(
        metainfo=dict(scale_factor=(0.5, 0.25), img_shape=(100, 200), ori_shape=(400, 400)))
    gt = InstanceData()
    gt.bboxes = HorizontalBoxes(torch.tensor([[40., 40., 200., 400.]]))
    m = np.zeros((1, 400, 400), np.uint8)
    m[0, 40:400, 40:200] = 1
    gt.masks = BitmapMasks(m, 400, 400)
    s.gt_instances = gt
    out = ValLossHook._to_input_frame([s])[0]
    assert out.gt_instances.bboxes.tensor.tolist() == [[20., 10., 100., 100.]]
    assert out.gt_instances.masks.masks.shape == (1, 100, 200)
    ys, xs = np.nonzero(out.gt_instances.masks.masks[0])
    assert abs(xs.min() - 20) <= 1 and abs(ys.min() - 10) <= 1
    assert s.gt_instances.bboxes.tensor.tolist() == [[40., 40., 200., 400.]]  # input untouched
