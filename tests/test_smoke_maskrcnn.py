"""Foundation smoke test: stock mmdet Mask R-CNN R50-FPN, built from mmdet's own config, one
forward + backward on a tiny CPU batch with real mmcv ops (RoIAlign, nms), finite losses."""
import os.path as osp

import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData


def test_stock_mask_rcnn_forward_backward():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    import mmdet
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmdet.__file__), '.mim', 'configs', 'mask_rcnn',
            'mask-rcnn_r50_fpn_1x_coco.py'))
    cfg.model.backbone.init_cfg = None  # no pretrained weights (no downloads)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    torch.manual_seed(0)
    h, w = 128, 160
    samples = []
    for _ in range(2):
        s = DetDataSample(
            metainfo=dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1.0, 1.0)))
        gt = InstanceData()
        gt.bboxes = torch.tensor([[10., 20., 80., 100.], [60., 10., 150., 60.]])
        gt.labels = torch.tensor([0, 5])
        masks = torch.zeros(2, h, w, dtype=torch.uint8)
        masks[0, 20:100, 10:80] = 1
        masks[1, 10:60, 60:150] = 1
        gt.masks = BitmapMasks(masks.numpy(), h, w)
        s.gt_instances = gt
        samples.append(s)
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 255, (3, h, w), dtype=torch.uint8) for _ in range(2)],
            data_samples=samples),
        training=True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
