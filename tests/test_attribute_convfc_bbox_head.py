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


# Two images with known ground truths and proposals. Boxes (x1, y1, x2, y2) -> (index of the
# highest-IoU ground truth or None, IoU with it): the expected assignment, worked out by hand.
TWO_IMAGES = [
    dict(
        shape=(64, 128),
        gt_bboxes=[[0, 0, 20, 20], [30, 0, 50, 20]],
        gt_attrs=[[1, 4], [2, 200]],
        proposals={
            (0, 0, 20, 18): (0, 0.9),  # positive
            (12, 0, 40, 20): (1, 200 / 760),  # negative; IoU 0.2 with gt 0, 0.26 with gt 1
            (100, 40, 120, 60): (None, 0.0),  # overlaps nothing
            (31, 0, 50, 20): (1, 0.95),  # positive
            (0, 0, 30, 20): (0, 400 / 600),  # positive
            (0, 0, 10, 10): (0, 0.25),  # negative
        }),
    dict(
        shape=(240, 240),
        gt_bboxes=[[10, 10, 40, 40], [60, 60, 80, 80], [0, 50, 20, 70]],
        gt_attrs=[[0, 293], [], [100]],  # gt 1 carries no attribute
        proposals={
            (10, 10, 40, 38): (0, 840 / 900),  # positive
            (60, 60, 80, 78): (1, 0.9),  # positive of an attribute-less gt: zeros either way
            (0, 55, 20, 70): (2, 0.75),  # positive
            (0, 30, 25, 60): (2, 200 / 950),  # negative; IoU 0.1 with gt 0, 0.21 with gt 2
            (200, 200, 220, 220): (None, 0.0),  # overlaps nothing
            (40, 10, 60, 40): (None, 0.0),  # touches gt 0 along an edge: IoU 0
        }),
]


def two_image_sampling():
    """The two images through the demo config's real RCNN assigner and sampler
    (``MaxIoUAssigner`` 0.5/0.5, ``RandomSampler`` adding the ground truths as proposals): the
    sampling results, the ground truths (``InstanceData``) and, per image, the expected
    ground-truth index of each sampled RoI (row order of ``bbox2roi``: positives, negatives)."""
    from conftest import DEMO_CONFIG
    from mmdet.registry import TASK_UTILS
    from mmdet.structures.bbox import bbox_overlaps
    from mmengine.config import Config
    from mmengine.structures import InstanceData
    rcnn = Config.fromfile(DEMO_CONFIG).model.train_cfg.rcnn
    assigner, sampler = TASK_UTILS.build(rcnn.assigner), TASK_UTILS.build(rcnn.sampler)
    assert sampler.num >= 2 * 9 and sampler.add_gt_as_proposals  # every RoI is sampled
    torch.manual_seed(0)
    results, gts, expected = [], [], []
    for img in TWO_IMAGES:
        gt = InstanceData(metainfo=dict(img_shape=img['shape']))
        gt.bboxes = torch.tensor(img['gt_bboxes'], dtype=torch.float32)
        gt.labels = torch.arange(len(gt.bboxes))
        gt.attributes = torch.zeros(len(gt.bboxes), 294)
        for i, ids in enumerate(img['gt_attrs']):
            gt.attributes[i, ids] = 1
        # known IoUs, checked against mmdet's: the table above is what the targets follow
        props = torch.tensor(list(img['proposals']), dtype=torch.float32)
        max_iou, argmax = bbox_overlaps(props, gt.bboxes).max(1)
        for (box, (g, iou)), m, a in zip(img['proposals'].items(), max_iou, argmax):
            assert float(m) == pytest.approx(iou, abs=1e-6), box
            assert g is None or int(a) == g, box
        pred = InstanceData(priors=props)
        res = sampler.sample(assigner.assign(pred, gt), pred, gt)
        owner = {tuple(b): g for b, (g, _) in img['proposals'].items()}
        owner.update({tuple(b): i for i, b in enumerate(img['gt_bboxes'])})  # gts as proposals
        expected.append([owner[tuple(int(v) for v in b.tolist())] for b in res.priors])
        results.append(res)
        gts.append(gt)
    return results, gts, expected


def test_two_image_batch_attribute_targets_have_known_rows():
    results, gts, expected = two_image_sampling()
    # the assignment itself: positives = the ground truths (as proposals) + the 0.5+ RoIs
    assert [(len(r.pos_inds), len(r.neg_inds)) for r in results] == [(5, 3), (6, 3)]
    for res, exp in zip(results, expected):
        num_pos = len(res.pos_inds)
        assert res.pos_assigned_gt_inds.tolist() == exp[:num_pos]  # highest-IoU gt
    n0, n1 = len(expected[0]), len(expected[1])

    def row_of(img, g):
        return gts[img].attributes[g] if g is not None else torch.zeros(294)

    head = small_head(attr_target='official')
    rows, targets = head.attr_targets(results, gts)
    assert rows.tolist() == list(range(n0 + n1))
    want = torch.stack([row_of(0, g) for g in expected[0]] + [row_of(1, g) for g in expected[1]])
    assert torch.equal(targets, want)
    # spelled out: the official ids of each row, image 0's rows first, then image 1's
    ids = [torch.nonzero(t).flatten().tolist() for t in targets]
    attrs = [img['gt_attrs'] for img in TWO_IMAGES]
    assert ids == [attrs[0][g] if g is not None else [] for g in expected[0]] + \
        [attrs[1][g] if g is not None else [] for g in expected[1]]
    # zeros: the IoU-0 RoIs (1 + 2) and, in image 1, gt 1 (as a proposal) and its positive
    assert ids.count([]) == 1 + 2 + 2
    assert [2, 200] in ids[:n0] and [2, 200] not in ids[n0:]  # no row crossed images
    assert [0, 293] in ids[n0:] and [0, 293] not in ids[:n0]
    # an overlapping negative keeps its highest-IoU gt's attributes (gt 1, not gt 0; gt 2 not 0)
    neg0 = [results[0].neg_priors[k].tolist() for k in range(3)]
    assert ids[5 + neg0.index([12, 0, 40, 20])] == [2, 200]
    neg1 = [results[1].neg_priors[k].tolist() for k in range(3)]
    assert ids[n0 + 6 + neg1.index([0, 30, 25, 60])] == [100]

    # 'positive': the same rows of the positives only, their places in the (n0 + n1) scores
    head = small_head(attr_target='positive')
    rows, targets = head.attr_targets(results, gts)
    assert rows.tolist() == list(range(5)) + list(range(n0, n0 + 6))
    assert torch.equal(targets, want[rows])

    # and the official loss over the two images: the mean over (n0 + n1) x 294 entries
    torch.manual_seed(1)
    logits = torch.randn(n0 + n1, 294) * 2
    loss = small_head(attr_target='official').attr_loss(logits, results, gts)['loss_attr']
    assert float(loss) == pytest.approx(bce_by_hand(logits, want).mean(), rel=1e-5)
