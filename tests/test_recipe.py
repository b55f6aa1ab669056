"""The paper configs follow the official network recipe where it is checkable on CPU: RoI level
mapping, FPN levels and anchors, weight decay scope."""
import math
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config

PAPER = osp.join(REPO, 'configs', 'attr-mask-rcnn', 'attr-mask-rcnn_r50_fpn_lsj-1x_fashionpedia.py')


def official_level(side):
    """tensorflow/tpu models/official/detection/ops/spatial_transform_ops.py:
    floor(log2(sqrt(area) / 224)) + 4, clipped to [min_level 3, max_level 7]."""
    return min(7, max(3, int(math.floor(math.log2(side / 224.0))) + 4))


@pytest.mark.parametrize('side', [100, 223, 225, 447, 449, 900, 2000])
def test_roi_level_mapping_matches_the_official_formula(side):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(PAPER)
    for key in ('bbox_roi_extractor', 'mask_roi_extractor'):
        extractor = MODELS.build(cfg.model.roi_head[key])
        strides = cfg.model.roi_head[key].featmap_strides
        rois = torch.tensor([[0, 10, 10, 10 + side, 10 + side]], dtype=torch.float32)
        level = int(extractor.map_roi_levels(rois, len(strides))[0])
        assert math.log2(strides[level]) == official_level(side), (key, side)


def test_fpn_levels_and_anchor_sizes():
    from mmdet.registry import MODELS, TASK_UTILS
    cfg = Config.fromfile(PAPER)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    feats = model.extract_feat(torch.zeros(1, 3, 256, 256))
    assert [256 // f.shape[-1] for f in feats] == [8, 16, 32, 64, 128]  # P3-P7
    anchors = TASK_UTILS.build(cfg.model.rpn_head.anchor_generator)
    for stride, base in zip(anchors.strides, anchors.gen_base_anchors()):
        square = base[1]  # ratio 1
        assert float(square[2] - square[0]) == pytest.approx(3 * stride[0])  # anchor_size 3


def test_weight_decay_only_on_kernels():
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(PAPER)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.norm_cfg = cfg.model.neck.norm_cfg = dict(type='BN', requires_grad=True)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups for p in g['params']}
    norms = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.GroupNorm, torch.nn.LayerNorm)
    checked = 0
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            expect = 0.0 if isinstance(module, norms) or name == 'bias' else 4e-5
            assert decay[id(p)] == expect, (type(module).__name__, name)
            checked += 1
    assert checked > 200  # every parameter of R50 + FPN + heads
