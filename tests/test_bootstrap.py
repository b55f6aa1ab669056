"""Paired bootstrap of the headline metrics: exact with unit weights, finds a planted difference,
contains 0 for a run against itself, agrees with ``hotcoco.compare`` on plain COCO AP."""
import contextlib
import copy
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from test_fp_eval import CASES, official  # noqa: E402 (the parity matrix and reference)

from fashionpedia_plugin.evaluation.functional import FashionpediaEval
from fashionpedia_plugin.evaluation.functional.bootstrap import (HEADLINE, headline_values,
                                                                 paired_bootstrap, resample_weights,
                                                                 verdict)
from fashionpedia_plugin.toolkit.eval_cases import make_case


def _coco(gt, results):
    with contextlib.redirect_stdout(io.StringIO()):
        g = COCO()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        return g, g.loadRes(copy.deepcopy(results))


def _evaluated(gt, results, iou_type):
    ev = FashionpediaEval(*_coco(gt, results), iou_type)
    ev.run()
    return ev


def _plain(results, iou_type):  # as CocoMetric: segm results without their box
    return [{
        k: v
        for k, v in r.items() if not (iou_type == 'segm' and k == 'bbox')
    } for r in results]


@pytest.mark.parametrize('iou_type', ['segm', 'bbox'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_unit_weights_reproduce_fpeval_and_cocoeval(case, iou_type):
    params = dict(CASES[case])
    gt, results = make_case(seed=len(case), num_images=params.pop('num_images', 12), **params)
    ev = _evaluated(gt, results, iou_type)
    got = headline_values(ev, np.ones((1, len(ev.params.imgIds))))[0]
    ref, _ = official(gt, results, iou_type)
    g, d = _coco(gt, _plain(results, iou_type))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCOeval(g, d, iou_type)
        coco.evaluate()
        coco.accumulate()
        coco.summarize()
    want = [coco.stats[0], ref['iou+f1']['AP'], ref['iou']['AP'], ref['f1']['AP']]
    assert got == pytest.approx(want, abs=1e-12, rel=0), dict(zip(HEADLINE, zip(got, want)))


def _improved(results, gt, frac, seed=0):
    """B = A with a fraction of the detections moved onto a ground truth of their category."""
    rng = np.random.RandomState(seed)
    by_img = {}
    for a in gt['annotations']:
        by_img.setdefault((a['image_id'], a['category_id']), []).append(a)
    out = copy.deepcopy(results)
    for r in out:
        match = by_img.get((r['image_id'], r['category_id']))
        if match and rng.rand() < frac:
            g = match[rng.randint(len(match))]
            r['segmentation'], r['bbox'] = copy.deepcopy(g['segmentation']), list(g['bbox'])
            r['attribute_ids'] = list(g['attribute_ids'])
            r['score'] = min(1.0, r['score'] + 0.2)
    return out


def test_planted_difference_is_found_and_self_comparison_contains_zero():
    gt, results = make_case(seed=5, num_images=60, dets_per_image=20)
    better = _improved(results, gt, 0.5)
    evs = [_evaluated(gt, r, 'segm') for r in (results, better, results)]
    out = paired_bootstrap(evs, num_resamples=300, seed=1)
    for name in HEADLINE:
        d = out['deltas'][0][name]
        assert d['delta'] > 0 and d['lower'] > 0, (name, d)  # B better, interval above 0
        assert d['prob_better'] > 0.97
        assert verdict(d).startswith('B better')
        same = out['deltas'][1][name]
        assert same['delta'] == 0 and same['lower'] <= 0 <= same['upper'], (name, same)
        assert verdict(same).startswith('no difference shown')
        run = out['runs'][0][name]
        assert run['lower'] < run['value'] < run['upper']


def test_runs_on_other_images_are_refused():
    gt, results = make_case(seed=2, num_images=8)
    a = _evaluated(gt, results, 'bbox')
    b = FashionpediaEval(*_coco(gt, results), 'bbox')
    b.params.imgIds = b.params.imgIds[:-1]
    b.run()
    with pytest.raises(ValueError, match='same images'):
        paired_bootstrap([a, b], num_resamples=10)


def test_resample_weights_draw_every_image_count():
    w = resample_weights(50, 200, seed=3)
    assert w.shape == (200, 50) and (w.sum(1) == 50).all()
    # about 1 - 1/e of the images appear in a draw
    assert 0.55 < np.mean(w > 0) < 0.71


def _duplicated(gt, results, counts):
    """The resampled data set itself: image i ``counts[i]`` times, under new ids."""
    g2, r2, aid = dict(gt, images=[], annotations=[]), [], 1
    for im, c in zip(gt['images'], counts):
        for rep in range(int(c)):
            nid = im['id'] * 1000 + rep
            g2['images'].append(dict(im, id=nid))
            for a in gt['annotations']:
                if a['image_id'] == im['id']:
                    g2['annotations'].append(dict(a, id=aid, image_id=nid))
                    aid += 1
            r2 += [dict(r, image_id=nid) for r in results if r['image_id'] == im['id']]
    return g2, r2


@pytest.mark.parametrize('iou_type', ['segm', 'bbox'])
def test_weights_equal_evaluating_the_resampled_data_set(iou_type):
    """Weighting by draw counts is evaluating the images that many times (scores without
    ties inside an image: there the order of equal-score copies may differ)."""
    gt, results = make_case(seed=11, num_images=20, tie_frac=0.0, crowd_frac=0.2)
    ev = _evaluated(gt, results, iou_type)
    weights = resample_weights(20, 4, seed=5)
    got = headline_values(ev, weights)
    for w, row in zip(weights, got):
        dup = _evaluated(*_duplicated(gt, results, w), iou_type)
        want = headline_values(dup, np.ones((1, len(dup.params.imgIds))))[0]
        assert row == pytest.approx(want, abs=1e-12, rel=0)


def test_plain_coco_deltas_agree_with_hotcoco_compare():
    """Same deltas as ``hotcoco.compare``; with its resampling (the distinct images of each
    draw) intervals of the same width; the classical bootstrap (default) is wider."""
    hotcoco = pytest.importorskip('hotcoco')
    gt, results = make_case(seed=7, num_images=80, dets_per_image=20)
    better = _improved(results, gt, 0.2, seed=2)
    evs = [_evaluated(gt, r, 'bbox') for r in (results, better)]
    ours = paired_bootstrap(evs, num_resamples=1000, seed=0, distinct=True)['deltas'][0]
    ours = ours['coco_mAP']
    classical = paired_bootstrap(evs, num_resamples=1000, seed=0)['deltas'][0]['coco_mAP']

    def hot(r):
        g = hotcoco.COCO(copy.deepcopy(gt))
        e = hotcoco.COCOeval(g, g.load_res(_plain(copy.deepcopy(r), 'bbox')), 'bbox')
        with contextlib.redirect_stdout(io.StringIO()):
            e.evaluate()
            e.accumulate()
            e.summarize()
        return e

    theirs = hotcoco.compare(hot(results), hot(better), n_bootstrap=1000, seed=0)
    assert ours['delta'] == pytest.approx(theirs['deltas']['AP'], abs=1e-12)
    ci = theirs['ci']['AP']
    # same resampling scheme, other random numbers: widths agree within Monte-Carlo error
    assert (ours['upper'] - ours['lower']) == pytest.approx(ci['upper'] - ci['lower'], rel=0.15)
    assert ours['std_err'] == pytest.approx(ci['std_err'], rel=0.1)
    assert ours['prob_better'] == pytest.approx(ci['prob_positive'], abs=0.05)
    assert classical['std_err'] > 1.1 * ours['std_err']


def test_cli_bootstrap_of_two_results_files(tmp_path):
    import json
    import os.path as osp

    from conftest import TOOLS, tool
    gt, results = make_case(seed=5, num_images=30, dets_per_image=20)
    better = _improved(results, gt, 0.5)
    for r in better:  # a model without attribute head: counted, evaluated as predicting none
        r.pop('attribute_ids')
    paths = []
    for name, data in (('val.json', gt), ('a.segm.json', results), ('b.segm.json', better)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(data))
    out = tmp_path / 'boot.json'
    res = tool(
        osp.join(TOOLS, 'analysis_tools', 'fashionpedia_eval.py'), *paths, '--bootstrap', '100',
        '--out', out)
    assert '| metric | a.segm.json [95%] | b.segm.json [95%] | b.segm.json - a.segm.json |' in (
        res.stdout)
    assert f'note: {len(better)} results of b.segm.json have no "attribute_ids"' in res.stdout
    saved = json.loads(out.read_text())
    assert saved['bootstrap']['num_resamples'] == 100
    assert saved['bootstrap']['deltas'][0]['coco_mAP']['lower'] > 0
    assert saved['views'][1]['iou']['AP'] > saved['views'][0]['iou']['AP']


def test_accumulate_takes_integer_image_weights_only():
    """The accumulation counts false positives as (weight inside the area range) - (matched),
    exact for integer weights only: other weights are refused, integer ones equal duplication
    (``test_resample_equals_duplicating_images``)."""
    gt, results = make_case(seed=3, num_images=6, dets_per_image=10)
    ev = _evaluated(gt, results, 'segm')
    with pytest.raises(ValueError, match='non-negative integer counts'):
        ev.accumulate(np.full(6, 0.5))
    with pytest.raises(ValueError, match='6 non-negative'):
        ev.accumulate(np.ones(5))
    ev.accumulate(np.full(6, 2.0))  # every image twice: the same curves (up to COCO's eps)
    twice = ev.eval['precision'].copy()
    ev.accumulate()
    np.testing.assert_allclose(twice, ev.eval['precision'], rtol=0, atol=1e-12)
    assert (twice > 0).sum() > 100


def test_balanced_order_deals_every_item_once():
    from fashionpedia_plugin.evaluation.functional.fp_accumulate import balanced_order
    cost = np.array([6.0] * 13 + [1.0] * 10 + [6.0] * 5 + [1.0] * 18)  # the 46 categories
    items, ptr = balanced_order(cost, 2)
    assert sorted(items) == list(range(46))
    loads = [cost[items[ptr[i]:ptr[i + 1]]].sum() for i in range(2)]
    assert abs(loads[0] - loads[1]) <= 6  # a static split: 13 x 6 + 10 vs 5 x 6 + 18
