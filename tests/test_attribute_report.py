"""The attribute report of fashionpedia_eval.py --report/--heatmap (toolkit/attribute_report.py)."""
import json
import os.path as osp

import pytest
from conftest import TOOLS, tool


def test_report_counts_true_false_positives_and_misses(synthetic_root, tmp_path):
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    gt = json.load(open(ann))
    preds = []
    for a in gt['annotations']:
        x, y, w, h = a['bbox']
        ids = list(a['attribute_ids'])
        if a['category_id'] == 8 and ids:  # skirts: drop their first attribute, add 'plant'
            ids = ids[1:] + [340]
        preds.append(
            dict(
                image_id=a['image_id'],
                category_id=a['category_id'],
                bbox=a['bbox'],
                score=0.9,
                attribute_ids=ids))
    res = tmp_path / 'preds.json'
    res.write_text(json.dumps(preds))
    md, csv, png = tmp_path / 'r.md', tmp_path / 'r.csv', tmp_path / 'h.png'
    tool(f'{TOOLS}/analysis_tools/fashionpedia_eval.py', ann, res, '--iou-type', 'bbox', '--report',
         md, '--heatmap', png)
    tool(f'{TOOLS}/analysis_tools/fashionpedia_eval.py', ann, res, '--iou-type', 'bbox', '--report',
         csv)
    from fashionpedia_plugin import taxonomy
    length_ids = {
        a
        for a, sup in zip(taxonomy.ATTRIBUTE_IDS, taxonomy.ATTRIBUTE_SUPERCATEGORIES)
        if sup == 'length'
    }
    skirts = [a for a in gt['annotations'] if a['category_id'] == 8 and a['attribute_ids']]
    assert skirts and all(sorted(a['attribute_ids'])[0] in length_ids for a in skirts)
    true_lengths = sum(len(set(a['attribute_ids']) & length_ids) for a in gt['annotations'])
    rows = {line.split(',')[2]: line.split(',') for line in open(csv).read().splitlines()[1:]}
    # 'plant': predicted on every skirt, never true -> precision 0, support 0
    assert rows['plant'][4:8] == ['0.0000', '0.0000', '0.0000', '0']
    # lengths: never wrongly predicted, one missed per skirt
    p, r, f1, support = (float(v) for v in rows['length'][4:8])
    tp = true_lengths - len(skirts)
    assert p == 1.0 and support == true_lengths
    assert r == pytest.approx(tp / true_lengths, abs=1e-4)
    # per-class AP rows (bbox IoU AP of perfect boxes is 1)
    assert rows['skirt'][0] == 'class' and float(rows['skirt'][9]) == pytest.approx(1.0)
    assert 'Attributes on matched detections' in open(md).read()
    assert png.stat().st_size > 1000


def test_heatmap_labels_are_whole_super_category_names(tmp_path):
    """No super-category name is cut ("non-textile materi" was): the labels only wrap."""
    from fashionpedia_plugin import taxonomy
    from fashionpedia_plugin.toolkit.attribute_report import plot_heatmap
    gt = dict(category_id=0, attribute_ids=[taxonomy.ATTRIBUTE_IDS[0]])
    det = dict(category_id=0, attribute_ids=[taxonomy.ATTRIBUTE_IDS[0]])
    labels = plot_heatmap([(det, gt)], str(tmp_path / 'f1.png'))
    names = sorted(set(taxonomy.ATTRIBUTE_SUPERCATEGORIES))
    assert [' '.join(lbl.split()) for lbl in labels] == names
    assert any(len(n) > 18 for n in names)  # the case that was cut
    assert (tmp_path / 'f1.png').stat().st_size > 5_000


def test_segm_report_reads_polygon_results(synthetic_root, tmp_path):
    """Results whose segmentation is a polygon (COCO loadRes takes them) were passed raw to
    pycocotools' iou, a traceback; they are converted as the ground truths are."""
    from pycocotools.coco import COCO

    from fashionpedia_plugin.toolkit.attribute_report import match_pairs
    ann = osp.join(synthetic_root, 'annotations', 'instances_attributes_val2020.json')
    gt = COCO(ann)
    x, y, w, h = 10.0, 10.0, 40.0, 30.0
    first = gt.dataset['images'][0]['id']
    g = dict(
        id=1,
        image_id=first,
        category_id=1,
        bbox=[x, y, w, h],
        area=w * h,
        iscrowd=0,
        segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
        attribute_ids=[])
    gt.dataset['annotations'] = [g]
    gt.createIndex()
    dt = gt.loadRes([
        dict(
            image_id=first,
            category_id=1,
            score=0.9,
            bbox=g['bbox'],
            segmentation=g['segmentation'],
            attribute_ids=[])
    ])
    pairs = match_pairs(gt, dt, 'segm')
    assert len(pairs) == 1 and pairs[0][1]['id'] == 1
