"""Parity of the vectorized evaluator with the official ``fashionpedia.FPEval`` (case matrix)."""
import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO

from fashionpedia_plugin.compat import numpy_float_alias
from fashionpedia_plugin.evaluation.functional import FashionpediaEval, binary_macro_f1
from fashionpedia_plugin.toolkit.eval_cases import make_case

fp_eval_official = pytest.importorskip('fashionpedia.fp_eval')
from fashionpedia.fp import Fashionpedia  # noqa: E402


def official(gt, results, iou_type):
    with contextlib.redirect_stdout(io.StringIO()), numpy_float_alias():
        fgt = Fashionpedia()
        fgt.dataset = copy.deepcopy(gt)
        fgt.createIndex()
        ev = fp_eval_official.FPEval(fgt, fgt.loadRes(copy.deepcopy(results)), iou_type)
        ev.run()
        ev.summarize_class()
    return {'iou+f1': ev.results, 'iou': ev.resultDet, 'f1': ev.resultF1}, ev.results_per_class


def ours(gt, results, iou_type):
    with contextlib.redirect_stdout(io.StringIO()):
        cgt = COCO()
        cgt.dataset = copy.deepcopy(gt)
        cgt.createIndex()
        ev = FashionpediaEval(cgt, cgt.loadRes(copy.deepcopy(results)), iou_type)
    views = ev.run()
    names = [c['name'] for c in gt['categories']]
    return views, ev.summarize_per_class(names)


def assert_same(ref, got):
    for view in ('iou+f1', 'iou', 'f1'):
        assert list(ref[view]) == list(got[view]), view
        for k in ref[view]:
            assert got[view][k] == pytest.approx(ref[view][k], abs=1e-9), (view, k)


CASES = {
    'base': dict(),
    'over-100-dets-per-image': dict(num_images=6, dets_per_image=140),
    'images-without-gt-or-dets': dict(gts_per_image=1, dets_per_image=2),
    'crowd-heavy': dict(crowd_frac=0.5),
    'tied-scores': dict(tie_frac=1.0),
    'rle-only-gt': dict(rle_frac=1.0),
    'polygon-only-gt': dict(rle_frac=0.0, crowd_frac=0.0),
    'few-classes-dense': dict(num_classes=3, gts_per_image=6, dets_per_image=25),
}


@pytest.mark.parametrize('iou_type', ['segm', 'bbox'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_parity_case_matrix(case, iou_type):
    params = dict(CASES[case])
    gt, results = make_case(seed=len(case), num_images=params.pop('num_images', 12), **params)
    ref, ref_cls = official(gt, results, iou_type)
    got, got_cls = ours(gt, results, iou_type)
    assert_same(ref, got)
    for name, mine in got_cls.items():  # ref_cls also holds 'supercls-*' entries
        entry = ref_cls[name]
        assert_same(
            {
                'iou+f1': entry.get('iou_f1', {}),
                'iou': entry['iou'],
                'f1': entry.get('f1', {})
            }, {
                'iou+f1': mine.get('iou_f1', {}),
                'iou': mine['iou'],
                'f1': mine.get('f1', {})
            })


@pytest.mark.parametrize('seed', range(4))
def test_parity_random_seeds(seed):
    gt, results = make_case(seed=100 + seed, num_images=10)
    for iou_type in ('segm', 'bbox'):
        assert_same(official(gt, results, iou_type)[0], ours(gt, results, iou_type)[0])


def test_nontrivial_case_is_nontrivial():
    """The matrix is not vacuous: APs are well inside (0, 1) and the views differ."""
    gt, results = make_case(seed=0, num_images=12)
    got = ours(gt, results, 'segm')[0]
    assert 0.05 < got['iou']['AP'] < 0.95
    assert got['iou+f1']['AP'] < got['iou']['AP']
    assert got['f1']['AP'] != got['iou']['AP']


def test_binary_macro_f1_matches_sklearn_and_reference_examples():
    from sklearn.metrics import f1_score
    rng = np.random.RandomState(0)
    dt = (rng.rand(40, 294) < rng.uniform(0, 0.03, (40, 1))).astype(int)
    gt = (rng.rand(30, 294) < rng.uniform(0, 0.03, (30, 1))).astype(int)
    dt[0] = 0
    gt[0] = 0
    f1 = binary_macro_f1(dt, gt)
    for d in range(0, 40, 3):
        for g in range(0, 30, 2):
            assert f1[d, g] == f1_score(gt[g], dt[d], average='macro')
    three = np.zeros((1, 294), int)
    three[0, :3] = 1
    one = np.zeros((1, 294), int)
    one[0, 0] = 1
    assert binary_macro_f1(np.zeros((1, 294), int), three)[0, 0] == pytest.approx(0.497, abs=1e-3)
    assert binary_macro_f1(one, three)[0, 0] == pytest.approx(0.748, abs=1e-3)
    assert binary_macro_f1(np.zeros((1, 294)), np.zeros((1, 294)))[0, 0] == 1.0


def test_unknown_detection_attribute_is_a_named_error():
    gt, results = make_case(seed=3, num_images=3)
    results[0]['attribute_ids'] = [999]
    with pytest.raises(ValueError, match='attribute id 999'):
        ours(gt, results, 'bbox')
