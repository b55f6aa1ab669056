"""COCO AP backends (evaluation/functional/coco_backends.py): hotcoco gives pycocotools' numbers,
every one of the 12, on the parity case matrix; the metric logs the same keys either way."""
import contextlib
import copy
import io
import os.path as osp

import numpy as np
import pytest
from pycocotools.coco import COCO
from test_fp_eval import CASES

from fashionpedia_plugin.evaluation.functional import HotcocoGT, coco_stats
from fashionpedia_plugin.toolkit.eval_cases import make_case

pytest.importorskip('hotcoco')
MMDET_MAX_DETS, IOU_THRS = (100, 300, 1000), np.linspace(.5, 0.95, 10)


@pytest.mark.parametrize('iou_type', ['segm', 'bbox'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_hotcoco_equals_pycocotools_on_the_case_matrix(case, iou_type):
    params = dict(CASES[case])
    gt, results = make_case(seed=len(case), num_images=params.pop('num_images', 12), **params)
    with contextlib.redirect_stdout(io.StringIO()):
        ref_gt = COCO()
        ref_gt.dataset = copy.deepcopy(gt)
        ref_gt.createIndex()
    cat_ids = [c['id'] for c in gt['categories']]
    img_ids = [i['id'] for i in gt['images']][:-1]  # a subset, as a metric's img_ids may be
    ref = coco_stats('pycocotools', ref_gt, results, iou_type, cat_ids, img_ids, MMDET_MAX_DETS,
                     IOU_THRS)
    fast = coco_stats('hotcoco', HotcocoGT(gt), results, iou_type, cat_ids, img_ids, MMDET_MAX_DETS,
                      IOU_THRS)
    assert len(ref) == len(fast) == 12
    assert np.array_equal(ref, fast), (ref, fast)
    assert 0 < ref[0] < 1  # a case with something to get right


def test_metric_keys_equal_for_both_backends(synthetic_root):
    import torch
    from test_fashionpedia_metric import _perfect_samples

    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.evaluation import FashionpediaMetric
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    out = {}
    for backend in ('hotcoco', 'pycocotools'):
        metric = FashionpediaMetric(ann_file=ann, metric=['bbox', 'segm'], coco_backend=backend)
        metric.dataset_meta = dict(classes=taxonomy.CLASSES)
        samples = _perfect_samples(ann, lambda a: np.full(294, 0.01, np.float32))
        for k, s in enumerate(samples):  # not perfect: drop the last detection, lower scores
            p = s['pred_instances']
            keep = slice(0, max(0, len(p['scores']) - 1))
            for key in ('bboxes', 'scores', 'labels', 'masks', 'attr_scores'):
                p[key] = p[key][keep]
            p['scores'] = p['scores'] * torch.linspace(1, 0.5, len(p['scores']))
        metric.process({}, samples)
        out[backend] = metric.evaluate(len(samples))
    assert out['hotcoco'] == out['pycocotools']
    assert 0 < out['hotcoco']['fashionpedia/segm_mAP'] < 1


def test_unknown_backend_is_refused():
    from fashionpedia_plugin.evaluation.functional import check_backend
    with pytest.raises(ValueError, match="coco_backend must be one of"):
        check_backend('fastest')


def test_benchmark_script_prints_every_evaluator_and_the_bootstrap():
    import os.path as osp

    from conftest import TOOLS, tool
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'benchmark_eval.py'), '--num-images', '8', '--dets', '10',
        '--bootstrap', '20', '--repeat', '2', '--warmup', '1')
    out = res.stdout
    assert 'compiled kernels loaded in' in out
    for iou_type in ('segm', 'bbox'):
        line = next(ln for ln in out.splitlines() if ln.startswith(iou_type))
        assert len(line.split()) >= 6, line  # pycocotools faster hotcoco ours official ...
    assert out.count('paired bootstrap, 2 runs x 20 resamples') == 2
    assert 'hotcoco equal' in out and 'ours vs official max |diff|' in out
    assert out.count('loading the results: pycocotools loadRes') == 2
    assert out.count('first run in this process: hotcoco') == 2
