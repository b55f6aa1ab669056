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


def official_roi_label(iou):
    """tensorflow/tpu models/official/detection/projects/fashionpedia/ops/roi_sampler.py
    (assign_and_sample_proposals): positive if IoU > fg_iou_thresh 0.5, negative if
    0 <= IoU < bg_iou_thresh_hi 0.5, otherwise never sampled; as MaxIoUAssigner's labels
    (1 = the ground truth, 0 = background, -1 = ignored)."""
    return 1 if iou > 0.5 else 0 if 0 <= iou < 0.5 else -1


def test_rcnn_assigner_labels_as_the_official_sampler_at_the_boundary():
    from mmdet.registry import TASK_UTILS
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(PAPER)
    assigner = TASK_UTILS.build(cfg.model.train_cfg.rcnn.assigner)
    gt = torch.tensor([[0., 0., 100., 100.]])
    # widths 50 (IoU exactly 0.5), 50.01 (just above), 49.99 (just below), a box far away (0)
    widths = [50., 50.01, 49.99, 70., 30.]
    boxes = torch.tensor([[0., 0., w, 100.] for w in widths] + [[200., 200., 300., 300.]])
    result = assigner.assign(
        InstanceData(priors=boxes), InstanceData(bboxes=gt, labels=torch.tensor([3])))
    ious = [w / 100 for w in widths] + [0.0]
    assert ious[0] == 0.5 and float(torch.tensor(ious[0])) == 0.5
    assert result.gt_inds.tolist() == [official_roi_label(iou) for iou in ious], ious
    # the stock mmdet threshold (>= 0.5) would take the IoU-0.5 RoI as foreground
    stock = TASK_UTILS.build(dict(cfg.model.train_cfg.rcnn.assigner, pos_iou_thr=0.5))
    assert stock.assign(
        InstanceData(priors=boxes), InstanceData(bboxes=gt,
                                                 labels=torch.tensor([3]))).gt_inds[0] == 1
