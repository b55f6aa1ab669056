"""FashionpediaMetric: zero predictions, attribute decoding, raw-score dump."""
import json
import os.path as osp

import pytest
import torch


def test_evaluation_without_predictions_returns_zeros(synthetic_root):
    res = _evaluate_without_predictions(synthetic_root)
    assert res['fashionpedia/segm_mAP'] == 0.0 and res['fashionpedia/bbox_mAP'] == 0.0
    assert res['fashionpedia/segm_iouf1_AP'] == 0.0


def _evaluate_without_predictions(synthetic_root):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.evaluation import FashionpediaMetric
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    metric = FashionpediaMetric(ann_file=ann, metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=taxonomy.CLASSES)
    samples = []
    for img in json.load(open(ann))['images']:
        s = DetDataSample(metainfo=dict(img_id=img['id'], ori_shape=(320, 320)))
        pred = InstanceData()
        pred.bboxes = torch.zeros((0, 4))
        pred.scores = torch.zeros(0)
        pred.labels = torch.zeros(0, dtype=torch.long)
        pred.masks = torch.zeros((0, 320, 320), dtype=torch.bool)
        s.pred_instances = pred
        samples.append(s.to_dict())
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_no_predictions_log_the_same_keys_as_predictions(synthetic_root):
    """An untrained model's validation (no detections) logged 7 IoU+F1 keys per iou type, a
    trained one's 20: trackers and analyze_logs saw columns appear; now one set, zeros."""
    import numpy as np

    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.evaluation import FashionpediaMetric
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    metric = FashionpediaMetric(ann_file=ann, metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=taxonomy.CLASSES)
    samples = _perfect_samples(ann, lambda a: np.full(294, 0.1, np.float32))
    metric.process({}, samples)
    detected = metric.evaluate(len(samples))
    empty = _evaluate_without_predictions(synthetic_root)
    assert sorted(empty) == sorted(detected)
    assert len([k for k in detected if k.startswith('fashionpedia/segm_iouf1_')]) == 20
    assert all(v == 0.0 for v in empty.values())
    # names every tracker takes (MLflow refuses '@': the official AR@100 is logged as AR_100)
    assert 'fashionpedia/segm_iouf1_AR_100' in detected
    assert not [k for k in detected if not all(c.isalnum() or c in '_-./ :' for c in k)]


def _perfect_samples(ann, attr_score):
    """Predictions = the ground truth (boxes, masks, labels), ``attr_score(ann)`` -> (294,)."""
    import numpy as np
    import pycocotools.mask as mask_utils
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    data = json.load(open(ann))
    samples = []
    for img in data['images']:
        anns = [a for a in data['annotations'] if a['image_id'] == img['id']]
        s = DetDataSample(metainfo=dict(img_id=img['id'], ori_shape=(img['height'], img['width'])))
        pred = InstanceData()
        pred.bboxes = torch.tensor(
            [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
             for a in anns]).reshape(-1, 4)
        pred.scores = torch.full((len(anns), ), 0.9)
        pred.labels = torch.tensor([a['category_id'] for a in anns], dtype=torch.long)
        masks = [
            mask_utils.decode(
                mask_utils.merge(
                    mask_utils.frPyObjects(a['segmentation'], img['height'], img['width'])))
            for a in anns
        ]
        pred.masks = torch.from_numpy(np.stack(masks).astype(bool)) if masks else \
            torch.zeros((0, img['height'], img['width']), dtype=torch.bool)
        pred.attr_scores = torch.from_numpy(np.stack([attr_score(a) for a in anns])) if anns \
            else torch.zeros((0, 294))
        s.pred_instances = pred
        samples.append(s.to_dict())
    return samples


def test_decoder_in_the_metric_and_raw_score_dump(synthetic_root, tmp_path):
    """True attributes score 0.3, others 0.1: a 0.2 threshold decodes them exactly (AP with
    IoU+F1 = AP with IoU), 0.5 decodes none; the .npz holds the scores in results order."""
    import numpy as np

    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.evaluation import FashionpediaMetric
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')

    def attr_score(a):
        s = np.full(294, 0.1, np.float32)
        s[[taxonomy.ATTR_ID_TO_INDEX[i] for i in a['attribute_ids']]] = 0.3
        return s

    out = {}
    for thr in (0.2, 0.5):
        npz = str(tmp_path / f'scores{thr}.npz')
        metric = FashionpediaMetric(
            ann_file=ann,
            metric=['segm'],
            attr_scores_file=npz,
            outfile_prefix=str(tmp_path / 'r'),
            attr_decoder=dict(type='AttributeDecoder', score_thr=thr))
        metric.dataset_meta = dict(classes=taxonomy.CLASSES)
        samples = _perfect_samples(ann, attr_score)
        metric.process({}, samples)
        out[thr] = metric.evaluate(len(samples))
        written = json.load(open(tmp_path / 'r.segm.json'))
        dump = np.load(npz)
        assert len(dump['scores']) == len(written)
        assert dump['image_id'].tolist() == [r['image_id'] for r in written]
        for r, s in zip(written, dump['scores']):
            expect = [taxonomy.ATTRIBUTE_IDS[j] for j in np.flatnonzero(s >= thr)]
            assert r['attribute_ids'] == expect
    assert out[0.2]['fashionpedia/segm_iouf1_AP'] == pytest.approx(1.0)
    assert out[0.5]['fashionpedia/segm_iouf1_AP'] < 0.9


def test_first_evaluation_says_it_compiles(synthetic_root, tmp_path, monkeypatch):
    """Without numba's cache of the kernels (a fresh install), or with the cache of an older
    version of a kernel file (after a ``git pull``), the log says why the first evaluation
    takes up to 100 s longer; with a current cache, or with no detections to evaluate
    (nothing compiles), nothing."""
    import os
    import sys

    import numpy as np
    from mmengine.logging import MMLogger

    from fashionpedia_plugin.evaluation import FashionpediaMetric
    from fashionpedia_plugin.evaluation.functional import fp_kernels
    from fashionpedia_plugin.evaluation.metrics import fashionpedia_metric
    monkeypatch.setattr(fp_kernels, '_cache_dir', lambda: str(tmp_path))
    assert not fp_kernels.compiled_on_disk()
    tag = f'py{sys.version_info[0]}{sys.version_info[1]}'
    (tmp_path / 'fp_kernels.kernel-12.py39.nbi').touch()  # another Python's cache
    assert not fp_kernels.compiled_on_disk()
    for m in fp_kernels.KERNEL_MODULES:
        (tmp_path / f'{m}.kernel-12.{tag}.nbi').touch()
    assert fp_kernels.compiled_on_disk()
    # fp_groups.py changed after its kernels were cached (the source is not touched: numba's
    # real cache of it would go stale for the other tests)
    source = osp.getmtime(osp.join(osp.dirname(fp_kernels.__file__), 'fp_groups.py'))
    os.utime(tmp_path / f'fp_groups.kernel-12.{tag}.nbi', (source - 60, source - 60))
    assert not fp_kernels.compiled_on_disk()
    (tmp_path / f'fp_groups.kernel-14.{tag}.nbi').touch()  # recompiled: a new index beside it
    assert fp_kernels.compiled_on_disk()

    logs = []
    logger = MMLogger.get_instance('fp_compile_note', log_level='INFO')
    monkeypatch.setattr(logger, 'info', logs.append)
    monkeypatch.setattr(MMLogger, 'get_current_instance', classmethod(lambda cls: logger))
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    for cached, attribute_metric in ((False, True), (True, True), (False, False)):
        monkeypatch.setattr(fashionpedia_metric, 'compiled_on_disk', lambda: cached)
        logs.clear()
        metric = FashionpediaMetric(
            ann_file=ann, metric=['segm'], attribute_metric=attribute_metric)
        metric.dataset_meta = dict(classes=fashionpedia_metric.taxonomy.CLASSES)
        samples = _perfect_samples(ann, lambda a: np.full(294, 0.1, np.float32))
        metric.process({}, samples)
        metric.evaluate(len(samples))
        said = [m for m in logs if 'compiling the evaluation kernels first' in m]
        # COCO AP alone (attribute_metric=False) runs no kernel of ours
        assert len(said) == (0 if cached or not attribute_metric else 1), logs
    monkeypatch.setattr(fashionpedia_metric, 'compiled_on_disk', lambda: False)
    logs.clear()
    _evaluate_without_predictions(synthetic_root)
    assert not [m for m in logs if 'compiling' in m] and logs, logs
