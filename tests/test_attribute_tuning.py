"""Calibration of the attribute decoder from a raw-score dump (toolkit/attribute_tuning.py,
tools/analysis_tools/tune_attributes.py), and the round trip through tools/test.py."""
import json
import os.path as osp

import numpy as np
import pytest
from conftest import DEMO_CONFIG, TOOLS, tiny_cfg_options, tool

from fashionpedia_plugin import taxonomy
from fashionpedia_plugin.toolkit.attribute_tuning import ScoreDump, tune


def perfect_dump(root, tmp_path, true_score=0.3, false_score=0.1):
    """Detections = the val ground truth; attribute scores 0.3 where true, 0.1 elsewhere."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    ann = osp.join(root, 'annotations', 'instances_attributes_val2020.json')
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann)
    results, scores = [], []
    for a in coco.dataset['annotations']:
        rle = coco.annToRLE(a)
        rle['counts'] = rle['counts'].decode()
        results.append(
            dict(
                image_id=a['image_id'],
                category_id=a['category_id'],
                bbox=a['bbox'],
                score=0.9,
                segmentation=rle))
        s = np.full(taxonomy.NUM_ATTRIBUTES, false_score, np.float16)
        s[[taxonomy.ATTR_ID_TO_INDEX[i] for i in a['attribute_ids']]] = true_score
        scores.append(s)
    res_file = tmp_path / 'preds.json'
    res_file.write_text(json.dumps(results))
    np.savez(
        tmp_path / 'preds.attr_scores.npz',
        scores=np.stack(scores),
        image_id=np.array([r['image_id'] for r in results]),
        category_id=np.array([r['category_id'] for r in results]))
    return ann, str(res_file), str(tmp_path / 'preds.attr_scores.npz')


def test_sweep_finds_the_threshold_that_separates_true_from_false(synthetic_root, tmp_path):
    ann, res, npz = perfect_dump(synthetic_root, tmp_path)
    dump = ScoreDump(ann, res, npz)
    rows, best = tune(dump, per_supercategory=False, progress=False)
    by_thr = {r['threshold']: r['AP'] for r in rows}
    # any threshold between the two (float16) scores decodes exactly
    assert float(np.float16(0.1)) < best['decoder']['score_thr'] <= float(np.float16(0.3))
    assert best['AP'] == pytest.approx(1.0)
    assert by_thr[0.5] < 0.9 and by_thr[0.05] < 0.9  # nothing / everything predicted
    # IoU matrices were computed once and reused by the later decodings
    assert dump._iou_cache


def test_dump_that_does_not_match_its_results_is_a_named_error(synthetic_root, tmp_path):
    from fashionpedia_plugin.datasets import FashionpediaDataError
    ann, res, npz = perfect_dump(synthetic_root, tmp_path)
    d = dict(np.load(npz))
    np.savez(
        npz,
        scores=d['scores'][:-1],
        image_id=d['image_id'][:-1],
        category_id=d['category_id'][:-1])
    with pytest.raises(FashionpediaDataError, match='do not match'):
        ScoreDump(ann, res, npz)


def test_round_trip_test_dump_tune_and_decode(trained, synthetic_root, tmp_path):
    """tools/test.py --out --attr-scores -> tune_attributes.py -> tools/test.py --attr-decoder."""
    work, _ = trained
    ckpt = osp.join(work, 'iter_2.pth')
    opts = [*tiny_cfg_options(synthetic_root, str(tmp_path)), 'model.test_cfg.rcnn.score_thr=0.0']
    out = tmp_path / 'calib' / 'preds.json'
    res = tool('tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', tmp_path / 'w1', '--out', out,
               '--attr-scores', '--cfg-options', *opts)
    npz = tmp_path / 'calib' / 'preds.attr_scores.npz'
    assert f'raw attribute scores: {npz}' in res.stdout
    preds = json.load(open(out))
    assert len(np.load(npz)['scores']) == len(preds) > 0
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    train_ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_train2020.json')
    res = tool(f'{TOOLS}/analysis_tools/tune_attributes.py', ann, out, '--prior', train_ann,
               '--out-dir', tmp_path / 'tuned')
    assert 'calibrating on' in res.stdout and 'looks like the validation' in res.stderr
    decoder = json.load(open(tmp_path / 'tuned' / 'attr_decoder.json'))
    assert decoder['type'] == 'AttributeDecoder' and decoder['calibration']['ann_file'] == ann
    for f in ('sweep.csv', 'sweep.png'):
        assert (tmp_path / 'tuned' / f).stat().st_size > 0
    # the decoder file is accepted by tools/test.py, and evaluating with it reproduces the
    # calibration AP (same images, same detections)
    res = tool('tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', tmp_path / 'w2', '--attr-decoder',
               tmp_path / 'tuned' / 'attr_decoder.json', '--cfg-options', *opts)
    log = res.stdout + res.stderr
    ap = float(log.split('fashionpedia/segm_iouf1_AP: ')[1].split()[0])
    assert ap == pytest.approx(decoder['calibration']['AP_iouf1'], abs=1e-4)
