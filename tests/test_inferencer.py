"""FashionpediaInferencer: mmdet's DetInferencer call, predictions with attributes that agree
with the model's own prediction on the same image."""
import glob
import json
import os.path as osp

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import torch
from conftest import DEMO_CONFIG, untrained_demo_model

from fashionpedia_plugin import taxonomy


def test_inferencer_predictions_carry_attributes_and_visualise(trained, synthetic_root, tmp_path):
    from mmengine.config import Config

    from fashionpedia_plugin.apis import FashionpediaInferencer
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # an untrained model scores ~1/47
    cfg.visualizer.attr_decoder.prior = osp.join(synthetic_root, 'annotations',
                                                 'instances_attributes_train2020.json')
    inferencer = FashionpediaInferencer(
        cfg,
        osp.join(trained[0], 'iter_2.pth'),
        device='cpu',
        attr_decoder=dict(type='AttributeDecoder', score_thr=0.0),
        show_progress=False)
    img = sorted(glob.glob(osp.join(synthetic_root, 'test', '*.jpg')))[0]
    out = inferencer(img, out_dir=str(tmp_path), no_save_pred=False, pred_score_thr=0.0)
    pred = out['predictions'][0]
    n = len(pred['labels'])
    assert n > 0
    for key in ('attribute_ids', 'attribute_names', 'attribute_scores', 'class_names'):
        assert len(pred[key]) == n, key
    assert pred['class_names'] == [taxonomy.CLASSES[c] for c in pred['labels']]
    assert pred['scores'] == sorted(pred['scores'], reverse=True)
    # threshold 0 keeps every attribute the (default, class-agnostic) decoder allows
    assert all(len(ids) == 294 for ids in pred['attribute_ids'])
    assert glob.glob(str(tmp_path / 'vis' / '*.jpg'))
    saved = json.load(open(glob.glob(str(tmp_path / 'preds' / '*.json'))[0]))
    assert saved['attribute_ids'] == pred['attribute_ids']


def test_inferencer_output_is_the_models_prediction_decoded(tmp_path):
    """Per instance, the inferencer returns what the model's own ``predict`` gives on the same
    photo (mmdet's ``inference_detector`` with mmdet's own test pipeline, no annotations):
    labels, scores, boxes, masks (RLE decoded back), and the attribute ids whose score passes
    the decoder's threshold, with their names and scores."""
    from mmdet.apis import inference_detector
    from mmengine.config import Config

    from fashionpedia_plugin.apis import FashionpediaInferencer
    model = untrained_demo_model()
    ckpt = str(tmp_path / 'untrained.pth')
    meta = dict(dataset_meta=dict(classes=taxonomy.CLASSES, palette=taxonomy.palette()))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), ckpt)
    h, w = 60, 80
    photo = str(tmp_path / 'photo.png')  # lossless: both paths read the same pixels
    mmcv.imwrite(np.random.RandomState(0).randint(0, 256, (h, w, 3)).astype(np.uint8), photo)

    thr = 0.5  # the attribute scores of this model spread around 0.5
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.visualizer.attr_decoder = dict(type='AttributeDecoder')  # no prior file in this test
    cfg.visualizer.vis_backends = None  # nothing is drawn or saved here
    inferencer = FashionpediaInferencer(
        cfg,
        ckpt,
        device='cpu',
        attr_decoder=dict(type='AttributeDecoder', score_thr=thr),
        show_progress=False)
    pred = inferencer(photo)['predictions'][0]

    model.cfg = cfg
    # mmdet's own loading and packing around the config's resize
    (resize, ) = [t for t in cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    meta_keys = ('img_path', 'ori_shape', 'img_shape', 'scale_factor')
    pipeline = [
        dict(type='LoadImageFromFile'), resize,
        dict(type='PackDetInputs', meta_keys=meta_keys)
    ]
    from mmcv.transforms import Compose
    with torch.no_grad():
        ref = inference_detector(model, photo, test_pipeline=Compose(pipeline)).pred_instances
    n = len(ref)
    assert n == 50 and len(pred['labels']) == n
    assert pred['labels'] == ref.labels.tolist()
    assert pred['class_names'] == [taxonomy.CLASSES[c] for c in ref.labels.tolist()]
    assert np.allclose(pred['scores'], ref.scores.numpy(), atol=1e-6)
    assert pred['scores'] == sorted(pred['scores'], reverse=True)
    boxes = np.asarray(pred['bboxes'])
    assert np.allclose(boxes, ref.bboxes.numpy(), atol=1e-4)
    assert (boxes >= 0).all() and (boxes <= [w, h, w, h]).all()  # in the photo's frame
    # masks: RLE of the model's binary masks, at the photo's size
    masks = np.stack([
        mask_utils.decode(dict(size=m['size'], counts=m['counts'].encode())) for m in pred['masks']
    ])
    assert masks.shape == (n, h, w) and set(np.unique(masks)) <= {0, 1}
    assert np.array_equal(masks.astype(bool), ref.masks.numpy())
    # attributes: exactly the ids at or above the threshold (no prior: no class mask)
    scores = ref.attr_scores.numpy()
    keep = [np.flatnonzero(row >= thr) for row in scores]
    assert pred['attribute_ids'] == [[taxonomy.ATTRIBUTE_IDS[j] for j in k] for k in keep]
    assert pred['attribute_names'] == [[taxonomy.ATTRIBUTE_NAMES[j] for j in k] for k in keep]
    assert pred['attribute_scores'] == [[round(float(s[j]), 4) for j in k]
                                        for s, k in zip(scores, keep)]
    assert all(0 < len(k) < 294 for k in keep)  # the threshold splits every row
    assert all(min(s) >= thr for s in pred['attribute_scores'])
