"""AttributeConvFCBBoxHead: shapes, bias prior, attribute scores through NMS, attribute
targets and loss (official and positive)."""
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict


def small_head(**kw):
    from mmdet.registry import MODELS
    head = MODELS.build(
        dict(
            type='AttributeConvFCBBoxHead',
            num_shared_fcs=1,
            in_channels=4,
            fc_out_channels=16,
            roi_feat_size=2,
            num_classes=3,
            reg_class_agnostic=False,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0.] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
            **kw))
    head.init_weights()
    return head


def test_attribute_bias_prior_and_shapes():
    head = small_head()
    assert torch.allclose(head.fc_attr.bias, torch.full((294, ), -np.log(293.0)))
    cls, reg, attr = head(torch.randn(5, 4, 2, 2))
    assert cls.shape == (5, 4) and reg.shape == (5, 12) and attr.shape == (5, 294)
    # at init every attribute sigmoid is ~ the prior 1/294
    assert torch.allclose(attr.sigmoid().mean(), torch.tensor(1 / 294), rtol=0.2)


def test_attributes_follow_detections_through_nms():
    head = small_head()
    torch.manual_seed(0)
    n = 6  # disjoint RoIs, each scoring high in two classes -> more detections than RoIs
    rois = torch.tensor([[0, 40. * i, 0, 40. * i + 30, 30] for i in range(n)])
    cls = torch.full((n, 4), -5.0)
    for i in range(n):
        cls[i, i % 3] = 3.0
        cls[i, (i + 1) % 3] = 2.5
    attr = torch.randn(n, 294) * 3
    res = head._predict_with_attributes(
        rois, cls, torch.zeros(n, 12), dict(img_shape=(100, 400)), False,
        ConfigDict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100), attr)
    assert len(res) > n
    assert len(res.attr_scores) == len(res) and 'attribute_ids' not in res  # the decoder's job
    for k in range(len(res)):
        row = int(torch.nonzero((rois[:, 1:] - res.bboxes[k]).abs().sum(1) < 1e-3)[0])
        assert torch.allclose(res.attr_scores[k], attr[row].sigmoid())


def assignment(num_gts=2):
    """A hand-built sampling of 3 RoIs of one image against 2 ground truths:
    RoI 0 = gt 0 (positive), RoI 1 overlaps gt 0 at IoU 1/3 (negative), RoI 2 overlaps nothing."""
    from mmdet.models.task_modules import AssignResult, SamplingResult
    from mmengine.structures import InstanceData
    gt = InstanceData()
    gt.bboxes = torch.tensor([[0., 0., 10., 10.], [100., 100., 110., 110.]])[:num_gts]
    gt.labels = torch.tensor([1, 2])[:num_gts]
    attrs = torch.zeros(2, 294)
    attrs[0, [0, 5, 290]] = 1
    attrs[1, 7] = 1
    gt.attributes = attrs[:num_gts]
    priors = torch.tensor([[0., 0., 10., 10.], [5., 0., 15., 10.], [50., 50., 60., 60.]])
    if num_gts == 0:
        priors = priors[1:]
    gt_inds = torch.tensor([1, 0, 0]) if num_gts else torch.tensor([0, 0])
    assign = AssignResult(num_gts, gt_inds, torch.zeros(len(gt_inds)),
                          torch.where(gt_inds > 0, 1, -1))
    pos = torch.nonzero(gt_inds > 0).flatten()
    neg = torch.nonzero(gt_inds == 0).flatten()
    res = SamplingResult(pos, neg, priors, gt.bboxes, assign,
                         torch.zeros(len(priors), dtype=torch.uint8))
    return res, gt


def bce_by_hand(x, t):
    """Elementwise sigmoid cross-entropy, written out: log(1 + e^x) - x t."""
    x, t = x.double().numpy(), t.double().numpy()
    return np.log1p(np.exp(x)) - x * t


def test_official_target_keeps_attributes_of_overlapping_negatives():
    head = small_head(attr_target='official')
    res, gt = assignment()
    rows, targets = head.attr_targets([res], [gt])
    assert rows.tolist() == [0, 1, 2]
    assert torch.equal(targets[0], gt.attributes[0])  # positive: its ground truth
    assert torch.equal(targets[1], gt.attributes[0])  # negative at IoU 1/3: still gt 0's
    assert targets[2].sum() == 0  # IoU 0: zeros


def test_official_loss_is_the_mean_over_rois_and_attributes():
    head = small_head(attr_target='official')
    res, gt = assignment()
    torch.manual_seed(0)
    logits = torch.randn(3, 294) * 2
    loss = head.attr_loss(logits, [res], [gt])['loss_attr']
    t = torch.stack([gt.attributes[0], gt.attributes[0], torch.zeros(294)])
    expect = bce_by_hand(logits, t).mean()  # over 3 x 294 entries
    assert float(loss) == pytest.approx(expect, rel=1e-5)


def test_positive_loss_is_summed_over_attributes_on_positives_only():
    head = small_head(attr_target='positive')
    res, gt = assignment()
    torch.manual_seed(0)
    logits = torch.randn(3, 294) * 2
    rows, _ = head.attr_targets([res], [gt])
    assert rows.tolist() == [0]
    loss = head.attr_loss(logits, [res], [gt])['loss_attr']
    expect = bce_by_hand(logits[:1], gt.attributes[:1]).sum()  # one positive RoI
    assert float(loss) == pytest.approx(expect, rel=1e-5)


def test_official_loss_without_ground_truth_is_all_zero_targets():
    head = small_head(attr_target='official')
    res, gt = assignment(num_gts=0)
    logits = torch.randn(2, 294)
    loss = head.attr_loss(logits, [res], [gt])['loss_attr']
    assert float(loss) == pytest.approx(bce_by_hand(logits, torch.zeros(2, 294)).mean(), rel=1e-5)
    head = small_head(attr_target='positive')
    assert float(head.attr_loss(logits, [res], [gt])['loss_attr']) == 0.0


def test_unknown_target_mode_is_rejected():
    with pytest.raises(ValueError, match="attr_target must be one of"):
        small_head(attr_target='all')
