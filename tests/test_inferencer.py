"""FashionpediaInferencer: mmdet's DetInferencer call, predictions with attributes."""
import glob
import json
import os.path as osp

from conftest import DEMO_CONFIG


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
    # threshold 0 keeps every attribute the (default, class-agnostic) decoder allows
    assert all(len(ids) == 294 for ids in pred['attribute_ids'])
    assert glob.glob(str(tmp_path / 'vis' / '*.jpg'))
    saved = json.load(open(glob.glob(str(tmp_path / 'preds' / '*.json'))[0]))
    assert saved['attribute_ids'] == pred['attribute_ids']
