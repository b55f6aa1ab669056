"""``fp_columns``: results loaded without ``COCO.loadRes`` evaluate exactly as loaded with it (and
as the official ``FPEval``); the columns hold what ``loadRes`` writes; bad results are named."""
import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from test_fp_eval import CASES, assert_same, official

from fashionpedia_plugin.evaluation.functional import FashionpediaEval
from fashionpedia_plugin.evaluation.functional.fp_columns import (Columns, ground_truth_columns,
                                                                  load_results)
from fashionpedia_plugin.toolkit.eval_cases import make_case


def _coco(gt):
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = copy.deepcopy(gt)
        c.createIndex()
    return c


def _load_res(coco_gt, results):
    with contextlib.redirect_stdout(io.StringIO()):
        return coco_gt.loadRes(copy.deepcopy(results))


def _evaluators(gt, results, iou_type):
    """(via loadRes, via load_results), both evaluated."""
    g = _coco(gt)
    a = FashionpediaEval(g, _load_res(g, results), iou_type)
    a.run()
    b = FashionpediaEval(g, load_results(g, copy.deepcopy(results), iou_type), iou_type)
    b.run()
    return a, b


def _run(ev):
    ev.run()
    return ev


def _same_everything(a, b):
    assert_same(a.summarize(), b.summarize())
    for key in ('codes', 'num_gt', 'order', 'rank', 'score'):
        np.testing.assert_array_equal(a.match[key], b.match[key], err_msg=key)
    np.testing.assert_array_equal(a.eval['precision'], b.eval['precision'])
    np.testing.assert_array_equal(a.eval['coco_precision'], b.eval['coco_precision'])


@pytest.mark.parametrize('iou_type', ['segm', 'bbox'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_load_results_evaluates_as_load_res(case, iou_type):
    params = dict(CASES[case])
    gt, results = make_case(seed=len(case), num_images=params.pop('num_images', 12), **params)
    _same_everything(*_evaluators(gt, results, iou_type))


def test_load_results_matches_the_official_evaluator():
    gt, results = make_case(seed=7, num_images=12)
    for iou_type in ('segm', 'bbox'):
        g = _coco(gt)
        ev = FashionpediaEval(g, load_results(g, copy.deepcopy(results), iou_type), iou_type)
        assert_same(official(gt, results, iou_type)[0], ev.run())


def _mask_results(results, keep_bbox):
    """Results as masks only (loadRes's segm branch: area = pixel count) or masks + boxes."""
    out = copy.deepcopy(results)
    if not keep_bbox:
        for r in out:
            del r['bbox']
    return out


@pytest.mark.parametrize('variant', ['boxes+masks', 'masks-only', 'polygons', 'boxes-only'])
def test_columns_hold_what_load_res_writes(variant):
    gt, results = make_case(seed=11, num_images=6)
    g = _coco(gt)
    if variant == 'masks-only':
        results = _mask_results(results, keep_bbox=False)
    elif variant == 'polygons':  # box polygons as results' segmentation (loadRes keeps them)
        for r in results:
            x, y, w, h = r['bbox']
            r['segmentation'] = [[x, y, x, y + h, x + w, y + h, x + w, y]]
    elif variant == 'boxes-only':
        for r in results:
            del r['segmentation']
    for iou_type in ('segm', 'bbox'):
        loaded = _load_res(g, results)
        anns = loaded.dataset['annotations']
        cols = load_results(g, copy.deepcopy(results), iou_type)
        np.testing.assert_array_equal(cols.id, [a['id'] for a in anns])
        np.testing.assert_array_equal(cols.area, np.array([a['area'] for a in anns], np.float64))
        assert not cols.crowd.any()
        if iou_type == 'bbox':
            np.testing.assert_array_equal(cols.box, np.array([a['bbox'] for a in anns]))
        else:
            ref = Columns.from_coco(loaded, 'segm')
            np.testing.assert_array_equal(cols.hw, ref.hw)
            for i in range(0, len(cols), 7):
                np.testing.assert_array_equal(cols.counts[cols.starts[i]:cols.ends[i]],
                                              ref.counts[ref.starts[i]:ref.ends[i]])
        if variant == 'masks-only':  # the pixel count, as maskUtils.area
            areas = [float(mask_utils.area(r['segmentation'])) for r in results]
            np.testing.assert_array_equal(cols.area, areas)
        _same_everything(
            _run(FashionpediaEval(g, loaded, iou_type)), _run(FashionpediaEval(g, cols, iou_type)))


def test_bad_results_are_named():
    gt, results = make_case(seed=2, num_images=3)
    g = _coco(gt)
    bad = copy.deepcopy(results)
    bad[4]['image_id'] = 77
    with pytest.raises(ValueError, match=r'result 4: image_id 77 is not in the ground truth'):
        load_results(g, bad, 'segm')
    bad = copy.deepcopy(results)
    del bad[2]['score']
    with pytest.raises(ValueError, match=r"result 2 \(image \d+\) has no 'score' \(1 such"):
        load_results(g, bad, 'bbox')
    bad = _mask_results(results, keep_bbox=False)
    del bad[1]['segmentation']
    with pytest.raises(ValueError, match=r"result 1 .* no 'segmentation'"):
        load_results(g, bad, 'segm')


def test_with_attributes_evaluates_as_the_edited_results():
    gt, results = make_case(seed=5, num_images=10)
    g = _coco(gt)
    cols = load_results(g, copy.deepcopy(results), 'segm')
    rng = np.random.RandomState(0)
    new = [sorted(rng.choice(r['attribute_ids'] or [115], 1).tolist()) for r in results]
    edited = copy.deepcopy(results)
    for r, ids in zip(edited, new):
        r['attribute_ids'] = ids
    a = FashionpediaEval(g, load_results(g, edited, 'segm'), 'segm')
    a.run()
    b = FashionpediaEval(g, cols.with_attributes(new), 'segm')
    b.run()
    _same_everything(a, b)
    assert a.results['AP'] != FashionpediaEval(g, cols, 'segm').run()['iou+f1']['AP']


def test_ground_truth_is_read_once_per_coco_object():
    gt, results = make_case(seed=1, num_images=4)
    g = _coco(gt)
    first = ground_truth_columns(g, 'segm')
    assert ground_truth_columns(g, 'segm') is first
    assert ground_truth_columns(g, 'bbox') is not first
    g.dataset['annotations'] = g.dataset['annotations'][:-1]  # replaced: read again
    again = ground_truth_columns(g, 'segm')
    assert again is not first and len(again) == len(first) - 1


def test_empty_results_and_ground_truth():
    """No detections (``loadRes`` fails on an empty list) gives AP 0; a ground truth without
    annotations reads as zero columns."""
    gt, _ = make_case(seed=4, num_images=3)
    g = _coco(gt)
    for iou_type in ('segm', 'bbox'):
        ev = FashionpediaEval(g, load_results(g, [], iou_type), iou_type)
        views = ev.run()
        assert views['iou']['AP'] == 0.0 and views['iou+f1']['AP'] == 0.0
    empty = _coco(dict(gt, annotations=[]))
    for iou_type in ('segm', 'bbox'):
        assert len(ground_truth_columns(empty, iou_type)) == 0
