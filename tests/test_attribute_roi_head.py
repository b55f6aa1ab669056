"""AttributeRoIHead: predictions of a trained model carry attribute scores, one row per
detection; on a two-image batch each row is the sigmoid of its RoI's attribute logits."""
import os.path as osp

import torch
from conftest import DEMO_CONFIG, tiny_cfg_options


def test_predictions_carry_attribute_scores(trained, synthetic_root):
    from mmengine.config import Config
    from mmengine.runner import Runner
    work, _ = trained
    import argparse

    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(parser.parse_args(['--o', *tiny_cfg_options(synthetic_root, work)]).o)
    cfg.work_dir = work
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.load_from = osp.join(work, 'iter_2.pth')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    model = runner.model.eval()
    batch = next(iter(runner.test_dataloader))
    with torch.no_grad():
        out = model.test_step(batch)
    assert sum(len(s.pred_instances) for s in out) > 0
    for sample in out:
        pred = sample.pred_instances
        assert pred.attr_scores.shape == (len(pred.bboxes), 294)
        assert ((pred.attr_scores >= 0) & (pred.attr_scores <= 1)).all()
        assert 'attribute_ids' not in pred  # decoding is AttributeDecoder's, in the metric
        assert (pred.scores[:-1] >= pred.scores[1:]).all()
        assert pred.masks.dtype == torch.bool
        assert pred.masks.shape == (len(pred), *sample.metainfo['ori_shape'])


def _two_image_batch(model):
    """Two random images through the model's data preprocessor: 96x128 at scale 1 and 128x96
    resized x2 from a 64x48 original (the predictions are rescaled to it)."""
    from mmdet.structures import DetDataSample
    gen = torch.Generator().manual_seed(1)
    samples, inputs = [], []
    for (h, w), s in (((96, 128), 1.0), ((128, 96), 2.0)):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen))
        samples.append(
            DetDataSample(
                metainfo=dict(
                    img_shape=(h, w), ori_shape=(int(h / s), int(w / s)), scale_factor=(s, s))))
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=False)


def test_attribute_scores_are_the_sigmoid_of_their_rois_logits():
    """Through the whole predict path (RPN, RoI head, per-image split, class-wise NMS, rescale,
    mask head) on a two-image batch: every detection's ``attr_scores`` is the sigmoid of the
    attribute logits of the RoI it came from, recomputed by hand from the head's layers on that
    RoI's features; its score is the softmax of the same RoI's class logits."""
    from conftest import untrained_demo_model
    from mmdet.structures.bbox import bbox_overlaps
    model = untrained_demo_model()
    roi_head = model.roi_head
    head = roi_head.bbox_head
    # the hand recomputation below follows the demo head: 2 shared fcs, no convs, no branch fcs
    assert len(head.shared_convs) == 0 and len(head.shared_fcs) == 2
    assert len(head.cls_fcs) == 0 and head.shared_fc_norms is None
    data = _two_image_batch(model)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'], rescale=True)
        x = model.extract_feat(data['inputs'])
        proposals = model.rpn_head.predict(x, data['data_samples'], rescale=False)
    for i, (sample, props) in enumerate(zip(out, proposals)):
        pred = sample.pred_instances
        n = len(pred)
        assert n == 50  # score_thr 0: max_per_img detections
        s = sample.metainfo['scale_factor'][0]
        boxes = pred.bboxes * s  # back to the network input frame
        # no box regression: every detection's box is one of this image's RPN proposals
        assert (bbox_overlaps(boxes, props.bboxes).max(1).values > 1 - 1e-4).all()
        # several class detections per RoI (what the RoI * num_classes + class index decodes)
        distinct = torch.unique(boxes.round(decimals=2), dim=0)
        assert len(distinct) < n
        with torch.no_grad():
            rois = torch.cat([boxes.new_full((n, 1), i), boxes], 1)  # batch index i
            feat = roi_head.bbox_roi_extractor(x[:roi_head.bbox_roi_extractor.num_inputs], rois)
            shared = feat.flatten(1)
            for fc in head.shared_fcs:
                shared = torch.relu(shared @ fc.weight.T + fc.bias)
            attr_logits = shared @ head.fc_attr.weight.T + head.fc_attr.bias
            cls_prob = torch.softmax(shared @ head.fc_cls.weight.T + head.fc_cls.bias, 1)
        assert torch.allclose(pred.attr_scores, attr_logits.sigmoid(), atol=1e-4)
        assert torch.allclose(pred.scores, cls_prob[torch.arange(n), pred.labels], atol=1e-4)
        # the check discriminates: scores of different RoIs differ far beyond the tolerance
        spread = (pred.attr_scores[:, None] - pred.attr_scores[None]).abs().amax(-1)
        same_box = (boxes[:, None] - boxes[None]).abs().amax(-1) < 1e-3
        assert torch.equal(spread < 1e-6, same_box)  # equal attributes <=> same RoI
        assert spread[~same_box].min() > 1e-2
        assert set(pred.labels.tolist()) <= {3, 7}
        assert (pred.scores[:-1] >= pred.scores[1:]).all()  # sorted
        # masks: binary, of the original image, inside their (rescaled) box
        oh, ow = sample.metainfo['ori_shape']
        assert pred.masks.dtype == torch.bool and pred.masks.shape == (n, oh, ow)
        assert pred.masks.flatten(1).any(1).float().mean() > 0.5  # the check below bites
        size = torch.tensor([ow, oh, ow, oh])
        assert ((pred.bboxes >= -1e-3) & (pred.bboxes <= size + 1e-3)).all()
        ys, xs = torch.arange(oh)[:, None] + 0.5, torch.arange(ow)[None] + 0.5
        for m, (x1, y1, x2, y2) in zip(pred.masks, pred.bboxes):
            inside = (xs >= x1 - 1) & (xs <= x2 + 1) & (ys >= y1 - 1) & (ys <= y2 + 1)
            assert not (m & ~inside).any()
