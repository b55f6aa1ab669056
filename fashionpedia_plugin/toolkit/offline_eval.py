"""Offline evaluation of a results file in the official format (COCO results + attribute_ids)."""
import contextlib
import io

from ..datasets.validation import FashionpediaDataError, load_json
from ..evaluation.functional import FashionpediaEval

VIEWS = ('iou+f1', 'iou', 'f1')


def evaluate_files(ann_file,
                   results_file,
                   iou_type='segm',
                   reference=False,
                   report=None,
                   heatmap=None):
    """Returns ``{"iou+f1": {...}, "iou": {...}, "f1": {...}}`` keyed by official summary keys.

    ``reference=True`` runs the official ``fashionpedia.FPEval`` (slow; numpy alias patched at
    run time, see ``compat.numpy_float_alias``) instead of the vectorized evaluator.
    ``report`` (``.md``/``.csv``) and ``heatmap`` (``.png``): the attribute report of
    :mod:`.attribute_report` (vectorized evaluator only).
    """
    gt = load_json(ann_file, 'annotation file')
    results = load_json(results_file, 'results file')
    if not isinstance(results, list):
        raise FashionpediaDataError(f'{results_file}: expected a JSON list of results')
    if not results:
        raise FashionpediaDataError(f'{results_file}: no results to evaluate')
    if 'attributes' not in gt:
        raise FashionpediaDataError(f'{ann_file}: no "attributes" list (not the official format)')
    key = 'segmentation' if iou_type == 'segm' else 'bbox'
    missing = [i for i, r in enumerate(results) if key not in r or 'attribute_ids' not in r]
    if missing:
        raise FashionpediaDataError(f'{results_file}: result #{missing[0]} has no {key!r} or no '
                                    f'"attribute_ids" ({len(missing)} such results)')
    img_ids = {img['id'] for img in gt['images']}
    unknown = [r['image_id'] for r in results if r.get('image_id') not in img_ids]
    if unknown:
        raise FashionpediaDataError(f'{results_file}: image_id {unknown[0]} is not in '
                                    f'{ann_file} ({len(unknown)} such results)')
    with contextlib.redirect_stdout(io.StringIO()):
        if reference:
            from fashionpedia.fp import Fashionpedia
            from fashionpedia.fp_eval import FPEval

            from ..compat import numpy_float_alias
            with numpy_float_alias():
                fp_gt = Fashionpedia()
                fp_gt.dataset = gt
                fp_gt.createIndex()
                ev = FPEval(fp_gt, fp_gt.loadRes(results), iou_type)
                ev.run()
            return {'iou+f1': dict(ev.results), 'iou': dict(ev.resultDet), 'f1': dict(ev.resultF1)}
        from pycocotools.coco import COCO
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
    ev = FashionpediaEval(coco_gt, coco_dt, iou_type)
    views = ev.run()
    if report or heatmap:
        from . import attribute_report as ar
        pairs = ar.match_pairs(coco_gt, coco_dt, iou_type)
        if report:
            names = [c['name'] for c in coco_gt.loadCats(ev.params.catIds)]
            per_class = {
                name: (e.get('iou_f1', {}).get('AP'), e['iou']['AP'])
                for name, e in ev.summarize_per_class(names).items() if e['iou']['AP'] >= 0
            }
            ar.write_report(ar.report_rows(pairs), per_class, report)
        if heatmap:
            ar.plot_heatmap(pairs, heatmap)
    return views


def format_table(views):
    keys = list(views['iou'])
    for v in VIEWS:
        keys += [k for k in views[v] if k not in keys]
    lines = [f'{"metric":<16}' + ''.join(f'{v:>10}' for v in VIEWS)]
    for k in keys:
        cells = ''.join(f'{views[v][k]:>10.4f}' if k in views[v] else f'{"-":>10}' for v in VIEWS)
        lines.append(f'{k:<16}{cells}')
    return '\n'.join(lines)
