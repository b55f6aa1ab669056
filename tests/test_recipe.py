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


def official_anchors(image_size, strides=(8, 16, 32, 64, 128), ratios=(1.0, 2.0, 0.5), size=3):
    """tensorflow/tpu models/official/detection/dataloader/anchor.py ``Anchor._generate_boxes``
    (num_scales 1), as ``(x1, y1, x2, y2)``: centres ``tf.range(stride / 2, image, stride)``."""
    boxes = []
    for stride in strides:
        c = torch.arange(stride / 2, image_size, stride, dtype=torch.float64)
        yv, xv = torch.meshgrid(c, c, indexing='ij')
        for r in ratios:
            hx, hy = size * stride * r**0.5 / 2, size * stride * r**-0.5 / 2
            boxes.append(torch.stack([xv - hx, yv - hy, xv + hx, yv + hy], -1).reshape(-1, 4))
    return torch.cat(boxes)


def _paper_anchors(cfg, image_size):
    from mmdet.registry import TASK_UTILS
    gen = TASK_UTILS.build(cfg.model.rpn_head.anchor_generator)
    sizes = [(image_size // s, image_size // s) for s in (8, 16, 32, 64, 128)]
    return gen.grid_priors(sizes, dtype=torch.float64, device='cpu')


def _same_boxes(a, b):
    """The two sets of boxes are equal (within 1e-3 px), in any order."""
    return len(a) == len(b) and bool((torch.cdist(a, b, p=float('inf')).min(1).values < 1e-3).all())


def test_anchors_are_the_official_ones():
    cfg = Config.fromfile(PAPER)
    assert _same_boxes(torch.cat(_paper_anchors(cfg, 256)), official_anchors(256))
    # mmdet's default centre offset 0 puts them half a stride up and left
    stock = dict(cfg.model.rpn_head.anchor_generator, center_offset=0.0)
    cfg.model.rpn_head.anchor_generator = stock
    assert not _same_boxes(torch.cat(_paper_anchors(cfg, 256)), official_anchors(256))


def official_rpn_matches(iou):
    """dataloader/anchor.py ``AnchorLabeler`` (``RpnAnchorLabeler``: 0.7 / 0.3): utils/
    object_detection/argmax_matcher.py ``ArgMaxMatcher`` with negatives_lower_than_unmatched and
    force_match_for_each_row. ``iou`` ``(G, A)`` -> per anchor the ground truth index, -1
    unmatched (negative), -2 ignored."""
    vals, matches = iou.max(0)
    matches = matches.clone()
    matches[vals < 0.3] = -1
    matches[(vals >= 0.3) & (vals < 0.7)] = -2
    # each ground truth's best anchor; tied anchors (a small box inside several) are taken as
    # torch's max takes them, since the frameworks order anchors differently
    force = iou.max(1).indices
    for g in reversed(range(iou.shape[0])):  # tf.argmax over the one-hot rows: the first wins
        matches[force[g]] = g
    return matches


def _sparse_gts(anchors, n, seed=0):
    """Copies of ``n`` P3 anchors at least 48 px apart (no anchor near two of them, so that
    argmax ties cannot differ between the frameworks) + one 6 x 6 px box (IoU < 0.3 with every
    anchor: only a forced match gives it a positive)."""
    g = torch.Generator().manual_seed(seed)
    p3 = anchors[0].reshape(-1, 3, 4)  # (locations, ratios, 4)
    side = int(round(p3.shape[0]**0.5))
    cells = [(y, x) for y in range(1, side - 1, 6) for x in range(1, side - 1, 6)]
    pick = torch.randperm(len(cells), generator=g)[:n]
    boxes = [
        p3[cells[i][0] * side + cells[i][1],
           int(torch.randint(3, (1, ), generator=g))] for i in pick.tolist()
    ]
    tiny = torch.tensor([20., 20., 26., 26.], dtype=anchors[0].dtype)
    return torch.stack(boxes + [tiny]).float()


def test_rpn_assigner_matches_the_official_labeler():
    from mmdet.registry import TASK_UTILS
    from mmdet.structures.bbox import bbox_overlaps
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(PAPER)
    anchors = _paper_anchors(cfg, 512)
    flat = torch.cat(anchors).float()
    gts = _sparse_gts(anchors, 40)
    gt = InstanceData(bboxes=gts, labels=torch.zeros(len(gts), dtype=torch.long))
    official = official_rpn_matches(bbox_overlaps(gts, flat))
    expect = torch.where(official >= 0, official + 1, torch.where(official == -1, 0, -1))
    result = TASK_UTILS.build(cfg.model.train_cfg.rpn.assigner).assign(
        InstanceData(priors=flat), gt)
    assert torch.equal(result.gt_inds, expect)
    assert (result.gt_inds == len(gts)).sum() == 1  # the 6 px box: its best anchor, forced
    # mmdet's stock RPN assigner (min_pos_iou 0.3) gives the small box no positive
    stock = TASK_UTILS.build(dict(cfg.model.train_cfg.rpn.assigner, min_pos_iou=0.3))
    assert (stock.assign(InstanceData(priors=flat), gt).gt_inds == len(gts)).sum() == 0


def _huber(x, delta):
    a = x.abs()
    return torch.where(a <= delta, 0.5 * x**2, delta * (a - 0.5 * delta))


def test_rpn_box_loss_regresses_every_matched_anchor_as_the_official_loss():
    """modeling/losses.py ``RpnBoxLoss``: per level the Huber loss (delta 1/9) over the
    coordinates whose target is non-zero / their number, levels summed, on the targets of
    every matched anchor (anchor.py: the box targets are not subsampled). 150 ground truths
    give over 128 matched anchors, more than mmdet's sampler keeps."""
    from mmdet.registry import MODELS
    from mmdet.structures.bbox import bbox_overlaps
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(PAPER)
    size = 768
    anchors = _paper_anchors(cfg, size)
    flat = torch.cat(anchors).float()
    gts = _sparse_gts(anchors, 150)
    head_cfg = dict(cfg.model.rpn_head, norm_cfg=dict(type='BN'), train_cfg=cfg.model.train_cfg.rpn)
    head = MODELS.build(head_cfg)
    torch.manual_seed(0)
    preds = [torch.randn(1, 12, size // s, size // s) * 0.1 for s in (8, 16, 32, 64, 128)]
    scores = [torch.randn(1, 3, size // s, size // s) for s in (8, 16, 32, 64, 128)]
    gt = InstanceData(bboxes=gts, labels=torch.zeros(len(gts), dtype=torch.long))
    meta = dict(img_shape=(size, size), pad_shape=(size, size), batch_input_shape=(size, size))
    losses = head.loss_by_feat(scores, preds, [gt], [meta])
    ours = sum(losses['loss_rpn_bbox'])

    matches = official_rpn_matches(bbox_overlaps(gts, flat))
    assert (matches >= 0).sum() > 128
    targets = head.bbox_coder.encode(flat, gts[matches.clamp(min=0)])
    targets[matches < 0] = 0
    expect, start = 0.0, 0
    for level, p in zip(anchors, preds):
        n = level.shape[0]
        t = targets[start:start + n]
        p = p.permute(0, 2, 3, 1).reshape(-1, 4)  # (H, W, 3 anchors x 4) as mmdet's priors
        mask = t != 0
        expect = expect + (_huber(p - t, 1 / 9) * mask).sum() / mask.sum().clamp(min=1)
        start += n
    assert float(ours) == pytest.approx(float(expect), rel=1e-4)
    sampled = MODELS.build(dict(head_cfg, box_loss_anchors='sampled'))
    sampled.load_state_dict(head.state_dict())
    other = sum(sampled.loss_by_feat(scores, preds, [gt], [meta])['loss_rpn_bbox'])
    assert float(other) != pytest.approx(float(expect), rel=1e-3)


def official_roi_align(feat, box, out):
    """ops/spatial_transform_ops.py ``compute_grid_positions`` (sample_offset 0.5) + the
    bilinear kernel, one level: ``feat`` ``(C, H, W)``, ``box`` ``(x1, y1, x2, y2)`` in this
    level's feature coordinates -> ``(C, out, out)``."""
    _, h, w = feat.shape
    x1, y1, x2, y2 = box
    ys = y1 + (torch.arange(out, dtype=torch.float64) + 0.5) * (y2 - y1) / out
    xs = x1 + (torch.arange(out, dtype=torch.float64) + 0.5) * (x2 - x1) / out
    y0, x0 = ys.floor().clamp(0, h - 1), xs.floor().clamp(0, w - 1)
    y1i, x1i = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    ly, lx = ys - y0, xs - x0
    f = feat.double()

    def at(yy, xx):
        return f[:, yy.long()][:, :, xx.long()]

    return ((1 - ly)[:, None] * (1 - lx)[None] * at(y0, x0) +
            (1 - ly)[:, None] * lx[None] * at(y0, x1i) + ly[:, None] *
            (1 - lx)[None] * at(y1i, x0) + ly[:, None] * lx[None] * at(y1i, x1i))


def test_roi_align_samples_as_the_official_op():
    from mmdet.registry import MODELS
    cfg = Config.fromfile(PAPER)
    torch.manual_seed(0)
    feats = [torch.randn(1, 256, 512 // s, 512 // s) for s in (8, 16, 32, 64, 128)]
    # sides 100 (P3) and 300 (P4), inside the image
    rois = torch.tensor([[0, 37.3, 61.9, 137.3, 161.9], [0, 101.1, 57.7, 401.1, 357.7]])
    for key, out in (('bbox_roi_extractor', 7), ('mask_roi_extractor', 14)):
        extractor = MODELS.build(cfg.model.roi_head[key])
        got = extractor(tuple(feats), rois)
        for roi, level, g in zip(rois, (0, 1), got):
            stride = 8 * 2**level
            want = official_roi_align(feats[level][0], (roi[1:] / stride).double().tolist(), out)
            assert torch.allclose(g.double(), want, atol=1e-5), key
        stock = MODELS.build(
            dict(
                cfg.model.roi_head[key],
                roi_layer=dict(type='RoIAlign', output_size=out, sampling_ratio=0)))
        assert not torch.allclose(stock(tuple(feats), rois), got, atol=1e-3)


def test_mask_targets_are_soft():
    """projects/fashionpedia/dataloader/data_parser.py + ops/target_ops.py: bilinear crops, no
    threshold; mmdet's mask_target with the paper's train_cfg keeps fractions at the edges."""
    import numpy as np
    from mmdet.structures.mask import BitmapMasks, mask_target
    cfg = Config.fromfile(PAPER)
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 10:41, 13:47] = 1
    proposals = torch.tensor([[11.3, 9.6, 45.2, 40.7]])
    soft = mask_target([proposals], [torch.tensor([0])], [BitmapMasks(mask, 64, 64)],
                       cfg.model.train_cfg.rcnn)
    assert ((soft > 0.01) & (soft < 0.99)).any()
    from mmengine.config import ConfigDict
    stock = ConfigDict(cfg.model.train_cfg.rcnn, soft_mask_target=False)
    hard = mask_target([proposals], [torch.tensor([0])], [BitmapMasks(mask, 64, 64)], stock)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
