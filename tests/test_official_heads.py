"""The official network pieces (tensorflow/tpu models/official/detection/): loss normalisations
against the official formulas, and where the BNs sit."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData


def huber(x, delta):
    """tf.losses.huber_loss per element: 0.5 x^2 inside delta, delta (|x| - delta / 2) outside."""
    a = x.abs()
    return torch.where(a <= delta, 0.5 * x**2, delta * (a - 0.5 * delta))


def sum_by_nonzero_weights(loss, weights):
    """tf.losses Reduction.SUM_BY_NONZERO_WEIGHTS (0 when no weight is non-zero)."""
    n = (weights != 0).sum()
    return (loss * weights).sum() / n if n else loss.sum() * 0


def _rpn(box_loss_norm='nonzero_per_level', norm_cfg=None):
    from mmdet.registry import MODELS
    return MODELS.build(
        dict(
            type='OfficialRPNHead',
            in_channels=8,
            feat_channels=8,
            norm_cfg=norm_cfg,
            box_loss_norm=box_loss_norm,
            anchor_generator=dict(
                type='AnchorGenerator', scales=[3], ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1 / 9),
            train_cfg=dict(
                assigner=dict(
                    type='MaxIoUAssigner',
                    pos_iou_thr=0.7,
                    neg_iou_thr=0.3,
                    min_pos_iou=0.3,
                    match_low_quality=True,
                    ignore_iof_thr=-1),
                sampler=dict(
                    type='RandomSampler',
                    num=256,
                    pos_fraction=0.5,
                    neg_pos_ub=-1,
                    add_gt_as_proposals=False),
                allowed_border=-1,
                pos_weight=-1,
                debug=False)))


def _rpn_case():
    torch.manual_seed(0)
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 8, 8, 8)]  # strides 8, 16 of 128 px
    metas = [dict(img_shape=(128, 128), pad_shape=(128, 128))] * 2
    gts = [
        InstanceData(
            bboxes=torch.tensor([[8., 8., 40., 72.], [60., 20., 124., 90.]]),
            labels=torch.zeros(2, dtype=torch.long)),
        InstanceData(
            bboxes=torch.tensor([[16., 16., 48., 48.]]), labels=torch.zeros(1, dtype=torch.long)),
    ]
    return feats, metas, gts


def test_rpn_box_loss_is_the_official_per_level_formula():
    head = _rpn()
    feats, metas, gts = _rpn_case()
    cls_scores, bbox_preds = head(feats)
    torch.manual_seed(1)  # the sampler draws: same targets in the loss and in the formula
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)
    torch.manual_seed(1)
    anchors, valid = head.get_anchors([f.shape[-2:] for f in cls_scores], metas, device='cpu')
    _, _, targets, weights, _ = head.get_targets(anchors, valid, gts, metas)
    expected = []
    for pred, t, w in zip(bbox_preds, targets, weights):
        pred = pred.permute(0, 2, 3, 1).reshape(-1, 4)
        t, w = t.reshape(-1, 4), w.reshape(-1, 4)
        mask = (t != 0).float() * w  # official: box_targets != 0 (negatives have 0 targets)
        expected.append(sum_by_nonzero_weights(huber(pred - t, 1 / 9), mask))
    assert all(int((t != 0).sum()) > 0 for t in targets)  # both levels have positives
    for got, want in zip(losses['loss_rpn_bbox'], expected):
        assert float(got.detach()) == pytest.approx(float(want.detach()), rel=1e-5)
    # mmdet's normalisation is another scale: sum over levels / all sampled anchors
    head.box_loss_norm = 'mmdet'
    torch.manual_seed(1)
    mmdet = head.loss_by_feat(cls_scores, bbox_preds, gts, metas)['loss_rpn_bbox']
    assert float(sum(mmdet)) < 0.5 * float(sum(losses['loss_rpn_bbox']))


def _plugin_syncs(recorder):
    return {k: n for k, n in recorder.counts.items() if k[1].startswith('fashionpedia_plugin/')}


def test_rpn_targets_skip_the_inside_mask_when_the_pad_is_the_batch():
    """With every image padded to the batch's shape (LSJ) the inside mask is all True: the
    targets are mmdet's masked path's, bit for bit, without its host-device syncs."""
    from fashionpedia_plugin.toolkit.step_profile import SyncRecorder
    head = _rpn()
    feats, metas, gts = _rpn_case()
    metas = [dict(m, batch_input_shape=(128, 128)) for m in metas]
    anchors, valid = head.get_anchors([f.shape[-2:] for f in feats], metas, device='cpu')
    assert all(bool(flags.all()) for image in valid for flags in image)
    assert all(head._every_anchor_inside(m, sum(a.size(0) for a in anchors[0])) for m in metas)
    torch.manual_seed(1)  # the sampler draws the same anchors on both paths
    with SyncRecorder() as fast_syncs:
        fast = head.get_targets(anchors, valid, gts, metas)
    head._every_anchor_inside = lambda meta, n: False  # mmdet's mask, indexing and unmap
    torch.manual_seed(1)
    with SyncRecorder() as masked_syncs:
        masked = head.get_targets(anchors, valid, gts, metas)
    assert not _plugin_syncs(fast_syncs)
    assert sum(_plugin_syncs(masked_syncs).values()) >= 2  # at least one per image
    for got, want in zip(fast[:4], masked[:4]):
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    assert float(fast[4]) == float(masked[4])


def test_rpn_targets_mask_the_anchors_past_a_smaller_pad():
    """An image padded smaller than the batch (no LSJ): the anchors past its pad are invalid,
    mmdet's mask applies and none of them gets a target."""
    head = _rpn()
    feats, metas, gts = _rpn_case()
    metas = [dict(img_shape=(96, 96), pad_shape=(96, 96), batch_input_shape=(128, 128))] * 2
    anchors, valid = head.get_anchors([f.shape[-2:] for f in feats], metas, device='cpu')
    assert not head._every_anchor_inside(metas[0], sum(a.size(0) for a in anchors[0]))
    labels, label_weights, _, box_weights, _ = head.get_targets(anchors, valid, gts, metas)[:5]
    for level_valid, lw, bw in zip(valid[0], label_weights, box_weights):
        invalid = ~level_valid
        assert invalid.any()
        assert not lw[0][invalid].any() and not bw[0][invalid].any()


def test_rpn_targets_mask_a_level_larger_than_its_pad():
    """The pad is the batch, but a level's map is one row and column larger than
    ``ceil(pad / stride)`` (a backbone without same padding): the anchor count tells the host,
    mmdet's mask applies and the extra locations get no target."""
    head = _rpn()
    _, metas, gts = _rpn_case()
    metas = [dict(m, batch_input_shape=(128, 128)) for m in metas]
    anchors, valid = head.get_anchors([(17, 17), (8, 8)], metas, device='cpu')
    assert not head._every_anchor_inside(metas[0], sum(a.size(0) for a in anchors[0]))
    labels, label_weights, _, box_weights, _ = head.get_targets(anchors, valid, gts, metas)[:5]
    invalid = ~valid[0][0]
    assert int(invalid.sum()) == (17 * 17 - 16 * 16) * 3
    assert not label_weights[0][0][invalid].any() and not box_weights[0][0][invalid].any()


def test_rpn_batch_norm_per_level_shared_conv():
    head = _rpn(norm_cfg=dict(type='BN'))
    assert len(head.rpn_norms) == 2 and isinstance(head.rpn_conv, torch.nn.Conv2d)
    head.eval()
    feats, _, _ = _rpn_case()
    before = head(feats)
    head.rpn_norms[1].bias.data += 1.0  # only level 1 reads its own BN
    after = head(feats)
    assert torch.equal(before[0][0], after[0][0]) and not torch.equal(before[0][1], after[0][1])
    with pytest.raises(NotImplementedError):
        head.forward_single(feats[0])


def _box_head(**kw):
    from mmdet.registry import MODELS
    return MODELS.build(
        dict(
            type='OfficialConvFCBBoxHead',
            num_shared_convs=0,
            num_shared_fcs=1,
            in_channels=4,
            roi_feat_size=2,
            fc_out_channels=6,
            num_classes=3,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2,
                                                                                0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
            **kw))


def test_rcnn_box_loss_is_mean_over_positive_coordinates():
    head = _box_head(box_loss_norm='positive_coords')
    torch.manual_seed(0)
    n = 8  # sampled RoIs; 3 positive (classes 2, 0, 1), 5 background (label 3 = num_classes)
    labels = torch.tensor([2, 0, 1, 3, 3, 3, 3, 3])
    cls_score, bbox_pred = torch.randn(n, 4), torch.randn(n, 12) * 2
    targets, weights = torch.randn(n, 4), torch.zeros(n, 4)
    weights[:3] = 1
    rois = torch.cat([torch.zeros(n, 1), torch.rand(n, 4) * 50], 1)
    losses = head.loss(cls_score, bbox_pred, rois, labels, torch.ones(n), targets, weights)
    picked = bbox_pred.view(n, 3, 4)[torch.arange(3), labels[:3]]  # the class-specific box
    mask = (labels[:3] < 3).float()[:, None].expand(3, 4)
    want = sum_by_nonzero_weights(huber(picked - targets[:3], 1.0), mask)
    assert float(losses['loss_bbox']) == pytest.approx(float(want), rel=1e-6)
    assert float(losses['loss_cls']) == pytest.approx(float(F.cross_entropy(cls_score, labels)))
    mmdet = _box_head(box_loss_norm='mmdet')
    mmdet.load_state_dict(head.state_dict())
    ref = mmdet.loss(cls_score, bbox_pred, rois, labels, torch.ones(n), targets, weights)
    # mmdet divides the same sum by all 8 RoIs instead of 3 x 4 coordinates
    assert float(ref['loss_bbox']) == pytest.approx(float(want) * 12 / 8, rel=1e-6)


def test_box_head_fc_batch_norm_before_relu():
    head = _box_head(fc_norm_cfg=dict(type='BN'))
    head.eval()
    bn = head.shared_fc_norms[0]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    x = torch.randn(5, 4, 2, 2)
    fc = head.shared_fcs[0](x.flatten(1))
    want = F.relu((fc - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight +
                  bn.bias)
    cls_score, _ = head(x)
    assert torch.allclose(cls_score, head.fc_cls(want), atol=1e-6)


def test_fpn_normalises_outputs_only_and_feeds_extra_levels_pre_bn():
    """tensorflow/tpu modeling/architecture/fpn.py, written out with F.conv2d: plain lateral
    and post-hoc convs, P6 from the P5 map before BN, P7 from relu(P6 before BN), one BN per
    level at the end."""
    from mmdet.registry import MODELS
    fpn = MODELS.build(
        dict(
            type='OfficialFPN',
            in_channels=[4, 8, 16, 32],
            out_channels=8,
            start_level=1,
            add_extra_convs='on_output',
            relu_before_extra_convs=True,
            num_outs=5,
            norm_cfg=dict(type='BN')))
    fpn.eval()
    for bn in fpn.out_norms:
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    assert all(not m.with_norm for m in list(fpn.lateral_convs) + list(fpn.fpn_convs))
    torch.manual_seed(0)
    c = [torch.randn(1, ch, 64 // 2**i, 64 // 2**i) for i, ch in enumerate([4, 8, 16, 32])]

    def conv(m, x, stride=1):
        return F.conv2d(x, m.conv.weight, m.conv.bias, stride=stride, padding=m.conv.padding)

    lat = [conv(m, x) for m, x in zip(fpn.lateral_convs, c[1:])]  # C3..C5
    for i in (1, 0):
        lat[i] = lat[i] + F.interpolate(lat[i + 1], scale_factor=2, mode='nearest')
    feats = [conv(m, x) for m, x in zip(fpn.fpn_convs, lat)]
    feats.append(conv(fpn.fpn_convs[3], feats[2], stride=2))
    feats.append(conv(fpn.fpn_convs[4], F.relu(feats[3]), stride=2))
    want = [bn(f) for bn, f in zip(fpn.out_norms, feats)]
    for got, w in zip(fpn(c), want):
        assert torch.allclose(got, w, atol=1e-5)


def test_mask_head_normalises_the_deconv():
    from mmdet.registry import MODELS
    head = MODELS.build(
        dict(
            type='OfficialFCNMaskHead',
            num_convs=1,
            in_channels=4,
            conv_out_channels=4,
            num_classes=2,
            norm_cfg=dict(type='BN'),
            upsample_norm_cfg=dict(type='BN')))
    head.eval()
    head.upsample_norm.running_mean.fill_(0.5)
    x = torch.randn(3, 4, 14, 14)
    up = head.upsample(head.convs[0](x))
    bn = head.upsample_norm
    want = head.conv_logits(F.relu((up - 0.5) / torch.sqrt(bn.running_var + bn.eps)[:, None, None]))
    assert torch.allclose(head(x), want, atol=1e-6) and head(x).shape == (3, 2, 28, 28)


def test_rcnn_box_loss_waits_for_nothing_and_ignores_negatives():
    """The positive-coordinates loss gathers instead of boolean indexing (no host-device sync
    of ours on a GPU); negatives, even non-finite ones, add nothing and get no gradient."""
    from fashionpedia_plugin.toolkit.step_profile import SyncRecorder
    head = _box_head(box_loss_norm='positive_coords')
    torch.manual_seed(1)
    n = 6
    labels = torch.tensor([1, 3, 0, 3, 3, 2])
    cls_score = torch.randn(n, 4)
    bbox_pred = (torch.randn(n, 12) * 2).requires_grad_()
    targets, weights = torch.randn(n, 4), torch.zeros(n, 4)
    weights[[0, 2, 5]] = 1
    rois = torch.cat([torch.zeros(n, 1), torch.rand(n, 4) * 50], 1)
    with SyncRecorder() as rec:
        loss = head.loss(cls_score, bbox_pred, rois, labels, torch.ones(n), targets,
                         weights)['loss_bbox']
    ours = {k: v for k, v in rec.counts.items() if 'fashionpedia_plugin' in k[1]}
    assert ours == {}, ours
    assert any('smooth_l1_loss' in where for _, where in rec.counts)  # upstream's any() is seen
    pos = [0, 2, 5]
    picked = bbox_pred.view(n, 3, 4)[pos, labels[pos]]
    want = sum_by_nonzero_weights(huber(picked - targets[pos], 1.0), torch.ones(3, 4))
    assert float(loss) == pytest.approx(float(want), rel=1e-6)
    loss.backward()
    grad = bbox_pred.grad.view(n, 3, 4)
    assert grad[[1, 3, 4]].abs().sum() == 0  # negatives
    assert grad[0, 1].abs().sum() > 0 and grad[0, [0, 2]].abs().sum() == 0  # only its class
    nan_pred = bbox_pred.detach().clone()
    nan_pred[3] = float('nan')
    again = head.loss(cls_score, nan_pred, rois, labels, torch.ones(n), targets, weights)
    assert float(again['loss_bbox']) == pytest.approx(float(want), rel=1e-6)
    none = head.loss(cls_score, bbox_pred, rois, torch.full((n, ), 3), torch.ones(n), targets,
                     torch.zeros(n, 4))
    assert float(none['loss_bbox']) == 0.0
